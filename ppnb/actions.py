"""Bulk actions on invoices, exactly once: send, remind, cancel and record payments.

>>> plan = bulk(client, "remind", overdue)                 # doctest: +SKIP
>>> result = bulk(client, "remind", overdue, confirm=True)  # doctest: +SKIP

How exactly-once works
----------------------
Every run belongs to a **job** with an id and a journal file, ``{journal_dir}/{job_id}.jsonl``:
append-only JSON lines, each flushed and fsync'd before the next step. A header line records
the action and its options; then, for every call, a ``start`` line (invoice, request id,
request body) is written *before* the call and an ``end`` line (outcome, error, issues,
debug_id, the HTTP status of a refusal, and the day it counted on) *after* it.
:func:`job_calls` reads a job's calls back (``ppnb.dunning`` keeps the level each invoice
reached this way).

Each call's ``PayPal-Request-Id`` is derived from the job id, the action and the invoice id
(a UUID5), so it is the same in every run of the job. PayPal (and the emulator) apply a
repeated request id once and replay the first answer. Running the same job again therefore
resumes it safely, whatever stopped it (a retry, an exception, a crash, a kernel restart):

* an invoice whose call ended ``ok`` is skipped ("already done in this job");
* an invoice whose call started but never ended, or failed, is sent again with the same
  request id and the very body the journal recorded, so it is applied at most once;
* everything else runs as planned.

The default job id is derived from the action, its options and the input (and, for
reminders, the day), so re-running the same notebook cell resumes the same job. Pass
``job_id=`` to name a job yourself (e.g. for a deliberate second reminder on the same day).

Reminders per day
-----------------
PayPal sends at most two reminders per invoice per UTC day and refuses a third with
``MAX_REMINDERS_PER_DAY``; the API has no call that tells how many were sent. ppnb keeps its
own count in a :class:`ReminderLedger` (``{journal_dir}/reminders/{day}.jsonl``, one line per
applied reminder, counted once per request id) that bulk jobs and the ``RemindForm`` share.
The plan skips invoices that already had two; reminders sent by other tools are not in the
ledger, and for those PayPal's refusal is the guard (it also marks the invoice full in the
ledger).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from .client import APIError, Client, NotFound, PayPalError
from .money import MoneyError, format_amount, parse_amount

__all__ = [
    "ACTIONS",
    "ALLOWED_STATUSES",
    "DEFAULT_JOURNAL_DIR",
    "REMINDERS_PER_DAY",
    "BulkError",
    "JobBusy",
    "JobCall",
    "Journal",
    "ReminderLedger",
    "bulk",
    "job_calls",
    "notification",
    "reminder_history",
    "request_id",
]

#: The bulk actions.
ACTIONS = ("send", "remind", "cancel", "record_payment")
#: The statuses each action accepts (PayPal's rules; anything else is skipped).
ALLOWED_STATUSES: dict[str, tuple[str, ...]] = {
    "send": ("DRAFT",),
    "remind": ("SENT", "UNPAID", "PARTIALLY_PAID"),
    "cancel": ("SENT", "UNPAID"),
    "record_payment": ("SENT", "UNPAID", "PARTIALLY_PAID"),
}
#: PayPal's limit of reminders per invoice per UTC day.
REMINDERS_PER_DAY = 2
#: Where journals live unless ``journal_dir`` is given.
DEFAULT_JOURNAL_DIR = Path.home() / ".ppnb" / "jobs"

_NOTIFY_KEYS = ("subject", "note", "send_to_recipient", "send_to_invoicer",
                "additional_recipients")
_PAYMENT_KEYS = ("method", "note")
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_NAMESPACE = uuid.UUID("5b0c8f8e-3f5e-4d0e-9a3c-7f2b6e1d9a40")
_PLAN_COLUMNS = ["invoice_id", "number", "status", "action", "plan", "reason", "request_id"]
_RESULT_COLUMNS = ["invoice_id", "number", "action", "outcome", "detail", "error", "issues",
                   "debug_id", "request_id", "timestamp"]


class BulkError(ValueError):
    """A bulk request that cannot be run as given (bad action, options, input or job)."""


class JobBusy(RuntimeError):
    """Another process is running the same job right now."""


def request_id(job_id: str, action: str, key: str) -> str:
    """The ``PayPal-Request-Id`` of one call of a job: the same in every run of the job."""
    return str(uuid.uuid5(_NAMESPACE, f"{job_id}\x1f{action}\x1f{key}"))


def notification(action: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The notification body of send/remind/cancel from bulk ``options``.

    ``additional_recipients`` (CC) may be a list of emails or one comma-separated string.

    Raises
    ------
    BulkError
        On an option the action does not take.
    """
    allowed = _PAYMENT_KEYS if action == "record_payment" else _NOTIFY_KEYS
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise BulkError(f"{action} takes the options {', '.join(allowed)}; not "
                        f"{', '.join(unknown)}")
    body = {k: v for k, v in options.items() if v is not None and v != ""}
    cc = body.get("additional_recipients")
    if isinstance(cc, str):
        body["additional_recipients"] = [e.strip() for e in cc.split(",") if e.strip()]
    if body.get("additional_recipients") == []:
        del body["additional_recipients"]
    return body


