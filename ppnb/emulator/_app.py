"""The emulator's HTTP face: PayPal's routes (Invoicing v2 and v1, Webhooks, OAuth) as a
Starlette app; auth, idempotency and error bodies are :mod:`._http`'s."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._signing import CERT_PATH
from ._book import Merchant
from ._errors import error, not_found
from ._http import Api, Handler, Result, bool_param, fields_param, int_param
from ._service import Invoicing
from ._shape import self_link, wants_representation
from ._v1 import v1_routes
from ._webhooks import EVENTS, WEBHOOKS

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

QR_BOUNDARY = "InvoiceQrCodeBoundary7MA4YWxkTrZu0gW"


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
        png = svc.qr_code(m, iid(r), b, api.base_url(r))
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
