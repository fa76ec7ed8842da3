"""Invoices: create, read, update, delete, send, remind and cancel, and their numbers.

Rules (PayPal's API reference, OBSERVED.md, and the emulator's documented choices):

* Create validates the body (merged over its template, if it names one), computes the
  amounts (:mod:`ppnb.totals`) and the due date from the payment term
  (:data:`ppnb._protocol.NET_TERM_DAYS`), and stores a ``DRAFT``.
* Numbers are unique per merchant (422 ``DUPLICATE_INVOICE_NUMBER``); omitted on create,
  or asked for, the next is the last number's final digits + 1 (:func:`._ids.next_number`).
* Update (PUT) replaces every writable field; payments and refunds stay, and the total can't
  fall below what was paid. The primary recipient's email can change at most twice in
  72 hours.
* Send: issue date today or past → ``SENT`` (``UNPAID`` when ``send_to_recipient`` is false
  or there is no recipient email); future → ``SCHEDULED``, sent at 07:00 on the issue date
  (:mod:`._scheduler`). Sending a sent or scheduled invoice again has no effect.
* Delete: ``DRAFT`` and ``SCHEDULED`` only; the number can then be reused.
* Cancel: sent, unpaid invoices only; cancelled invoices stay readable.
* Remind: ``UNPAID``, ``SENT`` or ``PARTIALLY_PAID``; at most
  :data:`ppnb._protocol.REMINDERS_PER_DAY` per invoice per (UTC) day.
* QR code: sent invoices only; it encodes the payer page's URL.

Every change emits its ``INVOICING.INVOICE.*`` webhook event (:meth:`._book.Book.save`);
reminders and deletions emit none. Emails go to the outbox (:mod:`._outbox`).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from .._protocol import NET_TERM_DAYS, REMINDERS_PER_DAY
from ..money import MoneyError, decimals, parse_amount
from ..totals import TotalsError, compute
from . import _schema as S
from ._book import (
    PAID_STATES,
    REFUNDED_STATES,
    SENT_STATES,
    Book,
    Merchant,
    duplicate_number,
    recipient_email,
    set_balances,
    total_of,
)
from ._clock import isoformat
from ._errors import ApiError, Detail, error, not_found
from ._ids import next_number
from ._outbox import Effects, Outbox
from ._qr import qr_png
from ._templates import Templates
from ._validation import validate

RECIPIENT_CHANGES = 2
RECIPIENT_WINDOW = dt.timedelta(hours=72)
UPDATABLE = ("DRAFT", "SCHEDULED", "SENT", "UNPAID", "PARTIALLY_PAID")


class Invoices:
    """The invoice operations of Invoicing v2 (see the module notes for their rules)."""

    def __init__(self, book: Book, templates: Templates, outbox: Outbox, effects: Effects
                 ) -> None:
        self.book = book
        self.templates = templates
        self.outbox = outbox
        self.effects = effects

    def _prepare(self, merchant: Merchant, body: Any, *, creating: bool) -> dict[str, Any]:
        """Validate an invoice body (merged over its template) and compute its amounts."""
        if isinstance(body, dict):
            config = body.get("configuration")
            template_id = config.get("template_id") if isinstance(config, dict) else None
            if isinstance(template_id, str) and creating:
                template = self.templates.template(merchant, template_id,
                                                   "/configuration/template_id")
                info = copy.deepcopy(template.get("template_info") or {})
                own = body.get("detail")
                if isinstance(own, dict) and own.get("payment_term") and "detail" in info:
                    # a term type or a due date, never both: the body's term replaces the
                    # template's whole, or NET_30 would override an explicit due_date
                    info["detail"].pop("payment_term", None)
                body = _merge(info, body)
        clean = validate(S.INVOICE, body)
        detail = clean["detail"]
        currency = detail["currency_code"]
        try:
            decimals(currency)
        except MoneyError:
            raise error(400, "CURRENCY_NOT_SUPPORTED",
                        f"Currency code {currency} is not supported by PayPal.",
                        "/detail/currency_code", currency) from None
        if not clean.get("items"):
            raise error(400, "MISSING_REQUIRED_PARAMETER",
                        "An invoice needs at least one item.", "/items")
        today = self.book.clock.today()
        invoice_date = dt.date.fromisoformat(detail.setdefault("invoice_date", today.isoformat()))
        term = detail.setdefault("payment_term", {})
        if "due_date" in term and "term_type" not in term:
            term["term_type"] = "DUE_ON_DATE_SPECIFIED"
        term.setdefault("term_type", "DUE_ON_RECEIPT")
        kind = term["term_type"]
        if kind in NET_TERM_DAYS:
            try:
                due = invoice_date + dt.timedelta(days=NET_TERM_DAYS[kind])
            except OverflowError:  # a due date after 9999-12-31: no date at all
                raise error(400, "INVALID_PARAMETER_VALUE",
                            "The invoice date leaves no valid due date for its payment term.",
                            "/detail/invoice_date", invoice_date.isoformat()) from None
            term["due_date"] = due.isoformat()
        elif kind == "DUE_ON_RECEIPT":
            term["due_date"] = invoice_date.isoformat()
        elif kind == "NO_DUE_DATE":
            term.pop("due_date", None)
        elif "due_date" not in term:
            raise error(400, "MISSING_REQUIRED_PARAMETER",
                        "DUE_ON_DATE_SPECIFIED needs payment_term.due_date.",
                        "/detail/payment_term/due_date")
        if "due_date" in term and term["due_date"] < invoice_date.isoformat():
            raise error(400, "INVALID_PARAMETER_SYNTAX", "Due date is invalid.",
                        "/detail/payment_term/due_date", term["due_date"])
        partial = (clean.get("configuration") or {}).get("partial_payment") or {}
        minimum = partial.get("minimum_amount_due")
        if minimum is not None:
            if minimum.get("currency_code") != currency:
                raise error(400, "CURRENCY_MISMATCH", "The currency must be the invoice currency.",
                            "/configuration/partial_payment/minimum_amount_due/currency_code",
                            minimum.get("currency_code"))
            try:
                parse_amount(minimum["value"], currency)
            except MoneyError as exc:
                raise error(400, "DECIMAL_PRECISION", str(exc),
                            "/configuration/partial_payment/minimum_amount_due/value",
                            minimum["value"]) from None
        try:
            compute(clean, currency)
        except TotalsError as exc:
            raise ApiError(exc.status, [Detail(p.issue, p.description, p.field, p.value)
                                        for p in exc.problems]) from None
        return clean

    def create_invoice(self, merchant: Merchant, body: Any) -> bytes:
        """Create a draft invoice (POST /v2/invoicing/invoices)."""
        invoice = self._prepare(merchant, body, creating=True)
        book = self.book
        now = isoformat(book.clock.now())
        with book.store.transaction():
            detail = invoice["detail"]
            if "invoice_number" not in detail:
                detail["invoice_number"] = self._next_free_number(merchant)
            elif book.number_taken(merchant, detail["invoice_number"]):
                raise duplicate_number(detail["invoice_number"])
            invoice_id = book.ids.invoice()
            detail["metadata"] = {
                "create_time": now,
                "created_by": merchant.email,
                "last_update_time": now,
                "last_updated_by": merchant.email,
                "created_by_flow": "REGULAR_SINGLE",
                "recipient_view_url": f"{book.base}/invoice/p/{invoice_id}",
                "invoicer_view_url": f"{book.base}/invoice/details/{invoice_id}",
            }
            invoice.setdefault("invoicer", {}).setdefault("email_address", merchant.email)
            doc = {"id": invoice_id, "status": "DRAFT", **invoice}
            set_balances(doc)
            body_bytes = book.save(merchant, doc, {"recipient_changes": []}, event="CREATED")
            self.effects.count(merchant, "created", invoice_id)
            book.store.execute(
                "UPDATE merchants SET last_number = ? WHERE payer_id = ?",
                (detail["invoice_number"], merchant.payer_id),
            )
        return body_bytes

    def get_invoice(self, merchant: Merchant, invoice_id: str) -> bytes:
        """The stored invoice document (GET /v2/invoicing/invoices/{id})."""
        row = self.book.store.one(
            "SELECT doc FROM invoices WHERE id = ? AND merchant = ?",
            (invoice_id, merchant.payer_id),
        )
        if row is None:
            raise not_found("invoice", invoice_id)
        return row[0]

    def update_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> bytes:
        """Fully replace an invoice's writable fields (PUT); omitted fields are cleared."""
        book = self.book
        with book.store.transaction():
            seq, old, internal = book.load(merchant, invoice_id)
            if old["status"] not in UPDATABLE:
                raise error(422, "CANNOT_UPDATE_INVOICE",
                            f"A {old['status']} invoice cannot be updated.", "/status",
                            old["status"])
            new = self._prepare(merchant, body, creating=False)
            detail = new["detail"]
            detail.setdefault("invoice_number", old["detail"]["invoice_number"])
            if book.number_taken(merchant, detail["invoice_number"], except_id=invoice_id):
                raise duplicate_number(detail["invoice_number"])
            paid = total_of(old.get("payments"), "paid_amount")
            if paid:
                if detail["currency_code"] != old["detail"]["currency_code"]:
                    raise error(422, "CANNOT_CHANGE_CURRENCY",
                                "The currency of an invoice with payments cannot change.",
                                "/detail/currency_code", detail["currency_code"])
                if Decimal(new["amount"]["value"]) < paid:
                    raise error(422, "AMOUNT_LESS_THAN_PAID",
                                "The total cannot be less than what has been paid.",
                                "/amount/value", new["amount"]["value"])
            self._check_recipient_change(old, new, internal)
            now = isoformat(book.clock.now())
            metadata = {**old["detail"]["metadata"], "last_update_time": now,
                        "last_updated_by": merchant.email}
            detail["metadata"] = metadata
            new.setdefault("invoicer", {}).setdefault("email_address", merchant.email)
            doc = {"id": invoice_id, "status": old["status"], **new}
            for key in ("payments", "refunds"):
                if key in old:
                    doc[key] = old[key]
            set_balances(doc, internal)  # a new total can settle a partly paid invoice
            return book.save(merchant, doc, internal, seq, event="UPDATED")

    def _check_recipient_change(self, old: dict, new: dict, internal: dict) -> None:
        before, after = recipient_email(old), recipient_email(new)
        if before is None or (after or "").lower() == before.lower():
            return
        now = self.book.clock.now()
        recent = [t for t in internal.get("recipient_changes", [])
                  if now - dt.datetime.fromisoformat(t) < RECIPIENT_WINDOW]
        if len(recent) >= RECIPIENT_CHANGES:
            raise error(422, "RECIPIENT_CHANGE_LIMIT_EXCEEDED",
                        "The primary recipient can change at most twice within 72 hours.",
                        "/primary_recipients/0/billing_info/email_address", after)
        internal["recipient_changes"] = [*recent, now.isoformat()]

    def delete_invoice(self, merchant: Merchant, invoice_id: str) -> None:
        """Delete a draft or scheduled invoice."""
        with self.book.store.transaction():
            seq, doc, _ = self.book.load(merchant, invoice_id)
            if doc["status"] not in ("DRAFT", "SCHEDULED"):
                raise error(422, "CANNOT_DELETE_INVOICE",
                            f"Only DRAFT or SCHEDULED invoices can be deleted; this one is "
                            f"{doc['status']}. Cancel it instead.", "/status", doc["status"])
            self.book.store.delete_invoice(seq)
            self.book.touch(merchant)

    def send_invoice(
        self, merchant: Merchant, invoice_id: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        """Send now or schedule; returns the HTTP status (200 sent, 202 scheduled) and body."""
        notice = validate(S.NOTIFICATION, body if body is not None else {})
        book = self.book
        with book.store.transaction():
            seq, doc, internal = book.load(merchant, invoice_id)
            status = doc["status"]
            if status == "DRAFT":
                today = book.clock.today().isoformat()
                if doc["detail"]["invoice_date"] > today:
                    doc["status"] = "SCHEDULED"
                    internal["notice"] = notice
                    self.effects.count(merchant, "scheduled", invoice_id)
                else:
                    self.mark_sent(merchant, doc, internal, notice)
                book.save(merchant, doc, internal, seq,
                          event="SCHEDULED" if doc["status"] == "SCHEDULED" else "SENT")
                status = doc["status"]
        if status == "SCHEDULED":
            href = f"{book.base}/v2/invoicing/invoices/{invoice_id}"
            return 202, {"links": [{"href": href, "rel": "self", "method": "GET"}]}
        return 200, {"href": doc["detail"]["metadata"]["recipient_view_url"], "rel": "payer-view",
                     "method": "GET"}

    def mark_sent(
        self, merchant: Merchant, doc: dict, internal: dict, notice: dict[str, Any]
    ) -> None:
        """Make ``doc`` sent now (``SENT``, or ``UNPAID`` when no one is emailed), count it
        and email it; the caller saves it."""
        emailed = notice.get("send_to_recipient", True) and recipient_email(doc) is not None
        doc["status"] = "SENT" if emailed else "UNPAID"
        internal["sent_status"] = doc["status"]
        now = isoformat(self.book.clock.now())
        metadata = doc["detail"]["metadata"]
        metadata.setdefault("first_sent_time", now)
        metadata["last_sent_time"] = now
        metadata["last_sent_by"] = merchant.email
        self.effects.count(merchant, "sent", doc["id"])
        self.outbox.mail(merchant, doc, "invoice", notice)

    def remind_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> None:
        """Send a reminder; at most :data:`~ppnb._protocol.REMINDERS_PER_DAY` per invoice per
        day."""
        notice = validate(S.NOTIFICATION, body if body is not None else {})
        with self.book.store.transaction():
            seq, doc, internal = self.book.load(merchant, invoice_id)
            if doc["status"] not in SENT_STATES:
                raise error(422, "CANNOT_REMIND_INVOICE",
                            "You cannot remind an invoice which is in DRAFT status. Only UNPAID, "
                            "SENT and PARTIALLY_PAID invoices can be reminded.", "/status",
                            doc["status"])
            today = self.book.clock.today().isoformat()
            counts = {d: n for d, n in internal.get("reminders", {}).items() if d == today}
            if counts.get(today, 0) >= REMINDERS_PER_DAY:
                raise error(422, "MAX_REMINDERS_PER_DAY",
                            f"At most {REMINDERS_PER_DAY} reminders per invoice per day; "
                            f"{REMINDERS_PER_DAY} already sent on {today}.", "/", invoice_id)
            counts[today] = counts.get(today, 0) + 1
            internal["reminders"] = counts
            self.book.save(merchant, doc, internal, seq)
            self.effects.count(merchant, "reminded", invoice_id)
            self.outbox.mail(merchant, doc, "reminder", notice)

    def reminders_today(self, merchant: Merchant, invoice_id: str) -> int:
        """How many reminders went out for the invoice on the emulator's current day (what
        :data:`~ppnb._protocol.REMINDERS_PER_DAY` bounds; PayPal has no call that tells)."""
        _, _, internal = self.book.load(merchant, invoice_id)
        return internal.get("reminders", {}).get(self.book.clock.today().isoformat(), 0)

    def cancel_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> None:
        """Cancel a sent, unpaid invoice."""
        notice = validate(S.NOTIFICATION, body if body is not None else {})
        with self.book.store.transaction():
            seq, doc, internal = self.book.load(merchant, invoice_id)
            status = doc["status"]
            refusal = {
                "DRAFT": ("CANNOT_CANCEL_DRAFT_INVOICE", "Draft invoice cannot be canceled."),
                "SCHEDULED": ("CANNOT_CANCEL_SCHEDULED_INVOICE",
                              "Cannot cancel a scheduled invoice."),
                "CANCELLED": ("INVOICE_CANCELED_ALREADY", "Invoice is already cancelled."),
            }.get(status)
            if status in PAID_STATES:
                refusal = ("CANNOT_CANCEL_PAID_INVOICE",
                           "Cannot cancel a paid or partially paid invoice.")
            elif status in REFUNDED_STATES:
                refusal = ("CANNOT_CANCEL_REFUNDED_INVOICE",
                           "Cannot cancel a refunded or partially refunded invoice.")
            if refusal:
                raise error(422, refusal[0], refusal[1], "/status", status)
            doc["status"] = "CANCELLED"
            metadata = doc["detail"]["metadata"]
            metadata["cancel_time"] = isoformat(self.book.clock.now())
            metadata["cancelled_by"] = merchant.email
            self.book.save(merchant, doc, internal, seq, event="CANCELLED")
            self.effects.count(merchant, "cancelled", invoice_id)
            self.outbox.mail(merchant, doc, "cancellation", notice)

    def _next_free_number(self, merchant: Merchant) -> str:
        row = self.book.store.one(
            "SELECT last_number FROM merchants WHERE payer_id = ?", (merchant.payer_id,)
        )
        candidate = next_number(row[0] if row else None)
        for _ in range(10_000):
            if not self.book.number_taken(merchant, candidate):
                return candidate
            candidate = next_number(candidate)
        raise error(422, "INVOICE_NUMBER_EXHAUSTED", "No free invoice number was found.")

    def next_invoice_number(self, merchant: Merchant) -> dict[str, str]:
        """The next free number after the merchant's last one (not reserved)."""
        return {"invoice_number": self._next_free_number(merchant)}

    def qr_code(self, merchant: Merchant, invoice_id: str, body: Any, base_url: str) -> bytes:
        """A PNG QR code of the invoice's payer page, for sent invoices only."""
        config = validate(S.QR_CONFIG, body if body is not None else {})
        _, doc, _ = self.book.load(merchant, invoice_id)
        if doc["status"] in ("DRAFT", "SCHEDULED", "CANCELLED"):
            raise error(422, "INVALID_INVOICE_STATUS",
                        f"A QR code needs a sent invoice; this one is {doc['status']}.",
                        "/status", doc["status"])
        url = doc["detail"]["metadata"]["recipient_view_url"].replace(self.book.base, base_url)
        if config.get("action", "pay").lower() == "details":
            url += "?view=details"
        return qr_png(url, config.get("width", 500), config.get("height", 500))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge: dicts merge key by key, anything else in ``override`` wins."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
