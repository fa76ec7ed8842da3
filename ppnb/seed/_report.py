"""What a seed run reports, the one error it raises, and the plan of one invoice."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .._errors import PPNBError

__all__ = ["Plan", "SeedError", "SeedReport"]


class SeedError(ValueError, PPNBError):
    """Seed input that cannot be loaded; nothing has been written when it is raised.

    Attributes
    ----------
    line
        The CSV line number (the header is line 1), if the problem is in a row.
    invoice_number
        The row's invoice number, if known.
    """

    def __init__(self, message: str, *, line: int | None = None,
                 invoice_number: str | None = None) -> None:
        where = "" if line is None else f"line {line}" + (
            f" (invoiceNumber {invoice_number})" if invoice_number else "") + ": "
        super().__init__(where + message)
        self.line = line
        self.invoice_number = invoice_number


@dataclass
class SeedReport:
    """What a seed run did.

    Attributes
    ----------
    dataset
        ``"demo"`` or ``"ibm"``.
    created
        Invoices created by this run.
    skipped
        Invoices whose number already existed and that needed nothing more.
    resumed
        Invoices that existed half-done (e.g. created but not sent) and were finished.
    by_status
        Final status of every invoice this run created or resumed.
    templates
        Templates created by this run.
    as_of
        The date the book is built up to (demo), or None.
    seconds
        Wall-clock duration.
    """

    dataset: str
    created: int = 0
    skipped: int = 0
    resumed: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    templates: int = 0
    as_of: dt.date | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for humans, e.g. ``demo: created 2000, skipped 0 ... in 3.1 s``."""
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        text = f"{self.dataset}: created {self.created}, skipped {self.skipped} already present"
        if self.resumed:
            text += f", resumed {self.resumed}"
        if statuses:
            text += f" ({statuses})"
        return text + f" in {self.seconds:.1f} s"


@dataclass
class Plan:
    """One invoice and everything that happens to it, decided before any request."""

    body: dict[str, Any]
    send: dict[str, Any] | None = None  # the send notification; None leaves a draft
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    cancel: bool = False

    @property
    def number(self) -> str:
        return self.body["detail"]["invoice_number"]

