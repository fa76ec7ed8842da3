"""PayPal webhooks, emulated: subscriptions, invoice events, signed deliveries, retries.

* **Subscriptions** (``/v1/notifications/webhooks``): per merchant app, at most 10, one per
  URL, each to a list of event types or ``*``.
* **Events.** The service calls :meth:`Webhooks.emit` inside the transaction that changes an
  invoice, so an event exists exactly when its effect does: a rolled-back call or an
  idempotent replay emits nothing. An event is stored (and listed by
  ``/v1/notifications/webhooks-events``) only if one of the merchant's webhooks subscribes to
  it; a delivery row is queued for each such webhook in the same transaction.
* **Signing**, as PayPal does: headers ``PAYPAL-TRANSMISSION-ID``, ``-TIME``, ``-SIG``,
  ``PAYPAL-CERT-URL``, ``PAYPAL-AUTH-ALGO: SHA256withRSA`` and ``PAYPAL-AUTH-VERSION: v2``,
  plus a ``correlation-id`` and a ``PayPal/AUHD-…`` user agent (the headers of a live
  delivery, OBSERVED.md); the body is compact JSON with raw UTF-8. The signature is RSA
  PKCS#1 v1.5 with SHA-256 over ``transmission_id|transmission_time|webhook_id|crc32(body)``
  (:func:`ppnb._signing.signed_message`). The RSA key and its self-signed X.509 certificate
  are made once per database (a new pair only when the emulator's clock leaves the old
  certificate's validity) and the certificate is served at
  ``/v1/notifications/certs/CERT-...``, like PayPal's.
* **Delivery** runs in one background thread of the serving process (:meth:`Webhooks.start`),
  never on the request path: it is woken when a delivery is queued, posts the event, and
  retries non-2xx answers and connection errors with exponential backoff
  (:class:`DeliveryPolicy`) up to a bounded number of attempts. Every attempt is recorded
  (time, transmission id, HTTP status or error). The queue is in SQLite, so pending deliveries
  resume after a restart. Backoff is measured in real seconds (it is about the network);
  event and transmission times come from the emulator's clock.
* **Simulator** (``POST /v1/notifications/simulate-event``): a mock event of a type, with a
  sample invoice, sent to a webhook's URL (or any URL) and signed for the webhook id
  ``WEBHOOK_ID``, as PayPal's simulator signs them (OBSERVED.md). Mock events are not listed
  among the merchant's events.
* **Postback** (``verify-webhook-signature``) takes the CRC32 of ``webhook_event`` exactly as
  it appears in the request body, so only an event posted as it was received verifies.

Stored event bodies keep the base-URL placeholder of stored invoices; it is replaced by the
URL the emulator is served at when an event is delivered or read.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from .._signing import AUTH_ALGO, AUTH_VERSION, CERT_PATH, SIMULATOR_WEBHOOK_ID, signed_message
from . import _schema as S
from ._clock import Clock, isoformat
from ._errors import ApiError, error, not_found
from ._events import raw_member, sample_invoice
from ._ids import IdFactory, fresh
from ._store import Store

if TYPE_CHECKING:
    from ._service import Merchant

#: The invoice events PayPal sends, with their summaries.
EVENT_TYPES = {
    "INVOICING.INVOICE.CREATED": "An invoice was created",
    "INVOICING.INVOICE.UPDATED": "An invoice was updated",
    "INVOICING.INVOICE.SENT": "An invoice was sent",
    "INVOICING.INVOICE.SCHEDULED": "An invoice was scheduled",
    "INVOICING.INVOICE.PAID": "An invoice was paid",
    "INVOICING.INVOICE.REFUNDED": "An invoice was refunded",
    "INVOICING.INVOICE.CANCELLED": "An invoice was cancelled",
}
log = logging.getLogger("ppnb.emulator")

MAX_WEBHOOKS = 10
CERT_VALIDITY = dt.timedelta(days=3650)
WEBHOOKS = "/v1/notifications/webhooks"
EVENTS = "/v1/notifications/webhooks-events"
#: The user agent of PayPal's webhook deliveries (``PayPal/AUHD-…``, OBSERVED.md).
USER_AGENT = "PayPal/AUHD-214.0-58843294"
#: Mock events belong to no merchant's event list.
_SIMULATED = "simulator:"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are retried.

    Attempt *n* (1-based) that fails is followed by attempt *n + 1* after
    ``min(max_delay, base_delay * 2 ** (n - 1))`` seconds, until ``attempts`` have been made.

    Parameters
    ----------
    attempts
        Attempts per delivery, the first included.
    base_delay
        Seconds before the first retry.
    max_delay
        Cap on one wait.
    timeout
        Seconds an attempt may take (connect and read).
    """

    attempts: int = 10
    base_delay: float = 2.0
    max_delay: float = 900.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ValueError(f"{self}: attempts ≥ 1, delays ≥ 0 and timeout > 0 please")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


