"""The HTTP plumbing every PayPal route shares: auth, body parsing, idempotency, PayPal's
error bodies, and the query parameters (Starlette).

:class:`Api` wraps a handler (the request, the calling merchant, the parsed JSON body →
:data:`Result`) into a Starlette endpoint; the v2 routes (:mod:`._app`) and the v1 routes
(:mod:`._v1`) are both built with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ._book import Merchant
from ._errors import ApiError, error
from ._service import Invoicing

log = logging.getLogger("ppnb.emulator")

#: What a handler returns: HTTP status, JSON-able value or raw JSON bytes (None for 204),
#: and optionally a content type for non-JSON bodies.
Result = tuple[int, Any] | tuple[int, Any, str]
Handler = Callable[[Request, Merchant, Any], Result]

JSON = "application/json"
_NO_REPLAY = {401, 403, 429}


class Api:
    """Binds the service to HTTP. One instance per emulator."""

    def __init__(self, service: Invoicing) -> None:
        self.service = service
        self._sentinel = service.base.encode()

    # --- plumbing ----------------------------------------------------------------------------

    def base_url(self, request: Request) -> str:
        """The URL the request was made to, e.g. ``http://127.0.0.1:8765``."""
        return str(request.base_url).rstrip("/")

    def render(self, request: Request, status: int, value: Any, content_type: str = JSON,
               headers: dict[str, str] | None = None) -> Response:
        """Serialise ``value`` and put the request's base URL into stored links."""
        if value is None:
            body = b""
        elif isinstance(value, bytes):
            body = value
        else:
            body = orjson.dumps(value)
        if content_type == JSON and body:
            body = body.replace(self._sentinel, self.base_url(request).encode())
        out = {"paypal-debug-id": self.service.ids.debug_id(), **(headers or {})}
        return Response(body, status, headers=out,
                        media_type=content_type if body or status != 204 else None)

    def fail(self, request: Request, exc: ApiError) -> Response:
        debug_id = self.service.ids.debug_id()
        return Response(
            orjson.dumps(exc.as_json(debug_id)), exc.status, media_type=JSON,
            headers={"paypal-debug-id": debug_id, **exc.headers},
        )

    async def _json(self, request: Request) -> tuple[bytes, Any]:
        raw = await request.body()
        if not raw.strip():
            return raw, None
        ctype = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
        if ctype and ctype not in (JSON, "text/json") and not ctype.endswith("+json"):
            raise error(415, "UNSUPPORTED_MEDIA_TYPE",
                        f"Send the body as application/json, not {ctype}.", "Content-Type",
                        ctype, "header")
        try:
            return raw, orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise error(400, "MALFORMED_REQUEST_JSON",
                        f"The request body is not valid JSON: {exc}.", "/") from None

    def _merchant(self, request: Request) -> Merchant:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            token = ""
        caller = self.service.authenticate(token.strip() or None)
        return self.service.act_as(caller, request.headers.get("paypal-auth-assertion"))

    def endpoint(self, handler: Handler, *, replayable: bool = True
                 ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler with auth, body parsing, idempotency and PayPal error bodies.

        ``replayable=False`` is for a POST that only reads (search): there is no effect to
        apply once, so its answer is computed afresh and never stored under the request id.
        """

        async def run(request: Request) -> Response:
            try:
                if self.service.webhooks.base_url is None:  # learnt once, from a request
                    self.service.webhooks.seen(self.base_url(request))
                self.service.tick()
                merchant = self._merchant(request)
                raw, body = await self._json(request)
                request.state.raw_body = raw  # verify-webhook-signature hashes exact bytes
                request_id = request.headers.get("paypal-request-id")
                if replayable and request.method == "POST" and request_id:
                    return self._idempotent(request, merchant, request_id, raw, body, handler)
                return self.render(request, *handler(request, merchant, body))
            except ApiError as exc:
                return self.fail(request, exc)
            except ClientDisconnect:  # the caller gave up before sending its body: not our error
                return Response(status_code=499)
            except Exception:
                log.exception("emulator error on %s %s", request.method, request.url.path)
                return self.fail(request, ApiError(500))

        return run

    def _idempotent(self, request: Request, merchant: Merchant, request_id: str, raw: bytes,
                    body: Any, handler: Handler) -> Response:
        """Replay the stored response of an earlier identical request, or run and store it."""
        store = self.service.store
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"?"
            + request.url.query.encode() + b"\n" + raw
        ).hexdigest()
        with store.transaction():
            row = store.one(
                "SELECT fingerprint, status, content_type, body FROM idempotency "
                "WHERE merchant = ? AND request_id = ?", (merchant.payer_id, request_id),
            )
            if row is not None:
                if row[0] != fingerprint:
                    raise error(409, "DUPLICATE_REQUEST_ID",
                                "PayPal-Request-Id was already used for a different request.",
                                "PayPal-Request-Id", request_id, "header")
                return self._replay(request, row[1], row[3], row[2])
            try:
                result = handler(request, merchant, body)
            except ApiError as exc:
                if exc.status in _NO_REPLAY:
                    raise
                stored = (exc.status, orjson.dumps(exc.as_json(self.service.ids.debug_id())),
                          JSON)
            else:
                status, value, *rest = result
                ctype = rest[0] if rest else JSON
                data = b"" if value is None else value if isinstance(value, bytes) else (
                    orjson.dumps(value))
                stored = (status, data, ctype if data else None)
            store.execute(
                "INSERT INTO idempotency (merchant, request_id, fingerprint, status, body, "
                "content_type) VALUES (?, ?, ?, ?, ?, ?)",
                (merchant.payer_id, request_id, fingerprint, *stored),
            )
        return self._replay(request, *stored)

    def _replay(self, request: Request, status: int, body: bytes, content_type: str | None
                ) -> Response:
        """A stored response; an error keeps the debug id its body carries."""
        debug_id = self.service.ids.debug_id()
        if status >= 400 and content_type == JSON:
            debug_id = orjson.loads(body).get("debug_id", debug_id)
        response = Response(body, status, media_type=content_type,
                            headers={"paypal-debug-id": debug_id})
        return _rebase(response, self._sentinel, self.base_url(request).encode())

    # --- OAuth ------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        """POST /v1/oauth2/token: client_credentials with HTTP Basic auth."""

        def oauth_error(status: int, code: str, description: str) -> Response:
            return Response(orjson.dumps({"error": code, "error_description": description}),
                            status, media_type=JSON)

        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(
                ":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
        if scheme.lower() != "basic" or not client_id:
            return oauth_error(401, "invalid_client", "Client Authentication failed")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        grant = (form.get("grant_type") or [""])[0]
        if grant != "client_credentials":
            return oauth_error(400, "unsupported_grant_type",
                               f"Grant Type is {grant or 'NULL'}; use client_credentials")
        # scrypt checks a secret it has not seen (tens of ms): off the event loop
        issued = await run_in_threadpool(self.service.issue_token, client_id, secret)
        if issued is None:
            return oauth_error(401, "invalid_client", "Client Authentication failed")
        return Response(orjson.dumps(issued), 200, media_type=JSON)


def _rebase(response: Response, sentinel: bytes, base: bytes) -> Response:
    if response.body and sentinel in response.body:
        response.body = response.body.replace(sentinel, base)
        response.headers["content-length"] = str(len(response.body))
    return response


# --- query parameters ---------------------------------------------------------------------------


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within PayPal's bounds (400 otherwise)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise error(400, "INVALID_PARAMETER_SYNTAX",
                    "the value of a field does not conform to the expected format.", name, text,
                    "query") from None
    if value > high:
        raise error(400, "INVALID_INTEGER_MAX_VALUE", "Value exceeds max value.", name, text,
                    "query")
    if value < low:
        raise error(400, "INVALID_INTEGER_MIN_VALUE", "Value less than minimum value.", name,
                    text, "query")
    return value


def bool_param(request: Request, name: str, default: bool) -> bool:
    """A boolean query parameter (``true``/``false``)."""
    text = request.query_params.get(name)
    if text is None:
        return default
    if text.lower() not in ("true", "false"):
        raise error(400, "INVALID_PARAMETER_SYNTAX", "Expected true or false.", name, text,
                    "query")
    return text.lower() == "true"


def fields_param(request: Request) -> str:
    """``fields=all|none`` (case-insensitive)."""
    text = request.query_params.get("fields", "all")
    if text.lower() not in ("all", "none"):
        raise error(400, "INVALID_PARAMETER_SYNTAX", "fields is all or none.", "fields", text,
                    "query")
    return text.lower()
