"""The v1 routes: each translates its request, calls the service, and shows the answer in v1.

Auth, merchant isolation, partner assertions, idempotency (``PayPal-Request-Id``) and the
emulator's clock are the v2 endpoints' own (:meth:`ppnb.emulator._http.Api.endpoint`); every
error answer is then rewritten in v1's shape (:func:`._errors.v1_body`). Statuses are v1's
(``invoicing_v1.json``): create 201, template create 200, send and schedule and remind 202,
cancel and deletes 204, record payment and refund 200 with no body.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from .._book import Merchant
from .._errors import error
from .._http import Api, Result, bool_param, fields_param, int_param
from .._validation import Problems
from . import _inbound, _outbound, _search, _templates
from ._errors import v1_body
from ._extras import Extras

JSON = "application/json"
V1 = "/v1/invoicing"
INV = _outbound.INVOICES
TPL = _outbound.TEMPLATES
#: v1's record-refund has no method; v2 needs one.
REFUND_METHOD = "OTHER"


def as_v1(response: Response, *, invoice: bool = False) -> Response:
    """An error answer rewritten in v1's shape (anything else is passed through)."""
    if response.status_code < 400 or not response.headers.get("content-type", "").startswith(
            JSON):
        return response
    body = v1_body(response.status_code, orjson.loads(response.body), invoice=invoice)
    headers = {k: v for k, v in response.headers.items()
               if k not in ("content-length", "content-type")}
    return Response(orjson.dumps(body), response.status_code, headers=headers, media_type=JSON)


def _checked(translate: Callable[[Any, Problems], Any], body: Any) -> Any:
    """Translate a v1 body, raising every problem found in it as one v1 400."""
    problems = Problems()
    out = translate(body, problems)
    problems.raise_if_any()
    return out


def _object(body: Any, problems: Problems) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        problems.add("", "INVALID_PARAMETER_SYNTAX", "Send a JSON object.")
        return {}
    return body


def notification(body: Any, problems: Problems) -> dict[str, Any]:
    """v1's remind and cancel notifications: the merchant (``send_to_merchant``) and the payer
    (``send_to_payer``, cancel only) get a copy unless told otherwise. ``cc_emails`` can only
    narrow the invoice's own CC list in v1, which the service cannot do, so it is not applied
    (every CC of the invoice gets a copy)."""
    body = _object(body, problems)
    return _inbound.prune({"subject": body.get("subject"), "note": body.get("note"),
                           "send_to_invoicer": body.get("send_to_merchant", True),
                           "send_to_recipient": body.get("send_to_payer")})


def transaction(body: Any, problems: Problems, *, refund: bool) -> dict[str, Any]:
    """v1's payment and refund details as the service's."""
    body = _object(body, problems)
    date = _inbound.date(body.get("date"), "date", problems)
    if refund:
        return _inbound.prune({"refund_date": date, "amount": _inbound.money(body.get("amount")),
                               "method": REFUND_METHOD})
    return _inbound.prune({"payment_date": date, "amount": _inbound.money(body.get("amount")),
                           "method": body.get("method"), "note": body.get("note")})