# --- the journal -----------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _DurableLog:
    """Appends JSON lines to an open file; each append returns once its line is on disk.

    Concurrent appends share fsyncs (group commit): a thread whose line an fsync started
    after it was written already covers does not fsync again. Calls in flight therefore do
    not queue behind one fsync each, and every line is still durable before ``append``
    returns.
    """

    def __init__(self, handle: Any, *, lead: bytes = b"") -> None:
        self._handle = handle
        self._lead = lead  # written before each line (b"\n": a torn line cannot swallow it)
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0  # lines written and flushed to the OS
        self._synced = 0  # lines known to be on disk

    def append(self, record: Mapping[str, Any]) -> None:
        with self._write_lock:
            self._handle.write(self._lead + orjson.dumps(record) + b"\n")
            self._handle.flush()
            self._written += 1
            mine = self._written
        with self._sync_lock:
            if self._synced >= mine:
                return
            upto = self._written
            os.fsync(self._handle.fileno())
            self._synced = upto


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The complete records of a JSON-lines file (a torn last line, from a crash, is
    ignored)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue  # a line torn by a crash; what another process appended later still counts
    return records


@dataclass
class _Entry:
    """What the journal knows about one call of a job."""

    invoice_id: str
    request_id: str
    body: Any
    end: dict[str, Any] | None = None


def _entries(records: Iterable[Mapping[str, Any]]) -> dict[str, _Entry]:
    """The calls of a journal's records (after its header): each key's last start, with the
    end that followed it."""
    entries: dict[str, _Entry] = {}
    for record in records:
        key = record.get("key")
        if record.get("type") == "start":
            entries[key] = _Entry(record["invoice_id"], record["request_id"], record.get("body"))
        elif record.get("type") == "end" and key in entries:
            entries[key].end = dict(record)
    return entries


@dataclass(frozen=True)
class JobCall:
    """One call of a job as its journal records it (see :func:`job_calls`).

    Attributes
    ----------
    key
        The call's key in the job (the invoice id, or ``id#n`` for repeats).
    invoice_id, request_id
        The invoice and the ``PayPal-Request-Id`` the call was (or will be) sent with.
    outcome
        ``"ok"`` or ``"failed"``; ``None`` when it started but never ended (a crash).
    day
        The day the job counted it on (its ``today``: the emulator's clock or PayPal's UTC
        date), ``None`` until it ended.
    status
        The HTTP status of PayPal's refusal when it failed with one (``None`` otherwise,
        e.g. no answer). PayPal replays the answer to a request id, so a call refused with a
        4xx stays refused in this job: trying again needs a new job.
    issues
        The refusal's issue names (e.g. ``MAX_REMINDERS_PER_DAY``).
    """

    key: str
    invoice_id: str
    request_id: str
    outcome: str | None
    day: dt.date | None
    status: int | None = None
    issues: tuple[str, ...] = ()


