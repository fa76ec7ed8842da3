"""The PayPal Invoicing v2 client: one httpx client, every operation, retries in one place."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from ._auth import ClientCredentials
from ._errors import APIError, PayPalError, TransportError, error_for
from ._transport import LoopbackTransport

log = logging.getLogger("ppnb.client")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
INVOICES = "/v2/invoicing/invoices"
TEMPLATES = "/v2/invoicing/templates"
#: Sent with create and full update: without it PayPal answers with a bare ``self`` link
#: (OBSERVED.md; the spec's 201 text), with it the whole invoice or template.
REPRESENTATION = {"Prefer": "return=representation"}


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Connection errors and 429/500/502/503/504 are retried; 400, 401 (after one token
    refresh), 403, 404 and 422 never are. Waits grow exponentially with full jitter, capped
    at ``max_backoff``; a 429's ``Retry-After`` is honoured (up to ``max_retry_after``).

    Parameters
    ----------
    attempts
        Total tries per request, the first included.
    backoff
        Base wait in seconds: attempt *n* waits up to ``backoff * 2**n``.
    max_backoff
        Cap on a single computed wait.
    max_retry_after
        Cap on a server-requested wait.
    sleep
        How to wait (tests pass a recorder instead of :func:`time.sleep`).
    """

    attempts: int = 4
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed try number ``attempt`` (0-based)."""
        computed = self.rng.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))
        if retry_after is not None:
            return max(min(retry_after, self.max_retry_after), computed)
        return computed


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def auth_assertion(client_id: str, *, payer_id: str | None = None,
                   email: str | None = None) -> str:
    """PayPal-Auth-Assertion for a partner acting for a merchant (an unsigned JWT)."""
    if not (payer_id or email):
        raise ValueError("an auth assertion needs the merchant's payer_id or email")
    claims = {"iss": client_id, **({"payer_id": payer_id} if payer_id else {"email": email})}

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


#: Host names of this machine: plain http is allowed to them only (e.g. the emulator).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class Client:
    """A PayPal Invoicing v2 client (synchronous, thread-safe, safe inside Jupyter).

    Parameters
    ----------
    base_url
        API root: the emulator's URL, ``https://api-m.sandbox.paypal.com`` or
        ``https://api-m.paypal.com``. Anything not on loopback must be https.
    client_id, client_secret
        The REST app's credentials. The secret never appears in repr, logs or errors.
    retry
        The :class:`RetryPolicy`.
    timeout
        Seconds per HTTP attempt.
    max_connections
        Connection-pool size (the pager's parallelism should not exceed it).
    auth_assertion
        A ``PayPal-Auth-Assertion`` sent with every call (see :meth:`acting_for`).
    transport
        An httpx transport, e.g. ``httpx.MockTransport`` to shape faults in tests. By
        default, httpx's own for PayPal, and a lean keep-alive one for the emulator on
        loopback (:class:`~ppnb.client._transport.LoopbackTransport`).

    Notes
    -----
    Every operation is a method on :attr:`invoices` or :attr:`templates`, named after
    PayPal's operation; bodies are plain dicts in and out. Every POST carries a
    ``PayPal-Request-Id`` (a uuid4 unless given), reused across retries, so a retried
    write is applied once. Create and full update ask for the whole resource
    (``Prefer: return=representation``) and, should a server still answer with only its
    ``self`` link, read it with one GET, so they always return the resource.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        max_connections: int = 16,
        auth_assertion: str | None = None,
        transport: httpx.BaseTransport | None = None,
        _auth: ClientCredentials | None = None,
        _http: httpx.Client | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if url.scheme != "https" and url.host not in LOOPBACK_HOSTS:
            raise ValueError(f"a non-loopback base_url must use https: {base_url!r}")
        self.base_url = str(url).rstrip("/")
        self.client_id = client_id
        self.retry = retry or RetryPolicy()
        self._auth = _auth or ClientCredentials(client_id, client_secret)
        if transport is None and url.scheme == "http":  # loopback, i.e. the emulator
            transport = LoopbackTransport(timeout=timeout, max_idle=max_connections)
        self._http = _http or httpx.Client(
            base_url=self.base_url, auth=self._auth, timeout=timeout, transport=transport,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"Accept": "application/json"},
        )
        self._assertion = auth_assertion
        self._stats_lock = threading.Lock()
        #: HTTP attempts by outcome: ``requests``, ``retries``, and one key per status code.
        self.stats: Counter[str] = Counter()
        self.invoices = Invoices(self)
        self.templates = Templates(self)

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def acting_for(self, *, payer_id: str | None = None, email: str | None = None) -> Client:
        """A client that acts for another merchant (who granted this app), sharing this
        client's connections and token."""
        return Client(self.base_url, self.client_id, "", retry=self.retry,
                      auth_assertion=auth_assertion(self.client_id, payer_id=payer_id,
                                                    email=email),
                      _auth=self._auth, _http=self._http)

    def get_token(self) -> dict[str, Any]:
        """Fetch a fresh access token (``POST /v1/oauth2/token``) and use it from now on.

        Returns PayPal's body (``access_token``, ``token_type``, ``app_id``, ``expires_in``,
        ``scope``); treat ``access_token`` as a secret.
        """
        return self._auth.token(lambda r: self._http.send(r, auth=None),
                                httpx.URL(self.base_url))

    def today(self) -> dt.date:
        """Today's date where the book lives, for an explicit as-of date.

        On the emulator this is its clock (``GET /_emulator/clock``), which simulations and
        tests move; PayPal has no such clock, so there it is the machine's UTC date.
        Analysis functions never call this themselves: pass its value as ``as_of``.
        """
        if httpx.URL(self.base_url).host in LOOPBACK_HOSTS:
            response = self._http.get("/_emulator/clock", auth=None)
            if response.status_code == 200:
                return dt.date.fromisoformat(orjson.loads(response.content)["today"])
        return dt.datetime.now(dt.UTC).date()

    def _count(self, *keys: str) -> None:
        with self._stats_lock:
            self.stats.update(keys)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        read: bool = False,
    ) -> httpx.Response:
        """Send one API call with retries; raise the matching :class:`PayPalError` on error.

        The body is ``json`` (serialised here) or ``content``, JSON bytes sent exactly as
        given (e.g. a webhook event spliced in as received). A POST carries a
        ``PayPal-Request-Id`` unless ``read`` says it only reads (search), which has no
        effect to apply once.
        """
        sent = dict(headers or {})
        if method == "POST" and not read:
            sent.setdefault("PayPal-Request-Id", request_id or str(uuid.uuid4()))
        if self._assertion:
            sent.setdefault("PayPal-Auth-Assertion", self._assertion)
        if json is not None:
            content = orjson.dumps(json)
        if content is not None:
            sent["Content-Type"] = "application/json"
        attempt = 0
        while True:
            self._count("requests")
            try:
                response = self._http.request(method, path, content=content, params=params,
                                              headers=sent)
            except httpx.TransportError as exc:
                self._count("transport_errors")
                if attempt + 1 >= self.retry.attempts:
                    raise TransportError(
                        f"{method} {path}: no answer after {attempt + 1} tries "
                        f"({type(exc).__name__}: {exc})", method=method, path=path,
                    ) from None
                self._wait(method, path, attempt, None, type(exc).__name__)
                attempt += 1
                continue
            except APIError as exc:  # the token endpoint's error, raised by the auth flow
                if exc.status not in RETRY_STATUSES or attempt + 1 >= self.retry.attempts:
                    raise
                self._wait(method, path, attempt, getattr(exc, "retry_after", None),
                           f"token {exc.status}")
                attempt += 1
                continue
            self._count(str(response.status_code))
            if response.status_code in RETRY_STATUSES and attempt + 1 < self.retry.attempts:
                self._wait(method, path, attempt, _retry_after(response),
                           str(response.status_code))
                attempt += 1
                continue
            break
        if response.status_code >= 400:
            try:
                body = orjson.loads(response.content) if response.content else {}
            except orjson.JSONDecodeError:
                body = {"message": response.text[:200]}
            raise error_for(response.status_code, body if isinstance(body, dict) else {},
                            method=method, path=path,
                            debug_id=response.headers.get("paypal-debug-id"),
                            retry_after=_retry_after(response))
        return response

    def _wait(self, method: str, path: str, attempt: int, retry_after: float | None,
              why: str) -> None:
        delay = self.retry.delay(attempt, retry_after)
        self._count("retries")
        log.info("retrying %s %s after %s in %.2fs (try %d)", method, path, why, delay,
                 attempt + 2)
        self.retry.sleep(delay)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request`, returning the decoded JSON body (None for an empty body)."""
        response = self.request(method, path, **kwargs)
        return orjson.loads(response.content) if response.content else None

    def represented(self, method: str, path: str, **kwargs: Any) -> dict:
        """Create or fully update a resource and return it whole.

        Asks for the representation; if the server answers with only PayPal's minimal
        ``{"rel": "self", "href": ..., "method": "GET"}``, the resource is read with one GET
        of that link's path under this client's base URL (the token never goes to another
        host). A retried write keeps its ``PayPal-Request-Id``, so the write is still
        applied once; if the GET fails, calling again with the same ``request_id`` replays
        the write's answer and reads the resource again.

        Raises
        ------
        PayPalError
            As :meth:`request`; a plain ``PayPalError`` when a minimal answer links
            outside ``path``'s collection.
        """
        body = self.call(method, path, headers=REPRESENTATION, **kwargs)
        if not (isinstance(body, dict) and body.get("rel") == "self" and "href" in body
                and "id" not in body):
            return body
        collection = INVOICES if path.startswith(INVOICES) else TEMPLATES
        link = httpx.URL(body["href"]).path
        if not link.startswith(collection + "/") or "/" in link[len(collection) + 1:]:
            raise PayPalError(f"{method} {path}: the answer linked to {body['href']!r}, "
                              f"not to one of {collection}", method=method, path=path)
        return self.call("GET", link)


class Invoices:
    """Invoicing v2 invoice operations (``client.invoices``)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, invoice: Mapping[str, Any], *, request_id: str | None = None) -> dict:
        """Create a draft invoice; returns it (see :meth:`Client.represented`)."""
        return self._c.represented("POST", INVOICES, json=invoice, request_id=request_id)

    def list(self, *, page: int = 1, page_size: int = 20, total_required: bool = False,
             fields: str = "all") -> dict:
        """One page of invoices (``items``, ``links``, totals when asked)."""
        return self._c.call("GET", INVOICES, params={
            "page": page, "page_size": page_size, "total_required": _flag(total_required),
            "fields": fields})

    def get(self, invoice_id: str) -> dict:
        """One invoice."""
        return self._c.call("GET", f"{INVOICES}/{_seg(invoice_id)}")

    def update(self, invoice_id: str, invoice: Mapping[str, Any], *,
               send_to_recipient: bool | None = None,
               send_to_invoicer: bool | None = None) -> dict:
        """Fully replace an invoice (omitted fields are cleared); returns it."""
        params = {k: _flag(v) for k, v in (("send_to_recipient", send_to_recipient),
                                           ("send_to_invoicer", send_to_invoicer))
                  if v is not None}
        return self._c.represented("PUT", f"{INVOICES}/{_seg(invoice_id)}", json=invoice,
                                   params=params or None)

    def delete(self, invoice_id: str) -> None:
        """Delete a draft or scheduled invoice."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}")

    def send(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
             request_id: str | None = None) -> dict:
        """Send (or schedule, for a future issue date) an invoice.

        Returns the body: a ``payer-view`` link when sent, ``{"links": [...]}`` when
        scheduled.
        """
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/send", json=notification or {},
                            request_id=request_id)

    def remind(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
               request_id: str | None = None) -> None:
        """Send a payment reminder (at most 2 per invoice per day)."""
        self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/remind", json=notification or {},
                     request_id=request_id)

    def cancel(self, invoice_id: str, notification: Mapping[str, Any] | None = None, *,
               request_id: str | None = None) -> None:
        """Cancel a sent invoice."""
        self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/cancel", json=notification or {},
                     request_id=request_id)

    def record_payment(self, invoice_id: str, payment: Mapping[str, Any], *,
                       request_id: str | None = None) -> dict:
        """Record a payment (``invoices.payments``); returns ``{"payment_id": ...}``."""
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/payments", json=payment,
                            request_id=request_id)

    def delete_payment(self, invoice_id: str, transaction_id: str) -> None:
        """Delete an external payment."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}/payments/{_seg(transaction_id)}")

    def record_refund(self, invoice_id: str, refund: Mapping[str, Any], *,
                      request_id: str | None = None) -> dict:
        """Record a refund (``invoices.refunds``); returns ``{"refund_id": ...}``."""
        return self._c.call("POST", f"{INVOICES}/{_seg(invoice_id)}/refunds", json=refund,
                            request_id=request_id)

    def delete_refund(self, invoice_id: str, transaction_id: str) -> None:
        """Delete an external refund."""
        self._c.call("DELETE", f"{INVOICES}/{_seg(invoice_id)}/refunds/{_seg(transaction_id)}")

    def generate_qr_code(self, invoice_id: str, *, width: int = 500, height: int = 500,
                         action: str = "pay") -> bytes:
        """The invoice's QR code as PNG bytes (decoded from PayPal's base64 body)."""
        response = self._c.request("POST", f"{INVOICES}/{_seg(invoice_id)}/generate-qr-code",
                                   json={"width": width, "height": height, "action": action})
        return _qr_png(response)

    def generate_next_invoice_number(self) -> dict:
        """The next free invoice number: ``{"invoice_number": ...}``."""
        return self._c.call("POST", "/v2/invoicing/generate-next-invoice-number")

    def search(self, search_data: Mapping[str, Any] | None = None, *, page: int = 1,
               page_size: int = 20, total_required: bool = False) -> dict:
        """One page of invoices matching every filter in ``search_data``."""
        return self._c.call("POST", "/v2/invoicing/search-invoices", json=search_data or {},
                            params={"page": page, "page_size": page_size,
                                    "total_required": _flag(total_required)}, read=True)


class Templates:
    """Invoicing v2 template operations (``client.templates``)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self, *, fields: str = "all", page: int = 1, page_size: int = 20) -> dict:
        """The merchant's templates with profile details."""
        return self._c.call("GET", TEMPLATES, params={"fields": fields, "page": page,
                                                      "page_size": page_size})

    def create(self, template: Mapping[str, Any], *, request_id: str | None = None) -> dict:
        """Create a template; returns it."""
        return self._c.represented("POST", TEMPLATES, json=template, request_id=request_id)

    def get(self, template_id: str) -> dict:
        """One template."""
        return self._c.call("GET", f"{TEMPLATES}/{_seg(template_id)}")

    def update(self, template_id: str, template: Mapping[str, Any]) -> dict:
        """Fully replace a template; returns it."""
        return self._c.represented("PUT", f"{TEMPLATES}/{_seg(template_id)}", json=template)

    def delete(self, template_id: str) -> None:
        """Delete a template."""
        self._c.call("DELETE", f"{TEMPLATES}/{_seg(template_id)}")


def _seg(value: str) -> str:
    """An id as one URL path segment: ``/``, ``?``, ``#``, spaces and dot segments escaped,
    so a typed id can never reach another resource (``x/../../templates``)."""
    text = str(value)
    if not text:
        raise ValueError("an id must not be empty")
    segment = quote(text, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _qr_png(response: httpx.Response) -> bytes:
    """Extract the PNG from PayPal's multipart (or bare base64) QR-code body."""
    text = response.content.decode("ascii", "replace")
    if "\r\n\r\n" in text:
        text = text.split("\r\n\r\n", 1)[1].split("\r\n--", 1)[0]
    png = base64.b64decode("".join(text.split()))
    if not png.startswith(b"\x89PNG"):
        raise ValueError("the QR-code response did not contain a PNG image")
    return png
