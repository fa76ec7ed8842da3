"""What the emulator records of what it did: the emails PayPal would have sent, and the
effects it applied.

Both are written in the transaction of the call that causes them, so an idempotent replay
(``PayPal-Request-Id``) records nothing, and a refused call nothing either. Both are read
through the emulator's inspection API (:class:`~._service.Invoicing`, ``/_emulator/outbox``,
``/_emulator/stats``): PayPal sends the emails and keeps no such counts.

Emails follow the notification body: the customer and the CC addresses (the invoice's
``additional_recipients`` and the notification's) get one unless ``send_to_recipient`` is
false; the merchant gets a copy when ``send_to_invoicer`` is true. The ``subject`` and
``note`` of send and remind are ignored, as PayPal ignores them ("the subject will always be
defaulted to a system-defined value", OBSERVED.md): those emails carry PayPal's own subject
and no note; what the call asked for is kept beside (``requested_subject``,
``requested_note``). A cancellation keeps both.
"""

from __future__ import annotations

from typing import Any

from ._book import Book, Merchant, recipient_email
from ._clock import isoformat


class Outbox:
    """The emails PayPal would have sent, one row per addressee."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def mail(self, merchant: Merchant, doc: dict[str, Any], kind: str,
             notice: dict[str, Any]) -> None:
        """Record the emails PayPal would send for ``kind`` (invoice, reminder, cancellation)
        of ``doc``, as the validated notification body ``notice`` asks (see the module
        notes)."""
        number = doc["detail"]["invoice_number"]
        requested = (notice.get("subject"), notice.get("note"))
        if kind != "cancellation":
            notice = {k: v for k, v in notice.items() if k not in ("subject", "note")}
        subject = notice.get("subject") or {
            "invoice": f"Invoice {number} from {merchant.business_name}",
            "reminder": f"Reminder: invoice {number} from {merchant.business_name}",
            "cancellation": f"Invoice {number} from {merchant.business_name} was cancelled",
        }[kind]
        to: list[tuple[str, str]] = []
        if notice.get("send_to_recipient", True):
            email = recipient_email(doc)
            if email:
                to.append(("recipient", email))
            cc = [r.get("email_address") for r in doc.get("additional_recipients") or []]
            to += [("cc", e) for e in [*cc, *notice.get("additional_recipients", [])] if e]
        if notice.get("send_to_invoicer", False):
            to.append(("invoicer", merchant.email))
        now = isoformat(self.book.clock.now())
        for role, email in to:
            self.book.store.execute(
                "INSERT INTO outbox (merchant, invoice_id, kind, role, email, subject, note, "
                "time, requested_subject, requested_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (merchant.payer_id, doc["id"], kind, role, email, subject, notice.get("note"),
                 now, *requested))

    def outbox(self, *, invoice_id: str | None = None, kind: str | None = None,
               merchant: str | None = None) -> list[dict[str, Any]]:
        """The emails PayPal would have sent, oldest first, optionally for one invoice, kind
        or merchant (payer id): ``subject`` and ``note`` as PayPal sends them,
        ``requested_subject`` and ``requested_note`` as the call asked (PayPal ignores them
        on send and remind)."""
        where, params = ["1"], []
        for column, value in (("invoice_id", invoice_id), ("kind", kind),
                              ("merchant", merchant)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self.book.store.all(
            "SELECT seq, merchant, invoice_id, kind, role, email, subject, note, time, "
            f"requested_subject, requested_note FROM outbox WHERE {' AND '.join(where)} "
            "ORDER BY seq", tuple(params))
        keys = ("id", "merchant_id", "invoice_id", "kind", "role", "email", "subject", "note",
                "time", "requested_subject", "requested_note")
        return [dict(zip(keys, row, strict=True)) for row in rows]


class Effects:
    """Counts of applied effects per operation and invoice (``created``, ``sent``,
    ``payments``, ...): how a test proves a retried call took effect exactly once."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def count(self, merchant: Merchant, operation: str, invoice_id: str) -> None:
        """Count an applied effect (inside the caller's transaction, so a replay never
        counts)."""
        self.book.store.execute(
            "INSERT INTO effects VALUES (?, ?, ?, 1) "
            "ON CONFLICT (operation, invoice_id, merchant) DO UPDATE SET count = count + 1",
            (merchant.payer_id, operation, invoice_id))

    def stats(self, *, invoice_id: str | None = None, merchant: str | None = None
              ) -> dict[str, Any]:
        """Applied effects: totals per operation, the most any one invoice got, and (for one
        invoice) its own counts; only one merchant's (payer id) when given. Idempotent
        replays are not effects."""
        store = self.book.store
        mine, whose = ("merchant = ?", (merchant,)) if merchant is not None else ("1", ())
        totals = dict(store.all(
            f"SELECT operation, SUM(count) FROM effects WHERE {mine} GROUP BY operation "
            "ORDER BY operation", whose))
        most = dict(store.all(
            f"SELECT operation, MAX(count) FROM effects WHERE {mine} GROUP BY operation "
            "ORDER BY operation", whose))
        out: dict[str, Any] = {"operations": totals, "max_per_invoice": most}
        if invoice_id is not None:
            out["invoice"] = dict(store.all(
                f"SELECT operation, SUM(count) FROM effects WHERE invoice_id = ? AND {mine} "
                "GROUP BY operation ORDER BY operation", (invoice_id, *whose)))
        return out