def job_calls(job_id: str, journal_dir: str | Path | None = None) -> list[JobCall]:
    """Every call a job's journal records, in the order they started (empty if the job has
    never run). Read only: it takes no lock, so it can be read while the job runs."""
    if not _JOB_ID.match(job_id):
        raise BulkError(f"job_id must be 1-100 letters, digits, '.', '_' or '-': {job_id!r}")
    records = _read_lines(Path(journal_dir or DEFAULT_JOURNAL_DIR) / f"{job_id}.jsonl")
    calls = []
    for key, entry in _entries(records[1:]).items():
        end = entry.end or {}
        day = end.get("day") or (end.get("timestamp") or "")[:10]
        calls.append(JobCall(key, entry.invoice_id, entry.request_id, end.get("outcome"),
                             dt.date.fromisoformat(day) if day else None, end.get("status"),
                             tuple(end.get("issues") or ())))
    return calls


class Journal:
    """A job's append-only journal: a header, then ``start``/``end`` lines around each call.

    Opening a journal for writing takes an exclusive lock on the file (released by the OS if
    the process dies), so two processes cannot run one job at once.

    Parameters
    ----------
    path
        The journal file (created with its directory if missing).
    job_id, action, options
        The job. An existing journal must have the same action and options.
    write
        Open for appending (and locking); otherwise read only (the dry run).

    Raises
    ------
    BulkError
        If an existing journal belongs to another action or other options.
    JobBusy
        If another process holds the job.
    """

    def __init__(self, path: Path, job_id: str, action: str, options: Mapping[str, Any], *,
                 write: bool) -> None:
        self.path = path
        self.job_id = job_id
        self._lock = threading.Lock()
        self._handle: Any = None
        self._log: _DurableLog | None = None
        header = {"type": "job", "version": 1, "job_id": job_id, "action": action,
                  "options": dict(options)}
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "ab+")  # noqa: SIM115 - held until close()
            try:
                fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._handle.close()
                raise JobBusy(f"job {job_id} is running in another process") from None
            self._drop_torn_tail()
            self._log = _DurableLog(self._handle)
        records = _read_lines(path)
        self.entries: dict[str, _Entry] = {}
        if records:
            first = records[0]
            if (first.get("action"), first.get("options")) != (action, header["options"]):
                self.close()
                raise BulkError(
                    f"job {job_id} was started as {first.get('action')} with options "
                    f"{first.get('options')}; use another job_id for {action} with "
                    f"{header['options']}")
        elif self._log:
            self._log.append({**header, "time": _now()})
        self.entries.update(_entries(records[1:]))

    def _drop_torn_tail(self) -> None:
        """Cut a last line left half-written by a crash, so appends start on a new line."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            self._handle.truncate(data.rfind(b"\n") + 1)

    def start(self, key: str, invoice_id: str, request_id: str, body: Any) -> None:
        """Record that a call is about to be made (returns once that is on disk)."""
        self._writable().append({"type": "start", "key": key, "invoice_id": invoice_id,
                          "request_id": request_id, "body": body, "time": _now()})
        with self._lock:
            self.entries[key] = _Entry(invoice_id, request_id, body)

    def end(self, key: str, row: Mapping[str, Any]) -> None:
        """Record a call's outcome (after it returned or failed)."""
        record = {"type": "end", "key": key, **row}
        self._writable().append(record)
        with self._lock:
            self.entries[key].end = record

    def _writable(self) -> _DurableLog:
        if self._log is None:
            raise BulkError(f"job {self.job_id}'s journal was opened for a dry run only")
        return self._log

    def done(self, key: str) -> bool:
        """Whether the call for ``key`` ended ``ok`` in some run of this job."""
        entry = self.entries.get(key)
        return bool(entry and entry.end and entry.end.get("outcome") == "ok")

    def close(self) -> None:
        """Release the file (and its lock)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ReminderLedger:
    """Reminders ppnb applied, per UTC day: ``{journal_dir}/reminders/{day}.jsonl``.

    One line per applied reminder (``invoice_id``, ``request_id``); a request id counts once,
    so a replayed reminder is not counted twice. A ``full`` line records PayPal's
    ``MAX_REMINDERS_PER_DAY`` refusal for reminders sent elsewhere.
    """

    def __init__(self, journal_dir: str | Path | None = None) -> None:
        self.dir = Path(journal_dir or DEFAULT_JOURNAL_DIR) / "reminders"
        self._lock = threading.Lock()
        self._logs: dict[dt.date, tuple[Any, _DurableLog]] = {}

    def _path(self, day: dt.date) -> Path:
        return self.dir / f"{day.isoformat()}.jsonl"

    def counts(self, day: dt.date) -> dict[str, int]:
        """Reminders sent on ``day`` per invoice id (only invoices that had any)."""
        seen: dict[str, set[str]] = {}
        full: set[str] = set()
        for record in _read_lines(self._path(day)):
            if record.get("full"):
                full.add(record["invoice_id"])
            else:
                seen.setdefault(record["invoice_id"], set()).add(record["request_id"])
        out = {invoice: min(len(ids), REMINDERS_PER_DAY) for invoice, ids in seen.items()}
        out.update(dict.fromkeys(full, REMINDERS_PER_DAY))
        return out

    def count(self, invoice_id: str, day: dt.date) -> int:
        """Reminders sent for one invoice on ``day``."""
        return self.counts(day).get(invoice_id, 0)

    def history(self) -> pd.DataFrame:
        """Every reminder ppnb applied, one row each (a request id counts once):
        ``invoice_id``, ``day`` (datetime64), ``request_id``; sorted by day and invoice."""
        rows = []
        for path in sorted(self.dir.glob("*.jsonl")) if self.dir.is_dir() else []:
            try:
                day = dt.date.fromisoformat(path.stem)
            except ValueError:
                continue  # not a ledger day file
            seen: set[tuple[str, str]] = set()
            for record in _read_lines(path):
                if record.get("full") or "request_id" not in record:
                    continue
                pair = (record["invoice_id"], record["request_id"])
                if pair not in seen:
                    seen.add(pair)
                    rows.append((pair[0], day, pair[1]))
        frame = pd.DataFrame(rows, columns=["invoice_id", "day", "request_id"])
        frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
        return frame.sort_values(["day", "invoice_id"], kind="stable").reset_index(drop=True)

    def record(self, invoice_id: str, day: dt.date, request_id: str) -> None:
        """Note an applied reminder."""
        self._write(day, {"invoice_id": invoice_id, "request_id": request_id, "time": _now()})

    def mark_full(self, invoice_id: str, day: dt.date) -> None:
        """Note that PayPal refused another reminder for the invoice on ``day``."""
        self._write(day, {"invoice_id": invoice_id, "full": True, "time": _now()})

    def _write(self, day: dt.date, record: Mapping[str, Any]) -> None:
        with self._lock:
            if day not in self._logs:
                self.dir.mkdir(parents=True, exist_ok=True)
                handle = open(self._path(day), "ab")  # noqa: SIM115 - closed by close()
                # Other processes append to the same day file, and one may die mid-line: each
                # record starts on a fresh line, so a torn line never swallows the next one.
                self._logs[day] = handle, _DurableLog(handle, lead=b"\n")
            log = self._logs[day][1]
        log.append(record)

    def close(self) -> None:
        """Close the day files this ledger has written to."""
        with self._lock:
            logs, self._logs = self._logs, {}
        for handle, _ in logs.values():
            handle.close()


def reminder_history(journal_dir: str | Path | None = None) -> pd.DataFrame:
    """Every reminder ppnb sent from this journal folder (bulk jobs, forms, dunning), as
    ``invoice_id``, ``day``, ``request_id``: the ``reminders`` input of
    :func:`ppnb.analysis.predict_payments` and :func:`ppnb.analysis.worklist` (PayPal has no
    call that lists reminders)."""
    return ReminderLedger(journal_dir).history()


# --- what to act on -------------------------------------------------------------------------


@dataclass
class _Unit:
    """One call to make (or skip): an invoice, and for payments one statement row."""

    key: str
    invoice_id: str
    number: str | None = None
    status: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None


def _cell(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _as_iso_date(value: Any, what: str) -> str:
    try:
        return pd.Timestamp(value).date().isoformat()
    except (ValueError, TypeError) as exc:
        raise BulkError(f"{what}: {value!r} is not a date") from exc


def _amount(value: Any, currency: str, what: str) -> Decimal:
    """An exact amount from a statement cell (str, Decimal, int, or a float read from a file,
    taken by its shortest repr and refused if it has more decimals than the currency)."""
    text = value if isinstance(value, str) else (
        format(value, "f") if isinstance(value, Decimal) else repr(value))
    try:
        amount = parse_amount(text.strip(), currency)
    except MoneyError as exc:
        raise BulkError(f"{what}: {exc}") from None
    if amount <= 0:
        raise BulkError(f"{what}: the amount must be positive, not {value!r}")
    return amount


def _input_rows(invoices: pd.DataFrame | Iterable[str]) -> list[dict[str, Any]]:
    if isinstance(invoices, pd.DataFrame):
        return invoices.to_dict("records")
    if isinstance(invoices, str):
        raise BulkError("invoices must be a DataFrame or a list of ids, not one string")
    return [{"id": str(i)} for i in invoices]


def _fetch(client: Client, ids: Sequence[str], concurrency: int) -> dict[str, dict | None]:
    """Current invoices by id (None for a 404), fetched concurrently."""
    def get(invoice_id: str) -> dict | None:
        try:
            return client.invoices.get(invoice_id)
        except NotFound:
            return None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(ids, pool.map(get, ids), strict=True))


def _by_number(client: Client, numbers: Sequence[str], concurrency: int
               ) -> dict[str, dict | None]:
    """Invoices by exact invoice number (PayPal's search), fetched concurrently."""
    def find(number: str) -> dict | None:
        found = client.invoices.search({"invoice_number": number}, page_size=2)
        items = [i for i in found.get("items", []) if i["detail"].get("invoice_number") == number]
        return items[0] if items else None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(numbers, pool.map(find, numbers), strict=True))


