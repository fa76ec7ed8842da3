"""Bad input gets a clear, PayPal-shaped error (never a 500) and changes nothing.

Each case checks the status, the error ``name``, the first detail's ``issue`` and ``field``
(a JSON pointer into the body, or the parameter/header name for path, query and header
problems), that ``debug_id`` matches the ``Paypal-Debug-Id`` header, and that the merchant's
book is exactly as it was (invoice count, the targeted invoice byte for byte, templates).
Every ``/v2`` response is also validated against PayPal's spec by :class:`helpers.Api`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conformance import catalog
from helpers import Api, invoice_body

INVOICES = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
TEMPLATES = "/v2/invoicing/templates"
MISSING_INVOICE = "INV2-AAAA-BBBB-CCCC-DDDD"
MISSING_TEMPLATE = "TEMP-00000000000000000"
MISSING_TRANSACTION = "EXTR-00000000000000000"

Body = dict[str, Any]
Mutation = Callable[[Body], None]


# --- helpers ----------------------------------------------------------------------------------


def assert_error(
    response: httpx.Response, status: int, name: str, issue: str, field: str | None
) -> dict[str, Any]:
    """Assert PayPal's error shape and the first detail; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["name"] == name, body
    assert body["message"], body
    assert body["debug_id"], body
    assert body["debug_id"] == response.headers["paypal-debug-id"]
    details = body["details"]
    assert details, body
    assert details[0]["issue"] == issue, details
    assert details[0].get("field") == field, details
    assert details[0]["description"], details
    return body


def snapshot(api: Api, invoice_id: str | None = None) -> tuple[int, bytes | None, bytes]:
    """What a refused request must not change: invoice count, one invoice, the templates."""
    doc = None
    if invoice_id is not None:
        response = api.get(f"{INVOICES}/{invoice_id}")
        assert response.status_code == 200, response.text
        doc = response.content
    templates = api.get(TEMPLATES)
    assert templates.status_code == 200, templates.text
    return api.count(), doc, templates.content


