"""Receive PayPal webhooks: verify their signatures, keep them in a log, read it with pandas.

PayPal signs each notification with its own RSA key; nothing is shared with you. The
signature (header ``PAYPAL-TRANSMISSION-SIG``, base64) is RSA PKCS#1 v1.5 with SHA-256
(``PAYPAL-AUTH-ALGO: SHA256withRSA``) over::

    <PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<your webhook id>|<crc32 of the body>

where the CRC32 is taken over the **raw request body bytes** and written as an unsigned
decimal (:func:`signed_message`). There is no HMAC and no shared secret; the public key is the
X.509 certificate at ``PAYPAL-CERT-URL``, which must be on a PayPal host you trust.

.. warning::
   Verify the raw bytes you received, never ``json.dumps(request.json())``: re-serialising
   changes spacing, key order or escapes, the CRC32 changes, and every signature "fails".
   This is the most common cause of "verification always fails".

Two ways to verify:

* :func:`verify` checks locally: the headers, the algorithm, the transmission time against
  a tolerance (replays), the certificate URL against an allowlist (https on PayPal's hosts,
  plus explicit loopback origins such as the emulator's), the certificate's validity, and the
  signature. Certificates are cached by URL.
* :func:`verify_by_postback` asks PayPal (``POST /v1/notifications/verify-webhook-signature``)
  through a :class:`ppnb.client.Client`. The request carries the event exactly as received:
  the raw body text is spliced into it, never parsed and re-serialised (a re-serialised event
  can fail; OBSERVED.md).

Live deliveries are compact JSON with raw UTF-8 (a live capture carries a literal "€"), and
PayPal's webhook simulator signs its mock events for the webhook id ``WEBHOOK_ID``
(:data:`SIMULATOR_WEBHOOK_ID`) whatever webhook they go to; pass ``accept_simulator=True`` to
accept those too.

:func:`receiver` is an ASGI app (mountable in your own Starlette/FastAPI app) that verifies,
deduplicates by event id and appends each event to a SQLite log before answering 2xx, so
PayPal retries whatever was not stored; :func:`listen` serves it; :func:`events` reads the log
as a DataFrame. :class:`WebhookAPI` manages subscriptions and lists events.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ._signing import AUTH_ALGO, CERT_PATH, SIMULATOR_WEBHOOK_ID, signed_message
from .client import LOOPBACK_HOSTS

if TYPE_CHECKING:
    import pandas as pd
    from starlette.applications import Starlette

    from .client import Client

__all__ = [
    "AUTH_ALGO",
    "CERT_PATH",
    "PAYPAL_CERT_HOSTS",
    "SIMULATOR_WEBHOOK_ID",
    "CertCache",
    "EventLog",
    "WebhookAPI",
    "WebhookVerificationError",
    "events",
    "listen",
    "receiver",
    "signed_message",
    "verify",
    "verify_by_postback",
]

#: PayPal's hosts that serve webhook certificates (always over https).
PAYPAL_CERT_HOSTS = ("api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com",
                     "api-m.sandbox.paypal.com")
_HEADERS = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig",
            "paypal-cert-url", "paypal-auth-algo")


class WebhookVerificationError(ValueError):
    """A notification that must not be trusted.

    Attributes
    ----------
    check
        Which check failed: ``headers``, ``algorithm``, ``transmission_time``, ``cert_url``,
        ``cert_fetch``, ``cert_expired``, ``signature``, ``body`` or ``postback``.
    """

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(f"webhook {check} check failed: {message}")


class CertCache:
    """Signing certificates by URL (thread-safe, least recently used dropped first).

    Parameters
    ----------
    size
        How many certificates to keep.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._certs: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str, fetch: Callable[[str], x509.Certificate]) -> x509.Certificate:
        """The certificate at ``url``, fetched once."""
        with self._lock:
            if url in self._certs:
                self._certs.move_to_end(url)
                return self._certs[url]
        cert = fetch(url)
        with self._lock:
            self._certs[url] = cert
            while len(self._certs) > self._size:
                self._certs.popitem(last=False)
        return cert

    def clear(self) -> None:
        """Forget every certificate."""
        with self._lock:
            self._certs.clear()


_CACHE = CertCache()