def _units(client: Client, action: str, rows: list[dict[str, Any]], options: dict[str, Any],
           concurrency: int) -> list[_Unit]:
    """Resolve the input into units with the current status (from the table when it has a
    ``status`` column, else fetched), and the request body of each."""
    if action == "record_payment":
        return _payment_units(client, rows, options, concurrency)
    if any(not _cell(r, "id") for r in rows):
        raise BulkError("every invoice needs an id (a DataFrame needs an 'id' column)")
    body = notification(action, options)
    has_status = bool(rows) and all("status" in r for r in rows)
    current = {} if has_status else _fetch(client, [str(r["id"]) for r in rows], concurrency)
    units: list[_Unit] = []
    seen: set[str] = set()
    for row in rows:
        invoice_id = str(row["id"])
        unit = _Unit(invoice_id, invoice_id, _cell(row, "number"), _cell(row, "status"),
                     body)
        if not has_status:
            doc = current[invoice_id]
            if doc is None:
                unit.skip = "no such invoice"
            else:
                unit.number, unit.status = doc["detail"].get("invoice_number"), doc["status"]
        if invoice_id in seen:
            unit.key, unit.skip = f"{invoice_id}#dup{len(units)}", "listed twice"
        seen.add(invoice_id)
        units.append(unit)
    return units


