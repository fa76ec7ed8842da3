"""What :class:`~._control.Control`'s methods return: the JSON of each ``/_emulator/``
endpoint, as TypedDicts (plain dicts at run time, so a list of them goes straight into
``pandas.DataFrame``)."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["ClockMove", "ClockState", "Delivery", "Email", "FaultSettings", "Payment",
           "Settings", "Stats"]


class ClockState(TypedDict):
    """The emulator's time: ``now`` (ISO date-time, UTC), ``today`` (ISO date), ``frozen``."""

    now: str
    today: str
    frozen: bool


class ClockMove(ClockState):
    """The time after a move, and the ids of the scheduled invoices that went out."""

    fired: list[str]


class Payment(TypedDict):
    """A customer's payment: its PayPal ``payment_id`` and the invoice's new ``status``."""

    payment_id: str
    status: str


class Email(TypedDict):
    """An email PayPal would have sent (``kind`` invoice, reminder or cancellation; ``role``
    recipient, cc or invoicer); ``requested_*`` are what the call asked for."""

    id: int
    merchant_id: str
    invoice_id: str
    kind: str
    role: str
    email: str
    subject: str | None
    note: str | None
    time: str
    requested_subject: str | None
    requested_note: str | None


class Stats(TypedDict, total=False):
    """Applied effects per operation, the most any one invoice got, and (asked for one
    invoice) that invoice's own counts."""

    operations: dict[str, int]
    max_per_invoice: dict[str, int]
    invoice: dict[str, int]


class FaultSettings(TypedDict):
    """The fault settings and the counts of faults injected since they were set."""

    rate: float
    statuses: list[int]
    latency_ms: list[int]
    drop_connections: bool
    seed: int
    retry_after: int | None
    injected: dict[str, int]


class Delivery(TypedDict):
    """A webhook delivery and every attempt at it."""

    id: int
    event_id: str
    event_type: str
    webhook_id: str
    url: str
    status: str
    attempts: list[dict[str, Any]]
    next_attempt_in: float | None


class Settings(TypedDict):
    """How list and search items look: ``off``, ``on`` or ``always`` (see the README)."""

    summaries: str