def _bad(field: str, value: Any, description: str,
         issue: str = "INVALID_PARAMETER_VALUE") -> ApiError:
    return error(400, issue, description, field, value)


def _missing(field: str) -> ApiError:
    return _bad(field, None, f"A required field / parameter is missing: {field.lstrip('/')}.",
                "MISSING_REQUIRED_PARAMETER")


class Webhooks:
    """Webhook subscriptions, events and their delivery, over the emulator's store.

    Parameters
    ----------
    store, clock
        The emulator's database and clock.
    placeholder
        What stands for the base URL in stored documents.
    policy
        Retry schedule of deliveries.
    """

    def __init__(self, store: Store, clock: Clock, placeholder: str,
                 policy: DeliveryPolicy | None = None) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self._placeholder = placeholder.encode()
        self._base_url: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._key_lock = threading.Lock()
        self._key: tuple[str, str, rsa.RSAPrivateKey] | None = None  # cert id, not_after, key

    # --- where the emulator is served ------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """The URL the emulator is served at (links in delivered events, the cert URL)."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")
        self._wake.set()

    def seen(self, base_url: str) -> None:
        """Learn the served URL from a request, when whoever served the app did not say."""
        if self._base_url is None:
            self.base_url = base_url

    def _rebase(self, data: bytes) -> bytes:
        return data.replace(self._placeholder, (self._base_url or "").encode())

    # --- subscriptions -------------------------------------------------------------------

    def _webhook_json(self, webhook_id: str, url: str, types: bytes) -> dict[str, Any]:
        href = f"{self._placeholder.decode()}{WEBHOOKS}/{webhook_id}"
        return {
            "id": webhook_id,
            "url": url,
            "event_types": [{"name": n, "description": EVENT_TYPES.get(n, "ALL"),
                             "status": "ENABLED"} for n in orjson.loads(types)],
            "links": [{"href": href, "rel": "self", "method": "GET"},
                      {"href": href, "rel": "delete", "method": "DELETE"}],
        }

    def create(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Subscribe a URL to event types (``*`` for all)."""
        if not isinstance(body, dict):
            raise _bad("/", body, "Send a webhook object with url and event_types.",
                       "INVALID_PARAMETER_SYNTAX")
        url = body.get("url")
        if url is None:
            raise _missing("/url")
        _check_url(url)
        types = body.get("event_types")
        if types is None:
            raise _missing("/event_types")
        if not isinstance(types, list) or not 1 <= len(types) <= 500:
            raise _bad("/event_types", types, "event_types is a list of 1 to 500 "
                       "{\"name\": ...} objects.", "INVALID_PARAMETER_SYNTAX")
        names: list[str] = []
        for i, entry in enumerate(types):
            name = entry.get("name") if isinstance(entry, dict) else None
            if name != "*" and name not in EVENT_TYPES:
                raise _bad(f"/event_types/{i}/name", name,
                           f"Unsupported event type; use * or one of {', '.join(EVENT_TYPES)}.")
            if name not in names:
                names.append(name)
        with self.store.transaction():
            rows = self.store.all("SELECT url FROM webhooks WHERE merchant = ?",
                                  (merchant.payer_id,))
            if any(row[0] == url for row in rows):
                raise _bad("/url", url, "A webhook already exists for the URL. Update the "
                           "webhook or create a webhook with different URL.",
                           "WEBHOOK_URL_ALREADY_EXISTS")
            if len(rows) >= MAX_WEBHOOKS:
                raise _bad("/", None, "You can create a maximum of ten webhooks for an "
                           "application. You have reached the maximum limit.",
                           "WEBHOOK_NUMBER_LIMIT_EXCEEDED")
            webhook_id = fresh(17)
            stored = orjson.dumps(["*"] if "*" in names else names)
            self.store.execute(
                "INSERT INTO webhooks (id, merchant, url, event_types) VALUES (?, ?, ?, ?)",
                (webhook_id, merchant.payer_id, url, stored))
        return self._webhook_json(webhook_id, url, stored)

    def list(self, merchant: Merchant) -> dict[str, Any]:
        """The merchant's webhooks, oldest first."""
        rows = self.store.all(
            "SELECT id, url, event_types FROM webhooks WHERE merchant = ? ORDER BY seq",
            (merchant.payer_id,))
        return {"webhooks": [self._webhook_json(*row) for row in rows]}

    def get(self, merchant: Merchant, webhook_id: str) -> dict[str, Any]:
        """One webhook (404 if it is not this merchant's)."""
        row = self.store.one(
            "SELECT id, url, event_types FROM webhooks WHERE id = ? AND merchant = ?",
            (webhook_id, merchant.payer_id))
        if row is None:
            raise not_found("webhook", webhook_id)
        return self._webhook_json(*row)

    def delete(self, merchant: Merchant, webhook_id: str) -> None:
        """Unsubscribe; its pending deliveries are abandoned."""
        with self.store.transaction():
            self.get(merchant, webhook_id)
            self.store.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
            self.store.execute("UPDATE deliveries SET status = 'CANCELLED' "
                               "WHERE webhook_id = ? AND status = 'PENDING'", (webhook_id,))

    @staticmethod
    def event_types() -> dict[str, Any]:
        """Every event type the emulator sends."""
        return {"event_types": [{"name": name, "description": text, "status": "ENABLED",
                                 "resource_versions": ["2.0"]}
                                for name, text in EVENT_TYPES.items()]}

    # --- events --------------------------------------------------------------------------

    def emit(self, merchant: Merchant, event_type: str, resource_id: str,
             resource: bytes) -> None:
        """Record an event and queue its deliveries (call inside the effect's transaction).

        ``resource`` is the invoice's stored JSON, the event's ``resource`` as is.
        """
        hooks = [(webhook_id, url) for webhook_id, url, types in self.store.all(
            "SELECT id, url, event_types FROM webhooks WHERE merchant = ? ORDER BY seq",
            (merchant.payer_id,)) if {"*", event_type} & set(orjson.loads(types))]
        if not hooks:
            return
        self._store_event(merchant.payer_id, event_type, resource_id, resource, hooks)

    def _store_event(self, owner: str, event_type: str, resource_id: str, resource: bytes,
                     hooks: list[tuple[str, str]]) -> bytes:
        """Store an event of ``owner`` (compact JSON, raw UTF-8) and queue its deliveries."""
        event_id = f"WH-{fresh(17)}-{fresh(17)}"
        now = isoformat(self.clock.now())
        href = f"{self._placeholder.decode()}{EVENTS}/{event_id}"
        head = orjson.dumps({
            "id": event_id, "event_version": "1.0", "create_time": now,
            "resource_type": "invoices", "resource_version": "2.0", "event_type": event_type,
            "summary": EVENT_TYPES[event_type],
        })
        links = orjson.dumps([{"href": href, "rel": "self", "method": "GET"},
                              {"href": href + "/resend", "rel": "resend", "method": "POST"}])
        body = head[:-1] + b',"resource":' + resource + b',"links":' + links + b"}"
        self.store.execute(
            "INSERT INTO events (id, merchant, event_type, resource_id, create_time, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, owner, event_type, resource_id, now, body))
        self._queue(event_id, hooks)
        return body

    def simulate(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """``POST /v1/notifications/simulate-event``: send a mock event of ``event_type``
        (a sample invoice as its resource) to ``url``, or to the URL of the merchant's
        webhook ``webhook_id``, signed for ``WEBHOOK_ID`` as PayPal's simulator does."""
        if not isinstance(body, dict):
            raise _bad("/", body, "Send a simulate_event object with event_type and url or "
                       "webhook_id.", "INVALID_PARAMETER_SYNTAX")
        event_type = body.get("event_type")
        if event_type is None:
            raise _missing("/event_type")
        if event_type not in EVENT_TYPES:
            raise _bad("/event_type", event_type,
                       f"Unsupported event type; use one of {', '.join(EVENT_TYPES)}.")
        url = body.get("url")
        if body.get("webhook_id") is not None:
            url = self.get(merchant, body["webhook_id"])["url"]
        elif url is None:
            raise _missing("/url")
        _check_url(url)
        resource = sample_invoice(event_type, self.clock.now(), self._placeholder.decode())
        with self.store.transaction():
            event = self._store_event(_SIMULATED + merchant.payer_id, event_type,
                                      resource["id"], orjson.dumps(resource),
                                      [(SIMULATOR_WEBHOOK_ID, url)])
        return orjson.loads(event)

    def _queue(self, event_id: str, hooks: list[tuple[str, str]]) -> None:
        with self.store.transaction():
            for webhook_id, url in hooks:
                self.store.execute(
                    "INSERT INTO deliveries (event_id, webhook_id, url, status, next_at) "
                    "VALUES (?, ?, ?, 'PENDING', 0)", (event_id, webhook_id, url))
        # The store's lock is held until the outer transaction ends, so the delivery thread
        # woken here reads the queue only after the commit (or finds nothing after a rollback).
        self._wake.set()

    def _event_json(self, event_id: str, body: bytes) -> dict[str, Any]:
        event = orjson.loads(body)
        event["transmissions"] = self.deliveries(event_id=event_id)
        return event

    def list_events(self, merchant: Merchant, *, page_size: int = 10, page: int = 1,
                    start_time: str | None = None, end_time: str | None = None,
                    event_type: str | None = None) -> dict[str, Any]:
        """The merchant's events, newest first, each with its delivery attempts
        (``transmissions``, the emulator's addition)."""
        where, params = ["merchant = ?"], [merchant.payer_id]
        for name, value, op in (("start_time", start_time, ">="), ("end_time", end_time, "<=")):
            if value is not None:
                try:
                    moment = isoformat(S.parse_datetime(value))
                except ValueError:
                    raise error(400, "INVALID_PARAMETER_SYNTAX",
                                f"{name} must be an RFC 3339 date-time.", name, value,
                                "query") from None
                where.append(f"create_time {op} ?")
                params.append(moment)
        if event_type is not None:
            where.append("event_type = ?")
            params.append(event_type)
        rows = self.store.all(
            f"SELECT id, body FROM events WHERE {' AND '.join(where)} ORDER BY seq DESC "
            "LIMIT ? OFFSET ?", (*params, page_size + 1, (page - 1) * page_size))
        events = [self._event_json(*row) for row in rows[:page_size]]
        href = f"{self._placeholder.decode()}{EVENTS}?page_size={page_size}"
        links = [{"href": f"{href}&page={page}", "rel": "self", "method": "GET"}]
        if len(rows) > page_size:
            links.append({"href": f"{href}&page={page + 1}", "rel": "next", "method": "GET"})
        return {"events": events, "count": len(events), "links": links}

    def _event_row(self, merchant: Merchant, event_id: str) -> bytes:
        row = self.store.one("SELECT body FROM events WHERE id = ? AND merchant = ?",
                             (event_id, merchant.payer_id))
        if row is None:
            raise not_found("event", event_id)
        return row[0]

    def get_event(self, merchant: Merchant, event_id: str) -> dict[str, Any]:
        """One event with its delivery attempts."""
        return self._event_json(event_id, self._event_row(merchant, event_id))

    def resend(self, merchant: Merchant, event_id: str, body: Any) -> dict[str, Any]:
        """Queue the event again for the given webhooks (default: every current one that
        subscribes to it)."""
        event = orjson.loads(self._event_row(merchant, event_id))
        wanted = (body or {}).get("webhook_ids") if isinstance(body, dict) else None
        if wanted is not None and not (isinstance(wanted, list)
                                       and all(isinstance(w, str) for w in wanted)):
            raise _bad("/webhook_ids", wanted, "webhook_ids is a list of webhook ids.",
                       "INVALID_PARAMETER_SYNTAX")
        hooks = []
        for webhook_id, url, types in self.store.all(
                "SELECT id, url, event_types FROM webhooks WHERE merchant = ? ORDER BY seq",
                (merchant.payer_id,)):
            if wanted is None and not {"*", event["event_type"]} & set(orjson.loads(types)):
                continue
            if wanted is None or webhook_id in wanted:
                hooks.append((webhook_id, url))
        unknown = set(wanted or ()) - {h[0] for h in hooks}
        if unknown:
            raise not_found("webhook", sorted(unknown)[0], "body")
        self._queue(event_id, hooks)
        return event

    # --- signing -------------------------------------------------------------------------

    def _signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """The current certificate's id and private key, made on first use."""
        now = isoformat(self.clock.now())
        with self._key_lock:
            if self._key is not None and self._key[1] > now:
                return self._key[0], self._key[2]
            row = self.store.one(
                "SELECT id, not_after, key_pem FROM webhook_certs WHERE not_before <= ? "
                "AND not_after > ? ORDER BY not_after DESC", (now, now))
            if row is None:
                row = self._new_certificate()
            key = serialization.load_pem_private_key(row[2], password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self._key = (row[0], row[1], key)
            return row[0], key

    def _new_certificate(self) -> tuple[str, str, bytes]:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.ppnb.emulator"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ppnb PayPal emulator"),
        ])
        start = self.clock.now() - dt.timedelta(days=1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(start + CERT_VALIDITY)
                .sign(key, hashes.SHA256()))
        cert_id = "CERT-360caa42-fca2a594-" + cert.fingerprint(hashes.SHA256()).hex()[:8]
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        not_after = isoformat(cert.not_valid_after_utc)
        with self.store.transaction():
            self.store.execute(
                "INSERT INTO webhook_certs VALUES (?, ?, ?, ?, ?)",
                (cert_id, key_pem, cert.public_bytes(serialization.Encoding.PEM),
                 isoformat(cert.not_valid_before_utc), not_after))
        return cert_id, not_after, key_pem

    def certificate(self, cert_id: str) -> bytes | None:
        """A signing certificate as PEM, by id (``None`` if there is no such one)."""
        row = self.store.one("SELECT cert_pem FROM webhook_certs WHERE id = ?", (cert_id,))
        return row[0] if row else None

    def cert_url(self, cert_id: str) -> str:
        """Where the certificate ``cert_id`` is served."""
        return f"{self._base_url}{CERT_PATH}{cert_id}"

    def sign(self, webhook_id: str, body: bytes) -> dict[str, str]:
        """The PayPal headers of one transmission of ``body`` to ``webhook_id``."""
        cert_id, key = self._signing_key()
        transmission_id = str(uuid.uuid4())
        when = isoformat(self.clock.now())
        signature = key.sign(signed_message(transmission_id, when, webhook_id, body),
                             padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": self.cert_url(cert_id),
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
            "PAYPAL-AUTH-VERSION": AUTH_VERSION,
        }

    def verify_signature(self, merchant: Merchant, body: Any,
                         raw: bytes | None = None) -> dict[str, str]:
        """``POST /v1/notifications/verify-webhook-signature``.

        The CRC32 is taken over ``webhook_event`` exactly as it appears in the request body
        ``raw`` (:func:`raw_member`), so only an event posted as it was received verifies, as
        on PayPal, where integrations splice the raw body in (OBSERVED.md). Without ``raw`` (an
        in-process call) the event is serialised compactly. ``SUCCESS`` needs one of the
        merchant's webhooks (or the simulator's ``WEBHOOK_ID``), ``SHA256withRSA``, one of the
        emulator's certificate URLs and a signature that matches.
        """
        if not isinstance(body, dict):
            raise _bad("/", body, "Send a verify_webhook_signature object.",
                       "INVALID_PARAMETER_SYNTAX")
        fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig",
                  "transmission_time", "webhook_id")
        for name in (*fields, "webhook_event"):
            if name not in body:
                raise _missing(f"/{name}")
        for name in fields:
            if not isinstance(body[name], str) or not body[name]:
                raise _bad(f"/{name}", body[name], f"{name} must be a non-empty string.",
                           "INVALID_PARAMETER_SYNTAX")
        if not isinstance(body["webhook_event"], dict):
            raise _bad("/webhook_event", body["webhook_event"], "webhook_event must be the "
                       "event object.", "INVALID_PARAMETER_SYNTAX")
        owned = body["webhook_id"] == SIMULATOR_WEBHOOK_ID or self.store.one(
            "SELECT 1 FROM webhooks WHERE id = ? AND merchant = ?",
            (body["webhook_id"], merchant.payer_id))
        path = urlsplit(body["cert_url"]).path
        pem = self.certificate(path[len(CERT_PATH):]) if path.startswith(CERT_PATH) else None
        if owned is None or body["auth_algo"] != AUTH_ALGO or pem is None:
            return {"verification_status": "FAILURE"}
        event = raw_member(raw, "webhook_event") if raw else None
        message = signed_message(body["transmission_id"], body["transmission_time"],
                                 body["webhook_id"], event or orjson.dumps(body["webhook_event"]))
        public = x509.load_pem_x509_certificate(pem).public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(base64.b64decode(body["transmission_sig"], validate=True), message,
                          padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return {"verification_status": "FAILURE"}
        return {"verification_status": "SUCCESS"}

    # --- deliveries ----------------------------------------------------------------------

    def deliveries(self, *, event_id: str | None = None, status: str | None = None,
                   webhook_id: str | None = None) -> list[dict[str, Any]]:
        """Deliveries, oldest first, with every attempt made so far."""
        where, params = ["1"], []
        for column, value in (("d.event_id", event_id), ("d.status", status),
                              ("d.webhook_id", webhook_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self.store.all(
            "SELECT d.seq, d.event_id, e.event_type, d.webhook_id, d.url, d.status, d.next_at "
            f"FROM deliveries d JOIN events e ON e.id = d.event_id WHERE {' AND '.join(where)} "
            "ORDER BY d.seq", tuple(params))
        attempts: dict[int, list[dict[str, Any]]] = {}
        if rows:
            marks = ", ".join("?" * len(rows))
            for seq, number, when, tid, status_code, err in self.store.all(
                    "SELECT delivery, number, time, transmission_id, http_status, error FROM "
                    f"delivery_attempts WHERE delivery IN ({marks}) ORDER BY delivery, number",
                    tuple(r[0] for r in rows)):
                attempts.setdefault(seq, []).append({
                    "number": number, "time": when, "transmission_id": tid,
                    "http_status": status_code, "error": err})
        return [{"id": seq, "event_id": eid, "event_type": etype, "webhook_id": wid,
                 "url": url, "status": state, "attempts": attempts.get(seq, []),
                 "next_attempt_in": (round(max(0.0, next_at - time.time()), 3)
                                     if state == "PENDING" else None)}
                for seq, eid, etype, wid, url, state, next_at in rows]

    def wake(self) -> None:
        """Look at the queue now (after a restore, or when the served URL becomes known)."""
        self._wake.set()

    def start(self) -> None:
        """Run the delivery thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ppnb-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread after its current attempt; pending deliveries stay
        queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.policy.timeout + 5)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.policy.timeout, trust_env=False) as http:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    wait = self._deliver_due(http)
                except Exception:  # never let one bad row kill the thread; try again later
                    log.exception("webhook delivery failed")
                    wait = self.policy.base_delay or 1.0
                self._wake.wait(wait)

    def _deliver_due(self, http: httpx.Client) -> float | None:
        """Attempt every delivery that is due; returns seconds until the next one (or None)."""
        if self._base_url is None:
            return None  # nothing can be signed with a cert URL yet; seen() wakes us
        while not self._stop.is_set():
            rows = self.store.all(
                "SELECT d.seq, d.webhook_id, d.url, d.attempts, e.body FROM deliveries d "
                "JOIN events e ON e.id = d.event_id WHERE d.status = 'PENDING' "
                "AND d.next_at <= ? ORDER BY d.next_at, d.seq LIMIT 50", (time.time(),))
            if not rows:
                break
            for row in rows:
                if self._stop.is_set():
                    return None
                self._attempt(http, *row)
        upcoming = self.store.one("SELECT MIN(next_at) FROM deliveries WHERE status = 'PENDING'")
        return None if upcoming[0] is None else max(0.0, upcoming[0] - time.time())

    def _attempt(self, http: httpx.Client, seq: int, webhook_id: str, url: str, made: int,
                 stored: bytes) -> None:
        body = self._rebase(stored)
        headers = self.sign(webhook_id, body)
        status: int | None = None
        problem: str | None = None
        try:
            response = http.post(url, content=body, headers={
                **headers, "Content-Type": "application/json",
                "correlation-id": IdFactory.debug_id(), "User-Agent": USER_AGENT})
            status = response.status_code
            if not 200 <= status < 300:
                problem = f"HTTP {status}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        number = made + 1
        state = "SUCCESS" if problem is None else (
            "FAILED" if number >= self.policy.attempts else "PENDING")
        with self.store.transaction():
            if self.store.one("SELECT 1 FROM deliveries WHERE seq = ?", (seq,)) is None:
                return  # reset or restored away while the attempt was under way
            self.store.execute(
                "INSERT INTO delivery_attempts VALUES (?, ?, ?, ?, ?, ?)",
                (seq, number, headers["PAYPAL-TRANSMISSION-TIME"],
                 headers["PAYPAL-TRANSMISSION-ID"], status, problem))
            self.store.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_at = ? WHERE seq = ?",
                (state, number, time.time() + self.policy.delay(number), seq))


def _check_url(url: Any) -> None:
    """A webhook URL: absolute http(s), at most 2048 characters (400 otherwise)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or (
            len(url) > 2048):
        raise _bad("/url", url, "url must be an absolute http(s) URL of at most 2048 "
                   "characters.", "INVALID_PARAMETER_SYNTAX")