def _payment_units(client: Client, rows: list[dict[str, Any]], options: dict[str, Any],
                   concurrency: int) -> list[_Unit]:
    notification("record_payment", options)  # check the option names
    if rows and not all("amount" in r and ("id" in r or "number" in r) for r in rows):
        raise BulkError("record_payment needs a table with 'amount' and 'number' (or 'id') "
                        "columns, and optionally 'date', 'method', 'currency', 'note'")
    ids = sorted({str(r["id"]) for r in rows if _cell(r, "id")})
    numbers = sorted({str(r["number"]) for r in rows if not _cell(r, "id")})
    docs = _fetch(client, ids, concurrency)
    by_number = _by_number(client, numbers, concurrency)
    units: list[_Unit] = []
    per_invoice: Counter[str] = Counter()
    for line, row in enumerate(rows, 1):
        what = f"statement row {line}"
        doc = docs[str(row["id"])] if _cell(row, "id") else by_number[str(row["number"])]
        label = _cell(row, "number") or _cell(row, "id")
        if doc is None:
            units.append(_Unit(f"row{line}", "", str(label), None,
                               skip=f"no invoice {label}"))
            continue
        invoice_id, currency = doc["id"], doc["detail"]["currency_code"]
        per_invoice[invoice_id] += 1
        n = per_invoice[invoice_id]
        unit = _Unit(invoice_id if n == 1 else f"{invoice_id}#{n}", invoice_id,
                     doc["detail"].get("invoice_number"), doc["status"])
        units.append(unit)
        given = _cell(row, "currency")
        if given and given != currency:
            unit.skip = f"currency {given} is not the invoice's {currency}"
            continue
        amount = _amount(row["amount"], currency, what)
        unit.body = {"method": _cell(row, "method") or options.get("method") or "BANK_TRANSFER",
                     "amount": {"currency_code": currency,
                                "value": format_amount(amount, currency)}}
        if _cell(row, "date"):
            unit.body["payment_date"] = _as_iso_date(row["date"], what)
        note = _cell(row, "note") or options.get("note")
        if note:
            unit.body["note"] = str(note)
        due = Decimal(doc.get("due_amount", {}).get("value", "0"))
        if unit.status in ALLOWED_STATUSES["record_payment"] and amount > due:
            unit.skip = (f"amount {format_amount(amount, currency)} is more than the "
                         f"{format_amount(due, currency)} {currency} due")
    return units


