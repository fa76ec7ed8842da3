"""The PayPal Invoicing v2 client: one httpx client, every operation, retries in one place."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from .._protocol import LOOPBACK_HOSTS
from ._auth import ClientCredentials, auth_assertion
from ._errors import APIError, PayPalError, TransportError, error_for
from ._operations import INVOICES, TEMPLATES, Invoices, Templates
from ._retry import RETRY_STATUSES, RetryPolicy, retry_after
from ._throttle import Throttle
from ._transport import LoopbackTransport

__all__ = ["LOOPBACK_HOSTS", "Client"]

log = logging.getLogger("ppnb.client")

#: Sent with create and full update: without it PayPal answers with a bare ``self`` link
#: (OBSERVED.md; the spec's 201 text), with it the whole invoice or template.
REPRESENTATION = {"Prefer": "return=representation"}


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
        The :class:`RetryPolicy`: the one place where requests are tried again.
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

    Attributes
    ----------
    stats
        HTTP attempts by outcome: ``requests``, ``retries``, ``transport_errors`` and one
        key per status code (shared with the clients :meth:`with_throttle` makes).
    throttle
        The :class:`Throttle` every attempt goes through, or None (the default: no limit
        beyond the connection pool). Set by :meth:`with_throttle`.
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
        self.stats: Counter[str] = Counter()
        self.throttle: Throttle | None = None
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

    def with_throttle(self, throttle: Throttle | None) -> Client:
        """This client, sending every HTTP attempt through ``throttle``.

        The returned client shares this one's connections, token, retry policy and
        :attr:`stats`; only the throttle differs (close this client, not it). Threads that
        share a throttle slow down together after a 429 (it halves how many attempts may
        be in flight) while each request is still tried at most ``retry.attempts`` times:
        this is how the pager fetches pages concurrently without a retry loop of its own.

        Examples
        --------
        >>> paced = client.with_throttle(Throttle(6))         # doctest: +SKIP
        >>> pool.map(lambda n: paced.invoices.search({}, page=n), range(1, 50))  # doctest: +SKIP
        """
        twin = copy.copy(self)
        twin.throttle = throttle
        twin.invoices, twin.templates = Invoices(twin), Templates(twin)
        return twin

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
                response = self._attempt(method, path, content=content, params=params,
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
                self._wait(method, path, attempt, retry_after(response),
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
                            retry_after=retry_after(response))
        return response

    def _attempt(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP attempt; with a :attr:`throttle`, inside one of its slots, and the
        throttle learns the answer's status (the token endpoint's included)."""
        throttle = self.throttle
        if throttle is None:
            return self._http.request(method, path, **kwargs)
        with throttle:
            try:
                response = self._http.request(method, path, **kwargs)
            except APIError as exc:  # the token endpoint's refusal, raised by the auth flow
                throttle.observe(exc.status)
                raise
        throttle.observe(response.status_code)
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
