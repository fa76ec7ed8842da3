"""A job's journal: append-only JSON lines, each on disk before the next step."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ._common import DEFAULT_JOURNAL_DIR, BulkError, JobBusy, check_job_id

__all__ = ["JobCall", "Journal", "job_calls"]


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
    folder = Path(journal_dir or DEFAULT_JOURNAL_DIR)
    records = _read_lines(folder / f"{check_job_id(job_id)}.jsonl")
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