def _default_job_id(action: str, rows: list[dict[str, Any]], options: Mapping[str, Any],
                    day: dt.date | None) -> str:
    """A job id derived from what the job is, so running the same cell again resumes it."""
    keys = ("id", "number", "amount", "date", "method", "currency", "note") \
        if action == "record_payment" else ("id",)
    described = [[str(_cell(r, k)) for k in keys] for r in rows]
    payload = orjson.dumps([action, dict(sorted(options.items())), sorted(described),
                            day.isoformat() if day else None], default=str)
    return f"{action}-{hashlib.sha256(payload).hexdigest()[:16]}"


# --- plan and run ---------------------------------------------------------------------------


def _plan_rows(action: str, units: list[_Unit], journal: Journal, job_id: str,
               reminders: Mapping[str, int]) -> list[dict[str, Any]]:
    rows = []
    allowed = ALLOWED_STATUSES[action]
    for unit in units:
        entry = journal.entries.get(unit.key)
        reason = ""
        if journal.done(unit.key):
            plan, reason = "skip", "already done in this job"
        elif entry is not None:
            plan = "resume"
            reason = ("started but not finished: sent again with the same request id"
                      if entry.end is None else
                      f"failed before ({entry.end.get('error')}): tried again with the same "
                      "request id")
        elif unit.skip:
            plan, reason = "skip", unit.skip
        elif unit.status not in allowed:
            plan = "skip"
            reason = f"wrong status {unit.status} ({action} needs {' or '.join(allowed)})"
        elif action == "remind" and reminders.get(unit.invoice_id, 0) >= REMINDERS_PER_DAY:
            plan = "skip"
            reason = f"reminder limit reached ({REMINDERS_PER_DAY} sent today)"
        else:
            plan = "run"
        rid = entry.request_id if entry else request_id(job_id, action, unit.key)
        rows.append({"invoice_id": unit.invoice_id, "number": unit.number,
                     "status": unit.status, "action": action, "plan": plan, "reason": reason,
                     "request_id": rid})
    return rows


