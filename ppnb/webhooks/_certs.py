"""Where a webhook's signing certificate may come from, and what a download may be.

A notification names its certificate (``PAYPAL-CERT-URL``); the rules below keep an attacker
from naming one it controls:

* **The URL** (:func:`check_cert_url`): on an allowed origin (https on PayPal's API hosts, or
  an explicit loopback origin such as the emulator's, where http is allowed), with no userinfo,
  query or fragment, no whitespace, backslash or control character, and a path of exactly
  PayPal's certificate path (:data:`ppnb._signing.CERT_PATH`) plus one certificate id of
  letters, digits, ``-`` and ``_``: so no ``..``, no percent-escapes, nothing else the origin
  serves (an invoice's public payer page, say).
* **The download** (:func:`fetch_cert`): status 200, no redirect followed, no content coding,
  at most :data:`MAX_CERT_BYTES` (a larger ``Content-Length`` is refused before reading; the
  body is streamed and reading stops past the bound) within :data:`CERT_FETCH_TIMEOUT`
  seconds, and a **bare PEM certificate chain**: only ``CERTIFICATE`` blocks and whitespace,
  nothing before, between or after (no HTML page that happens to contain a certificate). The
  first certificate is the leaf that signs.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

import httpx
from cryptography import x509

from .._errors import PPNBError
from .._protocol import LOOPBACK_HOSTS
from .._signing import CERT_PATH

__all__ = ["CERT_FETCH_TIMEOUT", "MAX_CERT_BYTES", "PAYPAL_CERT_HOSTS", "CertCache",
           "WebhookVerificationError", "check_cert_url", "fetch_cert"]

#: PayPal's hosts that serve webhook certificates (always over https).
PAYPAL_CERT_HOSTS = ("api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com",
                     "api-m.sandbox.paypal.com")
#: Largest certificate download, in bytes: a PEM chain of a few 2-4 KB certificates.
MAX_CERT_BYTES = 64 * 1024
#: Seconds a certificate download may take in all (and each read at most).
CERT_FETCH_TIMEOUT = 10.0

#: One certificate id after :data:`CERT_PATH` (PayPal's look like ``CERT-360caa42-…``).
_CERT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: A bare PEM chain: CERTIFICATE blocks of base64 lines, separated by whitespace only.
_PEM_CHAIN = re.compile(rb"\s*(?:-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+"
                        rb"-----END CERTIFICATE-----\s*)+")


class WebhookVerificationError(ValueError, PPNBError):
    """A notification that must not be trusted.

    Attributes
    ----------
    check
        Which check failed: ``headers``, ``algorithm``, ``transmission_time``, ``cert_url``,
        ``cert_fetch``, ``cert_expired``, ``signature``, ``body``, ``transmission_id`` (an id
        seen before with another body) or ``postback``.
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


def check_cert_url(url: str, allowed: Collection[str]) -> None:
    """Accept ``url`` only as a certificate URL on an allowed origin (see the module notes).

    ``allowed`` holds bare host names (https on the default port) and origins such as
    ``http://127.0.0.1:8765`` (http only on loopback).

    Raises
    ------
    WebhookVerificationError
        ``cert_url``, saying what is wrong.
    ValueError
        If an allowed origin is http but not loopback.
    """
    origins, hosts = set(), set()
    for entry in allowed:
        if "://" in entry:
            bound = urlsplit(entry)
            if bound.scheme == "http" and bound.hostname not in LOOPBACK_HOSTS:
                raise ValueError(f"allowed_cert_hosts: {entry!r} is http but not loopback")
            origins.add(f"{bound.scheme}://{bound.netloc}".lower())
        else:
            hosts.add(entry.lower())

    def refuse(why: str) -> WebhookVerificationError:
        return WebhookVerificationError("cert_url", f"{url[:300]!r} {why}")

    if not url.isascii() or any(c.isspace() or not c.isprintable() or c == "\\" for c in url):
        raise refuse("holds whitespace, a control character, a backslash or non-ASCII")
    if "?" in url or "#" in url:
        raise refuse("has a query or a fragment")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise refuse("has userinfo")
    netloc = parts.netloc.lower()
    if not (f"{parts.scheme}://{netloc}" in origins
            or (parts.scheme == "https" and netloc in hosts)):
        raise refuse(f"is not on an allowed host ({', '.join(allowed)})")
    if not (parts.path.startswith(CERT_PATH)
            and _CERT_ID.fullmatch(parts.path[len(CERT_PATH):])):
        raise refuse(f"is not a certificate under {CERT_PATH} (one id of letters, digits, "
                     "'-' and '_')")


def fetch_cert(url: str, http: httpx.Client | None = None) -> x509.Certificate:
    """Download the certificate chain at ``url`` (already checked by
    :func:`check_cert_url`) and return its leaf, within the bounds of the module notes.

    Raises
    ------
    WebhookVerificationError
        ``cert_fetch``, saying what was wrong with the answer.
    """
    try:
        chain = _download(url, http)
    except httpx.HTTPError as exc:
        raise WebhookVerificationError(
            "cert_fetch", f"cannot load the certificate at {url!r}: {exc}") from None
    if not _PEM_CHAIN.fullmatch(chain):
        raise WebhookVerificationError(
            "cert_fetch", f"{url!r} did not answer with a bare PEM certificate chain "
            f"({len(chain)} bytes beginning {chain[:40]!r})")
    try:
        return x509.load_pem_x509_certificates(chain)[0]
    except ValueError as exc:
        raise WebhookVerificationError(
            "cert_fetch", f"the certificate at {url!r} does not load: {exc}") from None


def _download(url: str, http: httpx.Client | None) -> bytes:
    """At most :data:`MAX_CERT_BYTES` from ``url``, streamed, within the fetch timeout."""
    deadline = time.monotonic() + CERT_FETCH_TIMEOUT
    headers = {"Accept-Encoding": "identity", "Accept": "application/x-pem-file, */*"}
    request = (http.stream("GET", url, headers=headers, follow_redirects=False)
               if http is not None else
               httpx.stream("GET", url, headers=headers, follow_redirects=False,
                            timeout=CERT_FETCH_TIMEOUT))

    def bad(why: str) -> WebhookVerificationError:
        return WebhookVerificationError("cert_fetch", f"{url!r} {why}")

    with request as response:
        if response.status_code != 200:
            raise bad(f"answered HTTP {response.status_code}, not 200")
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            raise bad(f"is {response.headers['content-encoding']!r}-encoded")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_CERT_BYTES:
            raise bad(f"is {declared} bytes, over the {MAX_CERT_BYTES}-byte bound")
        data = bytearray()
        for chunk in response.iter_raw():
            data += chunk
            if len(data) > MAX_CERT_BYTES:
                raise bad(f"is over the {MAX_CERT_BYTES}-byte bound")
            if time.monotonic() > deadline:
                raise bad(f"took over {CERT_FETCH_TIMEOUT:g} seconds")
        return bytes(data)
