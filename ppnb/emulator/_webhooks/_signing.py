"""Signing deliveries as PayPal does, and checking signatures posted back to the emulator.

Headers ``PAYPAL-TRANSMISSION-ID``, ``-TIME``, ``-SIG``, ``PAYPAL-CERT-URL``,
``PAYPAL-AUTH-ALGO: SHA256withRSA`` and ``PAYPAL-AUTH-VERSION: v2`` (a live delivery's,
OBSERVED.md). The signature is RSA PKCS#1 v1.5 with SHA-256 over
``transmission_id|transmission_time|webhook_id|crc32(body)``
(:func:`ppnb._signing.signed_message`).

**Postback** (``verify-webhook-signature``) takes the CRC32 of ``webhook_event`` exactly as
it appears in the request body, so only an event posted as it was received verifies.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from ..._signing import AUTH_ALGO, AUTH_VERSION, CERT_PATH, SIMULATOR_WEBHOOK_ID, signed_message
from .._clock import Clock, isoformat
from .._events import raw_member
from ._common import Merchant, Site, bad, missing
from ._keys import SigningKeys
from ._subscriptions import Subscriptions

_FIELDS = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time",
           "webhook_id")


class Signer:
    """Signs transmissions with the current key and verifies postbacks.

    Parameters
    ----------
    keys
        The signing keys and certificates.
    clock
        The emulator's clock (transmission times).
    site
        Where the emulator is served (the certificate URL).
    subscriptions
        Whose webhook a postback names.
    """

    def __init__(self, keys: SigningKeys, clock: Clock, site: Site,
                 subscriptions: Subscriptions) -> None:
        self.keys = keys
        self.clock = clock
        self.site = site
        self.subscriptions = subscriptions

    def cert_url(self, cert_id: str) -> str:
        """Where the certificate ``cert_id`` is served."""
        return f"{self.site.base_url}{CERT_PATH}{cert_id}"

    def sign(self, webhook_id: str, body: bytes) -> dict[str, str]:
        """The PayPal headers of one transmission of ``body`` to ``webhook_id``."""
        cert_id, key = self.keys.current()
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
            raise bad("/", body, "Send a verify_webhook_signature object.",
                      "INVALID_PARAMETER_SYNTAX")
        for name in (*_FIELDS, "webhook_event"):
            if name not in body:
                raise missing(f"/{name}")
        for name in _FIELDS:
            if not isinstance(body[name], str) or not body[name]:
                raise bad(f"/{name}", body[name], f"{name} must be a non-empty string.",
                          "INVALID_PARAMETER_SYNTAX")
        if not isinstance(body["webhook_event"], dict):
            raise bad("/webhook_event", body["webhook_event"], "webhook_event must be the "
                      "event object.", "INVALID_PARAMETER_SYNTAX")
        owned = body["webhook_id"] == SIMULATOR_WEBHOOK_ID or self.subscriptions.owns(
            merchant, body["webhook_id"])
        public = self.keys.public_key(urlsplit(body["cert_url"]).path)
        if not owned or body["auth_algo"] != AUTH_ALGO or public is None:
            return {"verification_status": "FAILURE"}
        event = raw_member(raw, "webhook_event") if raw else None
        message = signed_message(body["transmission_id"], body["transmission_time"],
                                 body["webhook_id"], event or orjson.dumps(body["webhook_event"]))
        try:
            public.verify(base64.b64decode(body["transmission_sig"], validate=True), message,
                          padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return {"verification_status": "FAILURE"}
        return {"verification_status": "SUCCESS"}
