"""Plan and run: :func:`bulk`, each call journalled before and after it is made."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pandas as pd

from .._progress import progress_bar
from .._protocol import REMINDERS_PER_DAY
from ..client import APIError, Client, PayPalError
from ._common import (
    ACTIONS,
    ALLOWED_STATUSES,
    DEFAULT_JOURNAL_DIR,
    BulkError,
    check_job_id,
    notification,
    request_id,
)
from ._journal import Journal, _now
from ._ledger import ReminderLedger
from ._units import _default_job_id, _input_rows, _Unit, _units

__all__ = ["bulk"]

_PLAN_COLUMNS = ["invoice_id", "number", "status", "action", "plan", "reason", "request_id"]
_RESULT_COLUMNS = ["invoice_id", "number", "action", "outcome", "detail", "error", "issues",
                   "debug_id", "request_id", "timestamp"]


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
    progress: bool | None = None,
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
        Show a progress bar with live ok / skipped / failed counts: None (the default) only
        in a notebook or a terminal and only once the run has taken a second; True always;
        False never.
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
    job_id = check_job_id(job_id or _default_job_id(action, rows, job_options,
                                                    day if action == "remind" else None))
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
         progress: bool | None, on_update: Callable[..., None] | None
         ) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter(ok=0, skipped=0, failed=0)
    results: list[dict[str, Any] | None] = [None] * len(units)
    bar = progress_bar(show=progress, total=len(units), desc=action, unit="invoice")
    try:
        def report(i: int, row: dict[str, Any]) -> None:
            results[i] = row
            counts[row["outcome"]] += 1
            bar.set_postfix(ok=counts["ok"], skipped=counts["skipped"],
                            failed=counts["failed"], refresh=False)
            bar.update(1)
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
    finally:
        bar.close()
    return [r for r in results if r is not None]