def _call(client: Client, action: str, invoice_id: str, body: Any, rid: str) -> str:
    """Make one call; returns a short description of what PayPal did."""
    if action == "send":
        answer = client.invoices.send(invoice_id, body, request_id=rid)
        return "scheduled" if "href" not in (answer or {}) else "sent"
    if action == "remind":
        client.invoices.remind(invoice_id, body, request_id=rid)
        return "reminded"
    if action == "cancel":
        client.invoices.cancel(invoice_id, body, request_id=rid)
        return "cancelled"
    answer = client.invoices.record_payment(invoice_id, body, request_id=rid)
    return f"payment {answer.get('payment_id')}"


def _execute(client: Client, action: str, unit: _Unit, journal: Journal, rid: str, body: Any,
             ledger: ReminderLedger, day: dt.date) -> dict[str, Any]:
    """Journal, call, journal again; never raises for a PayPal error (it is the outcome)."""
    journal.start(unit.key, unit.invoice_id, rid, body)
    row: dict[str, Any] = {"invoice_id": unit.invoice_id, "number": unit.number,
                           "action": action, "outcome": "ok", "detail": "", "error": None,
                           "issues": [], "debug_id": None, "request_id": rid}
    status = None  # the HTTP status of PayPal's refusal
    try:
        row["detail"] = _call(client, action, unit.invoice_id, body, rid)
    except APIError as exc:
        status = exc.status
        row.update(outcome="failed", detail=exc.message, error=exc.name, issues=exc.issues,
                   debug_id=exc.debug_id)
        if action == "remind" and "MAX_REMINDERS_PER_DAY" in exc.issues:
            ledger.mark_full(unit.invoice_id, day)
    except PayPalError as exc:
        row.update(outcome="failed", detail=str(exc), error=type(exc).__name__)
    if action == "remind" and row["outcome"] == "ok":
        ledger.record(unit.invoice_id, day, rid)
    row["timestamp"] = _now()
    journal.end(unit.key, {**row, "day": day.isoformat(), "status": status})
    return row


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if "timestamp" in frame:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    return frame


