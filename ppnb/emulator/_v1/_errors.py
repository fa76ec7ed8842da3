"""v1's error bodies, made from the service's errors.

The service raises v2-shaped :class:`~ppnb.emulator._errors.ApiError` s whose fields are v2
JSON pointers (``/items/0/unit_amount/value``). Invoicing v1 answers
``{"name", "message", "information_link", "debug_id", "details": [{"field", "issue"}]}``
(the ``error`` schema of PayPal's ``invoicing_v1.json``), with dotted v1 field names
(``items[0].unit_price.value``) and, for bad input, the name ``VALIDATION_ERROR`` and the
message ``Invalid request - see details`` (PayPal's v1 APIs answer so; captured bodies in
public code, e.g. PayPal-Java-SDK's ``ErrorTestCase`` and several v1 payment integrations).
Business refusals keep their precise issue as the name (``CANNOT_CANCEL_DRAFT_INVOICE``) and
their description as the message, as v1's named errors (``INVALID_RESOURCE_ID``) do.

:func:`v1_body` does the conversion; every v1 answer goes through it, including the
replay of an error stored for a ``PayPal-Request-Id`` and the 401/403 of auth.
"""

from __future__ import annotations

import re
from typing import Any

from ._inbound import ADDRESS

INFORMATION_LINK = "https://developer.paypal.com/docs/api/invoicing/v1/#errors"
_ENVELOPES = {
    401: "AUTHENTICATION_FAILURE",
    429: "RATE_LIMIT_REACHED",
    500: "INTERNAL_SERVICE_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

#: Where v2 keeps what v1 names otherwise, in an invoice body: (pointer prefix, v1 path),
#: first match wins; numbered groups carry array indexes across.
_INVOICE: tuple[tuple[str, str], ...] = (
    (r"/detail/invoice_number", "number"),
    (r"/detail/memo", "merchant_memo"),
    (r"/detail/terms_and_conditions", "terms"),
    (r"/detail/currency_code", "items[0].unit_price.currency"),
    (r"/detail/attachments/(\d+)/reference_url", r"attachments[\1].url"),
    (r"/detail/attachments/(\d+)/id", r"attachments[\1].name"),
    (r"/detail", ""),
    (r"/invoicer/phones/\d+", "merchant_info.phone"),
    (r"/invoicer/additional_notes", "merchant_info.additional_info"),
    (r"/invoicer/logo_url", "logo_url"),
    (r"/invoicer", "merchant_info"),
    (r"/primary_recipients/(\d+)/billing_info/phones/\d+", r"billing_info[\1].phone"),
    (r"/primary_recipients/(\d+)/billing_info", r"billing_info[\1]"),
    (r"/primary_recipients/\d+/shipping_info", "shipping_info"),
    (r"/primary_recipients", "billing_info"),
    (r"/additional_recipients/(\d+)", r"cc_info[\1].email"),
    (r"/amount/breakdown/discount/invoice_discount", "discount"),
    (r"/amount/breakdown/shipping", "shipping_cost"),
    (r"/amount/breakdown/custom", "custom"),
    (r"/amount", "total_amount"),
    (r"/configuration/partial_payment", ""),
    (r"/configuration", ""),
)
#: The same for every other body: templates (whose ``template_data`` is named as an invoice),
#: payments and refunds, notifications and searches.
_OTHER: tuple[tuple[str, str], ...] = (
    (r"/template_info", "template_data"),
    (r"/default_template", "default"),
    (r"/settings(/.*)?", "settings"),
    (r"/payment_date|/refund_date", "date"),
    (r"/send_to_invoicer", "send_to_merchant"),
    (r"/send_to_recipient", "send_to_payer"),
    (r"/(invoice|due|payment|creation)_date_range/(start|end)", r"\2_\1_date"),
)
_COMPILED = {kind: [(re.compile(pattern + r"(?=/|$)"), target) for pattern, target in table]
             for kind, table in (("invoice", _INVOICE), ("other", _OTHER))}
#: v2 leaf names and their v1 names.
_NAMES = {
    **{v2: v1 for v1, v2 in ADDRESS}, "currency_code": "currency", "given_name": "first_name",
    "surname": "last_name", "email_address": "email", "unit_amount": "unit_price",
    "item_date": "date",
}


def v1_field(pointer: str | None, *, invoice: bool = False) -> str | None:
    """The v1 name of a v2 JSON pointer (``/items/0/unit_amount`` → ``items[0].unit_price``
    in an invoice body); anything that is not a pointer (a v1 name, a header, a query
    parameter) is kept."""
    if not pointer or not pointer.startswith("/"):
        return pointer
    if pointer == "/":
        return None
    head, rest = "", pointer
    for regex, target in _COMPILED["invoice" if invoice else "other"]:
        match = regex.match(pointer)
        if match:
            head, rest = match.expand(target), pointer[match.end():]
            if target == "template_data":  # the template's invoice fields, named as an invoice
                inner = v1_field(rest, invoice=True) if rest else None
                return head + ("." + inner if inner else "")
            break
    rest = rest.replace("/name/given_name", "/given_name").replace("/name/surname", "/surname")
    out = head
    for segment in (s for s in rest.split("/") if s):
        if segment.isdigit():
            out += f"[{segment}]"
        else:
            name = _NAMES.get(segment, segment)
            out += f".{name}" if out else name
    return out or None


def v1_body(status: int, body: dict[str, Any], *, invoice: bool = False) -> dict[str, Any]:
    """A v2 error body (``name``, ``message``, ``debug_id``, ``details``) in v1's shape;
    ``invoice`` says the request's body was an invoice (whose fields v2 moved)."""
    details = [d for d in body.get("details") or [] if isinstance(d, dict)]
    first = details[0] if details else {}
    issue = first.get("issue")
    if status == 400 and issue == "MALFORMED_REQUEST_JSON":
        name, message = "MALFORMED_REQUEST", "Incoming JSON request does not map to API request"
    elif status == 400:
        name, message = "VALIDATION_ERROR", "Invalid request - see details"
    elif status in _ENVELOPES:
        name, message = _ENVELOPES[status], body.get("message", "")
    else:
        name = issue or body.get("name", "ERROR")
        message = first.get("description") or body.get("message", "")
    out: dict[str, Any] = {"name": name, "message": message,
                           "information_link": INFORMATION_LINK}
    if body.get("debug_id"):
        out["debug_id"] = body["debug_id"]
    if status == 400 and details:
        out["details"] = []
        for detail in details:
            field = detail.get("field")
            if detail.get("location", "body") == "body":  # headers and queries keep their names
                field = v1_field(field, invoice=invoice)
            entry = {"field": field, "issue": detail.get("description") or detail.get("issue")}
            out["details"].append({k: v for k, v in entry.items() if v})
    return out

