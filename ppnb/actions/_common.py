"""What every part of a bulk job shares: the actions, their rules, the errors, the request
ids and the notification bodies."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import PPNBError

__all__ = ["ACTIONS", "ALLOWED_STATUSES", "DEFAULT_JOURNAL_DIR", "BulkError", "JobBusy",
           "check_job_id", "notification", "request_id"]

#: The bulk actions.
ACTIONS = ("send", "remind", "cancel", "record_payment")
#: The statuses each action accepts (PayPal's rules; anything else is skipped).
ALLOWED_STATUSES: dict[str, tuple[str, ...]] = {
    "send": ("DRAFT",),
    "remind": ("SENT", "UNPAID", "PARTIALLY_PAID"),
    "cancel": ("SENT", "UNPAID"),
    "record_payment": ("SENT", "UNPAID", "PARTIALLY_PAID"),
}
#: Where journals live unless ``journal_dir`` is given.
DEFAULT_JOURNAL_DIR = Path.home() / ".ppnb" / "jobs"

_NOTIFY_KEYS = ("subject", "note", "send_to_recipient", "send_to_invoicer",
                "additional_recipients")
_PAYMENT_KEYS = ("method", "note")
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_NAMESPACE = uuid.UUID("5b0c8f8e-3f5e-4d0e-9a3c-7f2b6e1d9a40")


class BulkError(PPNBError, ValueError):
    """A bulk request that cannot be run as given (bad action, options, input or job)."""


class JobBusy(PPNBError, RuntimeError):
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



def check_job_id(job_id: str) -> str:
    """``job_id`` if it can name a journal file, else a :class:`BulkError` saying why."""
    if not _JOB_ID.match(job_id):
        raise BulkError(f"job_id must be 1-100 letters, digits, '.', '_' or '-': {job_id!r}")
    return job_id

