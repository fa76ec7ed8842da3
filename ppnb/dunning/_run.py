"""Running a dunning policy: the day's plan, and its reminders sent through ``ppnb.bulk``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..actions import DEFAULT_JOURNAL_DIR, BulkError, bulk, job_calls
from ..analysis import aging, as_date, disputed
from ..client import Client
from ..frames import Tables
from ._policy import DunningError, Policy

__all__ = ["PLAN_COLUMNS", "plan", "run", "state"]

#: The columns every plan and result has (a dry run adds ``plan``, ``detail`` and
#: ``request_id``; a confirmed run ``outcome``, ``detail``, ``error`` and ``request_id``).
PLAN_COLUMNS = ("invoice_id", "number", "customer", "currency", "outstanding_minor",
                "days_past_due", "reached", "sent", "last_sent", "action", "level",
                "reminder", "reason", "job_id")
_NO_REPLAY = (401, 403, 429)  # refusals PayPal does not replay for a request id


@dataclass
class _Sent:
    """One invoice's history under a policy, from the level journals."""

    done: list[tuple[int, int, dt.date]] = field(default_factory=list)  # level, n, day
    pending: tuple[int, int, int] | None = None  # level, n, attempt: to resume
    refused: dict[tuple[int, int], tuple[int, dt.date, str]] = field(default_factory=dict)


def _history(policy: Policy, folder: Path) -> dict[str, _Sent]:
    """What the policy's journals record, per invoice: reminders done (with their day),
    a call to resume (started but unfinished, or failed without an answer), and reminders
    PayPal refused (those need a new job: a request id replays its answer)."""
    sent: dict[str, _Sent] = {}
    for i, level in enumerate(policy.levels):
        for n in range(1, level.reminders + 1):
            prefix = policy.job_id(level, n, 0)[:-1]
            attempts = sorted(int(p.stem[len(prefix):]) for p in folder.glob(f"{prefix}*.jsonl")
                              if p.stem[len(prefix):].isdigit())
            for attempt in attempts:
                for call in job_calls(policy.job_id(level, n, attempt), folder):
                    entry = sent.setdefault(call.invoice_id, _Sent())
                    if call.outcome == "ok" and call.day is not None:
                        entry.done.append((i, n, call.day))
                        entry.refused.pop((i, n), None)
                    elif call.status is not None and 400 <= call.status < 500 and \
                            call.status not in _NO_REPLAY and call.day is not None:
                        entry.refused[(i, n)] = (attempt, call.day, ", ".join(call.issues)
                                                 or str(call.status))
                    else:
                        entry.pending = (i, n, attempt)
    for entry in sent.values():
        if entry.pending and entry.pending[:2] in {(i, n) for i, n, _ in entry.done}:
            entry.pending = None
    return sent


def state(policy: Policy, journal_dir: str | Path | None = None) -> pd.DataFrame:
    """The level each invoice reached under ``policy``, read from its journals (so it
    survives restarts): ``invoice_id``, ``level`` (the highest level sent), ``sent``
    (reminders of the policy applied), ``last_sent`` (the day of the last one)."""
    sent = _history(policy, Path(journal_dir or DEFAULT_JOURNAL_DIR))
    rows = [(invoice, policy.levels[max(i for i, _, _ in s.done)].name, len(s.done),
             max(d for _, _, d in s.done)) for invoice, s in sent.items() if s.done]
    frame = pd.DataFrame(rows, columns=["invoice_id", "level", "sent", "last_sent"])
    frame["last_sent"] = pd.to_datetime(frame["last_sent"]).astype("datetime64[ns]")
    return frame.sort_values("invoice_id", kind="stable").reset_index(drop=True)


