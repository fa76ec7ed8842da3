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

from .._protocol import REMINDERS_PER_DAY
from ._bulk import bulk
from ._common import (
    ACTIONS,
    ALLOWED_STATUSES,
    DEFAULT_JOURNAL_DIR,
    BulkError,
    JobBusy,
    notification,
    request_id,
)
from ._journal import JobCall, Journal, job_calls
from ._ledger import ReminderLedger, reminder_history

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
