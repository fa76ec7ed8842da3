"""Local verification of a notification: headers, time, certificate, signature, body, and
the transmission id against the bodies seen before."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import httpx
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .._signing import AUTH_ALGO, SIMULATOR_WEBHOOK_ID, signed_message
from ._certs import (
    PAYPAL_CERT_HOSTS,
    CertCache,
    WebhookVerificationError,
    check_cert_url,
    fetch_cert,
)
from ._log import EventLog

__all__ = ["HEADERS", "utc", "verify"]

#: The headers every notification carries (lower case).
HEADERS = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig",
           "paypal-cert-url", "paypal-auth-algo")

_CACHE = CertCache()


def utc(when: dt.datetime | None = None) -> dt.datetime:
    """``when`` (which must be aware), or the machine's time: the one place the webhook side
    reads the wall clock (a live signature is fresh against real time)."""
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
    seen: EventLog | None = None,
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
        (http only on loopback). Only PayPal's certificate path on them is accepted, and only
        a bare PEM chain of bounded size (:mod:`ppnb.webhooks._certs`).
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
    seen
        An event log that remembers transmission ids: a transmission id it has seen with a
        different body is refused (``transmission_id``); the same body again is accepted (a
        redelivery). :func:`receiver` always passes its log. Checked last, so only verified
        notifications are remembered.

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
    missing = [h.upper() for h in HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError("headers", f"missing {', '.join(missing)}")
    if lower["paypal-auth-algo"] != AUTH_ALGO:
        raise WebhookVerificationError(
            "algorithm", f"PAYPAL-AUTH-ALGO is {lower['paypal-auth-algo'][:100]!r}, not "
            f"{AUTH_ALGO}")
    moment = utc(now)
    sent = lower["paypal-transmission-time"]
    try:
        sent_at = dt.datetime.fromisoformat(sent.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookVerificationError(
            "transmission_time", f"{sent[:100]!r} is not an ISO 8601 time") from None
    if sent_at.tzinfo is None or abs((moment - sent_at).total_seconds()) > tolerance:
        raise WebhookVerificationError(
            "transmission_time", f"sent at {sent}, more than {tolerance:g} s from "
            f"{moment.isoformat()} (a replay, or a clock that is off)")
    url = lower["paypal-cert-url"]
    check_cert_url(url, allowed_cert_hosts)
    cert = (cache or _CACHE).get(url, lambda u: fetch_cert(u, http))
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
    transmission_id = lower["paypal-transmission-id"]
    if not any(_signed(key, signature, signed_message(
            transmission_id, sent, hook, bytes(raw_body))) for hook in ids):
        raise WebhookVerificationError(
            "signature", "the signature does not match: the body was changed (or "
            "re-serialised), or it was sent to another webhook id")
    try:
        event = orjson.loads(raw_body)
    except orjson.JSONDecodeError as exc:
        raise WebhookVerificationError("body", f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookVerificationError("body", "not an event object with an id")
    if seen is not None and not seen.remember_transmission(transmission_id, bytes(raw_body),
                                                           seen_at=moment):
        raise WebhookVerificationError(
            "transmission_id", f"transmission {transmission_id[:100]!r} was seen before with "
            "another body (a captured signature re-used)")
    return event


def _signed(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
