"""Reminders ppnb applied, per UTC day, shared by bulk jobs, the forms and dunning."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._protocol import REMINDERS_PER_DAY
from ._common import DEFAULT_JOURNAL_DIR
from ._journal import _DurableLog, _now, _read_lines

__all__ = ["ReminderLedger", "reminder_history"]


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
