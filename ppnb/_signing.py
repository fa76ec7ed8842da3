"""PayPal's webhook signature format: what is signed, with which algorithm, for which id.

A protocol fact shared by the emulator (which signs deliveries) and :mod:`ppnb.webhooks` (which
verifies them), so it sits in the base layer beside :mod:`ppnb.money`: the emulator never
imports the client side.
"""

from __future__ import annotations

import zlib

__all__ = ["AUTH_ALGO", "AUTH_VERSION", "CERT_PATH", "SIMULATOR_WEBHOOK_ID", "signed_message"]

#: ``PAYPAL-AUTH-ALGO``: RSA PKCS#1 v1.5 with SHA-256.
AUTH_ALGO = "SHA256withRSA"
#: ``PAYPAL-AUTH-VERSION`` of live deliveries (OBSERVED.md).
AUTH_VERSION = "v2"
#: Where PayPal (and the emulator) serve signing certificates.
CERT_PATH = "/v1/notifications/certs/"
#: The webhook id PayPal's webhook simulator signs its mock events for (OBSERVED.md), whatever
#: the id of the webhook they are sent to.
SIMULATOR_WEBHOOK_ID = "WEBHOOK_ID"


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str,
                   body: bytes) -> bytes:
    """What PayPal signs: ``transmission_id|transmission_time|webhook_id|crc32(body)``.

    ``body`` is the raw request body; its CRC32 (:func:`zlib.crc32`) is written as an
    unsigned decimal.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("body must be the raw request bytes, never re-serialised JSON")
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
