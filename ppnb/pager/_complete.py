"""Which search results must be read again whole, and one copy of each invoice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..frames import CANCELLED_STATUSES

__all__ = ["PAID_STATUSES", "REFUNDED_STATUSES", "dedupe", "incomplete"]

#: Statuses that say payments were recorded, refunds were recorded, or the invoice was
#: cancelled (``AUTO_CANCELLED``: PayPal's documentation lists it, the spec's enum does not).
PAID_STATUSES = frozenset({"PAID", "MARKED_AS_PAID", "PARTIALLY_PAID", "REFUNDED",
                           "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"})
REFUNDED_STATUSES = frozenset({"REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"})


def incomplete(invoice: Mapping[str, Any], *, collections: bool) -> bool:
    """Whether a search result lacks what its status says exists, so that it must be read
    again with GET.

    Always needed: the payments of a paid, partly paid or refunded invoice, the refunds of a
    refunded one (their totals; their transactions when ``collections``), and the cancel
    time of a cancelled one. With ``collections`` (the full tables) also its items (every
    invoice has at least one) and the transactions behind any paid or refunded total.
    """
    status = invoice.get("status")
    payments = invoice.get("payments") or {}
    refunds = invoice.get("refunds") or {}
    if collections:
        if not invoice.get("items") or (
                "paid_amount" in payments and "transactions" not in payments) or (
                "refund_amount" in refunds and "transactions" not in refunds):
            return True
        paid, refunded = "transactions", "transactions"
    else:
        paid, refunded = "paid_amount", "refund_amount"
    if (status in PAID_STATUSES and not payments.get(paid)) or (
            status in REFUNDED_STATUSES and not refunds.get(refunded)):
        return True
    metadata = (invoice.get("detail") or {}).get("metadata") or {}
    return status in CANCELLED_STATUSES and not metadata.get("cancel_time")


def dedupe(invoices: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One copy per invoice id: the most recently updated, in first-seen order."""
    chosen: dict[str, dict[str, Any]] = {}
    for invoice in invoices:
        key = invoice["id"]
        old = chosen.get(key)
        if old is None or _updated(invoice) >= _updated(old):
            chosen[key] = invoice
    return list(chosen.values())


def _updated(invoice: Mapping[str, Any]) -> str:
    return ((invoice.get("detail") or {}).get("metadata") or {}).get("last_update_time", "")
