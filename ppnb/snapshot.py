"""A local Parquet snapshot of the invoice tables, kept current by incremental syncs.

``ppnb.sync(client, "data/book")`` pulls everything the first time; later calls fetch only
what can have changed since the snapshot was taken, and merge:

* invoices **created** since the newest creation time in the snapshot;
* every invoice that is **open** now (draft, scheduled, sent, unpaid, partially paid,
  payment pending): edits, sends and partial payments only happen to open invoices;
* invoices with **payments dated** since the snapshot's last day (open → paid);
* every invoice in a **refunded** state (a refund is the only change a paid invoice can get);
* finally the invoices that were open or refunded in the snapshot but matched none of the
  above: they were cancelled (found by one search of cancelled invoices created in their
  time window, when that is cheaper), paid with a back-dated payment, had their refund
  deleted, or were deleted (404, dropped); those not found by the search are read by id.

The merged tables equal a fresh full pull. A sync costs about
``(open + refunded + new + recently paid) / 100`` requests plus one read per vanished
invoice, against ``all / 100`` for a full pull.

Snapshots are versioned directories with a ``CURRENT`` pointer replaced atomically, so an
interrupted sync leaves the previous snapshot intact and readable.

With a webhook event log (:mod:`ppnb.webhooks`), ``sync(client, path, events=log)`` (or
:func:`apply_events`) brings the snapshot up to date without any request: each invoice event
carries the whole invoice, so the newest one per invoice (by event ``create_time``, then
arrival) replaces the invoice's rows. The snapshot remembers how far into the log it has
read. Deleting a draft or scheduled invoice sends no event, so such an invoice stays until
the next pull.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from .client import Client, NotFound
from .frames import Tables, flatten
from .pager import count, dedupe, fetch_raw, search_data

__all__ = ["SyncResult", "apply_events", "load", "sync"]

OPEN = ("DRAFT", "SCHEDULED", "SENT", "UNPAID", "PARTIALLY_PAID")
OPEN_MORE = ("PAYMENT_PENDING",)  # PayPal's search takes at most 5 statuses at once
REFUNDED = ("PARTIALLY_REFUNDED", "REFUNDED", "MARKED_AS_REFUNDED")
TABLES = ("invoices", "items", "payments", "refunds")


@dataclass(frozen=True)
class SyncResult:
    """What a sync did.

    Attributes
    ----------
    tables
        The merged tables now on disk.
    mode
        ``"full"`` or ``"incremental"``.
    requests
        HTTP requests the sync sent (retries included).
    changed, removed
        Invoices re-read and invoices dropped (deleted upstream).
    """

    tables: Tables
    mode: str
    requests: int
    changed: int
    removed: int


def load(path: str | Path) -> Tables:
    """The current snapshot at ``path``.

    Raises
    ------
    FileNotFoundError
        If no sync has completed there yet.
    """
    folder = _current(Path(path))
    if folder is None:
        raise FileNotFoundError(f"no snapshot at {path}; run ppnb.sync(client, {str(path)!r})")
    return Tables(*(pd.read_parquet(folder / f"{name}.parquet") for name in TABLES))


def _current(root: Path) -> Path | None:
    pointer = root / "CURRENT"
    if not pointer.exists():
        return None
    return root / pointer.read_text().strip()


def _write(root: Path, tables: Tables, state: dict[str, Any]) -> None:
    """Write a new version beside the old one, then switch ``CURRENT`` atomically.

    The commit, step by step: clear what an interrupted write left behind (any version that
    ``CURRENT`` does not name, any ``.partial``); write the tables and the state into
    ``v-N.partial`` and flush each to disk; rename it to ``v-N`` (N one past every version
    on disk); write ``CURRENT.partial``, flush it, and rename it over ``CURRENT``; remove the
    old version. A process killed at any step, or a disk that fills at any step, leaves
    ``CURRENT`` naming a complete version, and the next write starts by clearing the rest,
    so a sync never wedges on what an earlier one left (tests/test_snapshot_commit.py kills
    the commit at each step).
    """
    root.mkdir(parents=True, exist_ok=True)
    current = _current(root)
    _clear(root, keep=current)
    number = 1 + max((_version(p) for p in root.glob("v-*")), default=0)
    name = f"v-{number:06d}"
    staging = root / f"{name}.partial"
    staging.mkdir()
    for table in TABLES:
        getattr(tables, table).to_parquet(staging / f"{table}.parquet", index=False)
    (staging / "state.json").write_text(json.dumps(state, indent=1))
    for written in (*staging.iterdir(), staging):
        _flush(written)
    os.replace(staging, root / name)
    pointer = root / "CURRENT.partial"
    pointer.write_text(name)
    _flush(pointer)
    os.replace(pointer, root / "CURRENT")
    _flush(root)
    _clear(root, keep=root / name)


def _version(folder: Path) -> int:
    """N of ``v-N`` or ``v-N.partial`` (0 for anything else)."""
    digits = folder.name[2:].removesuffix(".partial")
    return int(digits) if digits.isdigit() else 0


def _clear(root: Path, *, keep: Path | None) -> None:
    """Remove every version and partial file under ``root`` except ``keep``."""
    for leftover in [*root.glob("v-*"), *root.glob("CURRENT.partial")]:
        if keep is not None and leftover.name == keep.name:
            continue
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def _flush(path: Path) -> None:
    """fsync a file or a folder, so a rename after it never publishes data still in cache."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _ids(frame: pd.DataFrame, statuses: tuple[str, ...]) -> set[str]:
    return set(frame.loc[frame["status"].isin(statuses), "id"].astype(str))