def _decide(policy: Policy, s: _Sent, dpd: int, day: dt.date
            ) -> tuple[str, int, int, int, str]:
    """(action, level index, reminder, attempt, reason) for one open, not excluded invoice."""
    levels = policy.levels
    if s.pending:
        i, n, attempt = s.pending
        return ("remind", i, n, attempt, "resumes a reminder whose run did not finish (same "
                "request id: sent at most once)")
    last = max((d for _, _, d in s.done), default=None)
    if last is not None and last >= day:
        return "wait", -1, 0, 0, f"reminded on {last}"
    refused = [(d, issue) for _, d, issue in s.refused.values() if d >= day]
    if refused:
        return "wait", -1, 0, 0, f"PayPal refused today's reminder ({refused[0][1]}); " \
            "tried again on a later day"
    if last is not None and (day - last).days < policy.min_days_between:
        return "wait", -1, 0, 0, (f"last reminder on {last}; the next from "
                                  f"{last + dt.timedelta(days=policy.min_days_between)}")
    reached = max((i for i, _, _ in s.done), default=-1)
    following = reached + 1
    if following < len(levels) and dpd >= levels[following].days:
        target = (following, 1)
        reason = f"{dpd} days past due: {levels[following].name} is due from " \
            f"{levels[following].days}"
    elif reached >= 0 and (missing := sorted(
            set(range(1, levels[reached].reminders + 1))
            - {n for i, n, _ in s.done if i == reached})):
        current = levels[reached]
        since = max(d for i, _, d in s.done if i == reached)
        if (day - since).days < current.every:
            return "wait", -1, 0, 0, (f"reminder {missing[0]} of {current.name} from "
                                      f"{since + dt.timedelta(days=current.every)}")
        target = (reached, missing[0])
        reason = f"reminder {missing[0]} of {current.reminders} of {current.name}, " \
            f"{current.every} days after the last"
    elif following < len(levels):
        return "wait", -1, 0, 0, (f"{levels[following].name} from {levels[following].days} "
                                  f"days past due (now {dpd})")
    else:
        return "done", -1, 0, 0, f"every level sent (the last on {last})"
    attempt = s.refused[target][0] + 1 if target in s.refused else 1
    return "remind", target[0], target[1], attempt, reason


def _excluded(policy: Policy, record: Any, flagged: bool) -> str:
    if policy.exclude_disputed and flagged:
        return "memo says disputed"
    customer = record.customer
    if isinstance(customer, str) and customer.lower() in policy.exclude_customers:
        return f"customer {customer} is excluded"
    minimum = policy.min_amount.get(record.currency)
    if minimum is not None and record.outstanding_minor < minimum:
        return "outstanding is under the policy's minimum"
    return ""


def plan(client: Client, tables: Tables, policy: Policy, as_of: Any = None, *,
         confirm: bool = False, journal_dir: str | Path | None = None, concurrency: int = 8,
         progress: bool = False) -> pd.DataFrame:
    """The day's dunning: each open invoice's level, action and reason; with
    ``confirm=True``, the reminders sent.

    For every invoice open on ``as_of`` (rules of :func:`ppnb.analysis.aging`) that the
    policy does not exclude, the level journals say which reminders it already had. It
    escalates **one level at a time**: the next level once the invoice is that many days
    past due, a level's further reminders ``every`` days apart, never two reminders of the
    policy on one day (``min_days_between``), and nothing once every level is sent. An
    invoice that is paid or cancelled is no longer open, so the policy stops at once; one
    paid since ``tables`` were read is caught by ``ppnb.bulk``, which reads each invoice's
    status again before reminding it.

    The reminders go through :func:`ppnb.bulk`, one job per level and reminder
    (``dunning-{policy}-{level}-{n}-{attempt}``), so journals, request ids and the two-per-day
    limit are shared with every other bulk job and form. Running the same policy twice on
    one day sends nothing the second time; a run killed half-way resumes with the same
    request ids. A reminder PayPal refused (e.g. ``MAX_REMINDERS_PER_DAY`` after reminders
    sent elsewhere) is tried again on a later day, in a new job.

    Parameters
    ----------
    client
        Where to act (its ``today()`` is the day reminders count on).
    tables
        The book, read today (e.g. ``ppnb.fetch_tables(client)``).
    policy
        A :class:`Policy` (e.g. ``Policy.from_toml("dunning.toml")``).
    as_of
        The day to plan for (default ``client.today()``). A confirmed run acts today, so
        it refuses any other day.
    confirm
        ``False`` (default): a dry run, nothing is sent. ``True``: send.
    journal_dir
        Where the jobs' journals and the reminder ledger live (default ``~/.ppnb/jobs``).
    concurrency, progress
        As in :func:`ppnb.bulk`.

    Returns
    -------
    pandas.DataFrame
        :data:`PLAN_COLUMNS`: the invoice, its customer, currency, ``outstanding_minor`` and
        ``days_past_due``; ``reached`` (the highest level sent before), ``sent`` (reminders
        of the policy so far), ``last_sent``; ``action`` (``remind``, ``wait``, ``done`` or
        ``excluded``), the ``level`` and ``reminder`` number to send, ``reason``, ``job_id``.
        A dry run adds ``plan`` (``run``, ``resume`` or ``skip``, from ``ppnb.bulk``), a
        confirmed run ``outcome`` (``ok``, ``skipped`` or ``failed``), and both ``detail``
        and ``request_id``. ``attrs``: ``as_of``, ``policy``, ``counts``.

    Raises
    ------
    DunningError
        For a confirmed run on a day other than today, or a level whose journal was
        started with other notification options (they cannot change once sent).
    ppnb.actions.JobBusy
        If another process is running one of the jobs.
    """
    if not isinstance(policy, Policy):
        raise DunningError(f"policy: expected a ppnb.dunning.Policy, got "
                           f"{type(policy).__name__}")
    today = client.today()
    day = as_date(as_of, "as_of") if as_of is not None else today
    if confirm and day != today:
        raise DunningError(f"a confirmed run sends today's reminders: as_of {day} is not "
                           f"today ({today}, by client.today()); plan other days as dry runs")
    folder = Path(journal_dir or DEFAULT_JOURNAL_DIR)
    sent = _history(policy, folder)
    detail = aging(tables, day).detail
    flags = dict(zip(tables.invoices["id"], disputed(tables.invoices), strict=True))
    status = dict(zip(tables.invoices["id"], tables.invoices["status"], strict=True))
    rows = []
    for record in detail.itertuples(index=False):
        s = sent.get(record.id, _Sent())
        reached = max((i for i, _, _ in s.done), default=-1)
        why = _excluded(policy, record, flags.get(record.id, False))
        action, level, reminder, attempt, reason = ("excluded", -1, 0, 0, why) if why else \
            _decide(policy, s, int(record.days_past_due), day)
        rows.append({
            "invoice_id": record.id, "number": record.number, "customer": record.customer,
            "currency": record.currency, "outstanding_minor": record.outstanding_minor,
            "days_past_due": record.days_past_due,
            "reached": policy.levels[reached].name if reached >= 0 else "",
            "sent": len(s.done), "last_sent": max((d for _, _, d in s.done), default=None),
            "action": action, "level": policy.levels[level].name if level >= 0 else "",
            "reminder": reminder, "reason": reason,
            "job_id": policy.job_id(policy.levels[level], reminder, attempt)
            if action == "remind" else ""})
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    frame["last_sent"] = pd.to_datetime(frame["last_sent"]).astype("datetime64[ns]")
    frame = _send(client, frame, policy, status, day, folder, confirm, concurrency, progress)
    column = "outcome" if confirm else "action"
    frame.attrs.update(as_of=day, policy=policy.name,
                       counts=dict(Counter(frame[column].replace("", "none"))))
    return frame


