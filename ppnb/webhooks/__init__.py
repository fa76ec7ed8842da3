"""Receive PayPal webhooks: verify their signatures, keep them in a log, read it with pandas.

PayPal signs each notification with its own RSA key; nothing is shared with you. The
signature (header ``PAYPAL-TRANSMISSION-SIG``, base64) is RSA PKCS#1 v1.5 with SHA-256
(``PAYPAL-AUTH-ALGO: SHA256withRSA``) over::

    <PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<your webhook id>|<crc32 of the body>

where the CRC32 is taken over the **raw request body bytes** and written as an unsigned
decimal (:func:`signed_message`). There is no HMAC and no shared secret; the public key is the
X.509 certificate at ``PAYPAL-CERT-URL``, which must be PayPal's certificate path on a host
you trust.

.. warning::
   Verify the raw bytes you received, never ``json.dumps(request.json())``: re-serialising
   changes spacing, key order or escapes, the CRC32 changes, and every signature "fails".
   This is the most common cause of "verification always fails".

Two ways to verify:

* :func:`verify` checks locally: the headers, the algorithm, the transmission time against
  a tolerance (replays), the certificate URL (PayPal's certificate path
  ``/v1/notifications/certs/<id>`` on an allowed origin: https on PayPal's hosts, plus
  explicit loopback origins such as the emulator's), the download (a bare PEM chain of at
  most :data:`MAX_CERT_BYTES`), the leaf certificate's validity, the signature, and, given
  an event log, that the transmission id was not seen before with another body (the
  signature covers only the body's CRC32). Certificates are cached by URL.
* :func:`verify_by_postback` asks PayPal (``POST /v1/notifications/verify-webhook-signature``)
  through a :class:`ppnb.client.Client`. The request carries the event exactly as received:
  the raw body text is spliced into it, never parsed and re-serialised (a re-serialised event
  can fail; OBSERVED.md).

Live deliveries are compact JSON with raw UTF-8 (a live capture carries a literal "€"), and
PayPal's webhook simulator signs its mock events for the webhook id ``WEBHOOK_ID``
(:data:`SIMULATOR_WEBHOOK_ID`) whatever webhook they go to; pass ``accept_simulator=True`` to
accept those too.

:func:`receiver` is an ASGI app (mountable in your own Starlette/FastAPI app) that bounds each
request (headers :data:`MAX_HEADER_BYTES`, body :data:`MAX_BODY_BYTES`, body time
:data:`BODY_TIMEOUT`), verifies, deduplicates by event id and appends each event to a SQLite
log before answering 2xx, so PayPal retries whatever was not stored; :func:`listen` serves it
(:func:`server_config` is its uvicorn configuration, which also bounds the time a client may
take to send its request head: 408 in PayPal's shape);
:func:`events` reads the log as a DataFrame. :class:`WebhookAPI` manages subscriptions and
lists events.

The parts: ``_certs`` (certificate URLs and downloads), ``_verify`` (local verification),
``_api`` (postback and the management API), ``_log`` (the event log), ``_receiver`` (the
ASGI app and its limits).
"""

from __future__ import annotations

from .._signing import AUTH_ALGO, CERT_PATH, SIMULATOR_WEBHOOK_ID, signed_message
from ._api import WebhookAPI, verify_by_postback
from ._certs import (
    CERT_FETCH_TIMEOUT,
    MAX_CERT_BYTES,
    PAYPAL_CERT_HOSTS,
    CertCache,
    WebhookVerificationError,
)
from ._log import EventLog, events
from ._receiver import (
    BODY_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    listen,
    receiver,
    server_config,
)
from ._verify import verify

__all__ = [
    "AUTH_ALGO",
    "BODY_TIMEOUT",
    "CERT_FETCH_TIMEOUT",
    "CERT_PATH",
    "MAX_BODY_BYTES",
    "MAX_CERT_BYTES",
    "MAX_HEADER_BYTES",
    "PAYPAL_CERT_HOSTS",
    "SIMULATOR_WEBHOOK_ID",
    "CertCache",
    "EventLog",
    "WebhookAPI",
    "WebhookVerificationError",
    "events",
    "listen",
    "receiver",
    "server_config",
    "signed_message",
    "verify",
    "verify_by_postback",
]