def _walk(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = pointer.strip("/").split("/")
    for part in parts[:-1]:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, parts[-1]


def put(pointer: str, value: Any) -> Mutation:
    """Set the value at ``pointer``."""

    def apply(body: Body) -> None:
        parent, key = _walk(body, pointer)
        if isinstance(parent, list):
            parent[int(key)] = value
        else:
            parent[key] = value

    return apply


def drop(pointer: str) -> Mutation:
    """Remove the value at ``pointer``."""

    def apply(body: Body) -> None:
        parent, key = _walk(body, pointer)
        del parent[int(key) if isinstance(parent, list) else key]

    return apply


def invoice(*mutations: Mutation, **options: Any) -> Body:
    """A valid create body (``invoice_body(**options)``) with ``mutations`` applied."""
    body = invoice_body(**options)
    for mutate in mutations:
        mutate(body)
    return body


def created(api: Api, state: str) -> str:
    """An invoice of the merchant's in ``state``: draft, sent or paid (partly, 40 of 100)."""
    invoice_id = api.create()["id"]
    if state in ("sent", "paid"):
        assert api.send(invoice_id).status_code == 200
    if state == "paid":
        assert api.pay(invoice_id, "40.00").status_code == 200
    return invoice_id


def item(value: str = "10.00", currency: str = "USD", **extra: Any) -> Body:
    return {"name": "Widget", "quantity": "1",
            "unit_amount": {"currency_code": currency, "value": value}, **extra}


# --- creating invoices ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    body: Any
    issue: str
    field: str | None
    status: int = 400
    name: str = "INVALID_REQUEST"


CREATE_CASES = [
    # wrong types
    Case("quantity-number", invoice(put("/items/0/quantity", 2)), "INVALID_PARAMETER_SYNTAX",
         "/items/0/quantity"),
    Case("unit-value-float", invoice(put("/items/0/unit_amount/value", 10.5)),
         "INVALID_PARAMETER_SYNTAX", "/items/0/unit_amount/value"),
    Case("unit-value-int", invoice(put("/items/0/unit_amount/value", 10)),
         "INVALID_PARAMETER_SYNTAX", "/items/0/unit_amount/value"),
    Case("currency-int", invoice(put("/detail/currency_code", 840)), "INVALID_PARAMETER_SYNTAX",
         "/detail/currency_code"),
    Case("items-object", invoice(put("/items", item())), "INVALID_PARAMETER_SYNTAX", "/items"),
    Case("items-string", invoice(put("/items", "Widget")), "INVALID_PARAMETER_SYNTAX", "/items"),
    Case("item-not-object", invoice(put("/items/0", "Widget")), "INVALID_PARAMETER_SYNTAX",
         "/items/0"),
    Case("detail-string", invoice(put("/detail", "USD")), "INVALID_PARAMETER_SYNTAX", "/detail"),
    Case("unit-amount-string", invoice(put("/items/0/unit_amount", "10.00")),
         "INVALID_PARAMETER_SYNTAX", "/items/0/unit_amount"),
    Case("allow-tip-string", invoice(put("/configuration", {"allow_tip": "yes"})),
         "INVALID_PARAMETER_SYNTAX", "/configuration/allow_tip"),
    # over-long strings
    Case("invoice-number-26", invoice(number="N" * 26), "INVALID_STRING_MAX_LENGTH",
         "/detail/invoice_number"),
    Case("memo-501", invoice(memo="m" * 501), "INVALID_STRING_MAX_LENGTH", "/detail/memo"),
    Case("note-4001", invoice(note="n" * 4001), "INVALID_STRING_MAX_LENGTH", "/detail/note"),
    Case("item-name-201", invoice(put("/items/0/name", "i" * 201)), "INVALID_STRING_MAX_LENGTH",
         "/items/0/name"),
    Case("reference-121", invoice(reference="r" * 121), "INVALID_STRING_MAX_LENGTH",
         "/detail/reference"),
    # missing required fields
    Case("no-detail", invoice(drop("/detail")), "MISSING_REQUIRED_PARAMETER", "/detail"),
    Case("no-currency", invoice(drop("/detail/currency_code")), "MISSING_REQUIRED_PARAMETER",
         "/detail/currency_code"),
    Case("null-currency", invoice(put("/detail/currency_code", None)),
         "MISSING_REQUIRED_PARAMETER", "/detail/currency_code"),
    Case("no-item-name", invoice(drop("/items/0/name")), "MISSING_REQUIRED_PARAMETER",
         "/items/0/name"),
    Case("no-item-quantity", invoice(drop("/items/0/quantity")), "MISSING_REQUIRED_PARAMETER",
         "/items/0/quantity"),
    Case("no-item-unit-amount", invoice(drop("/items/0/unit_amount")),
         "MISSING_REQUIRED_PARAMETER", "/items/0/unit_amount"),
    Case("no-unit-amount-value", invoice(drop("/items/0/unit_amount/value")),
         "MISSING_REQUIRED_PARAMETER", "/items/0/unit_amount/value"),
    Case("no-items", invoice(drop("/items")), "MISSING_REQUIRED_PARAMETER", "/items"),
    Case("empty-items", invoice(put("/items", [])), "MISSING_REQUIRED_PARAMETER", "/items"),
    Case("due-on-date-without-date", invoice(term="DUE_ON_DATE_SPECIFIED"),
         "MISSING_REQUIRED_PARAMETER", "/detail/payment_term/due_date"),
    # currencies and precision
    Case("unknown-currency", invoice(currency="XYZ"), "CURRENCY_NOT_SUPPORTED",
         "/detail/currency_code"),
    Case("jpy-decimals", invoice(currency="JPY", items=[item("1.5", "JPY")]),
         "DECIMAL_PRECISION", "/items/0/unit_amount/value"),
    Case("usd-three-decimals", invoice(items=[item("10.001")]), "DECIMAL_PRECISION",
         "/items/0/unit_amount/value"),
    Case("currency-mismatch", invoice(items=[item(currency="EUR")]), "CURRENCY_MISMATCH",
         "/items/0/unit_amount/currency_code"),
    Case("discount-currency-mismatch",
         invoice(items=[item(discount={"amount": {"currency_code": "EUR", "value": "1.00"}})]),
         "CURRENCY_MISMATCH", "/items/0/discount/amount/currency_code"),
    Case("unit-value-not-a-number", invoice(items=[item("ten")]), "INVALID_PARAMETER_SYNTAX",
         "/items/0/unit_amount/value"),
    # dates
    Case("feb-30", invoice(invoice_date="2024-02-30"), "INVALID_PARAMETER_SYNTAX",
         "/detail/invoice_date"),
    Case("month-13", invoice(invoice_date="2024-13-01"), "INVALID_PARAMETER_SYNTAX",
         "/detail/invoice_date"),
    Case("yesterday", invoice(invoice_date="yesterday"), "INVALID_PARAMETER_SYNTAX",
         "/detail/invoice_date"),
    Case("date-time-not-date", invoice(invoice_date="2024-02-01T00:00:00Z"),
         "INVALID_PARAMETER_SYNTAX", "/detail/invoice_date"),
    Case("bad-due-date",
         invoice(put("/detail/payment_term",
                     {"term_type": "DUE_ON_DATE_SPECIFIED", "due_date": "2024-02-30"})),
         "INVALID_PARAMETER_SYNTAX", "/detail/payment_term/due_date"),
    Case("bad-item-date", invoice(items=[item(item_date="2024-13-01")]),
         "INVALID_PARAMETER_SYNTAX", "/items/0/item_date"),
    Case("due-before-invoice-date",
         invoice(put("/detail/payment_term",
                     {"term_type": "DUE_ON_DATE_SPECIFIED", "due_date": "2024-05-09"}),
                 invoice_date="2024-05-10"),
         "INVALID_PARAMETER_SYNTAX", "/detail/payment_term/due_date"),
    # sizes and enums
    Case("101-items", invoice(items=[item()] * 101), "INVALID_ARRAY_MAX_ITEMS", "/items"),
    Case("bad-term-type", invoice(term="NET_7"), "INVALID_PARAMETER_VALUE",
         "/detail/payment_term/term_type"),
    Case("unknown-template", invoice(put("/configuration", {"template_id": MISSING_TEMPLATE})),
         "INVALID_PARAMETER_VALUE", "/configuration/template_id"),
    # business rules
    Case("negative-total", invoice(items=[item("10.00", quantity="-1")]), "INVALID_TOTAL_AMOUNT",
         "/amount/value", 422, "UNPROCESSABLE_ENTITY"),
    # the body itself
    Case("body-array", [invoice()], "INVALID_PARAMETER_SYNTAX", "/"),
    Case("body-string", "invoice", "INVALID_PARAMETER_SYNTAX", "/"),
    Case("body-number", 42, "INVALID_PARAMETER_SYNTAX", "/"),
    Case("body-null", None, "INVALID_PARAMETER_SYNTAX", "/"),
]


@pytest.mark.parametrize("case", CREATE_CASES, ids=lambda c: c.id)
def test_create_refuses(api: Api, case: Case) -> None:
    before = snapshot(api)
    response = api.post(INVOICES, content=json.dumps(case.body).encode(),
                        headers={"Content-Type": "application/json"})
    assert_error(response, case.status, case.name, case.issue, case.field)
    assert snapshot(api) == before


def test_lengths_at_the_limit_are_accepted(api: Api) -> None:
    """The refusals above are not off by one: each limit itself is fine."""
    body = invoice(put("/items/0/name", "i" * 200), number="N" * 25, memo="m" * 500,
                   note="n" * 4000, reference="r" * 120)
    body["items"] += [item()] * 99
    response = api.post(INVOICES, body)
    assert response.status_code == 201, response.text
    detail = response.json()["detail"]
    assert (len(detail["invoice_number"]), len(detail["memo"]), len(detail["note"]),
            len(detail["reference"])) == (25, 500, 4000, 120)
    assert len(response.json()["items"]) == 100
    assert api.count() == 1


def test_duplicate_invoice_number_is_refused(api: Api) -> None:
    api.create(number="DUP-1")
    before = snapshot(api)
    response = api.post(INVOICES, invoice_body(number="DUP-1"))
    assert_error(response, 422, "UNPROCESSABLE_ENTITY", "DUPLICATE_INVOICE_NUMBER",
                 "/detail/invoice_number")
    assert snapshot(api) == before


# --- raw bodies: malformed JSON, wrong content type -------------------------------------------


RAW_CASES = [
    ("truncated", b'{"detail": {"currency_code": "USD"', "application/json", 400,
     "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "/"),
    ("trailing-comma", b'{"detail": {"currency_code": "USD"},}', "application/json", 400,
     "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "/"),
    ("nan", b'{"detail": {"currency_code": "USD"}, "x": NaN}', "application/json", 400,
     "INVALID_REQUEST", "MALFORMED_REQUEST_JSON", "/"),
    ("not-utf8", b'{"detail": "\xff\xfe"}', "application/json", 400, "INVALID_REQUEST",
     "MALFORMED_REQUEST_JSON", "/"),
    ("text-plain", b'{"detail": {"currency_code": "USD"}}', "text/plain", 415,
     "UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", "Content-Type"),
    ("form", b"detail=USD", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE",
     "UNSUPPORTED_MEDIA_TYPE", "Content-Type"),
]


@pytest.mark.parametrize(
    ("route", "state"),
    [("create", None), ("update", "draft"), ("payment", "sent"), ("search", None)],
)
@pytest.mark.parametrize(
    ("content", "content_type", "status", "name", "issue", "field"),
    [case[1:] for case in RAW_CASES], ids=[case[0] for case in RAW_CASES],
)
def test_raw_body_refused(api: Api, route: str, state: str | None, content: bytes,
                          content_type: str, status: int, name: str, issue: str,
                          field: str) -> None:
    invoice_id = created(api, state) if state else None
    method, path = {
        "create": ("POST", INVOICES),
        "update": ("PUT", f"{INVOICES}/{invoice_id}"),
        "payment": ("POST", f"{INVOICES}/{invoice_id}/payments"),
        "search": ("POST", SEARCH),
    }[route]
    before = snapshot(api, invoice_id)
    response = api.request(method, path, content=content,
                           headers={"Content-Type": content_type})
    body = assert_error(response, status, name, issue, field)
    if status == 415:
        assert body["details"][0]["location"] == "header"
        assert body["details"][0]["value"] == content_type
    assert snapshot(api, invoice_id) == before


# --- updating, paying, refunding, sending: the target invoice stays byte-for-byte the same ----


@dataclass(frozen=True)
class Targeted:
    id: str
    state: str
    method: str
    suffix: str
    body: Any
    issue: str
    field: str | None
    status: int = 400
    name: str = "INVALID_REQUEST"
    spec_wording: bool = False


def pay(**body: Any) -> Body:
    return body


def usd(value: Any, currency: Any = "USD") -> Body:
    return {"currency_code": currency, "value": value}


TARGETED = [
    # full update (PUT)
    Targeted("put-memo-501", "draft", "PUT", "", invoice(memo="m" * 501),
             "INVALID_STRING_MAX_LENGTH", "/detail/memo", spec_wording=True),
    Targeted("put-currency-mismatch", "draft", "PUT", "", invoice(items=[item(currency="EUR")]),
             "CURRENCY_MISMATCH", "/items/0/unit_amount/currency_code"),
    Targeted("put-no-detail", "sent", "PUT", "", invoice(drop("/detail")),
             "MISSING_REQUIRED_PARAMETER", "/detail"),
    Targeted("put-value-float", "sent", "PUT", "", invoice(put("/items/0/unit_amount/value", 1.5)),
             "INVALID_PARAMETER_SYNTAX", "/items/0/unit_amount/value"),
    Targeted("put-feb-30", "draft", "PUT", "", invoice(invoice_date="2023-02-29"),
             "INVALID_PARAMETER_SYNTAX", "/detail/invoice_date", spec_wording=True),
    Targeted("put-body-array", "draft", "PUT", "", [], "INVALID_PARAMETER_SYNTAX", "/"),
    # record payment
    Targeted("payment-no-method", "sent", "POST", "/payments", pay(amount=usd("10.00")),
             "MISSING_REQUIRED_PARAMETER", "/method", spec_wording=True),
    Targeted("payment-bad-method", "sent", "POST", "/payments", pay(method="BITCOIN"),
             "INVALID_PAYMENT_METHOD", "/method", spec_wording=True),
    Targeted("payment-method-lowercase", "sent", "POST", "/payments", pay(method="cash"),
             "INVALID_PAYMENT_METHOD", "/method", spec_wording=True),
    Targeted("payment-zero", "sent", "POST", "/payments", pay(method="CASH", amount=usd("0.00")),
             "VALUE_CANNOT_BE_ZERO", "/amount/value", spec_wording=True),
    Targeted("payment-negative", "sent", "POST", "/payments",
             pay(method="CASH", amount=usd("-5.00")), "INVALID_DECIMAL_VALUE", "/amount/value",
             spec_wording=True),
    Targeted("payment-float", "sent", "POST", "/payments", pay(method="CASH", amount=usd(5.5)),
             "INVALID_PARAMETER_SYNTAX", "/amount/value"),
    Targeted("payment-three-decimals", "sent", "POST", "/payments",
             pay(method="CASH", amount=usd("5.001")), "INVALID_DECIMAL_VALUE", "/amount/value",
             spec_wording=True),
    Targeted("payment-other-currency", "sent", "POST", "/payments",
             pay(method="CASH", amount=usd("5.00", "EUR")), "NOT_SUPPORTED",
             "/amount/currency_code", spec_wording=True),
    Targeted("payment-bad-date", "sent", "POST", "/payments",
             pay(method="CASH", payment_date="2024-02-30"), "INVALID_PARAMETER_SYNTAX",
             "/payment_date", spec_wording=True),
    Targeted("payment-more-than-due", "sent", "POST", "/payments",
             pay(method="CASH", amount=usd("100.01")), "PAYMENT_AMOUNT_GREATER_THAN_AMOUNT_DUE",
             "/amount/value", 422, "UNPROCESSABLE_ENTITY", spec_wording=True),
    # (a payment on a draft is allowed: PayPal lets a merchant mark a draft as paid)
    Targeted("refund-on-draft", "draft", "POST", "/refunds", pay(method="CASH"),
             "CANNOT_PROCESS_REFUNDS", "/status", 422, "UNPROCESSABLE_ENTITY",
             spec_wording=True),
    Targeted("payment-body-null", "sent", "POST", "/payments", None, "INVALID_PARAMETER_SYNTAX",
             "/"),
    # record refund (the invoice has 40.00 paid)
    Targeted("refund-no-method", "paid", "POST", "/refunds", pay(amount=usd("1.00")),
             "MISSING_REQUIRED_PARAMETER", "/method", spec_wording=True),
    Targeted("refund-bad-method", "paid", "POST", "/refunds", pay(method="GOLD"),
             "INVALID_REFUND_METHOD", "/method", spec_wording=True),
    Targeted("refund-zero", "paid", "POST", "/refunds", pay(method="CASH", amount=usd("0")),
             "VALUE_CANNOT_BE_ZERO", "/amount/value", spec_wording=True),
    Targeted("refund-more-than-paid", "paid", "POST", "/refunds",
             pay(method="CASH", amount=usd("40.01")), "INVALID_REFUND_AMOUNT", "/amount/value",
             422, "UNPROCESSABLE_ENTITY"),
    # send, remind, cancel, QR code
    Targeted("send-flag-string", "draft", "POST", "/send", {"send_to_recipient": "yes"},
             "INVALID_PARAMETER_SYNTAX", "/send_to_recipient"),
    Targeted("send-subject-4001", "draft", "POST", "/send", {"subject": "s" * 4001},
             "INVALID_STRING_MAX_LENGTH", "/subject"),
    Targeted("send-101-cc", "draft", "POST", "/send",
             {"additional_recipients": ["a@example.com"] * 101}, "INVALID_ARRAY_MAX_ITEMS",
             "/additional_recipients"),
    Targeted("remind-draft", "draft", "POST", "/remind", {}, "CANNOT_REMIND_INVOICE", "/status",
             422, "UNPROCESSABLE_ENTITY", spec_wording=True),
    Targeted("remind-note-number", "sent", "POST", "/remind", {"note": 5},
             "INVALID_PARAMETER_SYNTAX", "/note"),
    Targeted("cancel-draft", "draft", "POST", "/cancel", {}, "CANNOT_CANCEL_DRAFT_INVOICE",
             "/status", 422, "UNPROCESSABLE_ENTITY"),
    Targeted("qr-too-small", "sent", "POST", "/generate-qr-code", {"width": 10},
             "INVALID_INTEGER_MIN_VALUE", "/width"),
    Targeted("qr-bad-action", "sent", "POST", "/generate-qr-code", {"action": "print"},
             "INVALID_PARAMETER_SYNTAX", "/action"),
    # delete
    Targeted("delete-sent", "sent", "DELETE", "", None, "CANNOT_DELETE_INVOICE", "/status", 422,
             "UNPROCESSABLE_ENTITY"),
]


@pytest.mark.parametrize("case", TARGETED, ids=lambda c: c.id)
def test_refused_without_touching_the_invoice(api: Api, case: Targeted) -> None:
    invoice_id = created(api, case.state)
    before = snapshot(api, invoice_id)
    path = f"{INVOICES}/{invoice_id}{case.suffix}"
    response = api.request(case.method, path, copy.deepcopy(case.body)) if case.body is not None \
        else api.request(case.method, path)
    body = assert_error(response, case.status, case.name, case.issue, case.field)
    if case.spec_wording:  # PayPal's spec lists this exact issue and description
        detail = body["details"][0]
        assert (detail["issue"], detail["description"]) in catalog(case.method, path, case.status)
    assert snapshot(api, invoice_id) == before


@pytest.mark.parametrize(
    "case", [c for c in CREATE_CASES if c.id in (
        "invoice-number-26", "memo-501", "note-4001", "item-name-201", "reference-121",
        "feb-30", "month-13", "yesterday", "bad-due-date", "due-before-invoice-date",
        "bad-item-date",
    )], ids=lambda c: c.id,
)
def test_create_uses_the_spec_wording(api: Api, case: Case) -> None:
    response = api.post(INVOICES, copy.deepcopy(case.body))
    detail = response.json()["details"][0]
    assert (detail["issue"], detail["description"]) in catalog("POST", INVOICES, 400)


# --- unknown ids ------------------------------------------------------------------------------


def _unknown_routes() -> list[tuple[str, str, Any, str]]:
    inv = f"{INVOICES}/{MISSING_INVOICE}"
    tpl = f"{TEMPLATES}/{MISSING_TEMPLATE}"
    return [
        ("GET", inv, None, "invoice_id"),
        ("PUT", inv, invoice_body(), "invoice_id"),
        ("DELETE", inv, None, "invoice_id"),
        ("POST", f"{inv}/send", {}, "invoice_id"),
        ("POST", f"{inv}/remind", {}, "invoice_id"),
        ("POST", f"{inv}/cancel", {}, "invoice_id"),
        ("POST", f"{inv}/payments", {"method": "CASH"}, "invoice_id"),
        ("DELETE", f"{inv}/payments/{MISSING_TRANSACTION}", None, "invoice_id"),
        ("POST", f"{inv}/refunds", {"method": "CASH"}, "invoice_id"),
        ("DELETE", f"{inv}/refunds/{MISSING_TRANSACTION}", None, "invoice_id"),
        ("POST", f"{inv}/generate-qr-code", {}, "invoice_id"),
        ("GET", tpl, None, "template_id"),
        ("PUT", tpl, {"name": "Renamed"}, "template_id"),
        ("DELETE", tpl, None, "template_id"),
        # a real invoice (40.00 paid), an unknown transaction
        ("DELETE", "{paid}/payments/" + MISSING_TRANSACTION, None, "transaction_id"),
        ("DELETE", "{paid}/refunds/" + MISSING_TRANSACTION, None, "transaction_id"),
    ]


@pytest.mark.parametrize(("method", "path", "body", "field"), _unknown_routes(),
                         ids=[f"{r[0]} {r[1]}" for r in _unknown_routes()])
def test_unknown_id_is_404(api: Api, method: str, path: str, body: Any, field: str) -> None:
    paid = created(api, "paid")
    path = path.replace("{paid}", f"{INVOICES}/{paid}")
    before = snapshot(api, paid)
    response = api.request(method, path, body)
    result = assert_error(response, 404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", field)
    assert result["details"][0]["location"] == "path"
    assert snapshot(api, paid) == before


def test_real_transaction_of_another_invoice_is_404(api: Api) -> None:
    """A transaction id is only found on its own invoice."""
    first, second = created(api, "sent"), created(api, "sent")
    payment_id = api.pay(first, "10.00").json()["payment_id"]
    before = snapshot(api, first), snapshot(api, second)
    response = api.delete(f"{INVOICES}/{second}/payments/{payment_id}")
    assert_error(response, 404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "transaction_id")
    assert (snapshot(api, first), snapshot(api, second)) == before


# --- search -----------------------------------------------------------------------------------


def _range(key: str, start: str, end: str) -> Body:
    return {key: {"start": start, "end": end}}


SEARCH_CASES: list[tuple[str, Any, str, str]] = [
    ("date-range-bad-start", _range("invoice_date_range", "2024-13-01", "2024-12-31"),
     "INVALID_PARAMETER_SYNTAX", "/invoice_date_range/start"),
    ("date-range-bad-end", _range("due_date_range", "2024-01-01", "2024-02-30"),
     "INVALID_PARAMETER_SYNTAX", "/due_date_range/end"),
    ("date-range-reversed", _range("invoice_date_range", "2024-02-01", "2024-01-31"),
     "INVALID_PARAMETER_VALUE", "/invoice_date_range/end"),
    ("date-range-missing-end", {"invoice_date_range": {"start": "2024-01-01"}},
     "MISSING_REQUIRED_PARAMETER", "/invoice_date_range/end"),
    ("datetime-range-date-only", _range("creation_date_range", "2024-01-01", "2024-02-01"),
     "INVALID_PARAMETER_SYNTAX", "/creation_date_range/start"),
    ("datetime-range-reversed",
     _range("payment_date_range", "2024-02-01T00:00:00Z", "2024-02-01T01:00:00+02:00"),
     "INVALID_PARAMETER_VALUE", "/payment_date_range/end"),
    ("bad-status", {"status": ["DRAFT", "OPEN"]}, "INVALID_PARAMETER_VALUE", "/status/1"),
    ("six-statuses", {"status": ["DRAFT", "SENT", "PAID", "UNPAID", "CANCELLED", "REFUNDED"]},
     "INVALID_ARRAY_MAX_ITEMS", "/status"),
    ("status-string", {"status": "DRAFT"}, "INVALID_PARAMETER_SYNTAX", "/status"),
    ("mixed-currency-range",
     {"total_amount_range": {"lower_amount": usd("1.00"), "upper_amount": usd("9.00", "EUR")}},
     "INVALID_PARAMETER_SYNTAX", "/total_amount_range"),
    ("range-float", {"total_amount_range": {"lower_amount": usd(1.5), "upper_amount": usd("9")}},
     "INVALID_PARAMETER_SYNTAX", "/total_amount_range/lower_amount/value"),
    ("archived-string", {"archived": "no"}, "INVALID_PARAMETER_SYNTAX", "/archived"),
    ("body-array", [], "INVALID_PARAMETER_SYNTAX", "/"),
]


@pytest.mark.parametrize(("body", "issue", "field"), [c[1:] for c in SEARCH_CASES],
                         ids=[c[0] for c in SEARCH_CASES])
def test_search_refuses(api: Api, body: Any, issue: str, field: str) -> None:
    api.create()
    before = snapshot(api)
    response = api.post(SEARCH, body)
    assert_error(response, 400, "INVALID_REQUEST", issue, field)
    assert snapshot(api) == before


def test_a_range_of_one_day_is_fine(api: Api) -> None:
    """The reversed-range refusal does not catch ``start == end``."""
    day = api.create()["detail"]["invoice_date"]
    response = api.post(SEARCH, _range("invoice_date_range", day, day),
                        params={"total_required": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["total_items"] == 1


@pytest.mark.parametrize(
    ("params", "issue", "field"),
    [({"page_size": "0"}, "INVALID_INTEGER_MIN_VALUE", "page_size"),
     ({"page_size": "101"}, "INVALID_INTEGER_MAX_VALUE", "page_size"),
     ({"page": "first"}, "INVALID_PARAMETER_SYNTAX", "page"),
     ({"total_required": "yes"}, "INVALID_PARAMETER_SYNTAX", "total_required")],
)
def test_bad_query_parameters(api: Api, params: dict[str, str], issue: str, field: str) -> None:
    response = api.post(SEARCH, {}, params=params)
    body = assert_error(response, 400, "INVALID_REQUEST", issue, field)
    assert body["details"][0]["location"] == "query"


# --- several problems at once -----------------------------------------------------------------


def issues(response: httpx.Response) -> list[tuple[str, str]]:
    return [(d["issue"], d["field"]) for d in response.json()["details"]]


def test_every_schema_problem_is_listed(api: Api) -> None:
    body = invoice(put("/items/0/quantity", 3), drop("/items/0/name"), memo="m" * 501,
                   invoice_date="2024-02-30")
    response = api.post(INVOICES, body)
    assert_error(response, 400, "INVALID_REQUEST", "INVALID_STRING_MAX_LENGTH", "/detail/memo")
    assert len(response.json()["details"]) > 1
    assert sorted(issues(response)) == sorted([
        ("INVALID_PARAMETER_SYNTAX", "/detail/invoice_date"),
        ("INVALID_STRING_MAX_LENGTH", "/detail/memo"),
        ("MISSING_REQUIRED_PARAMETER", "/items/0/name"),
        ("INVALID_PARAMETER_SYNTAX", "/items/0/quantity"),
    ])
    assert api.count() == 0


def test_every_amount_problem_is_listed(api: Api) -> None:
    body = invoice(items=[item(currency="EUR"), item("1.234"), item("3.00")])
    response = api.post(INVOICES, body)
    assert response.status_code == 400, response.text
    assert issues(response) == [
        ("CURRENCY_MISMATCH", "/items/0/unit_amount/currency_code"),
        ("DECIMAL_PRECISION", "/items/1/unit_amount/value"),
    ]
    assert api.count() == 0


def test_every_search_problem_is_listed(api: Api) -> None:
    response = api.post(SEARCH, {"status": ["NOPE"], "memo": "m" * 501, "archived": 1,
                                 **_range("due_date_range", "2024-01-01", "soon")})
    assert response.status_code == 400, response.text
    assert sorted(issues(response)) == sorted([
        ("INVALID_PARAMETER_VALUE", "/status/0"),
        ("INVALID_STRING_MAX_LENGTH", "/memo"),
        ("INVALID_PARAMETER_SYNTAX", "/archived"),
        ("INVALID_PARAMETER_SYNTAX", "/due_date_range/end"),
    ])


def test_every_payment_problem_is_listed(api: Api) -> None:
    invoice_id = created(api, "sent")
    before = snapshot(api, invoice_id)
    response = api.post(f"{INVOICES}/{invoice_id}/payments",
                        {"amount": usd(12.5), "payment_date": "today", "note": 1})
    assert response.status_code == 400, response.text
    assert sorted(issues(response)) == sorted([
        ("MISSING_REQUIRED_PARAMETER", "/method"),
        ("INVALID_PARAMETER_SYNTAX", "/amount/value"),
        ("INVALID_PARAMETER_SYNTAX", "/payment_date"),
        ("INVALID_PARAMETER_SYNTAX", "/note"),
    ])
    assert snapshot(api, invoice_id) == before


def test_details_are_capped(api: Api) -> None:
    """A body wrong everywhere gets a bounded, still well-formed list."""
    body = invoice(items=[{"name": 1, "quantity": 2, "unit_amount": 3}] * 30)
    response = api.post(INVOICES, body)
    assert response.status_code == 400, response.text
    details = response.json()["details"]
    assert 1 < len(details) <= 10
    assert {d["field"] for d in details} <= {f"/items/{i}/{k}" for i in range(30)
                                             for k in ("name", "quantity", "unit_amount")}
    assert api.count() == 0
