"""What every part of the invoicing service shares: the merchant, and the book itself.

:class:`Book` holds the store, the clock, the id factory and the base-URL placeholder, and
reads and writes invoice documents for the parts (:mod:`._invoices`, :mod:`._payments`,
:mod:`._scheduler`). Saving one re-derives its links (what PayPal offers in its state), its
index columns, its summary for search, and emits its ``INVOICING.INVOICE.*`` webhook event in
the caller's transaction (:mod:`._webhooks`); every change bumps the merchant's
:meth:`Book.version`, which drops the search results remembered for that merchant
(:mod:`._search`).

:func:`set_balances` derives what an invoice's transactions imply: paid, refunded and due
amounts, and the status (``MARKED_AS_PAID``, ``PARTIALLY_PAID``, ``PARTIALLY_REFUNDED``, ...).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from ..money import format_amount, to_minor
from ._clock import Clock
from ._errors import ApiError, Detail, not_found
from ._ids import IdFactory
from ._shape import search_view, shape
from ._store import Store
from ._webhooks import DeliveryPolicy, Webhooks

SENT_STATES = ("SENT", "UNPAID", "PARTIALLY_PAID")
PAID_STATES = ("PAID", "MARKED_AS_PAID", "PARTIALLY_PAID")
REFUNDED_STATES = ("REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED")


@dataclass(frozen=True)
class Merchant:
    """A PayPal merchant account and its REST app credentials (the secret is never kept)."""

    payer_id: str
    client_id: str
    email: str
    business_name: str


class Book:
    """Every merchant's invoices in the store, and what the service's parts share.

    Parameters
    ----------
    store
        Where state lives; one transaction per request (:meth:`Store.transaction`).
    clock
        The emulator's clock; every date and time the service records comes from it.
    ids
        Makes generated ids (replaceable: a test can have the emulator make given ids).
    webhook_policy
        Retry schedule of webhook deliveries.
    """

    def __init__(self, store: Store, clock: Clock, ids: IdFactory,
                 webhook_policy: DeliveryPolicy | None = None) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        row = store.one("SELECT value FROM meta WHERE key = 'base_sentinel'")
        if row is None:
            sentinel = "ppnb-base-" + secrets.token_hex(8)
            store.execute("INSERT INTO meta VALUES ('base_sentinel', ?)", (sentinel,))
        else:
            sentinel = row[0]
        #: Stands for the server's base URL in stored documents; replaced when served.
        self.base = sentinel
        #: Webhook subscriptions, the events every change emits, and their delivery.
        self.webhooks = Webhooks(store, clock, sentinel, webhook_policy)
        self._versions: dict[str, int] = {}

    def version(self, merchant: Merchant) -> int:
        """How many times the merchant's book has changed since this process remembered it."""
        return self._versions.get(merchant.payer_id, 0)

    def touch(self, merchant: Merchant) -> None:
        """Note that the merchant's book changed (drops remembered search results)."""
        self._versions[merchant.payer_id] = self._versions.get(merchant.payer_id, 0) + 1

    def forget(self) -> None:
        """Forget the versions (the database changed underneath: a reset or a restore)."""
        self._versions.clear()

    def load(self, merchant: Merchant, invoice_id: str) -> tuple[int, dict[str, Any], dict]:
        """An invoice's sequence number, document and internal state; 404 if not the
        merchant's."""
        row = self.store.one(
            "SELECT seq, doc, internal FROM invoices WHERE id = ? AND merchant = ?",
            (invoice_id, merchant.payer_id),
        )
        if row is None:
            raise not_found("invoice", invoice_id)
        return row[0], orjson.loads(row[1]), orjson.loads(row[2])

    def links(self, invoice_id: str, status: str) -> list[dict[str, str]]:
        """The HATEOAS links PayPal offers on an invoice in ``status``."""
        href = f"{self.base}/v2/invoicing/invoices/{invoice_id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        rels: list[tuple[str, str, str]] = []
        if status == "DRAFT":  # PayPal offers record-payment on drafts (mark as paid)
            rels = [("/send", "send", "POST"), ("", "replace", "PUT"), ("", "delete", "DELETE"),
                    ("/payments", "record-payment", "POST")]
        elif status == "SCHEDULED":
            rels = [("", "replace", "PUT"), ("", "delete", "DELETE")]
        elif status == "PARTIALLY_PAID":  # exactly these in PayPal's saved sandbox response
            rels = [("/payments", "record-payment", "POST")]
        elif status in SENT_STATES:
            rels = [("", "replace", "PUT"), ("/remind", "remind", "POST"),
                    ("/cancel", "cancel", "POST"), ("/payments", "record-payment", "POST"),
                    ("/generate-qr-code", "qr-code", "POST")]
        if status in PAID_STATES or status == "PARTIALLY_REFUNDED":
            rels.append(("/refunds", "record-refund", "POST"))
        links += [{"href": href + suffix, "rel": rel, "method": m} for suffix, rel, m in rels]
        return links

    def save(
        self,
        merchant: Merchant,
        doc: dict[str, Any],
        internal: dict[str, Any],
        seq: int | None = None,
        event: str | None = None,
    ) -> bytes:
        """Store ``doc`` (re-deriving links and index columns); returns its JSON.

        ``event`` (``CREATED``, ``PAID``, ...) emits ``INVOICING.INVOICE.<event>`` with the
        stored document, in the caller's transaction.
        """
        doc["links"] = self.links(doc["id"], doc["status"])
        shape(doc)
        detail = doc["detail"]
        billing = ((doc.get("primary_recipients") or [{}])[0]).get("billing_info") or {}
        name = billing.get("name") or {}
        currency = detail["currency_code"]
        row = {
            "id": doc["id"],
            "merchant": merchant.payer_id,
            "number": detail["invoice_number"],
            "status": doc["status"],
            "currency": currency,
            "total_minor": to_minor(doc["amount"]["value"], currency),
            "invoice_date": detail.get("invoice_date"),
            "due_date": (detail.get("payment_term") or {}).get("due_date"),
            "email": billing.get("email_address"),
            "given_name": name.get("given_name"),
            "surname": name.get("surname"),
            "business": billing.get("business_name"),
            "reference": detail.get("reference"),
            "memo": detail.get("memo"),
            "created": detail["metadata"]["create_time"],
            "archived": 0,
        }
        body = orjson.dumps(doc)
        summary = orjson.dumps(search_view(doc))
        hidden = orjson.dumps(internal)
        inserting = seq is None
        self.touch(merchant)
        try:
            if seq is None:
                seq = self.store.insert_invoice(row, body, summary, hidden)
            else:
                self.store.update_invoice(seq, row, body, summary, hidden)
        except sqlite3.IntegrityError:  # the (merchant, number) unique index
            raise duplicate_number(detail["invoice_number"]) from None
        dates = [t["payment_date"] for t in (doc.get("payments") or {}).get("transactions", [])]
        if dates or not inserting:
            self.store.set_payment_dates(seq, merchant.payer_id, dates)
        if event is not None:
            self.webhooks.emit(merchant, f"INVOICING.INVOICE.{event}", doc["id"], body)
        return body

    def number_taken(self, merchant: Merchant, number: str, except_id: str | None = None
                     ) -> bool:
        """Whether another of the merchant's invoices has ``number``."""
        row = self.store.one(
            "SELECT id FROM invoices WHERE merchant = ? AND number = ?",
            (merchant.payer_id, number),
        )
        return row is not None and row[0] != except_id