def run(client: Client, tables: Tables, policy: Policy, as_of: Any = None,
        **options: Any) -> pd.DataFrame:
    """:func:`plan` with ``confirm=True``: send the day's reminders."""
    return plan(client, tables, policy, as_of, confirm=True, **options)


def _send(client: Client, frame: pd.DataFrame, policy: Policy, status: dict[str, Any],
          day: dt.date, folder: Path, confirm: bool, concurrency: int,
          progress: bool) -> pd.DataFrame:
    """Plan (dry run) or run each level job through ``ppnb.bulk``; add its columns."""
    extra = ["outcome", "detail", "error", "request_id"] if confirm else \
        ["plan", "detail", "request_id"]
    for column in extra:
        frame[column] = pd.Series([""] * len(frame), dtype=object) if column != "error" \
            else pd.Series([None] * len(frame), dtype=object)
    levels = {level.name: level for level in policy.levels}
    for job_id, group in frame[frame["action"] == "remind"].groupby("job_id", sort=True):
        level = levels[group["level"].iat[0]]
        ids = list(group["invoice_id"])
        invoices: Any = ids if confirm else pd.DataFrame(
            {"id": ids, "number": list(group["number"]), "status": [status[i] for i in ids]})
        try:
            result = bulk(client, "remind", invoices, confirm=confirm, job_id=job_id,
                          journal_dir=folder, today=day, concurrency=concurrency,
                          progress=progress, **level.notification())
        except BulkError as exc:
            raise DunningError(f"level {level.name}: {exc}") from None
        by_id = result.set_index("invoice_id")
        where = group.index
        if confirm:
            frame.loc[where, "outcome"] = list(by_id.loc[ids, "outcome"])
            frame.loc[where, "error"] = list(by_id.loc[ids, "error"])
            frame.loc[where, "detail"] = [
                f"{', '.join(issues)}: {detail}" if len(issues) else detail
                for issues, detail in zip(by_id.loc[ids, "issues"], by_id.loc[ids, "detail"],
                                          strict=True)]
        else:
            frame.loc[where, "plan"] = list(by_id.loc[ids, "plan"])
            frame.loc[where, "detail"] = list(by_id.loc[ids, "reason"])
        frame.loc[where, "request_id"] = list(by_id.loc[ids, "request_id"])
    return frame
