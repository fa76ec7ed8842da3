"""Tests for the ``conformance`` helper, driven by the spec's own examples."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conformance import (
    ADJUSTMENTS,
    SPEC_PATH,
    catalog,
    fix_pattern,
    load_spec,
    operation_for,
    schema,
    validate_request_body,
    validate_response,
)

pytestmark = pytest.mark.skipif(not SPEC_PATH.exists(), reason=f"spec missing: {SPEC_PATH}")

INV = "/v2/invoicing/invoices/INV2-AB12-CD34-EF56-GH78"
TPL = "/v2/invoicing/templates/TEMP-19V05281TU309413B"

#: example name -> (method, concrete path) of the operation whose request body it is.
REQUEST_EXAMPLES = {
    "invoice": ("POST", "/v2/invoicing/invoices"),
    "invoice_draft": ("POST", "/v2/invoicing/invoices"),  # the spec's own pairing
    "payment_detail": ("POST", f"{INV}/payments"),
    "refund_detail": ("POST", f"{INV}/refunds"),
    "qr_config": ("POST", f"{INV}/generate-qr-code"),
    "search_data": ("POST", "/v2/invoicing/search-invoices"),
    "template": ("POST", "/v2/invoicing/templates"),
    "template_1": ("PUT", TPL),
    "notification_invoice": ("POST", f"{INV}/send"),
    "notification_invoice_cancel": ("POST", f"{INV}/cancel"),
    "notification_reminder": ("POST", f"{INV}/remind"),
}

#: (method, concrete path) -> operationId, for all 20 operations.
OPERATIONS = {
    ("POST", "/v2/invoicing/invoices"): "invoices.create",
    ("GET", "/v2/invoicing/invoices"): "invoices.list",
    ("POST", f"{INV}/send"): "invoices.send",
    ("POST", f"{INV}/remind"): "invoices.remind",
    ("POST", f"{INV}/cancel"): "invoices.cancel",
    ("POST", f"{INV}/payments"): "invoices.payments",
    ("DELETE", f"{INV}/payments/EXTR-86F38350LX4353815"): "invoices.payments-delete",
    ("POST", f"{INV}/refunds"): "invoices.refunds",
    ("DELETE", f"{INV}/refunds/EXTR-2LG703375E477444T"): "invoices.refunds-delete",
    ("POST", f"{INV}/generate-qr-code"): "invoices.generate-qr-code",
    (
        "POST",
        "/v2/invoicing/generate-next-invoice-number",
    ): "invoicing.generate-next-invoice-number",
    ("GET", INV): "invoices.get",
    ("PUT", INV): "invoices.update",
    ("DELETE", INV): "invoices.delete",
    ("POST", "/v2/invoicing/search-invoices"): "invoices.search-invoices",
    ("GET", "/v2/invoicing/templates"): "templates.list",
    ("POST", "/v2/invoicing/templates"): "templates.create",
    ("GET", TPL): "templates.get",
    ("PUT", TPL): "templates.update",
    ("DELETE", TPL): "templates.delete",
}

ERROR_422 = {
    "name": "UNPROCESSABLE_ENTITY",
    "message": "The requested action could not be performed, semantically incorrect, "
    "or failed business validation.",
    "debug_id": "b1d1f06c7246c",
    "details": [
        {"issue": "CANNOT_CANCEL_DRAFT_INVOICE", "description": "Draft invoice cannot be canceled."}
    ],
}


def example(name: str) -> Any:
    """Return the value of ``components/examples/<name>``."""
    return load_spec()["components"]["examples"][name]["value"]


@pytest.mark.parametrize("name", sorted(REQUEST_EXAMPLES))
def test_request_examples_validate(name: str) -> None:
    method, path = REQUEST_EXAMPLES[name]
    validate_request_body(method, path, example(name))


def declared(node: dict[str, Any]) -> set[str]:
    """Return the property names an inlined schema declares, through ``allOf``."""
    names = set(node.get("properties", {}))
    for part in node.get("allOf", []):
        names |= declared(part)
    return names


def test_invoice_example_unknown_properties_are_allowed() -> None:
    # The spec's `invoice` example sends `detail.term` (the schema has `terms_and_conditions`)
    # and `billing_info.additional_info_value` (the schema has `additional_info`). Neither is
    # declared, yet the example validates: no schema in the document sets
    # additionalProperties, so unknown properties are allowed.
    inv = example("invoice")
    detail = schema("invoice")["properties"]["detail"]
    assert "term" in inv["detail"] and "term" not in declared(detail)
    assert "terms_and_conditions" in declared(detail)
    billing = schema("recipient_info")["properties"]["billing_info"]
    assert "additional_info_value" in inv["primary_recipients"][0]["billing_info"]
    assert "additional_info_value" not in declared(billing) and "additional_info" in declared(
        billing
    )
    assert '"additionalProperties"' not in SPEC_PATH.read_text(encoding="utf-8")
    validate_request_body("POST", "/v2/invoicing/invoices", inv)


@pytest.mark.parametrize(
    ("name", "method", "path", "status"),
    [
        ("invoice", "POST", "/v2/invoicing/invoices", 201),
        ("invoice_draft", "GET", INV, 200),
        ("template", "GET", TPL, 200),
        ("template_1", "GET", TPL, 200),
    ],
)
def test_examples_validate_as_responses(name: str, method: str, path: str, status: int) -> None:
    validate_response(method, path, status, example(name))


def test_request_body_violation_is_reported_with_pointer() -> None:
    bad = {"method": "BANK_TRANSFER", "amount": {"currency_code": "USD", "value": "ten"}}
    with pytest.raises(AssertionError, match=r"at /amount/value: 'ten' does not match"):
        validate_request_body("POST", f"{INV}/payments", bad)
    with pytest.raises(AssertionError, match="takes no body"):
        validate_request_body("GET", INV, {"x": 1})


def test_good_error_body_passes() -> None:
    path = f"{INV}/cancel"
    validate_response("POST", path, 422, ERROR_422)
    validate_response("POST", path, 422, ERROR_422, strict_error_catalog=True)
    off_catalog = {**ERROR_422, "details": [{"issue": "SOMETHING_ELSE", "field": "/x"}]}
    validate_response("POST", path, 422, off_catalog)  # envelope only by default
    with pytest.raises(AssertionError, match="not valid under any"):
        validate_response("POST", path, 422, off_catalog, strict_error_catalog=True)
    unauthorized = {
        "name": "AUTHENTICATION_FAILURE",
        "message": "Authentication failed due to "
        "missing authorization header, or invalid authentication credentials.",
    }
    validate_response("POST", path, 401, unauthorized)  # unlisted status -> default


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (422, {**ERROR_422, "details": [{"description": "no issue"}]}, "'issue' is a required"),
        (422, {**ERROR_422, "name": "INVALID_REQUEST"}, r"at /name: 'INVALID_REQUEST' is not one"),
        (404, {"name": "RESOURCE_NOT_FOUND", "message": 42}, "at /message"),
        (401, {"error": "invalid_token"}, "valid under each of"),  # oneOf needs a `name`
        (401, {"name": "NOT_AUTHORIZED"}, r"error_401"),  # unlisted status: error_401 too
        (422, "not json", "body is not JSON"),
    ],
)
def test_broken_error_body_fails(status: int, body: object, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        validate_response("POST", f"{INV}/cancel", status, body)


def test_bodyless_responses() -> None:
    validate_response("POST", f"{INV}/cancel", 204, None)
    validate_response("DELETE", INV, 204, b"")
    with pytest.raises(AssertionError, match="expected no body"):
        validate_response("DELETE", INV, 204, {"x": 1})
    validate_response("POST", f"{INV}/generate-qr-code", 200, b"--boundary...")  # no schema
    validate_response("POST", f"{INV}/send", 202, None)  # "no JSON response body"
    validate_response("POST", f"{INV}/send", 200, {"href": "https://x/y", "rel": "self"})
    with pytest.raises(AssertionError, match="'rel' is a required property"):
        validate_response("POST", f"{INV}/send", 200, {"href": "https://x/y"})


def test_multipart_only_schema_is_used() -> None:
    body = {"name": "INVALID_REQUEST", "details": [{"issue": "INVALID_PARAMETER_VALUE"}]}
    validate_response("POST", f"{INV}/generate-qr-code", 400, body)
    with pytest.raises(AssertionError, match="multipart~1mixed"):
        validate_response("POST", f"{INV}/generate-qr-code", 400, body, strict_error_catalog=True)


def test_operation_for_matches_all_20_operations() -> None:
    spec_ops = {
        op["operationId"]
        for item in load_spec()["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }
    assert spec_ops == set(OPERATIONS.values()) and len(spec_ops) == 20
    for (method, path), op_id in OPERATIONS.items():
        template, op = operation_for(method, path)
        assert op["operationId"] == op_id
        assert re.fullmatch(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)), path)
    assert (
        operation_for("get", f"http://127.0.0.1:1/{INV}?fields=all".replace("//v2", "/v2"))[1][
            "operationId"
        ]
        == "invoices.get"
    )
    with pytest.raises(LookupError, match="no operation"):
        operation_for("GET", "/v2/invoicing/nope")
    with pytest.raises(LookupError, match="not allowed"):
        operation_for("PATCH", INV)


def test_catalog() -> None:
    pairs = catalog("POST", "/v2/invoicing/invoices/X/cancel", 422)
    assert ("CANNOT_CANCEL_DRAFT_INVOICE", "Draft invoice cannot be canceled.") in pairs
    assert len(pairs) == 5 and all(issue and desc for issue, desc in pairs)
    assert len(catalog("POST", "/v2/invoicing/invoices", 400)) == 40
    assert catalog("GET", INV, 404) == [] and catalog("GET", INV, 418) == []


def test_schema_is_self_contained() -> None:
    inv = schema("invoice")
    assert "$ref" not in repr(inv)
    detail = inv["properties"]["detail"]["allOf"][0]  # invoice_detail = allOf[detail, ...]
    assert detail["properties"]["attachments"]["maxItems"] == 5
    with pytest.raises(KeyError):
        schema("no_such_schema")


def test_adjustments_are_recorded() -> None:
    load_spec()
    assert any("attachments" in a and "maxItems" in a for a in ADJUSTMENTS)
    assert any("templates/properties/emails" in a for a in ADJUSTMENTS)
    listing = {"emails": ["a@example.com"], "templates": []}
    validate_response("GET", "/v2/invoicing/templates", 200, listing)
    validate_response("GET", "/v2/invoicing/templates", 200, {**listing, "emails": "a@example.com"})


def test_every_spec_pattern_compiles_and_fix_pattern() -> None:
    for pattern in re.findall(r'"pattern": "((?:[^"\\]|\\.)*)"', SPEC_PATH.read_text("utf-8")):
        re.compile(pattern.encode().decode("unicode_escape"))
    assert fix_pattern("^[0-9]+$") == "^[0-9]+$"
    assert fix_pattern("(?i)^(all|none)$") == "^([Aa][Ll][Ll]|[Nn][Oo][Nn][Ee])$"
    assert fix_pattern("^abc(?i)$") == "^[Aa][Bb][Cc]$"
    assert fix_pattern("^[a-z](?i)x$") == "(?i)^[a-z]x$"  # class: flag moved to the front
    assert fix_pattern("(?i)^[a-z]$") == "(?i)^[a-z]$"  # already valid: kept
    assert sum("pattern '(?i)" in a for a in ADJUSTMENTS) == 2
    action = schema("qr_config")["properties"]["action"]["pattern"]
    for value, ok in [("pay", True), ("DETAILS", True), ("Pay", True), ("payx", False)]:
        assert bool(re.search(action, value)) is ok
        assert bool(re.search("(?i)^(pay|details)$", value)) is ok  # same as the original


# --- the OBSERVED.md exception: PayPal's minimal create/update answer -----------------------

LINK = {"rel": "self", "href": "https://api-m.paypal.com" + INV, "method": "GET"}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", "/v2/invoicing/invoices", 201), ("PUT", INV, 200),
    ("POST", "/v2/invoicing/templates", 201), ("PUT", TPL, 200)])
def test_the_minimal_self_link_answers_create_and_update(method: str, path: str,
                                                         status: int) -> None:
    validate_response(method, path, status, LINK)  # OBSERVED.md: no Prefer, just a link
    with pytest.raises(AssertionError, match="link_description"):
        validate_response(method, path, status, {**LINK, "href": 7})


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", INV, LINK),  # a read must return the invoice
    ("POST", "/v2/invoicing/invoices", {**LINK, "rel": "payer-view"}),
    ("POST", "/v2/invoicing/invoices", {**LINK, "extra": 1}),
])
def test_the_exception_is_narrow(method: str, path: str, body: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="invoice"):
        validate_response(method, path, 200 if method == "GET" else 201, body)
