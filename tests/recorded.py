"""Real PayPal's answers, written from the facts in ``../shared/paypal/OBSERVED.md``.

Not copied from any capture: each shape is written out from the facts OBSERVED.md lists, with
where they were seen. :func:`recorded_paypal` serves them over real HTTP on loopback, as a
PayPal that answers only the way its saved responses show: create with a bare ``self`` link
whatever the ``Prefer`` header says, list and search with summaries whatever ``fields`` asks,
remind with ``202`` and no body. Tests feed these to the client, the pager and the tables,
independently of the emulator (which was written from the same reading as the client).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from helpers import Served
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOST = "https://api-m.sandbox.paypal.com"  # what PayPal's links say: never followed as is


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def links(invoice_id: str, *rels: str) -> list[dict[str, str]]:
    href = f"{HOST}/v2/invoicing/invoices/{invoice_id}"
    suffix = {"self": ("", "GET"), "send": ("/send", "POST"), "replace": ("", "PUT"),
              "delete": ("", "DELETE"), "record-payment": ("/payments", "POST"),
              "record-refund": ("/refunds", "POST")}
    return [{"href": href + suffix[rel][0], "rel": rel, "method": suffix[rel][1]}
            for rel in rels]


def whole(invoice_id: str, status: str, total: str, due: str, *, paid: str | None = None,
          refunded: str | None = None, cancelled: str | None = None,
          rels: tuple[str, ...] = ("self",)) -> dict[str, Any]:
    """An invoice as PayPal's GET returns it: negative discounts, tax ids, the extra detail
    and metadata fields and ``unilateral`` (OBSERVED.md "Amounts in responses", "Links and
    extra fields"). One item of ``total`` + 2.50 with a 2.50 discount, untaxed; the shipping
    is 0 with a taxed zero."""
    unit = f"{float(total) + 2.5:.2f}"
    metadata: dict[str, Any] = {
        "create_time": "2022-02-07T22:46:04Z", "created_by": "merchant@example.com",
        "last_update_time": "2022-02-08T10:00:00Z", "last_updated_by": "merchant@example.com",
        "caller_type": "API_V2_INVOICE", "spam_info": {},
        "recipient_view_url": f"https://www.sandbox.paypal.com/invoice/p/#{invoice_id}",
        "invoicer_view_url": f"https://www.sandbox.paypal.com/invoice/details/{invoice_id}"}
    if status != "DRAFT":
        metadata["first_sent_time"] = metadata["last_sent_time"] = "2022-02-07T23:00:00Z"
    if cancelled:
        metadata["cancel_time"] = cancelled
    doc: dict[str, Any] = {
        "id": invoice_id, "status": status,
        "detail": {"invoice_number": invoice_id[-4:], "invoice_date": "2022-01-04",
                   "currency_code": "USD", "reference": "PO-1",
                   "payment_term": {"term_type": "NET_10", "due_date": "2022-01-14"},
                   "archived": False, "viewed_by_recipient": False, "group_draft": False,
                   "category_code": "SHIPPABLE", "metadata": metadata},
        "invoicer": {"email_address": "merchant@example.com"},
        "primary_recipients": [{"billing_info": {
            "name": {"given_name": "Stephanie", "surname": "Meyers",
                     "full_name": "Stephanie Meyers"},
            "email_address": "bill-me@example.com"}}],
        "items": [{"id": "ITEM-1", "name": "Yoga Mat", "quantity": "1",
                   "unit_amount": usd(unit),
                   "tax": {"name": "Sales Tax", "percent": "0", "amount": usd("0.00"),
                           "id": "TAX-9AU06895VD287170A"},
                   "discount": {"amount": usd("-2.50")}, "unit_of_measure": "QUANTITY"}],
        "amount": {"currency_code": "USD", "value": total, "breakdown": {
            "item_total": usd(unit), "discount": {"item_discount": usd("-2.50")},
            "tax_total": usd("0.00"),
            "shipping": {"amount": usd("0.00"), "tax": {
                "name": "Sales Tax", "percent": "0", "amount": usd("0.00"),
                "id": "TAX-4CM09341BS9876241"}}}},
        "due_amount": usd(due),
        "links": links(invoice_id, *rels),
        "unilateral": False,
    }
    if paid:
        doc["payments"] = {"paid_amount": usd(paid), "transactions": [{
            "payment_id": f"EXTR-{invoice_id[-4:]}PAY", "payment_date": "2022-02-07",
            "method": "CASH", "type": "EXTERNAL", "amount": usd(paid)}]}
    if refunded:
        doc["refunds"] = {"refund_amount": usd(refunded), "transactions": [{
            "refund_id": f"EXTR-{invoice_id[-4:]}REF", "refund_date": "2022-02-08",
            "method": "CASH", "type": "EXTERNAL", "amount": usd(refunded)}]}
    return doc


#: Whole invoices by id, in PayPal's newest-first search order.
INVOICES: dict[str, dict[str, Any]] = {doc["id"]: doc for doc in [
    # the saved sandbox response: 198.21, 10.00 paid, 5.00 refunded, still PARTIALLY_PAID
    whole("INV2-6GCT-RGT9-JXGA-TZAE", "PARTIALLY_PAID", "198.21", "188.21", paid="10.00",
          refunded="5.00", rels=("self", "record-payment", "record-refund")),
    whole("INV2-8B9B-RB25-PBKA-2LEZ", "REFUNDED", "50.00", "0.00", paid="50.00",
          refunded="50.00", rels=("self",)),
    whole("INV2-C4NC-3L3D-0000-0003", "CANCELLED", "20.00", "20.00",
          cancelled="2022-02-09T08:00:00Z"),
    # docs.paypal.ai lists AUTO_CANCELLED; the spec's enum does not
    whole("INV2-AUT0-C4NC-3L3D-0004", "AUTO_CANCELLED", "30.00", "30.00",
          cancelled="2022-03-01T00:00:00Z"),
    whole("INV2-S3NT-0000-0000-0005", "SENT", "40.00", "40.00"),
    whole("INV2-GWNR-QBAW-496B-4Y5P", "DRAFT", "74.21", "74.21",
          rels=("self", "send", "replace", "delete", "record-payment")),
]}


def summary(doc: dict[str, Any]) -> dict[str, Any]:
    """What PayPal's saved list and search responses show of an invoice: no items, no
    transactions, ``metadata.create_time`` only, the due date only, totals only."""
    detail = doc["detail"]
    brief = {key: detail[key] for key in ("reference", "currency_code", "invoice_number",
                                          "invoice_date", "viewed_by_recipient",
                                          "group_draft")}
    brief["payment_term"] = {"due_date": detail["payment_term"]["due_date"]}
    brief["metadata"] = {"create_time": detail["metadata"]["create_time"]}
    out = {"id": doc["id"], "status": doc["status"], "detail": brief,
           "primary_recipients": doc["primary_recipients"],
           "amount": {"currency_code": "USD", "value": doc["amount"]["value"]},
           "due_amount": doc["due_amount"], "links": doc["links"]}
    for key, total in (("payments", "paid_amount"), ("refunds", "refund_amount")):
        if key in doc:
            out[key] = {total: doc[key][total]}
    return out


@dataclass
class Recorded:
    """The recorded PayPal, served; ``calls`` lists each ``(method, path, Prefer header)``."""

    base_url: str
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)


def _app(recorded: Recorded) -> Starlette:
    def answer(value: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(value), status, media_type="application/json")

    async def log(request: Request) -> None:
        recorded.calls.append((request.method, request.url.path, request.headers.get("prefer")))
        await request.body()

    async def token(request: Request) -> Response:
        await log(request)
        return answer({"access_token": "A21AA-recorded", "token_type": "Bearer",
                       "expires_in": 32400, "scope": "https://uri.paypal.com/services/invoicing"})

    async def create(request: Request) -> Response:  # Prefer or not: a bare self link
        await log(request)
        return answer(links("INV2-GWNR-QBAW-496B-4Y5P", "self")[0], 201)

    async def get(request: Request) -> Response:
        await log(request)
        doc = INVOICES.get(request.path_params["invoice_id"])
        if doc is None:
            return answer({"name": "RESOURCE_NOT_FOUND", "message": "no such invoice"}, 404)
        return answer(doc)

    async def search(request: Request) -> Response:  # fields or not: summaries
        await log(request)
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", "20"))
        docs = list(INVOICES.values())
        body: dict[str, Any] = {"items": [summary(d) for d in docs[(page - 1) * size:
                                                                   page * size]]}
        if request.query_params.get("total_required") == "true":
            body.update(total_items=len(docs), total_pages=-(-len(docs) // size))
        return answer(body)

    async def remind(request: Request) -> Response:  # the integration guide's 202, no body
        await log(request)
        return Response(b"", 202)

    inv = "/v2/invoicing/invoices"
    return Starlette(routes=[
        Route("/v1/oauth2/token", token, methods=["POST"]),
        Route(inv, create, methods=["POST"]),
        Route(inv + "/{invoice_id}", get, methods=["GET"]),
        Route(inv + "/{invoice_id}/remind", remind, methods=["POST"]),
        Route("/v2/invoicing/search-invoices", search, methods=["POST"]),
    ])


@contextlib.contextmanager
def recorded_paypal() -> Iterator[Recorded]:
    """Serve the recorded answers on a loopback port in a thread, for the ``with`` block."""
    recorded = Recorded("")
    served = Served(_app(recorded))
    recorded.base_url = served.url
    try:
        yield recorded
    finally:
        served.stop()
