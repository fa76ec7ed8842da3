"""The emulator's HTTP face: PayPal's routes, auth, idempotency and error bodies (Starlette)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from .._signing import CERT_PATH
from ._errors import ApiError, error, not_found
from ._service import Invoicing, Merchant
from ._shape import self_link, wants_representation
from ._v1 import v1_routes
from ._webhooks import EVENTS, WEBHOOKS

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

log = logging.getLogger("ppnb.emulator")

#: What a handler returns: HTTP status, JSON-able value or raw JSON bytes (None for 204),
#: and optionally a content type for non-JSON bodies.
Result = tuple[int, Any] | tuple[int, Any, str]
Handler = Callable[[Request, Merchant, Any], Result]

JSON = "application/json"
QR_BOUNDARY = "InvoiceQrCodeBoundary7MA4YWxkTrZu0gW"
_NO_REPLAY = {401, 403, 429}


class Api:
    """Binds the service to HTTP. One instance per emulator."""

    def __init__(self, service: Invoicing) -> None:
        self.service = service
        self._sentinel = service.base.encode()

    # --- plumbing ----------------------------------------------------------------------------

    def _base(self, request: Request) -> str:
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
            body = body.replace(self._sentinel, self._base(request).encode())
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
                    self.service.webhooks.seen(self._base(request))
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
        return _rebase(response, self._sentinel, self._base(request).encode())

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


def page_of(service: Invoicing, request: Request, docs: list[bytes], total: int | None,
            more: bool, page: int, page_size: int) -> bytes:
    """Assemble a page of stored invoice documents into an ``invoices`` body."""
    path = request.url.path
    extra = "".join(f"&{k}={quote(v)}" for k, v in request.query_params.multi_items()
                    if k not in ("page", "page_size"))

    def link(number: int, rel: str) -> dict[str, str]:
        href = f"{service.base}{path}?page={number}&page_size={page_size}{extra}"
        return {"href": href, "rel": rel, "method": request.method}

    links = [link(page, "self")]
    if more:
        links.append(link(page + 1, "next"))
    if page > 1:
        links.append(link(page - 1, "prev"))
    head = b"{"
    if total is not None:
        pages = -(-total // page_size)
        head += b'"total_items":%d,"total_pages":%d,' % (total, pages)
    return head + b'"items":[' + b",".join(docs) + b'],"links":' + orjson.dumps(links) + b"}"


def build_routes(api: Api) -> list[Route]:
    """PayPal Invoicing v2's twenty operations, the Webhooks v1 operations the emulator
    implements, the signing certificates and the token endpoint."""
    svc = api.service
    hooks = svc.webhooks
    inv = "/v2/invoicing/invoices"
    tpl = "/v2/invoicing/templates"

    def iid(r: Request) -> str:
        return r.path_params["invoice_id"]

    def tid(r: Request) -> str:
        return r.path_params["template_id"]

    def answer(r: Request, status: int, stored: bytes | dict[str, Any], collection: str
               ) -> Result:
        """Create and full update answer PayPal's way: the resource only when the request
        says ``Prefer: return=representation``, else a bare ``self`` link (OBSERVED.md; the
        spec's 201/200 text for invoices and templates says the same)."""
        if wants_representation(r.headers.get("prefer")):
            return status, stored
        resource = orjson.loads(stored) if isinstance(stored, bytes) else stored
        return status, self_link(f"{svc.base}{collection}/{resource['id']}")

    def create(r: Request, m: Merchant, b: Any) -> Result:
        return answer(r, 201, svc.create_invoice(m, b), inv)

    def list_invoices(r: Request, m: Merchant, b: Any) -> Result:
        page = int_param(r, "page", 1, 1, 1000)
        size = int_param(r, "page_size", 20, 1, 100)
        total_required = bool_param(r, "total_required", False)
        full = fields_param(r) == "all"
        docs, total, more = svc.search(m, {}, page=page, page_size=size,
                                       total_required=total_required, full=full)
        return 200, page_of(svc, r, docs, total, more, page, size)

    def search(r: Request, m: Merchant, b: Any) -> Result:
        page = int_param(r, "page", 1, 1, 1000)
        size = int_param(r, "page_size", 20, 1, 100)
        total_required = bool_param(r, "total_required", False)
        docs, total, more = svc.search(m, b, page=page, page_size=size,
                                       total_required=total_required)
        return 200, page_of(svc, r, docs, total, more, page, size)

    def qr(r: Request, m: Merchant, b: Any) -> Result:
        png = svc.qr_code(m, iid(r), b, api._base(r))
        body = (
            f"--{QR_BOUNDARY}\r\nContent-Disposition: form-data; name=\"qr-code\"; "
            f"filename=\"qr-code.png\"\r\nContent-Type: image/png\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode() + base64.b64encode(png) + f"\r\n--{QR_BOUNDARY}--\r\n".encode()
        return 200, body, f"multipart/mixed; boundary={QR_BOUNDARY}"

    def list_events(r: Request, m: Merchant, b: Any) -> Result:
        q = r.query_params
        return 200, hooks.list_events(
            m, page_size=int_param(r, "page_size", 10, 1, 300),
            page=int_param(r, "page", 1, 1, 10_000), start_time=q.get("start_time"),
            end_time=q.get("end_time"), event_type=q.get("event_type"))

    def wid(r: Request) -> str:
        return r.path_params["webhook_id"]

    def eid(r: Request) -> str:
        return r.path_params["event_id"]

    async def certificate(r: Request) -> Response:
        pem = hooks.certificate(r.path_params["cert_id"])
        if pem is None:
            return api.fail(r, not_found("certificate", r.path_params["cert_id"]))
        return Response(pem, 200, media_type="application/x-pem-file")

    def list_templates(r: Request, m: Merchant, b: Any) -> Result:
        return 200, svc.list_templates(
            m, fields=fields_param(r), page=int_param(r, "page", 1, 1, 1000),
            page_size=int_param(r, "page_size", 20, 1, 100),
        )

    ops: list[tuple[str, str, Handler]] = [
        (inv, "POST", create),
        (inv, "GET", list_invoices),
        (inv + "/{invoice_id}", "GET", lambda r, m, b: (200, svc.get_invoice(m, iid(r)))),
        (inv + "/{invoice_id}", "PUT",
         lambda r, m, b: answer(r, 200, svc.update_invoice(m, iid(r), b), inv)),
        (inv + "/{invoice_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_invoice(m, iid(r)))),
        (inv + "/{invoice_id}/send", "POST", lambda r, m, b: svc.send_invoice(m, iid(r), b)),
        (inv + "/{invoice_id}/remind", "POST",
         lambda r, m, b: (204, svc.remind_invoice(m, iid(r), b))),
        (inv + "/{invoice_id}/cancel", "POST",
         lambda r, m, b: (204, svc.cancel_invoice(m, iid(r), b))),
        (inv + "/{invoice_id}/payments", "POST",
         lambda r, m, b: (200, svc.record_payment(m, iid(r), b))),
        (inv + "/{invoice_id}/payments/{transaction_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_payment(m, iid(r), r.path_params["transaction_id"]))),
        (inv + "/{invoice_id}/refunds", "POST",
         lambda r, m, b: (200, svc.record_refund(m, iid(r), b))),
        (inv + "/{invoice_id}/refunds/{transaction_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_refund(m, iid(r), r.path_params["transaction_id"]))),
        (inv + "/{invoice_id}/generate-qr-code", "POST", qr),
        ("/v2/invoicing/generate-next-invoice-number", "POST",
         lambda r, m, b: (200, svc.next_invoice_number(m))),
        ("/v2/invoicing/search-invoices", "POST", search),
        (tpl, "GET", list_templates),
        (tpl, "POST", lambda r, m, b: answer(r, 201, svc.create_template(m, b), tpl)),
        (tpl + "/{template_id}", "GET", lambda r, m, b: (200, svc.get_template(m, tid(r)))),
        (tpl + "/{template_id}", "PUT",
         lambda r, m, b: answer(r, 200, svc.update_template(m, tid(r), b), tpl)),
        (tpl + "/{template_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_template(m, tid(r)))),
        (WEBHOOKS, "POST", lambda r, m, b: (201, hooks.create(m, b))),
        (WEBHOOKS, "GET", lambda r, m, b: (200, hooks.list(m))),
        (WEBHOOKS + "/{webhook_id}", "GET", lambda r, m, b: (200, hooks.get(m, wid(r)))),
        (WEBHOOKS + "/{webhook_id}", "DELETE", lambda r, m, b: (204, hooks.delete(m, wid(r)))),
        ("/v1/notifications/webhooks-event-types", "GET",
         lambda r, m, b: (200, hooks.event_types())),
        (EVENTS, "GET", list_events),
        (EVENTS + "/{event_id}", "GET", lambda r, m, b: (200, hooks.get_event(m, eid(r)))),
        (EVENTS + "/{event_id}/resend", "POST",
         lambda r, m, b: (202, hooks.resend(m, eid(r), b))),
        ("/v1/notifications/verify-webhook-signature", "POST",
         lambda r, m, b: (200, hooks.verify_signature(m, b, r.state.raw_body))),
        ("/v1/notifications/simulate-event", "POST",
         lambda r, m, b: (202, hooks.simulate(m, b))),
    ]
    routes = [Route("/v1/oauth2/token", api.token, methods=["POST"]),
              Route(CERT_PATH + "{cert_id}", certificate, methods=["GET"])]
    reads = {("/v2/invoicing/search-invoices", "POST")}  # POSTs with no effect to replay
    routes += [Route(path, api.endpoint(handler, replayable=(path, method) not in reads),
                     methods=[method])
               for path, method, handler in ops]
    routes += v1_routes(api)  # PayPal's legacy Invoicing v1, on the same service
    return routes


def create_app(
    service: Invoicing,
    *,
    extra_routes: list[Route] | None = None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The ASGI application serving ``service``."""
    api = Api(service)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return api.fail(request, error(405, "METHOD_NOT_SUPPORTED",
                                           f"{request.method} is not supported here.",
                                           request.url.path, location="path"))
        return api.fail(request, error(404, "RESOURCE_NOT_FOUND",
                                       f"No such resource: {request.url.path}.",
                                       request.url.path, location="path"))

    return Starlette(
        routes=build_routes(api) + (extra_routes or []),
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