def _check_cert_url(url: str, allowed: Collection[str]) -> None:
    """Accept ``url`` only on an allowed host: a bare host name means https on its default
    port; an origin (``http://127.0.0.1:8765``) matches exactly and may be http only on
    loopback."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for entry in allowed:
        if "://" in entry:
            bound = urlsplit(entry)
            if bound.scheme == "http" and bound.hostname not in LOOPBACK_HOSTS:
                raise ValueError(f"allowed_cert_hosts: {entry!r} is http but not loopback")
            if origin == f"{bound.scheme}://{bound.netloc}":
                return
        elif parts.scheme == "https" and parts.netloc == entry:
            return
    raise WebhookVerificationError(
        "cert_url", f"{url!r} is not on an allowed host ({', '.join(allowed)})")


def _fetch_cert(url: str, http: httpx.Client | None) -> x509.Certificate:
    try:
        response = (http.get(url) if http is not None
                    else httpx.get(url, timeout=10, follow_redirects=False))
        response.raise_for_status()
        return x509.load_pem_x509_certificates(response.content)[0]
    except (httpx.HTTPError, ValueError, IndexError) as exc:
        raise WebhookVerificationError(
            "cert_fetch", f"cannot load the certificate at {url}: {exc}") from None


def _utc(when: dt.datetime | None) -> dt.datetime:
    if when is None:
        return dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return when


def verify(
    headers: Mapping[str, str],
    raw_body: bytes,
    webhook_id: str,
    *,
    allowed_cert_hosts: Collection[str] = PAYPAL_CERT_HOSTS,
    now: dt.datetime | None = None,
    tolerance: float = 300,
    http: httpx.Client | None = None,
    cache: CertCache | None = None,
    accept_simulator: bool = False,
) -> dict[str, Any]:
    """Verify a notification locally and return the event.

    Parameters
    ----------
    headers
        The request's headers (any mapping; names are matched case-insensitively).
    raw_body
        The request body **exactly as received** (bytes). Never re-serialised JSON: its
        CRC32 is part of what was signed.
    webhook_id
        The id of your webhook subscription (PayPal's dashboard, or ``WebhookAPI.create``).
    allowed_cert_hosts
        Where certificates may come from: host names (https only; default PayPal's live and
        sandbox API hosts) and origins such as the emulator's ``http://127.0.0.1:8765``
        (http only on loopback).
    now
        The time to check the transmission time and the certificate against (default: the
        machine's clock; pass the emulator's clock when it is frozen or moved).
    tolerance
        Seconds the transmission time may differ from ``now`` (replay protection).
    http
        Client used to fetch certificates (default: a plain one-off request).
    cache
        Certificate cache (default: one per process).
    accept_simulator
        Also accept a signature made for :data:`SIMULATOR_WEBHOOK_ID` (``WEBHOOK_ID``), as
        PayPal's webhook simulator signs its mock events: for testing an endpoint with the
        dashboard's simulator. Off by default: real events are signed for your webhook id.

    Raises
    ------
    WebhookVerificationError
        Naming the check that failed (see its ``check``).
    TypeError
        If ``raw_body`` is not bytes.
    """
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        raise TypeError("raw_body must be the raw request bytes (e.g. await request.body()), "
                        "never re-serialised JSON: its CRC32 is part of the signature")
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h.upper() for h in _HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError("headers", f"missing {', '.join(missing)}")
    if lower["paypal-auth-algo"] != AUTH_ALGO:
        raise WebhookVerificationError(
            "algorithm", f"PAYPAL-AUTH-ALGO is {lower['paypal-auth-algo']!r}, not {AUTH_ALGO}")
    moment = _utc(now)
    sent = lower["paypal-transmission-time"]
    try:
        sent_at = dt.datetime.fromisoformat(sent.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookVerificationError(
            "transmission_time", f"{sent!r} is not an ISO 8601 time") from None
    if sent_at.tzinfo is None or abs((moment - sent_at).total_seconds()) > tolerance:
        raise WebhookVerificationError(
            "transmission_time", f"sent at {sent}, more than {tolerance:g} s from "
            f"{moment.isoformat()} (a replay, or a clock that is off)")
    url = lower["paypal-cert-url"]
    _check_cert_url(url, allowed_cert_hosts)
    cert = (cache or _CACHE).get(url, lambda u: _fetch_cert(u, http))
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise WebhookVerificationError(
            "cert_expired", f"the certificate is valid {cert.not_valid_before_utc} to "
            f"{cert.not_valid_after_utc}, not at {moment}")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookVerificationError("algorithm", "the certificate's key is not RSA")
    ids = [webhook_id, SIMULATOR_WEBHOOK_ID] if accept_simulator else [webhook_id]
    try:
        signature = base64.b64decode(lower["paypal-transmission-sig"], validate=True)
    except binascii.Error:
        signature = b""
    if not any(_signed(key, signature, signed_message(
            lower["paypal-transmission-id"], sent, hook, bytes(raw_body))) for hook in ids):
        raise WebhookVerificationError(
            "signature", "the signature does not match: the body was changed (or "
            "re-serialised), or it was sent to another webhook id")
    try:
        event = orjson.loads(raw_body)
    except orjson.JSONDecodeError as exc:
        raise WebhookVerificationError("body", f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookVerificationError("body", "not an event object with an id")
    return event


def _signed(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_by_postback(client: Client, headers: Mapping[str, str], raw_body: bytes | str,
                       webhook_id: str) -> dict[str, Any]:
    """Verify a notification by asking PayPal (or the emulator) and return the event.

    ``raw_body`` is the request body exactly as received (bytes, or its UTF-8 text). It is
    spliced into the ``verify-webhook-signature`` request as ``webhook_event`` byte for
    byte, never parsed and re-serialised: PayPal checks the event as posted, and a
    re-serialised one (other spacing, escapes or key order) can fail.

    Raises
    ------
    WebhookVerificationError
        ``headers`` if a header is missing, ``body`` if the body is not a JSON event,
        ``postback`` if PayPal answers ``FAILURE``.
    TypeError
        If ``raw_body`` is a parsed event instead of the received bytes.
    """
    if not isinstance(raw_body, bytes | bytearray | memoryview | str):
        raise TypeError("raw_body must be the received bytes (or their text), never a parsed "
                        "event: PayPal checks the event exactly as it was sent")
    raw = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h.upper() for h in _HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError("headers", f"missing {', '.join(missing)}")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WebhookVerificationError("body", f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("body", "not an event object")
    fields = orjson.dumps({
        "auth_algo": lower["paypal-auth-algo"],
        "cert_url": lower["paypal-cert-url"],
        "transmission_id": lower["paypal-transmission-id"],
        "transmission_sig": lower["paypal-transmission-sig"],
        "transmission_time": lower["paypal-transmission-time"],
        "webhook_id": webhook_id,
    })
    # the event's own bytes, spliced in as the last member (PayPal's integrations do the same)
    body = fields[:-1] + b',"webhook_event":' + raw + b"}"
    answer = client.call("POST", "/v1/notifications/verify-webhook-signature", content=body)
    if answer.get("verification_status") != "SUCCESS":
        raise WebhookVerificationError("postback", f"PayPal answered {answer}")
    return event


class WebhookAPI:
    """PayPal's Webhooks Management API (v1) through a :class:`ppnb.client.Client`.

    >>> hooks = WebhookAPI(client)                              # doctest: +SKIP
    >>> hooks.create("https://example.com/paypal", ["*"])["id"]  # doctest: +SKIP
    """

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, url: str, event_types: Collection[str] = ("*",)) -> dict[str, Any]:
        """Subscribe ``url`` to event types (``*``: all); returns the webhook with its id."""
        return self._c.call("POST", "/v1/notifications/webhooks", json={
            "url": url, "event_types": [{"name": name} for name in event_types]})

    def list(self) -> list[dict[str, Any]]:
        """The app's webhooks."""
        return self._c.call("GET", "/v1/notifications/webhooks")["webhooks"]

    def get(self, webhook_id: str) -> dict[str, Any]:
        """One webhook."""
        return self._c.call("GET", f"/v1/notifications/webhooks/{webhook_id}")

    def delete(self, webhook_id: str) -> None:
        """Unsubscribe."""
        self._c.call("DELETE", f"/v1/notifications/webhooks/{webhook_id}")

    def events(self, *, page_size: int = 10, event_type: str | None = None,
               start_time: str | None = None, end_time: str | None = None
               ) -> list[dict[str, Any]]:
        """Recent event notifications, newest first (one page)."""
        params = {k: v for k, v in (("page_size", page_size), ("event_type", event_type),
                                    ("start_time", start_time), ("end_time", end_time))
                  if v is not None}
        return self._c.call("GET", "/v1/notifications/webhooks-events", params=params)["events"]

    def event(self, event_id: str) -> dict[str, Any]:
        """One event notification."""
        return self._c.call("GET", f"/v1/notifications/webhooks-events/{event_id}")

    def resend(self, event_id: str, webhook_ids: Collection[str] | None = None
               ) -> dict[str, Any]:
        """Send an event again (to ``webhook_ids``, default every subscribed webhook)."""
        body = {} if webhook_ids is None else {"webhook_ids": list(webhook_ids)}
        return self._c.call("POST", f"/v1/notifications/webhooks-events/{event_id}/resend",
                            json=body)


# --- the event log ---------------------------------------------------------------------------

_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT,
    create_time TEXT,
    resource_type TEXT,
    resource_id TEXT,
    summary TEXT,
    transmission_id TEXT,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
);
"""


class EventLog:
    """An append-only SQLite log of received events, one row per event id.

    Parameters
    ----------
    path
        The SQLite file (created if missing, WAL).
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(_LOG_SCHEMA)

    def append(self, event: Mapping[str, Any], raw_body: bytes, *,
               transmission_id: str | None, received_at: dt.datetime) -> bool:
        """Store an event unless its id is already there; True if it was new. Durable when
        it returns."""
        resource = event.get("resource")
        resource_id = resource.get("id") if isinstance(resource, dict) else None
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO events (event_id, event_type, create_time, resource_type,"
                " resource_id, summary, transmission_id, received_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event["id"], event.get("event_type"), event.get("create_time"),
                 event.get("resource_type"), resource_id, event.get("summary"),
                 transmission_id, received_at.astimezone(dt.UTC).isoformat(),
                 bytes(raw_body)))
        return cur.rowcount == 1

    def rows(self, after: int = 0, *, last: bool = False) -> list[tuple[int, bytes]]:
        """``(seq, raw body)`` of the events stored after ``seq``, in arrival order (only
        the last one with ``last``)."""
        order = "DESC LIMIT 1" if last else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT seq, body FROM events WHERE seq > ? ORDER BY seq {order}",
                (after,)).fetchall()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def events(path: str | Path) -> pd.DataFrame:
    """The event log at ``path`` as a DataFrame, in arrival order.

    Columns: ``event_id``, ``event_type``, ``create_time`` and ``received_at`` (UTC
    datetimes), ``resource_type``, ``resource_id``, ``summary``, ``transmission_id`` and
    ``resource`` (the resource's JSON text: the whole invoice for invoice events).
    """
    import pandas as pd

    if not Path(path).exists():
        raise FileNotFoundError(f"no webhook event log at {path}")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT event_id, event_type, create_time, resource_type, resource_id, summary, "
            "transmission_id, received_at, body FROM events ORDER BY seq").fetchall()
    columns = ["event_id", "event_type", "create_time", "resource_type", "resource_id",
               "summary", "transmission_id", "received_at", "resource"]
    frame = pd.DataFrame(
        [(*row[:-1], orjson.dumps(orjson.loads(row[-1]).get("resource")).decode())
         for row in rows], columns=columns)
    for column in ("create_time", "received_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


# --- the receiver ----------------------------------------------------------------------------


def receiver(
    log_path: str | Path,
    webhook_id: str,
    *,
    path: str = "/",
    allowed_cert_hosts: Collection[str] = PAYPAL_CERT_HOSTS,
    tolerance: float = 300,
    now: Callable[[], dt.datetime] | None = None,
    http: httpx.Client | None = None,
    cache: CertCache | None = None,
    accept_simulator: bool = False,
) -> Starlette:
    """An ASGI app that receives notifications at ``path`` (POST).

    Each request is verified (:func:`verify`; 400 naming the failed check), then appended
    to the log at ``log_path`` unless its event id is already there (duplicates are
    acknowledged, not stored twice), and only then answered 200. If storing fails the answer
    is 500, so PayPal sends it again. Mount it in your app with
    ``Mount("/paypal", app=receiver(...))``.

    Parameters
    ----------
    log_path
        The SQLite event log (see :func:`events`).
    webhook_id
        Your webhook's id: part of what PayPal signs.
    now
        Clock for the transmission-time check and ``received_at`` (default: the machine's).
    allowed_cert_hosts, tolerance, http, cache, accept_simulator
        As for :func:`verify`.
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    log = EventLog(log_path)
    clock = now or (lambda: dt.datetime.now(dt.UTC))

    async def receive(request: Request) -> JSONResponse:
        raw = await request.body()
        received = clock()
        try:
            event = await run_in_threadpool(
                verify, request.headers, raw, webhook_id, allowed_cert_hosts=allowed_cert_hosts,
                now=received, tolerance=tolerance, http=http, cache=cache,
                accept_simulator=accept_simulator)
        except WebhookVerificationError as exc:
            return JSONResponse({"error": exc.check, "message": str(exc)}, 400)
        try:
            new = await run_in_threadpool(
                log.append, event, raw, received_at=received,
                transmission_id=request.headers.get("paypal-transmission-id"))
        except sqlite3.Error as exc:
            return JSONResponse({"error": "storage", "message": str(exc)}, 500)
        return JSONResponse({"event_id": event["id"], "duplicate": not new}, 200)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        log.close()

    return Starlette(routes=[Route(path, receive, methods=["POST"])], lifespan=lifespan)


def listen(
    webhook_id: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_path: str | Path = "webhooks.sqlite",
    path: str = "/",
    allowed_cert_hosts: Collection[str] = PAYPAL_CERT_HOSTS,
    tolerance: float = 300,
    accept_simulator: bool = False,
) -> None:
    """Serve :func:`receiver` with uvicorn until interrupted (``ppnb webhooks listen``).

    To receive from the emulator, add its origin to ``allowed_cert_hosts``, e.g.
    ``(*PAYPAL_CERT_HOSTS, "http://127.0.0.1:8765")``.
    """
    import uvicorn

    app = receiver(log_path, webhook_id, path=path, allowed_cert_hosts=allowed_cert_hosts,
                   tolerance=tolerance, accept_simulator=accept_simulator)
    uvicorn.run(app, host=host, port=port, log_level="info")