def v1_routes(api: Api) -> list[Route]:
    """Invoicing v1 on ``api``'s service (see the package notes)."""
    svc = api.service
    store = svc.store
    extras = Extras(store)

    def iid(r: Request) -> str:
        return r.path_params["invoice_id"]

    def tid(r: Request) -> str:
        return r.path_params["template_id"]

    def shown(m: Merchant, stored: bytes) -> dict[str, Any]:
        doc = orjson.loads(stored)
        return _outbound.invoice(doc, svc.base, extras.get(m, doc["id"]))

    def write(r: Request, m: Merchant, b: Any, invoice_id: str | None) -> dict[str, Any]:
        """Create (no id) or fully update an invoice with its v1-only fields, atomically."""
        if invoice_id is not None:
            bool_param(r, "notify_merchant", True)  # v1 accepts it; v2 updates notify no one
        problems = Problems()
        body = _inbound.invoice(b, problems)
        kept = _inbound.extras(b, problems)
        problems.raise_if_any()
        with store.transaction():
            stored = (svc.create_invoice(m, body) if invoice_id is None
                      else svc.update_invoice(m, invoice_id, body))
            doc = orjson.loads(stored)
            extras.put(m, doc["id"], kept)
        return _outbound.invoice(doc, svc.base, kept)

    def delete(r: Request, m: Merchant, b: Any) -> Result:
        with store.transaction():
            svc.delete_invoice(m, iid(r))
            extras.delete(iid(r))
        return 204, None

    def send(r: Request, m: Merchant, b: Any) -> Result:
        svc.send_invoice(m, iid(r), {"send_to_invoicer": bool_param(r, "notify_merchant", True)})
        return 202, None

    def schedule(r: Request, m: Merchant, b: Any) -> Result:
        # PayPal emails the merchant and the customer when it goes out (v1 reference)
        svc.send_invoice(m, iid(r), {"send_to_invoicer": True})
        href = f"{svc.base}{INV}/{iid(r)}"
        return 202, {"links": [{"href": href, "rel": "self", "method": "GET"}]}

    def record(r: Request, m: Merchant, b: Any, *, refund: bool) -> Result:
        body = _checked(lambda v, p: transaction(v, p, refund=refund), b)
        (svc.record_refund if refund else svc.record_payment)(m, iid(r), body)
        return 200, None

    def qr(r: Request, m: Merchant, b: Any) -> Result:
        size = {"width": int_param(r, "width", 500, 150, 500),
                "height": int_param(r, "height", 500, 150, 500)}
        png = svc.qr_code(m, iid(r), size, api.base_url(r))
        return 200, {"image": base64.b64encode(png).decode()}

    def list_invoices(r: Request, m: Merchant, b: Any) -> Result:
        return 200, _search.page(
            svc, m, {}, int_param(r, "page", 0, 0, 10**9), int_param(r, "page_size", 20, 1, 100),
            bool_param(r, "total_count_required", False))

    def list_templates(r: Request, m: Merchant, b: Any) -> Result:
        fields = fields_param(r)
        found = svc.list_templates(m, fields=fields, page=1, page_size=100)  # all 53 at most
        templates = [_outbound.template(t, svc.base) for t in found["templates"]]
        if fields == "none":
            templates = [{k: t[k] for k in ("template_id", "name", "default", "links")}
                         for t in templates]
        emails = found["emails"]
        return 200, {"addresses": [], "phones": [],
                     "emails": [emails] if isinstance(emails, str) else emails,
                     "templates": templates,
                     "links": [{"href": f"{svc.base}{TPL}", "rel": "self", "method": "GET"}]}

    def template(doc: dict[str, Any]) -> dict[str, Any]:
        return _outbound.template(doc, svc.base)

    ops: list[tuple[str, str, Callable[[Request, Merchant, Any], Result], bool]] = [
        (INV, "POST", lambda r, m, b: (201, write(r, m, b, None)), True),
        (INV, "GET", list_invoices, False),
        (INV + "/next-invoice-number", "POST",
         lambda r, m, b: (200, {"number": svc.next_invoice_number(m)["invoice_number"]}), False),
        (INV + "/{invoice_id}", "GET", lambda r, m, b: (200, shown(m, svc.get_invoice(m, iid(r)))),
         False),
        (INV + "/{invoice_id}", "PUT", lambda r, m, b: (200, write(r, m, b, iid(r))), True),
        (INV + "/{invoice_id}", "DELETE", delete, False),
        (INV + "/{invoice_id}/send", "POST", send, False),
        (INV + "/{invoice_id}/schedule", "POST", schedule, False),
        (INV + "/{invoice_id}/remind", "POST",
         lambda r, m, b: (202, svc.remind_invoice(m, iid(r), _checked(notification, b))), False),
        (INV + "/{invoice_id}/cancel", "POST",
         lambda r, m, b: (204, svc.cancel_invoice(m, iid(r), _checked(notification, b))), False),
        (INV + "/{invoice_id}/record-payment", "POST",
         lambda r, m, b: record(r, m, b, refund=False), False),
        (INV + "/{invoice_id}/record-refund", "POST",
         lambda r, m, b: record(r, m, b, refund=True), False),
        (INV + "/{invoice_id}/payment-records/{transaction_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_payment(m, iid(r), r.path_params["transaction_id"])),
         False),
        (INV + "/{invoice_id}/refund-records/{transaction_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_refund(m, iid(r), r.path_params["transaction_id"])),
         False),
        (INV + "/{invoice_id}/qr-code", "GET", qr, False),
        (V1 + "/search", "POST", lambda r, m, b: (200, _search.search(svc, m, b)), False),
        (TPL, "GET", list_templates, False),
        (TPL, "POST", lambda r, m, b: (200, template(
            svc.create_template(m, _checked(_templates.template, b)))), False),
        (TPL + "/{template_id}", "GET", lambda r, m, b: (200, template(svc.get_template(
            m, tid(r)))), False),
        (TPL + "/{template_id}", "PUT", lambda r, m, b: (200, template(svc.update_template(
            m, tid(r), _checked(_templates.template, b)))), False),
        (TPL + "/{template_id}", "DELETE",
         lambda r, m, b: (204, svc.delete_template(m, tid(r))), False),
    ]
    routes = [Route(path + slash, _endpoint(api, handler, invoice), methods=[method])
              for path, method, handler, invoice in ops for slash in ("", "/")]
    anything = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [*routes, Route(V1 + "/{rest:path}", _unknown(api, routes), methods=anything)]


def _endpoint(api: Api, handler: Callable[[Request, Merchant, Any], Result], invoice: bool
              ) -> Callable[[Request], Awaitable[Response]]:
    """The v2 endpoint machinery around ``handler``, answering errors in v1's shape."""
    run = api.endpoint(handler)

    async def endpoint(request: Request) -> Response:
        return as_v1(await run(request), invoice=invoice)

    return endpoint


def _unknown(api: Api, routes: list[Route]) -> Callable[[Request], Awaitable[Response]]:
    """Anything else under ``/v1/invoicing/``: v1's 405 for a known path, else its 404."""

    async def endpoint(request: Request) -> Response:
        path = request.url.path
        if any(route.matches(request.scope)[0] == Match.PARTIAL for route in routes):
            problem = error(405, "METHOD_NOT_SUPPORTED",
                            f"{request.method} is not supported here.", path, location="path")
        else:
            problem = error(404, "RESOURCE_NOT_FOUND", f"No such resource: {path}.", path,
                            location="path")
        return as_v1(api.fail(request, problem))

    return endpoint