def duplicate_number(number: str) -> ApiError:
    """PayPal's refusal of an invoice number the merchant already uses."""
    return ApiError(422, [Detail("DUPLICATE_INVOICE_NUMBER",
                                 f"Invoice number {number} is already used by another invoice.",
                                 "/detail/invoice_number", number)])


def recipient_email(doc: dict[str, Any]) -> str | None:
    """The primary recipient's email, if the invoice has one."""
    recipients = doc.get("primary_recipients") or []
    if not recipients:
        return None
    return (recipients[0].get("billing_info") or {}).get("email_address")


def total_of(block: dict[str, Any] | None, key: str) -> Decimal:
    """``block[key]``'s amount (``payments.paid_amount``, ``refunds.refund_amount``), or 0."""
    if not block or key not in block:
        return Decimal(0)
    return Decimal(block[key]["value"])


def set_balances(doc: dict[str, Any], internal: dict[str, Any] | None = None) -> None:
    """Recompute paid, refunded and due amounts, and the status they imply."""
    currency = doc["detail"]["currency_code"]
    payments = (doc.get("payments") or {}).get("transactions", [])
    refunds = (doc.get("refunds") or {}).get("transactions", [])
    paid = sum((Decimal(t["amount"]["value"]) for t in payments), Decimal(0))
    refunded = sum((Decimal(t["amount"]["value"]) for t in refunds), Decimal(0))
    total = Decimal(doc["amount"]["value"])

    def money(value: Decimal) -> dict[str, str]:
        return {"currency_code": currency, "value": format_amount(value, currency)}

    doc["due_amount"] = money(max(total - paid, Decimal(0)))
    if payments:
        doc["payments"] = {"paid_amount": money(paid), "transactions": payments}
    else:
        doc.pop("payments", None)
    if refunds:
        doc["refunds"] = {"refund_amount": money(refunded), "transactions": refunds}
    else:
        doc.pop("refunds", None)
    if internal is None or doc["status"] in ("SCHEDULED", "CANCELLED") or (
            doc["status"] == "DRAFT" and not payments):
        return
    if refunded > 0 and paid >= total:  # refund statuses follow a refund of a paid invoice
        doc["status"] = "MARKED_AS_REFUNDED" if refunded >= paid else "PARTIALLY_REFUNDED"
    elif paid == 0:  # a draft marked as paid and then unpaid was never sent: a draft again
        sent = "first_sent_time" in doc["detail"]["metadata"]
        doc["status"] = internal.get("sent_status", "SENT") if sent else "DRAFT"
    elif paid >= total:
        doc["status"] = "PAID" if any(t["type"] == "PAYPAL" for t in payments) else (
            "MARKED_AS_PAID")
    else:  # partly paid, refunds or not
        doc["status"] = "PARTIALLY_PAID"