def _last_day(tables: Tables) -> dt.date:
    """The latest day the snapshot knows of: an estimate of the server's 'today' then."""
    candidates = [tables.invoices["created"].max(), tables.invoices["last_updated"].max(),
                  tables.payments["payment_date"].max() if len(tables.payments) else pd.NaT]
    days = [pd.Timestamp(c).date() for c in candidates if not pd.isna(c)]
    return max(days) if days else dt.date(1970, 1, 1)


def _merge(old: Tables, fresh: Tables, drop: set[str]) -> Tables:
    """``old`` without the invoices in ``drop`` (and their children), plus ``fresh``; sorted
    by creation (invoices) and by invoice id (children)."""
    kept = old.subset(set(old.invoices["id"]) - drop) if drop else old
    parts = []
    for table, before, after in zip(TABLES, kept, fresh, strict=True):
        frames = [f for f in (before, after) if len(f)]
        merged = pd.concat(frames, ignore_index=True) if frames else before.iloc[0:0]
        order = ["created", "id"] if table == "invoices" else ["invoice_id"]
        parts.append(merged.sort_values(order, kind="stable", ignore_index=True))
    return Tables(*parts)


def _cancelled(client: Client, invoices: pd.DataFrame, vanished: set[str],
               pull: dict[str, Any]) -> list[dict]:
    """Vanished invoices that were cancelled, by one search when that beats reading each.

    Cancelled invoices created in the vanished ones' creation window are counted first
    (one request); if paging through them costs fewer requests than one read per vanished
    invoice, they are pulled and the vanished ones among them kept.
    """
    if len(vanished) < 3:
        return []
    created = invoices.loc[invoices["id"].isin(vanished), "created"]
    window = (created.min().to_pydatetime(), created.max().to_pydatetime())
    filters = search_data(status="CANCELLED", created=window)
    total = count(client, filters)
    if -(-total // pull.get("page_size", 100)) >= len(vanished):
        return []
    return [i for i in fetch_raw(client, status="CANCELLED", created=window, **pull)
            if i["id"] in vanished]


def _sorted(tables: Tables) -> Tables:
    return _merge(tables, flatten([]), set())


def _state(root: Path) -> dict[str, Any]:
    folder = _current(root)
    return json.loads((folder / "state.json").read_text()) if folder else {}


def _log_rows(log_path: str | Path, after: int, *, last: bool = False
              ) -> list[tuple[int, bytes]]:
    """The log's events after ``after`` (only the last one with ``last``)."""
    from .webhooks import EventLog

    if not Path(log_path).exists():
        raise FileNotFoundError(f"no webhook event log at {log_path}")
    log = EventLog(log_path)
    try:
        return log.rows(after, last=last)
    finally:
        log.close()


def apply_events(path: str | Path, log_path: str | Path) -> SyncResult:
    """Apply the invoice events logged since the last sync to the snapshot at ``path``.

    Sends no request. Events without an invoice resource are skipped; an invoice's newest
    event (by ``create_time``, then arrival order) wins.

    Raises
    ------
    FileNotFoundError
        If there is no snapshot or no log yet.
    """
    root = Path(path)
    previous = load(root)
    state = _state(root)
    rows = _log_rows(log_path, state.get("events_applied", 0))
    newest: dict[str, tuple[str, dict[str, Any]]] = {}
    for _, raw in rows:
        event = orjson.loads(raw)
        resource = event.get("resource")
        if event.get("resource_type") != "invoices" or not isinstance(resource, dict):
            continue
        when = event.get("create_time") or ""
        if resource["id"] not in newest or when >= newest[resource["id"]][0]:
            newest[resource["id"]] = (when, resource)
    fresh = flatten([invoice for _, invoice in newest.values()])
    tables = _merge(previous, fresh, set(fresh.invoices["id"]))
    applied = rows[-1][0] if rows else state.get("events_applied", 0)
    _write(root, tables, {"mode": "events", "requests": 0, "invoices": len(tables.invoices),
                          "events_applied": applied})
    return SyncResult(tables, "events", 0, len(fresh.invoices), 0)


def sync(client: Client, path: str | Path, *, full: bool = False,
         events: str | Path | None = None, **options: Any) -> SyncResult:
    """Bring the snapshot at ``path`` up to date and return the merged tables.

    Parameters
    ----------
    client
        Where to read invoices from.
    path
        A directory; created on the first sync.
    full
        Pull everything even if a snapshot exists.
    events
        A webhook event log (:func:`ppnb.webhooks.receiver`). If a snapshot exists (and
        ``full`` is false) it is updated from the log alone (:func:`apply_events`, no
        request); otherwise the pull marks the events logged so far as applied.
    **options
        Passed to the pager (``concurrency``, ``progress``, ``page_size``).
    """
    root = Path(path)
    if events is not None and not full and _current(root) is not None:
        return apply_events(root, events)
    # the log's position before pulling: later events may postdate the pull
    applied = (_log_rows(events, 0, last=True)
               if events is not None and Path(events).exists() else [])
    before = client.stats["requests"]
    previous = None if full or _current(root) is None else load(root)
    if previous is None:
        tables = _sorted(flatten(fetch_raw(client, **options)))
        mode, changed, removed = "full", len(tables.invoices), 0
    else:
        created_since = pd.Timestamp(previous.invoices["created"].max()).to_pydatetime() \
            if len(previous.invoices) else None
        paid_since = _last_day(previous) - dt.timedelta(days=1)
        pull = {"verify": False, **options}  # vanished invoices are read by id below
        found = (fetch_raw(client, created=(created_since, None), **pull)
                 + fetch_raw(client, status=OPEN, **pull)
                 + fetch_raw(client, status=OPEN_MORE, **pull)
                 + fetch_raw(client, payment_date=(paid_since, None), **pull)
                 + fetch_raw(client, status=REFUNDED, **pull))
        vanished = _ids(previous.invoices, OPEN + OPEN_MORE + REFUNDED) - {
            invoice["id"] for invoice in found}
        found += _cancelled(client, previous.invoices, vanished, pull)
        deleted: set[str] = set()
        for invoice_id in sorted(vanished - {invoice["id"] for invoice in found}):
            try:
                found.append(client.invoices.get(invoice_id))
            except NotFound:
                deleted.add(invoice_id)
        fresh = flatten(dedupe(found))
        tables = _merge(previous, fresh, set(fresh.invoices["id"]) | deleted)
        mode, changed, removed = "incremental", len(fresh.invoices), len(deleted)
    requests = client.stats["requests"] - before
    state = {"mode": mode, "requests": requests, "invoices": len(tables.invoices),
             "events_applied": applied[0][0] if applied else _state(root).get(
                 "events_applied", 0)}
    _write(root, tables, state)
    return SyncResult(tables, mode, requests, changed, removed)
