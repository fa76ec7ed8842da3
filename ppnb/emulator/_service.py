"""The invoicing service: PayPal's business rules over the store.

Every public method takes the calling :class:`Merchant` and plain JSON values, applies one
operation atomically and returns the response body (a dict, or stored JSON bytes for whole
invoices). Failures raise :class:`~ppnb.emulator._errors.ApiError` before anything is stored.

Rules (from PayPal's API reference, and the emulator's documented choices):

* Send: issue date today or past → ``SENT`` (``UNPAID`` when ``send_to_recipient`` is false or
  there is no recipient email); future → ``SCHEDULED``, sent at 07:00 on the issue date
  (UTC; the merchant profile's time zone on PayPal, OBSERVED.md). Sending a sent or
  scheduled invoice again has no effect.
* Delete: ``DRAFT`` and ``SCHEDULED`` only; the number can then be reused.
* Cancel: sent, unpaid invoices only; cancelled invoices stay readable.
* Remind: ``UNPAID``, ``SENT`` or ``PARTIALLY_PAID``; at most 2 per invoice per (UTC) day.
* Payments: ``MARKED_AS_PAID`` (``PAID`` if any PayPal payment) once covered, else
  ``PARTIALLY_PAID``; never more than the amount due. A draft can be marked as paid
  (recorded payments only; its links offer ``record-payment``, as PayPal's do). Deleting a
  payment undoes it (a draft that was never sent is a draft again).
* Refunds: never more than paid. On an invoice paid in full: all refunded →
  ``MARKED_AS_REFUNDED``, else ``PARTIALLY_REFUNDED``; on a partly paid one the status stays
  ``PARTIALLY_PAID`` (PayPal's saved sandbox response, OBSERVED.md). Refunds do not reopen
  the amount due.
* Invoice numbers are unique per merchant; the next number increments the last one.
* The primary recipient's email can change at most twice in 72 hours.
* Search: every filter must match; text filters match whole values, case-insensitively;
  results are newest first (creation order, descending). Results are PayPal's summaries
  (:func:`._shape.paypal_summary`) plus the invoice's times and term type, and the
  collections ``fields`` asks for (all of them: whole invoices). With
  :attr:`Invoicing.summaries` on, list and search items are exactly PayPal's summaries.
* Responses have PayPal's real shape (:mod:`._shape`): negative discounts, tax ids, the extra
  detail and metadata fields.
* Webhooks: every change to an invoice emits its ``INVOICING.INVOICE.*`` event in the
  transaction that makes the change (:mod:`._webhooks`); reminders and deletions emit none.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import secrets
import sqlite3
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from ..money import MoneyError, decimals, format_amount, parse_amount, to_minor
from ..totals import TotalsError, compute
from . import _schema as S
from ._clock import Clock, isoformat
from ._errors import ApiError, Detail, error, not_found
from ._ids import IdFactory, next_number
from ._kdf import SecretCheck, hash_secret, is_legacy
from ._qr import qr_png
from ._shape import paypal_summary, shape
from ._store import BOOK_TABLES, Store
from ._webhooks import DeliveryPolicy, Webhooks

TOKEN_TTL = 32400
SCOPE = (
    "https://uri.paypal.com/services/invoicing "
    "https://uri.paypal.com/services/invoicing/invoices/read "
    "https://uri.paypal.com/services/invoicing/invoices/readwrite"
)
MAX_TEMPLATES = 50
REMINDERS_PER_DAY = 2
#: The hour (UTC here; the merchant's time zone on PayPal) scheduled invoices go out.
SEND_HOUR = 7
RECIPIENT_CHANGES = 2
RECIPIENT_WINDOW = dt.timedelta(hours=72)
SENT_STATES = ("SENT", "UNPAID", "PARTIALLY_PAID")
PAID_STATES = ("PAID", "MARKED_AS_PAID", "PARTIALLY_PAID")
REFUNDED_STATES = ("REFUNDED", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED")
#: How list and search items look: ``off`` (whole invoices for list; search: PayPal's
#: summaries plus the invoice's times and term type, and the collections ``fields`` asks
#: for), ``on`` (exactly PayPal's summaries unless a search's ``fields`` asks for
#: collections) or ``always`` (summaries even then: a server that ignores ``fields``, the
#: worst case a client must survive).
SUMMARY_MODES = ("off", "on", "always")
UPDATABLE = ("DRAFT", "SCHEDULED", "SENT", "UNPAID", "PARTIALLY_PAID")
COLLECTIONS = ("items", "payments", "refunds", "additional_recipients_info", "attachments")
_NET_DAYS = {"NET_10": 10, "NET_15": 15, "NET_30": 30, "NET_45": 45, "NET_60": 60, "NET_90": 90}
_SYSTEM_TEMPLATES = (("Amount", "AMOUNT"), ("Hours", "HOURS"), ("Quantity", "QUANTITY"))


@dataclass(frozen=True)
class Merchant:
    """A PayPal merchant account and its REST app credentials (the secret is never kept)."""

    payer_id: str
    client_id: str
    email: str
    business_name: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class Invoicing:
    """PayPal Invoicing v2 state and rules for any number of merchants.

    Parameters
    ----------
    store
        Where state lives.
    clock
        The emulator's clock; every date and time the service records comes from it.
    seed
        Makes generated ids repeatable.
    token_ttl
        Lifetime of access tokens in seconds (PayPal: 32400).
    webhook_policy
        Retry schedule of webhook deliveries.
    """

    def __init__(
        self, store: Store, clock: Clock, *, seed: int | None = None, token_ttl: int = TOKEN_TTL,
        webhook_policy: DeliveryPolicy | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.ids = IdFactory(seed)
        self.token_ttl = token_ttl
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
        # Tokens and merchants never change once issued, so lookups can be remembered.
        self._token_cache: dict[str, tuple[str, float]] = {}
        self._merchant_cache: dict[str, Merchant] = {}
        self._secrets = SecretCheck()  # salted hashes at rest; see _kdf
        self._versions: dict[str, int] = {}
        self._results: OrderedDict[tuple[str, tuple[Any, ...]], tuple[int, array]] = (
            OrderedDict())
        self._fired_through = ""  # the emulator day up to which scheduled sends have fired
        #: How list and search items look (one of :data:`SUMMARY_MODES`).
        self.summaries = "off"

    # --- merchants and auth ---------------------------------------------------------------

    def add_merchant(
        self,
        client_id: str,
        secret: str,
        *,
        email: str | None = None,
        business_name: str | None = None,
    ) -> Merchant:
        """Register a merchant and its app credentials (idempotent for the same client id)."""
        if not client_id or not secret or ":" in client_id:
            raise ValueError("a merchant needs a client id without ':' and a non-empty secret")
        stored = hash_secret(secret)
        self._secrets.remember(client_id, secret, stored)
        with self.store.transaction():
            found = self.store.one(
                "SELECT payer_id, client_id, email, business_name FROM merchants "
                "WHERE client_id = ?", (client_id,),
            )
            if found:
                self.store.execute(
                    "UPDATE merchants SET secret_hash = ? WHERE client_id = ?",
                    (stored, client_id),
                )
                return Merchant(*found)
            merchant = Merchant(
                self.ids.payer_id(),
                client_id,
                email or f"{client_id.lower()}@merchant.example.com",
                business_name or f"{client_id} Ltd",
            )
            self.store.execute(
                "INSERT INTO merchants VALUES (?, ?, ?, ?, ?, NULL)",
                (merchant.payer_id, client_id, stored, merchant.email,
                 merchant.business_name),
            )
            self._add_system_templates(merchant)
        return merchant

    def _add_system_templates(self, merchant: Merchant) -> None:
        for name, unit in _SYSTEM_TEMPLATES:
            self._insert_template(
                merchant,
                {
                    "name": name,
                    "default_template": unit == "QUANTITY",
                    "unit_of_measure": unit,
                    "template_info": {
                        "detail": {"currency_code": "USD",
                                   "payment_term": {"term_type": "DUE_ON_RECEIPT"}},
                        "invoicer": {"email_address": merchant.email,
                                     "business_name": merchant.business_name},
                    },
                },
                system=True,
            )

    def merchants(self) -> list[Merchant]:
        """Every registered merchant."""
        rows = self.store.all(
            "SELECT payer_id, client_id, email, business_name FROM merchants ORDER BY rowid"
        )
        return [Merchant(*r) for r in rows]

    def merchant_by_client(self, client_id: str) -> Merchant | None:
        """The merchant whose app has ``client_id``."""
        if client_id in self._merchant_cache:
            return self._merchant_cache[client_id]
        row = self.store.one(
            "SELECT payer_id, client_id, email, business_name FROM merchants WHERE client_id = ?",
            (client_id,),
        )
        if row is None:
            return None
        self._merchant_cache[client_id] = Merchant(*row)
        return self._merchant_cache[client_id]

    def grant(self, merchant: Merchant, partner_client_id: str) -> None:
        """Let the partner app ``partner_client_id`` act for ``merchant``."""
        with self.store.transaction():
            self.store.execute(
                "INSERT OR IGNORE INTO grants VALUES (?, ?)", (merchant.payer_id, partner_client_id)
            )

    def issue_token(self, client_id: str, secret: str) -> dict[str, Any] | None:
        """An access token for valid credentials, or None."""
        row = self.store.one("SELECT secret_hash FROM merchants WHERE client_id = ?",
                             (client_id,))
        if row is None or not self._secrets.check(client_id, secret, row[0]):
            return None
        token = "A21AA" + secrets.token_urlsafe(64)
        expires = self.clock.now().timestamp() + self.token_ttl
        with self.store.transaction():
            if is_legacy(row[0]):  # an older book's unsalted hash: salt it now
                self.store.execute("UPDATE merchants SET secret_hash = ? WHERE client_id = ? "
                                   "AND secret_hash = ?", (hash_secret(secret), client_id,
                                                           row[0]))
            self.store.execute("INSERT INTO tokens VALUES (?, ?, ?)", (_sha(token), client_id,
                                                                       expires))
            self.store.execute(
                "DELETE FROM tokens WHERE expires_at < ?", (self.clock.now().timestamp(),)
            )
        return {
            "scope": SCOPE,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-" + _sha(client_id)[:17].upper(),
            "expires_in": self.token_ttl,
            "nonce": f"{isoformat(self.clock.now())}{secrets.token_urlsafe(24)}",
        }

    def authenticate(self, token: str | None) -> Merchant:
        """The merchant app a bearer token belongs to; 401 if missing, unknown or expired."""
        if not token:
            raise error(401, "MISSING_AUTHORIZATION", "No Bearer access token was sent.",
                        "Authorization", location="header")
        digest = _sha(token)
        row = self._token_cache.get(digest) or self.store.one(
            "SELECT client_id, expires_at FROM tokens WHERE token_sha256 = ?", (digest,)
        )
        if row is None:
            raise error(401, "INVALID_TOKEN", "The access token is not valid.", "Authorization",
                        location="header")
        if row[1] <= self.clock.now().timestamp():
            raise error(401, "TOKEN_EXPIRED", "The access token has expired; request a new one.",
                        "Authorization", location="header")
        if len(self._token_cache) > 10_000:
            self._token_cache.clear()
        self._token_cache[digest] = row
        merchant = self.merchant_by_client(row[0])
        assert merchant is not None
        return merchant

    def act_as(self, caller: Merchant, assertion: str | None) -> Merchant:
        """Resolve ``PayPal-Auth-Assertion``: the merchant a partner acts for, if granted."""
        if not assertion:
            return caller
        denied = error(403, "PERMISSION_DENIED",
                       "The partner is not authorized to act for this merchant.",
                       "PayPal-Auth-Assertion", location="header")
        try:
            payload_part = assertion.split(".")[1]
            claims = orjson.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(
                payload_part) % 4)))
            issuer = claims["iss"]
            subject = claims.get("payer_id") or claims.get("email")
        except (IndexError, KeyError, ValueError, TypeError, orjson.JSONDecodeError):
            raise error(403, "INVALID_AUTH_ASSERTION",
                        "PayPal-Auth-Assertion must be a JWT with iss and payer_id (or email).",
                        "PayPal-Auth-Assertion", location="header") from None
        if issuer != caller.client_id or not isinstance(subject, str):
            raise denied
        row = self.store.one(
            "SELECT m.payer_id, m.client_id, m.email, m.business_name FROM merchants m "
            "JOIN grants g ON g.payer_id = m.payer_id "
            "WHERE (m.payer_id = ? OR m.email = ?) AND g.partner_client_id = ?",
            (subject, subject, caller.client_id),
        )
        if row is None:
            raise denied
        return Merchant(*row)

    # --- invoice documents ----------------------------------------------------------------

    def _load(self, merchant: Merchant, invoice_id: str) -> tuple[int, dict[str, Any], dict]:
        row = self.store.one(
            "SELECT seq, doc, internal FROM invoices WHERE id = ? AND merchant = ?",
            (invoice_id, merchant.payer_id),
        )
        if row is None:
            raise not_found("invoice", invoice_id)
        return row[0], orjson.loads(row[1]), orjson.loads(row[2])

    def _links(self, invoice_id: str, status: str) -> list[dict[str, str]]:
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

    def _save(
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
        doc["links"] = self._links(doc["id"], doc["status"])
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
        body = _dumps(doc)
        summary = _dumps(_summary(doc))
        hidden = _dumps(internal)
        inserting = seq is None
        self._touch(merchant)
        try:
            if seq is None:
                seq = self.store.insert_invoice(row, body, summary, hidden)
            else:
                self.store.update_invoice(seq, row, body, summary, hidden)
        except sqlite3.IntegrityError:  # the (merchant, number) unique index
            raise _duplicate_number(detail["invoice_number"]) from None
        dates = [t["payment_date"] for t in (doc.get("payments") or {}).get("transactions", [])]
        if dates or not inserting:
            self.store.set_payment_dates(seq, merchant.payer_id, dates)
        if event is not None:
            self.webhooks.emit(merchant, f"INVOICING.INVOICE.{event}", doc["id"], body)
        return body

    def _number_taken(self, merchant: Merchant, number: str, except_id: str | None = None) -> bool:
        row = self.store.one(
            "SELECT id FROM invoices WHERE merchant = ? AND number = ?",
            (merchant.payer_id, number),
        )
        return row is not None and row[0] != except_id

    def _prepare(self, merchant: Merchant, body: Any, *, creating: bool) -> dict[str, Any]:
        """Validate an invoice body (merged over its template) and compute its amounts."""
        if isinstance(body, dict):
            config = body.get("configuration")
            template_id = config.get("template_id") if isinstance(config, dict) else None
            if isinstance(template_id, str) and creating:
                template = self._template(merchant, template_id, "/configuration/template_id")
                info = copy.deepcopy(template.get("template_info") or {})
                own = body.get("detail")
                if isinstance(own, dict) and own.get("payment_term") and "detail" in info:
                    # a term type or a due date, never both: the body's term replaces the
                    # template's whole, or NET_30 would override an explicit due_date
                    info["detail"].pop("payment_term", None)
                body = _merge(info, body)
        clean = S.validate(S.INVOICE, body)
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
        today = self.clock.today()
        invoice_date = dt.date.fromisoformat(detail.setdefault("invoice_date", today.isoformat()))
        term = detail.setdefault("payment_term", {})
        if "due_date" in term and "term_type" not in term:
            term["term_type"] = "DUE_ON_DATE_SPECIFIED"
        term.setdefault("term_type", "DUE_ON_RECEIPT")
        kind = term["term_type"]
        if kind in _NET_DAYS:
            term["due_date"] = (invoice_date + dt.timedelta(days=_NET_DAYS[kind])).isoformat()
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

    # --- invoices -------------------------------------------------------------------------

    def create_invoice(self, merchant: Merchant, body: Any) -> bytes:
        """Create a draft invoice (POST /v2/invoicing/invoices)."""
        invoice = self._prepare(merchant, body, creating=True)
        now = isoformat(self.clock.now())
        with self.store.transaction():
            detail = invoice["detail"]
            if "invoice_number" not in detail:
                detail["invoice_number"] = self._next_free_number(merchant)
            elif self._number_taken(merchant, detail["invoice_number"]):
                raise _duplicate_number(detail["invoice_number"])
            invoice_id = self.ids.invoice()
            detail["metadata"] = {
                "create_time": now,
                "created_by": merchant.email,
                "last_update_time": now,
                "last_updated_by": merchant.email,
                "created_by_flow": "REGULAR_SINGLE",
                "recipient_view_url": f"{self.base}/invoice/p/{invoice_id}",
                "invoicer_view_url": f"{self.base}/invoice/details/{invoice_id}",
            }
            invoice.setdefault("invoicer", {}).setdefault("email_address", merchant.email)
            doc = {"id": invoice_id, "status": "DRAFT", **invoice}
            _set_balances(doc)
            body_bytes = self._save(merchant, doc, {"recipient_changes": []}, event="CREATED")
            self._effect(merchant, "created", invoice_id)
            self.store.execute(
                "UPDATE merchants SET last_number = ? WHERE payer_id = ?",
                (detail["invoice_number"], merchant.payer_id),
            )
        return body_bytes

    def get_invoice(self, merchant: Merchant, invoice_id: str) -> bytes:
        """The stored invoice document (GET /v2/invoicing/invoices/{id})."""
        row = self.store.one(
            "SELECT doc FROM invoices WHERE id = ? AND merchant = ?",
            (invoice_id, merchant.payer_id),
        )
        if row is None:
            raise not_found("invoice", invoice_id)
        return row[0]

    def update_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> bytes:
        """Fully replace an invoice's writable fields (PUT); omitted fields are cleared."""
        with self.store.transaction():
            seq, old, internal = self._load(merchant, invoice_id)
            if old["status"] not in UPDATABLE:
                raise error(422, "CANNOT_UPDATE_INVOICE",
                            f"A {old['status']} invoice cannot be updated.", "/status",
                            old["status"])
            new = self._prepare(merchant, body, creating=False)
            detail = new["detail"]
            detail.setdefault("invoice_number", old["detail"]["invoice_number"])
            if self._number_taken(merchant, detail["invoice_number"], except_id=invoice_id):
                raise _duplicate_number(detail["invoice_number"])
            paid = _sum(old.get("payments"), "paid_amount")
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
            now = isoformat(self.clock.now())
            metadata = {**old["detail"]["metadata"], "last_update_time": now,
                        "last_updated_by": merchant.email}
            detail["metadata"] = metadata
            new.setdefault("invoicer", {}).setdefault("email_address", merchant.email)
            doc = {"id": invoice_id, "status": old["status"], **new}
            for key in ("payments", "refunds"):
                if key in old:
                    doc[key] = old[key]
            _set_balances(doc, internal)  # a new total can settle a partly paid invoice
            return self._save(merchant, doc, internal, seq, event="UPDATED")

    def _check_recipient_change(self, old: dict, new: dict, internal: dict) -> None:
        before, after = _recipient_email(old), _recipient_email(new)
        if before is None or (after or "").lower() == before.lower():
            return
        now = self.clock.now()
        recent = [t for t in internal.get("recipient_changes", [])
                  if now - dt.datetime.fromisoformat(t) < RECIPIENT_WINDOW]
        if len(recent) >= RECIPIENT_CHANGES:
            raise error(422, "RECIPIENT_CHANGE_LIMIT_EXCEEDED",
                        "The primary recipient can change at most twice within 72 hours.",
                        "/primary_recipients/0/billing_info/email_address", after)
        internal["recipient_changes"] = [*recent, now.isoformat()]

    def delete_invoice(self, merchant: Merchant, invoice_id: str) -> None:
        """Delete a draft or scheduled invoice."""
        with self.store.transaction():
            seq, doc, _ = self._load(merchant, invoice_id)
            if doc["status"] not in ("DRAFT", "SCHEDULED"):
                raise error(422, "CANNOT_DELETE_INVOICE",
                            f"Only DRAFT or SCHEDULED invoices can be deleted; this one is "
                            f"{doc['status']}. Cancel it instead.", "/status", doc["status"])
            self.store.delete_invoice(seq)
            self._touch(merchant)

    def send_invoice(
        self, merchant: Merchant, invoice_id: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        """Send now or schedule; returns the HTTP status (200 sent, 202 scheduled) and body."""
        notice = S.validate(S.NOTIFICATION, body if body is not None else {})
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            status = doc["status"]
            if status == "DRAFT":
                today = self.clock.today().isoformat()
                if doc["detail"]["invoice_date"] > today:
                    doc["status"] = "SCHEDULED"
                    internal["notice"] = notice
                    self._effect(merchant, "scheduled", invoice_id)
                else:
                    self._mark_sent(merchant, doc, internal, notice)
                self._save(merchant, doc, internal, seq,
                           event="SCHEDULED" if doc["status"] == "SCHEDULED" else "SENT")
                status = doc["status"]
        if status == "SCHEDULED":
            href = f"{self.base}/v2/invoicing/invoices/{invoice_id}"
            return 202, {"links": [{"href": href, "rel": "self", "method": "GET"}]}
        return 200, {"href": doc["detail"]["metadata"]["recipient_view_url"], "rel": "payer-view",
                     "method": "GET"}

    def _mark_sent(
        self, merchant: Merchant, doc: dict, internal: dict, notice: dict[str, Any]
    ) -> None:
        emailed = notice.get("send_to_recipient", True) and _recipient_email(doc) is not None
        doc["status"] = "SENT" if emailed else "UNPAID"
        internal["sent_status"] = doc["status"]
        now = isoformat(self.clock.now())
        metadata = doc["detail"]["metadata"]
        metadata.setdefault("first_sent_time", now)
        metadata["last_sent_time"] = now
        metadata["last_sent_by"] = merchant.email
        self._effect(merchant, "sent", doc["id"])
        self._mail(merchant, doc, "invoice", notice)

    def remind_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> None:
        """Send a reminder; at most two per invoice per day."""
        notice = S.validate(S.NOTIFICATION, body if body is not None else {})
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            if doc["status"] not in SENT_STATES:
                raise error(422, "CANNOT_REMIND_INVOICE",
                            "You cannot remind an invoice which is in DRAFT status. Only UNPAID, "
                            "SENT and PARTIALLY_PAID invoices can be reminded.", "/status",
                            doc["status"])
            today = self.clock.today().isoformat()
            counts = {d: n for d, n in internal.get("reminders", {}).items() if d == today}
            if counts.get(today, 0) >= REMINDERS_PER_DAY:
                raise error(422, "MAX_REMINDERS_PER_DAY",
                            f"At most {REMINDERS_PER_DAY} reminders per invoice per day; "
                            f"{REMINDERS_PER_DAY} already sent on {today}.", "/", invoice_id)
            counts[today] = counts.get(today, 0) + 1
            internal["reminders"] = counts
            self._save(merchant, doc, internal, seq)
            self._effect(merchant, "reminded", invoice_id)
            self._mail(merchant, doc, "reminder", notice)

    def reminders_today(self, merchant: Merchant, invoice_id: str) -> int:
        """How many reminders went out for the invoice on the emulator's current day."""
        _, _, internal = self._load(merchant, invoice_id)
        return internal.get("reminders", {}).get(self.clock.today().isoformat(), 0)

    def cancel_invoice(self, merchant: Merchant, invoice_id: str, body: Any) -> None:
        """Cancel a sent, unpaid invoice."""
        notice = S.validate(S.NOTIFICATION, body if body is not None else {})
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
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
            metadata["cancel_time"] = isoformat(self.clock.now())
            metadata["cancelled_by"] = merchant.email
            self._save(merchant, doc, internal, seq, event="CANCELLED")
            self._effect(merchant, "cancelled", invoice_id)
            self._mail(merchant, doc, "cancellation", notice)

    # --- payments and refunds -------------------------------------------------------------

    def _transaction_amount(
        self, body: dict[str, Any], currency: str, default: Decimal, kind: str
    ) -> Decimal:
        if "amount" not in body:
            return default
        money = body["amount"]
        if money["currency_code"] != currency:
            raise error(400, "NOT_SUPPORTED",
                        "Currency code is not supported." if kind == "Payment" else
                        "Currency code is not supported. Please provide a valid currency code.",
                        "/amount/currency_code", money["currency_code"])
        def invalid() -> ApiError:
            issue = "INVALID_INTEGER_VALUE" if decimals(currency) == 0 else "INVALID_DECIMAL_VALUE"
            return error(400, issue, _amount_rule(kind, currency), "/amount/value",
                         money["value"])

        try:
            amount = parse_amount(money["value"], currency)
        except MoneyError as exc:
            if exc.reason == "syntax":
                raise error(400, "INVALID_PARAMETER_SYNTAX",
                            "Amount value is invalid. Should be a numeric value.",
                            "/amount/value", money["value"]) from None
            raise invalid() from None
        if amount == 0:
            raise error(400, "VALUE_CANNOT_BE_ZERO",
                        "Payment amount cannot be zero. Please provide a valid amount."
                        if kind == "Payment" else "Refund amount cannot be zero.",
                        "/amount/value", money["value"])
        if amount < 0:
            raise invalid()
        return amount

    def _check_date(self, value: str | None, field: str) -> str:
        today = self.clock.today().isoformat()
        if value is None:
            return today
        if value > today:
            raise error(400, "INVALID_PARAMETER_VALUE",
                        f"The date cannot be after today ({today}).", field, value)
        return value

    def record_payment(
        self, merchant: Merchant, invoice_id: str, body: Any, *, paypal: bool = False
    ) -> dict[str, str]:
        """Record a payment (external, or PayPal when ``paypal``); returns its reference."""
        clean = S.validate(S.PAYMENT, body)
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            currency = doc["detail"]["currency_code"]
            due = Decimal(doc["due_amount"]["value"])
            payable = SENT_STATES if paypal else (*SENT_STATES, "DRAFT")  # mark a draft paid
            if doc["status"] not in payable or due == 0:  # nothing (left) to pay
                raise error(422, "CANNOT_PROCESS_PAYMENTS",
                            "Current invoice state does not support payment processing.",
                            "/status", doc["status"])
            amount = self._transaction_amount(clean, currency, due, "Payment")
            if amount > due:
                raise error(422, "PAYMENT_AMOUNT_GREATER_THAN_AMOUNT_DUE",
                            "Payment amount is greater than the amount due.", "/amount/value",
                            format_amount(amount, currency))
            payment_id = (self.ids.paypal_transaction() if paypal
                          else self.ids.external_transaction())
            transaction = {
                "type": "PAYPAL" if paypal else "EXTERNAL",
                "payment_id": payment_id,
                "payment_date": self._check_date(clean.get("payment_date"), "/payment_date"),
                "method": clean["method"],
                "amount": {"currency_code": currency,
                           "value": format_amount(amount, currency)},
            }
            for key in ("note", "shipping_info"):
                if key in clean:
                    transaction[key] = clean[key]
            doc.setdefault("payments", {}).setdefault("transactions", []).append(transaction)
            if len(doc["payments"]["transactions"]) > 100:
                raise error(422, "MAX_TRANSACTIONS", "An invoice holds at most 100 payments.")
            _set_balances(doc, internal)
            self._save(merchant, doc, internal, seq, event="PAID")
            self._effect(merchant, "payments", invoice_id)
        return {"payment_id": payment_id}

    def delete_payment(self, merchant: Merchant, invoice_id: str, transaction_id: str) -> None:
        """Undo an external payment."""
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            transactions = (doc.get("payments") or {}).get("transactions", [])
            match = [t for t in transactions if t["payment_id"] == transaction_id]
            if not match:
                raise not_found("transaction", transaction_id)
            if match[0]["type"] != "EXTERNAL":
                raise error(422, "CANNOT_DELETE_PAYPAL_PAYMENT",
                            "Only external (recorded) payments can be deleted.",
                            "transaction_id", transaction_id, "path")
            remaining = _sum(doc.get("payments"), "paid_amount") - Decimal(
                match[0]["amount"]["value"])
            if remaining < _sum(doc.get("refunds"), "refund_amount"):
                raise error(422, "CANNOT_DELETE_EXTERNAL_PAYMENT",
                            "The external payment cannot be deleted as the recorded refund cannot "
                            "exceed the recored payment for an invoice.", "transaction_id",
                            transaction_id, "path")
            doc["payments"]["transactions"] = [t for t in transactions if t is not match[0]]
            _set_balances(doc, internal)
            self._save(merchant, doc, internal, seq, event="UPDATED")

    def record_refund(self, merchant: Merchant, invoice_id: str, body: Any) -> dict[str, str]:
        """Record an external refund; returns its reference."""
        clean = S.validate(S.REFUND, body)
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            currency = doc["detail"]["currency_code"]
            paid = _sum(doc.get("payments"), "paid_amount")
            refunded = _sum(doc.get("refunds"), "refund_amount")
            if paid == 0 or doc["status"] not in (*PAID_STATES, "PARTIALLY_REFUNDED"):
                raise error(422, "CANNOT_PROCESS_REFUNDS",
                            "Current invoice state does not support refunds.", "/status",
                            doc["status"])
            amount = self._transaction_amount(clean, currency, paid - refunded, "Refund")
            if amount > paid - refunded:
                raise error(422, "INVALID_REFUND_AMOUNT",
                            "Recorded refunds cannot exceed recorded payments.", "/amount/value",
                            format_amount(amount, currency))
            refund_id = self.ids.external_transaction()
            doc.setdefault("refunds", {}).setdefault("transactions", []).append({
                "type": "EXTERNAL",
                "refund_id": refund_id,
                "refund_date": self._check_date(clean.get("refund_date"), "/refund_date"),
                "amount": {"currency_code": currency, "value": format_amount(amount, currency)},
                "method": clean["method"],
            })
            _set_balances(doc, internal)
            self._save(merchant, doc, internal, seq, event="REFUNDED")
            self._effect(merchant, "refunds", invoice_id)
        return {"refund_id": refund_id}

    def delete_refund(self, merchant: Merchant, invoice_id: str, transaction_id: str) -> None:
        """Undo an external refund."""
        with self.store.transaction():
            seq, doc, internal = self._load(merchant, invoice_id)
            transactions = (doc.get("refunds") or {}).get("transactions", [])
            kept = [t for t in transactions if t["refund_id"] != transaction_id]
            if len(kept) == len(transactions):
                raise not_found("transaction", transaction_id)
            doc["refunds"]["transactions"] = kept
            _set_balances(doc, internal)
            self._save(merchant, doc, internal, seq, event="UPDATED")

    # --- numbers and QR codes -------------------------------------------------------------

    def _next_free_number(self, merchant: Merchant) -> str:
        row = self.store.one(
            "SELECT last_number FROM merchants WHERE payer_id = ?", (merchant.payer_id,)
        )
        candidate = next_number(row[0] if row else None)
        for _ in range(10_000):
            if not self._number_taken(merchant, candidate):
                return candidate
            candidate = next_number(candidate)
        raise error(422, "INVOICE_NUMBER_EXHAUSTED", "No free invoice number was found.")

    def next_invoice_number(self, merchant: Merchant) -> dict[str, str]:
        """The next free number after the merchant's last one (not reserved)."""
        return {"invoice_number": self._next_free_number(merchant)}

    def qr_code(self, merchant: Merchant, invoice_id: str, body: Any, base_url: str) -> bytes:
        """A PNG QR code of the invoice's payer page, for sent invoices only."""
        config = S.validate(S.QR_CONFIG, body if body is not None else {})
        _, doc, _ = self._load(merchant, invoice_id)
        if doc["status"] in ("DRAFT", "SCHEDULED", "CANCELLED"):
            raise error(422, "INVALID_INVOICE_STATUS",
                        f"A QR code needs a sent invoice; this one is {doc['status']}.",
                        "/status", doc["status"])
        url = doc["detail"]["metadata"]["recipient_view_url"].replace(self.base, base_url)
        if config.get("action", "pay").lower() == "details":
            url += "?view=details"
        return qr_png(url, config.get("width", 500), config.get("height", 500))

    # --- search ---------------------------------------------------------------------------

    def search(
        self,
        merchant: Merchant,
        filters: Any,
        *,
        page: int = 1,
        page_size: int = 20,
        total_required: bool = False,
        full: bool | None = None,
    ) -> tuple[list[bytes], int | None, bool]:
        """Invoices matching every filter, newest first.

        Returns the page's documents, the total count (when required) and whether another
        page follows. ``full`` is given by the list operation: whole documents with
        ``fields=all``. Otherwise the ``fields`` filter chooses which collections each result
        carries. With :attr:`summaries` on, list items, and search items when ``fields`` asks
        for no collection (or always, in ``always`` mode), are PayPal's summaries.
        """
        clean = S.validate(S.SEARCH, filters if filters is not None else {})
        where, params = ["merchant = ?"], [merchant.payer_id]
        for key, column in (("recipient_email", "email"), ("recipient_first_name", "given_name"),
                            ("recipient_last_name", "surname"),
                            ("recipient_business_name", "business"),
                            ("invoice_number", "number"), ("reference", "reference"),
                            ("currency_code", "currency"), ("memo", "memo")):
            if key in clean:
                where.append(f"{column} = ?" + (" COLLATE NOCASE" if column == "number" else ""))
                params.append(clean[key])
        if clean.get("status"):
            where.append(f"status IN ({', '.join('?' * len(clean['status']))})")
            params += clean["status"]
        if "total_amount_range" in clean:
            low, high = clean["total_amount_range"]["lower_amount"], clean[
                "total_amount_range"]["upper_amount"]
            currency = low["currency_code"]
            try:
                lo, hi = to_minor(low["value"], currency), to_minor(high["value"], currency)
                if high["currency_code"] != currency:
                    raise MoneyError("the range's currencies differ", "currency")
            except MoneyError as exc:
                raise error(400, "INVALID_PARAMETER_SYNTAX",
                            "the value of a field does not conform to the expected format.",
                            "/total_amount_range", str(exc)) from None
            where.append("currency = ? AND total_minor BETWEEN ? AND ?")
            params += [currency, lo, hi]
        for key, column in (("invoice_date_range", "invoice_date"), ("due_date_range",
                                                                     "due_date")):
            if key in clean:
                where.append(f"{column} BETWEEN ? AND ?")
                params += [clean[key]["start"], clean[key]["end"]]
        if "creation_date_range" in clean:
            where.append("created BETWEEN ? AND ?")
            params += [isoformat(S.parse_datetime(clean["creation_date_range"][k]))
                       for k in ("start", "end")]
        if "payment_date_range" in clean:
            start, end = (S.parse_datetime(clean["payment_date_range"][k]).date().isoformat()
                          for k in ("start", "end"))
            where.append("seq IN (SELECT invoice_seq FROM payment_dates WHERE merchant = ? "
                         "AND payment_date BETWEEN ? AND ?)")
            params += [merchant.payer_id, start, end]
        if clean.get("archived") is not None:
            where.append("archived = ?")
            params.append(int(clean["archived"]))
        fields = {f.strip().lower() for f in clean.get("fields", []) if f.strip()}
        unknown = fields - set(COLLECTIONS)
        if unknown:
            raise error(400, "INVALID_PARAMETER_SYNTAX",
                        "the value of a field does not conform to the expected format.",
                        "/fields", ", ".join(sorted(unknown)))
        brief = self.summaries == "always" or (
            self.summaries == "on" and (full is not None or not fields))
        column = "doc" if full or fields >= set(COLLECTIONS) else "summary"
        seqs = self._matching(merchant, " AND ".join(where), tuple(params))
        offset = (page - 1) * page_size
        chosen = seqs[offset : offset + page_size]
        docs: list[bytes] = []
        if chosen:
            wanted = "doc" if column == "doc" or fields or brief else "summary"
            marks = ", ".join("?" * len(chosen))
            found = dict(self.store.all(
                f"SELECT seq, {wanted} FROM invoices WHERE seq IN ({marks})", tuple(chosen)
            ))
            docs = [found[seq] for seq in chosen]
            if brief:
                docs = [_dumps(paypal_summary(orjson.loads(d))) for d in docs]
            elif column == "summary" and fields:
                docs = [_dumps(_summary(orjson.loads(d), keep=fields,
                                        times=self.summaries == "off")) for d in docs]
        more = len(seqs) > offset + page_size
        return docs, (len(seqs) if total_required else None), more

    def _matching(self, merchant: Merchant, where: str, params: tuple[Any, ...]) -> array:
        """Sequence numbers matching a search, newest first, from an index scan.

        The ordered list is remembered until the merchant's book next changes, so a pager
        walking a thousand pages pays for one index scan instead of a thousand ever-deeper
        OFFSET scans, and every page is cut from the same consistent result.
        """
        key = (where, params)
        version = self._versions.get(merchant.payer_id, 0)
        cached = self._results.get(key)
        if cached is not None and cached[0] == version:
            self._results.move_to_end(key)
            return cached[1]
        seqs = array("q", (row[0] for row in self.store.all(
            f"SELECT seq FROM invoices WHERE {where} ORDER BY seq DESC", params)))
        self._results[key] = (version, seqs)
        while len(self._results) > 16:
            self._results.popitem(last=False)
        return seqs

    def _touch(self, merchant: Merchant) -> None:
        """Note that the merchant's book changed (drops remembered search results)."""
        self._versions[merchant.payer_id] = self._versions.get(merchant.payer_id, 0) + 1

    # --- simulation: effects, outbox, scheduled sends, the payer, reset --------------------

    def _effect(self, merchant: Merchant, operation: str, invoice_id: str) -> None:
        """Count an applied effect (inside the caller's transaction, so a replay never
        counts)."""
        self.store.execute(
            "INSERT INTO effects VALUES (?, ?, ?, 1) "
            "ON CONFLICT (operation, invoice_id, merchant) DO UPDATE SET count = count + 1",
            (merchant.payer_id, operation, invoice_id))

    def _mail(self, merchant: Merchant, doc: dict[str, Any], kind: str,
              notice: dict[str, Any]) -> None:
        """Record the emails PayPal would send for ``kind`` (invoice, reminder, cancellation).

        The customer and the CC addresses (the invoice's ``additional_recipients`` and the
        notification's) get one unless ``send_to_recipient`` is false; the merchant gets a
        copy when ``send_to_invoicer`` is true. The ``subject`` and ``note`` of send and
        remind are ignored, as PayPal ignores them ("the subject will always be defaulted to a
        system-defined value", OBSERVED.md): those emails carry PayPal's own subject and no
        note; what the call asked for is kept beside (``requested_subject``,
        ``requested_note``). A cancellation keeps both.
        """
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
            email = _recipient_email(doc)
            if email:
                to.append(("recipient", email))
            cc = [r.get("email_address") for r in doc.get("additional_recipients") or []]
            to += [("cc", e) for e in [*cc, *notice.get("additional_recipients", [])] if e]
        if notice.get("send_to_invoicer", False):
            to.append(("invoicer", merchant.email))
        now = isoformat(self.clock.now())
        for role, email in to:
            self.store.execute(
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
        rows = self.store.all(
            "SELECT seq, merchant, invoice_id, kind, role, email, subject, note, time, "
            f"requested_subject, requested_note FROM outbox WHERE {' AND '.join(where)} "
            "ORDER BY seq", tuple(params))
        keys = ("id", "merchant_id", "invoice_id", "kind", "role", "email", "subject", "note",
                "time", "requested_subject", "requested_note")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def stats(self, *, invoice_id: str | None = None, merchant: str | None = None
              ) -> dict[str, Any]:
        """Applied effects: totals per operation, the most any one invoice got, and (for one
        invoice) its own counts; only one merchant's (payer id) when given. Idempotent
        replays are not effects."""
        mine, whose = ("merchant = ?", (merchant,)) if merchant is not None else ("1", ())
        totals = dict(self.store.all(
            f"SELECT operation, SUM(count) FROM effects WHERE {mine} GROUP BY operation "
            "ORDER BY operation", whose))
        most = dict(self.store.all(
            f"SELECT operation, MAX(count) FROM effects WHERE {mine} GROUP BY operation "
            "ORDER BY operation", whose))
        out: dict[str, Any] = {"operations": totals, "max_per_invoice": most}
        if invoice_id is not None:
            out["invoice"] = dict(self.store.all(
                f"SELECT operation, SUM(count) FROM effects WHERE invoice_id = ? AND {mine} "
                "GROUP BY operation ORDER BY operation", (invoice_id, *whose)))
        return out

    def _send_day(self) -> str:
        """The latest issue date whose scheduled invoices are due: PayPal sends them at
        07:00 on their issue date in the merchant's time zone (OBSERVED.md; the emulator's
        merchants live in UTC), so before 07:00 it is yesterday."""
        now = self.clock.now()
        return (now.date() - dt.timedelta(days=now.hour < SEND_HOUR)).isoformat()

    def fire_scheduled(self) -> list[str]:
        """Send every scheduled invoice whose sending time has come (07:00 UTC on its issue
        date, by the emulator's clock); returns their ids."""
        today = self._send_day()
        owners = {m.payer_id: m for m in self.merchants()}
        fired = []
        with self.store.transaction():
            for seq, merchant_id, doc_bytes, hidden in self.store.all(
                "SELECT seq, merchant, doc, internal FROM invoices "
                "WHERE status = 'SCHEDULED' AND invoice_date <= ? ORDER BY seq", (today,)
            ):
                doc, internal = orjson.loads(doc_bytes), orjson.loads(hidden)
                merchant = owners[merchant_id]
                self._mark_sent(merchant, doc, internal, internal.pop("notice", {}))
                self._save(merchant, doc, internal, seq, event="SENT")
                fired.append(doc["id"])
        self._fired_through = today
        return fired

    def tick(self) -> None:
        """Fire scheduled sends once per sending day (cheap enough to call per request)."""
        if self._fired_through != self._send_day():
            self.fire_scheduled()

    def _owner(self, invoice_id: str) -> Merchant:
        row = self.store.one("SELECT merchant FROM invoices WHERE id = ?", (invoice_id,))
        owner = row and next((m for m in self.merchants() if m.payer_id == row[0]), None)
        if owner is None:
            raise not_found("invoice", invoice_id)
        return owner

    def public_invoice(self, invoice_id: str) -> dict[str, Any]:
        """An invoice as its payer sees it (no credentials: the id is the secret)."""
        return orjson.loads(self.get_invoice(self._owner(invoice_id), invoice_id))

    def pay_as_customer(self, invoice_id: str, amount: str | None = None,
                        payment_date: str | None = None) -> dict[str, str]:
        """The customer pays through PayPal: a ``PAYPAL`` payment of ``amount`` (default:
        all that is due) on ``payment_date`` (default: today).

        As on PayPal's payer page, a smaller amount is accepted only when the invoice allows
        partial payments, and not below its ``minimum_amount_due`` (422 otherwise).
        """
        merchant = self._owner(invoice_id)
        body: dict[str, Any] = {"method": "PAYPAL"}
        if amount is not None:  # the payer page's rules: partial only if allowed, >= minimum
            doc = orjson.loads(self.get_invoice(merchant, invoice_id))
            body["amount"] = {"currency_code": doc["detail"]["currency_code"],
                              "value": _customer_amount(doc, str(amount))}
        if payment_date is not None:
            body["payment_date"] = payment_date
        with self.store.transaction():
            reference = self.record_payment(merchant, invoice_id, body, paypal=True)
            status = self.store.one("SELECT status FROM invoices WHERE id = ?", (invoice_id,))
        return {**reference, "status": status[0]}

    def reset(self) -> None:
        """Empty every merchant's book (invoices, templates, idempotency records, outbox,
        stats); merchants, grants and tokens stay."""
        with self.store.transaction():
            for table in BOOK_TABLES:
                self.store.execute(f"DELETE FROM {table}")
            self.store.execute("UPDATE merchants SET last_number = NULL")
            for merchant in self.merchants():
                self._add_system_templates(merchant)
        self.forget()

    def forget(self) -> None:
        """Drop everything remembered from the database (after it changed underneath)."""
        self._results.clear()
        self._versions.clear()
        self._fired_through = ""

    # --- templates ------------------------------------------------------------------------

    def _template(self, merchant: Merchant, template_id: str, field: str | None = None) -> dict:
        row = self.store.one(
            "SELECT doc FROM templates WHERE id = ? AND merchant = ?",
            (template_id, merchant.payer_id),
        )
        if row is None:
            if field:  # referenced from an invoice body: the body is wrong, not the URL
                raise error(400, "INVALID_PARAMETER_VALUE",
                            f"Template {template_id} does not exist.", field, template_id)
            raise not_found("template", template_id)
        return orjson.loads(row[0])

    def _insert_template(self, merchant: Merchant, clean: dict, *, system: bool = False) -> dict:
        template_id = self.ids.template()
        doc = {"id": template_id, **clean, "standard_template": system}
        doc["links"] = self._template_links(template_id, system)
        if clean.get("default_template"):
            self._clear_default(merchant)
        self.store.execute(
            "INSERT INTO templates (id, merchant, name, is_default, system, doc) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (template_id, merchant.payer_id, clean["name"], int(bool(clean.get(
                "default_template"))), int(system), _dumps(doc)),
        )
        return doc

    def _template_links(self, template_id: str, system: bool) -> list[dict[str, str]]:
        href = f"{self.base}/v2/invoicing/templates/{template_id}"
        links = [{"href": href, "rel": "self", "method": "GET"}]
        if not system:
            links += [{"href": href, "rel": "replace", "method": "PUT"},
                      {"href": href, "rel": "delete", "method": "DELETE"}]
        return links

    def _clear_default(self, merchant: Merchant) -> None:
        for template_id, doc in self.store.all(
            "SELECT id, doc FROM templates WHERE merchant = ? AND is_default = 1",
            (merchant.payer_id,),
        ):
            data = orjson.loads(doc)
            data["default_template"] = False
            self.store.execute("UPDATE templates SET is_default = 0, doc = ? WHERE id = ?",
                               (_dumps(data), template_id))

    def _clean_template(self, body: Any) -> dict[str, Any]:
        clean = S.validate(S.TEMPLATE, body)
        detail = (clean.get("template_info") or {}).get("detail")
        if detail is None:
            return clean
        if "currency_code" not in detail:  # template_detail requires it, as invoices do
            raise error(400, "MISSING_REQUIRED_PARAMETER",
                        "A required field / parameter is missing: currency_code.",
                        "/template_info/detail/currency_code")
        try:
            decimals(detail["currency_code"])
        except MoneyError:
            raise error(400, "INVALID_PARAMETER_SYNTAX",
                        "the value of a field does not conform to the expected format.",
                        "/template_info/detail/currency_code", detail["currency_code"]) from None
        return clean

    def _name_taken(self, merchant: Merchant, name: str, except_id: str | None = None) -> None:
        row = self.store.one("SELECT id FROM templates WHERE merchant = ? AND name = ?",
                             (merchant.payer_id, name))
        if row is not None and row[0] != except_id:
            raise error(400, "TEMPLATE_NAME_ALREADY_EXISTS", "Template name already exists.",
                        "/name", name)

    def create_template(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Create a merchant template (at most 50)."""
        clean = self._clean_template(body)
        with self.store.transaction():
            self._name_taken(merchant, clean["name"])
            count = self.store.one(
                "SELECT COUNT(*) FROM templates WHERE merchant = ? AND system = 0",
                (merchant.payer_id,),
            )[0]
            if count >= MAX_TEMPLATES:
                raise error(422, "TEMPLATE_LIMIT_REACHED",
                            f"A merchant can have at most {MAX_TEMPLATES} templates.")
            return self._insert_template(merchant, clean)

    def get_template(self, merchant: Merchant, template_id: str) -> dict[str, Any]:
        """One template."""
        return self._template(merchant, template_id)

    def list_templates(
        self, merchant: Merchant, *, fields: str = "all", page: int = 1, page_size: int = 20
    ) -> dict[str, Any]:
        """The merchant's templates, system ones included, with profile details."""
        rows = self.store.all(
            "SELECT doc FROM templates WHERE merchant = ? ORDER BY seq LIMIT ? OFFSET ?",
            (merchant.payer_id, page_size, (page - 1) * page_size),
        )
        templates = [orjson.loads(r[0]) for r in rows]
        if fields.lower() == "none":
            templates = [{k: t[k] for k in ("id", "name", "default_template", "links") if k in t}
                         for t in templates]
        return {
            "addresses": [],
            "emails": merchant.email,
            "phones": [],
            "templates": templates,
            "links": [{"href": f"{self.base}/v2/invoicing/templates", "rel": "self",
                       "method": "GET"}],
        }

    def update_template(self, merchant: Merchant, template_id: str, body: Any) -> dict[str, Any]:
        """Fully replace a merchant template; system templates are read-only."""
        clean = self._clean_template(body)
        with self.store.transaction():
            old = self._template(merchant, template_id)
            if old.get("standard_template"):
                raise error(403, "CANNOT_UPDATE_GLOBAL_TEMPLATE",
                            "PayPal system templates cannot be changed.", "template_id",
                            template_id, "path")
            self._name_taken(merchant, clean["name"], except_id=template_id)
            if clean.get("default_template"):
                self._clear_default(merchant)
            doc = {"id": template_id, **clean, "standard_template": False,
                   "links": self._template_links(template_id, False)}
            self.store.execute(
                "UPDATE templates SET name = ?, is_default = ?, doc = ? WHERE id = ?",
                (clean["name"], int(bool(clean.get("default_template"))), _dumps(doc),
                 template_id),
            )
            return doc

    def delete_template(self, merchant: Merchant, template_id: str) -> None:
        """Delete a merchant template; system templates cannot be deleted."""
        with self.store.transaction():
            doc = self._template(merchant, template_id)
            if doc.get("standard_template"):
                raise error(403, "CANNOT_DELETE_GLOBAL_TEMPLATE",
                            "Global templates cannot be deleted.", "template_id", template_id,
                            "path")
            self.store.execute("DELETE FROM templates WHERE id = ?", (template_id,))


# --- helpers --------------------------------------------------------------------------------


def _duplicate_number(number: str) -> ApiError:
    return ApiError(422, [Detail("DUPLICATE_INVOICE_NUMBER",
                                 f"Invoice number {number} is already used by another invoice.",
                                 "/detail/invoice_number", number)])


def _amount_rule(kind: str, currency: str) -> str:
    if decimals(currency) == 0:
        return (f"{kind} amount value is invalid. Can have non-negative value with maximum 6 "
                "digits.")
    return (f"{kind} amount value is invalid. Can have non-negative value with maximum 7 digits "
            "and upto 2 fractions.")


def _recipient_email(doc: dict[str, Any]) -> str | None:
    recipients = doc.get("primary_recipients") or []
    if not recipients:
        return None
    return (recipients[0].get("billing_info") or {}).get("email_address")


def _sum(block: dict[str, Any] | None, key: str) -> Decimal:
    if not block or key not in block:
        return Decimal(0)
    return Decimal(block[key]["value"])


def _set_balances(doc: dict[str, Any], internal: dict[str, Any] | None = None) -> None:
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


def _summary(doc: dict[str, Any], keep: set[str] = frozenset(), *, times: bool = True
             ) -> dict[str, Any]:
    """The search view of an invoice: PayPal's summary (with the invoice's times and term
    type unless ``times`` is false, see :func:`._shape.paypal_summary`) and the collections
    asked for in ``fields``."""
    out = paypal_summary(doc, times=times)
    if "items" in keep and "items" in doc:
        out["items"] = doc["items"]
    for key in ("payments", "refunds"):
        if key in keep and key in doc:
            out[key] = doc[key]
    if "additional_recipients_info" in keep and "additional_recipients" in doc:
        out["additional_recipients"] = doc["additional_recipients"]
    if "attachments" in keep and "attachments" in doc["detail"]:
        out["detail"] = {**out["detail"], "attachments": doc["detail"]["attachments"]}
    return out


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge: dicts merge key by key, anything else in ``override`` wins."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _customer_amount(doc: dict[str, Any], text: str) -> str:
    """Check an amount the customer chose against the invoice's partial-payment settings.

    PayPal's payer page only lets the customer change the amount when the merchant allowed
    partial payments, and then not below ``minimum_amount_due`` (unless less than that is
    left to pay). Over-payment is left to the service, which refuses it atomically.

    Returns
    -------
    str
        The amount with exactly the currency's decimals (``"30"`` → ``"30.00"``).

    Raises
    ------
    ApiError
        422 for an amount that is not a number, not positive, or not allowed here.
    """
    currency = doc["detail"]["currency_code"]
    try:
        amount = parse_amount(text, currency)
    except MoneyError as exc:
        raise error(422, "INVALID_AMOUNT", f"Enter an amount such as {doc['due_amount']['value']}"
                    f" ({exc}).", "amount", text) from None
    due = Decimal(doc["due_amount"]["value"])
    partial = (doc.get("configuration") or {}).get("partial_payment") or {}
    if amount <= 0:
        raise error(422, "INVALID_AMOUNT", "The amount must be more than zero.", "amount", text)
    if amount < due and not partial.get("allow_partial_payment"):
        raise error(422, "PARTIAL_PAYMENT_NOT_ALLOWED",
                    "This invoice must be paid in full "
                    f"({doc['due_amount']['value']} {currency}).",
                    "amount", text)
    minimum = partial.get("minimum_amount_due")
    if minimum and amount < min(Decimal(minimum["value"]), due):
        raise error(422, "AMOUNT_BELOW_MINIMUM",
                    f"The minimum payment is {minimum['value']} {currency}.", "amount", text)
    return format_amount(amount, currency)