def bulk(
    client: Client,
    action: str,
    invoices: pd.DataFrame | Iterable[str],
    *,
    confirm: bool = False,
    job_id: str | None = None,
    journal_dir: str | Path | None = None,
    concurrency: int = 8,
    progress: bool = True,
    today: dt.date | None = None,
    on_update: Callable[[Mapping[str, int], Mapping[str, Any]], None] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Plan, or run exactly once, one action on many invoices.

    Parameters
    ----------
    client
        Where to act.
    action
        ``"send"``, ``"remind"``, ``"cancel"`` or ``"record_payment"``.
    invoices
        A DataFrame with an ``id`` column (from ``fetch_invoices``/``fetch_tables`` or an
        aging detail; a ``status`` column, when present, is trusted, else each invoice is
        fetched), or a list of ids. For ``record_payment``: a statement table with ``amount``
        and ``number`` (or ``id``), optionally ``date``, ``method``, ``currency``, ``note``;
        matched by invoice number through PayPal's search.
    confirm
        ``False`` (the default) only plans: nothing is changed. ``True`` runs the plan.
    job_id
        Names the job (letters, digits, ``._-``). By default derived from the action, the
        options and the input (and the day, for reminders): running the same call again
        resumes the same job.
    journal_dir
        Where journals and the reminder ledger live (default ``~/.ppnb/jobs``).
    concurrency
        Calls in flight at once (threads).
    progress
        Show a tqdm bar with live ok / skipped / failed counts.
    today
        The day reminders are counted on (default: ``client.today()``, the emulator's clock,
        or the UTC date on PayPal, which counts per UTC day).
    on_update
        Called in the calling thread after each invoice with the counts and its result row
        (the :class:`~ppnb.widgets.BulkAction` widget uses it).
    **options
        send/remind/cancel: ``subject``, ``note``, ``send_to_recipient``,
        ``send_to_invoicer``, ``additional_recipients`` (CC: a list or comma-separated
        string). record_payment: default ``method`` and ``note`` for rows without one.

    Returns
    -------
    pandas.DataFrame
        Without ``confirm``: the plan, one row per input row: ``invoice_id number status
        action plan reason request_id``, ``plan`` being ``run``, ``skip`` (with the reason:
        wrong status, reminder limit reached, already done in this job, ...) or ``resume``.
        With ``confirm``: the result, ``invoice_id number action outcome detail error issues
        debug_id request_id timestamp``, ``outcome`` being ``ok``, ``skipped`` or ``failed``.
        ``attrs`` holds ``job_id``, ``journal`` (its path) and, for a result, ``counts``.

    Raises
    ------
    BulkError
        For an unknown action or option, input without ids, a statement row that is not a
        valid amount or date, a bad job id, or a job id already used for other options.
    JobBusy
        If another process is running this job.
    """
    if action not in ACTIONS:
        raise BulkError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if concurrency < 1:
        raise BulkError(f"concurrency must be at least 1, not {concurrency}")
    rows = _input_rows(invoices)
    day = today or client.today()
    job_options = notification(action, options)
    job_id = job_id or _default_job_id(action, rows, job_options,
                                       day if action == "remind" else None)
    if not _JOB_ID.match(job_id):
        raise BulkError(f"job_id must be 1-100 letters, digits, '.', '_' or '-': {job_id!r}")
    folder = Path(journal_dir or DEFAULT_JOURNAL_DIR)
    path = folder / f"{job_id}.jsonl"
    ledger = ReminderLedger(folder)
    journal = Journal(path, job_id, action, job_options, write=confirm)
    try:
        units = _units(client, action, rows, options, concurrency)
        reminders = ledger.counts(day) if action == "remind" else {}
        plan = _plan_rows(action, units, journal, job_id, reminders)
        attrs = {"job_id": job_id, "journal": str(path)}
        if not confirm:
            frame = _frame(plan, _PLAN_COLUMNS)
            frame.attrs.update(attrs)
            return frame
        results = _run(client, action, units, plan, journal, ledger, day, concurrency,
                       progress, on_update)
    finally:
        journal.close()
        ledger.close()
    frame = _frame(results, _RESULT_COLUMNS)
    frame.attrs.update(attrs, counts=dict(Counter(frame["outcome"])))
    return frame


def _run(client: Client, action: str, units: list[_Unit], plan: list[dict[str, Any]],
         journal: Journal, ledger: ReminderLedger, day: dt.date, concurrency: int,
         progress: bool, on_update: Callable[..., None] | None) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter(ok=0, skipped=0, failed=0)
    results: list[dict[str, Any] | None] = [None] * len(units)
    with _progress_bar(progress, len(units), action) as bar:
        def report(i: int, row: dict[str, Any]) -> None:
            results[i] = row
            counts[row["outcome"]] += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ok=counts["ok"], skipped=counts["skipped"],
                                failed=counts["failed"], refresh=False)
            if on_update is not None:
                on_update(dict(counts), row)

        todo = []
        for i, (unit, planned) in enumerate(zip(units, plan, strict=True)):
            if planned["plan"] == "skip":
                report(i, {**{k: planned[k] for k in ("invoice_id", "number", "action")},
                           "outcome": "skipped", "detail": planned["reason"], "error": None,
                           "issues": [], "debug_id": None,
                           "request_id": planned["request_id"], "timestamp": _now()})
            else:
                entry = journal.entries.get(unit.key)
                body = entry.body if entry is not None else unit.body
                todo.append((i, unit, planned["request_id"], body))
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ppnb-bulk")
        try:
            futures = {pool.submit(_execute, client, action, unit, journal, rid, body, ledger,
                                   day): i for i, unit, rid, body in todo}
            for future in as_completed(futures):
                report(futures[future], future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [r for r in results if r is not None]


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int, action: str) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=action, unit="invoice")
    try:
        yield bar
    finally:
        bar.close()

