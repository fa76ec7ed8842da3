"""The shared dataset: one Hive-partitioned Parquet dataset per table, one partition per
merchant, each replaced atomically.

Layout under ``path``::

    invoices/merchant=<payer id>/part-0.parquet      one file per merchant and table
    items/merchant=<payer id>/part-0.parquet
    payments/...   refunds/...
    _ppnb/books/<payer id>/                          the merchant's ppnb.sync snapshot
    _ppnb/publishing/<payer id>.json                 a publish under way (see below)
    _ppnb/run.json, _ppnb/runs/<run id>/             the run manifest (:mod:`._manifest`)
    _ppnb/locks/<payer id>.lock                      one sync of a merchant at a time

Readers (pandas/pyarrow, Dask, DuckDB, Spark) skip names starting with ``.`` or ``_``, and
see ``merchant`` as a column. Every file is written beside its target under a hidden name,
flushed and fsynced, then renamed over it, so a reader or a crash sees a whole old file or a
whole new one. A merchant's four files are switched one after the other: the new files are
all staged and a ``publishing`` note is written first, and whatever finds the note (the next
run, before anything else) finishes the switch. Until then a merchant interrupted mid-switch
may show some tables from its new sync and the others from its previous one; no file is ever
partly written, lost or duplicated.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..frames import INVOICE_COLUMNS, ITEM_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS, Tables
from ..snapshot import TABLES

__all__ = ["check_merchants", "load", "merchants", "publish", "recover"]

#: Each table's columns and dtypes, as :func:`ppnb.frames.flatten` makes them.
SCHEMAS = dict(zip(TABLES, (INVOICE_COLUMNS, ITEM_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS),
                   strict=True))
PART = "part-0.parquet"
#: A PayPal merchant (payer) id: letters and digits; ``-`` and ``_`` also pass. Nothing a
#: path or a Hive partition value would have to escape.
_MERCHANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_merchants(merchants: Iterable[str]) -> list[str]:
    """The merchant ids in order, once each; raises on any that cannot name a partition.

    Raises
    ------
    ValueError
        Naming the first bad id: not text, empty, longer than 64, or with characters other
        than letters, digits, ``-`` and ``_`` (e.g. an email address).
    """
    if isinstance(merchants, str):
        raise ValueError("merchants: give a list of merchant (payer) ids, not one string")
    out: dict[str, None] = {}
    for merchant in merchants:
        if not isinstance(merchant, str) or not _MERCHANT.fullmatch(merchant):
            raise ValueError(
                f"merchant id {merchant!r} is not a PayPal merchant (payer) id: expected 1 to "
                "64 letters, digits, '-' or '_' (it names the merchant's partition, "
                "merchant=<id>); pass payer ids, not emails")
        out[merchant] = None
    return list(out)


def state_dir(root: Path, *parts: str) -> Path:
    """A folder under ``<root>/_ppnb`` (created)."""
    folder = root.joinpath("_ppnb", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data``: written beside it, fsynced, renamed, dir fsynced."""
    staged = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with open(staged, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staged, target)
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    if os.name == "posix":  # directories cannot be opened for fsync on Windows
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _partition(root: Path, table: str, merchant: str) -> Path:
    return root / table / f"merchant={merchant}"


def _stage(folder: Path, frame: pd.DataFrame) -> Path:
    """Write one table's Parquet file under a hidden name in ``folder``, fsynced.

    Timestamps are stored in microseconds (Spark cannot read nanoseconds; PayPal's times
    have whole seconds, and a value that would lose digits raises).
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{PART}.{uuid.uuid4().hex}.tmp"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(staged, "wb") as handle:
        pq.write_table(table, handle, coerce_timestamps="us", allow_truncated_timestamps=False)
        handle.flush()
        os.fsync(handle.fileno())
    return staged


def publish(root: Path, merchant: str, tables: Tables) -> None:
    """Make ``tables`` the merchant's partition of every table dataset.

    Stages all four files, notes the switch in ``_ppnb/publishing/<merchant>.json``, renames
    each file over the old one, then removes the note. Call it holding the merchant's lock.
    """
    staged = {name: _stage(_partition(root, name, merchant), getattr(tables, name))
              for name in TABLES}
    note = state_dir(root, "publishing") / f"{merchant}.json"
    write_atomic(note, json.dumps({name: path.name for name, path in staged.items()}).encode())
    _switch(root, merchant, note)


def _switch(root: Path, merchant: str, note: Path) -> None:
    """Rename the staged files the note lists over the live ones, then drop the note."""
    for name, staged_name in json.loads(note.read_text()).items():
        folder = _partition(root, name, merchant)
        staged = folder / staged_name
        if staged.exists():  # else switched before an interruption
            os.replace(staged, folder / PART)
            _fsync_dir(folder)
        for leftover in folder.glob(f".{PART}.*.tmp"):  # staged by an interrupted publish
            leftover.unlink()
    note.unlink()
    _fsync_dir(note.parent)


def pending(root: Path) -> list[str]:
    """Merchants whose last publish was interrupted mid-switch."""
    folder = root / "_ppnb" / "publishing"
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


def recover(root: Path, merchant: str) -> None:
    """Finish the merchant's interrupted publish, if there is one (hold its lock)."""
    note = root / "_ppnb" / "publishing" / f"{merchant}.json"
    if note.exists():
        _switch(root, merchant, note)


def merchants(path: str | Path) -> list[str]:
    """The merchants that have a partition in the dataset at ``path``, sorted."""
    folder = Path(path) / TABLES[0]
    if not folder.is_dir():
        raise FileNotFoundError(f"no partner dataset at {path} (no {TABLES[0]}/ folder): run "
                                f"ppnb.partners.sync first")
    return sorted(p.name.split("=", 1)[1] for p in folder.glob("merchant=*")
                  if (p / PART).exists())


def load(path: str | Path, merchant: str) -> Tables:
    """One merchant's four tables from the dataset, with ppnb's column dtypes.

    Equal to the tables :func:`ppnb.frames.flatten` makes from the merchant's invoices as
    of its last completed sync (rows in creation order).

    Raises
    ------
    FileNotFoundError
        If the merchant has no partition (never synced, or never granted the partner).
    ValueError
        For an id that cannot be a merchant id.
    """
    (merchant,) = check_merchants([merchant])
    root = Path(path)
    frames = []
    for name in TABLES:
        file = _partition(root, name, merchant) / PART
        if not file.exists():
            raise FileNotFoundError(f"merchant {merchant} has no {name} partition under {path}")
        frame = pq.read_table(file).to_pandas()
        frames.append(frame.astype(SCHEMAS[name])[list(SCHEMAS[name])])
    return Tables(*frames)
