"""PayPal's Invoicing business rules, one lifecycle test per rule, over real loopback HTTP.

Every call goes through :class:`helpers.Api`, so each response is also checked against
PayPal's spec. Refusals assert the status, the error ``name`` and ``details[0].issue``, and
that the invoice (or template set) is unchanged when re-read. Time-based rules run on a
private emulator with a frozen clock (the ``timed`` fixture) and move it explicitly.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import zxingcpp
from conformance import catalog
from helpers import Api, invoice_body, new_merchant

from ppnb.emulator import Clock, RunningEmulator, start

INV = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
TPL = "/v2/invoicing/templates"
NEXT = "/v2/invoicing/generate-next-invoice-number"
FUTURE = "2099-12-01"
NAMES = {400: "INVALID_REQUEST", 403: "NOT_AUTHORIZED", 404: "RESOURCE_NOT_FOUND",
         422: "UNPROCESSABLE_ENTITY"}

Timed = tuple[RunningEmulator, Api]


# --- helpers ------------------------------------------------------------------------------------


def refused(response: httpx.Response, status: int, issue: str) -> dict[str, Any]:
    """Assert a PayPal error body with ``status`` and first issue ``issue``.

    Where the spec catalogues one description for the issue on this operation, that exact
    wording is required (generic issues with per-field descriptions are not checked).
    """
    assert response.status_code == status, response.text
    body = response.json()
    assert body["name"] == NAMES[status], body
    first = body["details"][0]
    assert first["issue"] == issue, body
    pairs = catalog(response.request.method, response.request.url.path, status)
    wording = {text for known, text in pairs if known == issue}
    if len(wording) == 1:
        assert first["description"] in wording, body
    return body


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def money(value: str, currency: str = "USD") -> dict[str, str]:
    return {"currency_code": currency, "value": value}


def item(name: str, quantity: str, value: str, currency: str = "USD") -> dict[str, Any]:
    return {"name": name, "quantity": quantity, "unit_amount": money(value, currency)}


def recipient(mail: str, given: str, surname: str, business: str) -> list[dict[str, Any]]:
    return [{"billing_info": {"email_address": mail, "business_name": business,
                              "name": {"given_name": given, "surname": surname}}}]


def refund(api: Api, invoice_id: str, value: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"method": "BANK_TRANSFER"}
    if value is not None:
        body["amount"] = money(value)
    return api.post(f"{INV}/{invoice_id}/refunds", body)


def make(api: Api, state: str, **overrides: Any) -> str:
    """An invoice for 100.00 USD brought to ``state``; returns its id."""
    if state == "SCHEDULED":
        overrides["invoice_date"] = FUTURE
    invoice_id = api.create(**overrides)["id"]
    if state == "DRAFT":
        return invoice_id
    sent = api.send(invoice_id, **({"send_to_recipient": False} if state == "UNPAID" else {}))
    assert sent.status_code == (202 if state == "SCHEDULED" else 200), sent.text
    if state == "PARTIALLY_PAID":
        ok(api.pay(invoice_id, "30.00"))
    elif state in ("MARKED_AS_PAID", "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"):
        ok(api.pay(invoice_id))
    if state == "CANCELLED":
        ok(api.post(f"{INV}/{invoice_id}/cancel", {}), 204)
    elif state == "PARTIALLY_REFUNDED":
        ok(refund(api, invoice_id, "30.00"))
    elif state == "MARKED_AS_REFUNDED":
        ok(refund(api, invoice_id))
    assert api.invoice(invoice_id)["status"] == state
    return invoice_id


def move_clock(timed: Timed, *, to: dt.datetime | None = None, **delta: float) -> None:
    """Move the private emulator's clock, then fetch a token valid at the new time."""
    running, api = timed
    clock = running.emulator.clock
    if to is not None:
        clock.set(to)
    else:
        clock.advance(**delta)
    api.token = api.fetch_token()


def numbers(page: dict[str, Any]) -> list[str]:
    return [inv["detail"]["invoice_number"] for inv in page["items"]]


def search(api: Api, filters: dict[str, Any], **params: Any) -> dict[str, Any]:
    return ok(api.post(SEARCH, filters, params={"page_size": 100, **params}))


def templates(api: Api, **params: Any) -> list[dict[str, Any]]:
    return ok(api.get(TPL, params={"page_size": 100, **params}))["templates"]


# --- send -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_date", "notice", "recipient_email", "http", "status"),
    [
        ("2025-01-15", {}, "customer@example.com", 200, "SENT"),
        ("2025-01-02", {"send_to_recipient": True}, "customer@example.com", 200, "SENT"),
        ("2025-01-15", {"send_to_recipient": False}, "customer@example.com", 200, "UNPAID"),
        ("2025-01-15", {}, None, 200, "UNPAID"),
        ("2025-01-16", {}, "customer@example.com", 202, "SCHEDULED"),
        ("2025-03-01", {"send_to_recipient": False}, "customer@example.com", 202, "SCHEDULED"),
    ],
    ids=["today", "past", "today-no-email", "no-recipient", "tomorrow", "future-no-email"],
)
def test_send_status_follows_issue_date(
    timed: Timed, invoice_date: str, notice: dict[str, Any], recipient_email: str | None,
    http: int, status: str,
) -> None:
    _, api = timed
    invoice_id = api.create(invoice_date=invoice_date, email=recipient_email)["id"]
    body = ok(api.send(invoice_id, **notice), http)
    invoice = api.invoice(invoice_id)
    metadata = invoice["detail"]["metadata"]
    assert invoice["status"] == status
    if http == 200:
        assert body == {"href": metadata["recipient_view_url"], "rel": "payer-view",
                        "method": "GET"}
        assert metadata["first_sent_time"] == metadata["last_sent_time"] == "2025-01-15T09:00:00Z"
    else:
        assert [link["rel"] for link in body["links"]] == ["self"]
        assert body["links"][0]["href"].endswith(f"{INV}/{invoice_id}")
        assert "last_sent_time" not in metadata

    # Sending again, later that day and this time to the recipient, changes nothing.
    move_clock(timed, seconds=3600)
    again = ok(api.send(invoice_id, send_to_recipient=True), http)
    assert again == body
    assert api.invoice(invoice_id) == invoice


# --- delete and cancel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", ["DRAFT", "SCHEDULED", "SENT", "UNPAID", "PARTIALLY_PAID", "MARKED_AS_PAID",
              "CANCELLED"],
)
def test_delete_only_draft_or_scheduled(api: Api, state: str) -> None:
    invoice_id = make(api, state)
    before = api.invoice(invoice_id)
    response = api.delete(f"{INV}/{invoice_id}")
    if state in ("DRAFT", "SCHEDULED"):
        ok(response, 204)
        refused(api.get(f"{INV}/{invoice_id}"), 404, "INVALID_RESOURCE_ID")
        assert api.count() == 0
    else:
        refused(response, 422, "CANNOT_DELETE_INVOICE")
        assert api.invoice(invoice_id) == before


@pytest.mark.parametrize(
    ("state", "issue"),
    [
        ("DRAFT", "CANNOT_CANCEL_DRAFT_INVOICE"),
        ("SCHEDULED", "CANNOT_CANCEL_SCHEDULED_INVOICE"),
        ("PARTIALLY_PAID", "CANNOT_CANCEL_PAID_INVOICE"),
        ("MARKED_AS_PAID", "CANNOT_CANCEL_PAID_INVOICE"),
        ("CANCELLED", "INVOICE_CANCELED_ALREADY"),
        ("PARTIALLY_REFUNDED", "CANNOT_CANCEL_REFUNDED_INVOICE"),
        ("MARKED_AS_REFUNDED", "CANNOT_CANCEL_REFUNDED_INVOICE"),
    ],
)
def test_cancel_refused_unless_sent_and_unpaid(api: Api, state: str, issue: str) -> None:
    invoice_id = make(api, state)
    before = api.invoice(invoice_id)
    refused(api.post(f"{INV}/{invoice_id}/cancel", {}), 422, issue)
    assert api.invoice(invoice_id) == before


@pytest.mark.parametrize("state", ["SENT", "UNPAID"])
def test_cancelled_invoice_stays_queryable(timed: Timed, state: str) -> None:
    _, api = timed
    invoice_id = make(api, state)
    move_clock(timed, days=2)
    ok(api.post(f"{INV}/{invoice_id}/cancel", {"send_to_recipient": False}), 204)
    invoice = api.invoice(invoice_id)
    assert invoice["status"] == "CANCELLED"
    assert invoice["detail"]["metadata"]["cancel_time"] == "2025-01-17T09:00:00Z"
    assert invoice["detail"]["metadata"]["first_sent_time"] == "2025-01-15T09:00:00Z"
    assert invoice["amount"]["value"] == "100.00"
    assert {link["rel"] for link in invoice["links"]} == {"self"}
    found = search(api, {"status": ["CANCELLED"]})
    assert [inv["id"] for inv in found["items"]] == [invoice_id]


# --- reminders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", ["SENT", "UNPAID", "PARTIALLY_PAID", "DRAFT", "SCHEDULED", "MARKED_AS_PAID",
              "CANCELLED", "MARKED_AS_REFUNDED"],
)
def test_remind_only_open_sent_invoices(api: Api, state: str) -> None:
    invoice_id = make(api, state)
    before = api.invoice(invoice_id)
    response = api.post(f"{INV}/{invoice_id}/remind", {"subject": "Reminder"})
    if state in ("SENT", "UNPAID", "PARTIALLY_PAID"):
        ok(response, 204)
    else:
        refused(response, 422, "CANNOT_REMIND_INVOICE")
    assert api.invoice(invoice_id) == before


def test_at_most_two_reminders_per_utc_day(timed: Timed) -> None:
    _, api = timed
    move_clock(timed, to=dt.datetime(2025, 1, 15, 23, 30, tzinfo=dt.UTC))
    invoice_id, other = make(api, "SENT"), make(api, "SENT")

    def remind(invoice_id: str) -> httpx.Response:
        return api.post(f"{INV}/{invoice_id}/remind", {})

    ok(remind(invoice_id), 204)
    ok(remind(invoice_id), 204)
    before = api.invoice(invoice_id)
    refused(remind(invoice_id), 422, "MAX_REMINDERS_PER_DAY")
    move_clock(timed, seconds=1799)  # 23:59:59, still the same UTC day
    refused(remind(invoice_id), 422, "MAX_REMINDERS_PER_DAY")
    assert api.invoice(invoice_id) == before
    ok(remind(other), 204)  # the limit is per invoice

    move_clock(timed, seconds=1801)  # 00:30 the next day: a fresh allowance of two
    ok(remind(invoice_id), 204)
    ok(remind(invoice_id), 204)
    refused(remind(invoice_id), 422, "MAX_REMINDERS_PER_DAY")
    assert api.invoice(invoice_id) == before


# --- payments and refunds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status", "paid", "due"),
    [
        ("0.01", "PARTIALLY_PAID", "0.01", "99.99"),
        ("30", "PARTIALLY_PAID", "30.00", "70.00"),
        ("99.99", "PARTIALLY_PAID", "99.99", "0.01"),
        ("100.00", "MARKED_AS_PAID", "100.00", "0.00"),
        (None, "MARKED_AS_PAID", "100.00", "0.00"),
    ],
)
def test_payment_sets_status_and_balances(
    api: Api, value: str | None, status: str, paid: str, due: str
) -> None:
    invoice_id = make(api, "SENT")
    payment_id = ok(api.pay(invoice_id, value))["payment_id"]
    invoice = api.invoice(invoice_id)
    assert invoice["status"] == status
    assert invoice["payments"]["paid_amount"] == money(paid)
    assert invoice["due_amount"] == money(due)
    [transaction] = invoice["payments"]["transactions"]
    assert transaction["payment_id"] == payment_id
    assert transaction["type"] == "EXTERNAL"
    assert transaction["amount"] == money(paid)


@pytest.mark.parametrize("sent_as", ["SENT", "UNPAID"])
def test_payments_never_exceed_due_and_deleting_undoes_them(api: Api, sent_as: str) -> None:
    invoice_id = make(api, sent_as)
    over = "PAYMENT_AMOUNT_GREATER_THAN_AMOUNT_DUE"
    before = api.invoice(invoice_id)
    refused(api.pay(invoice_id, "100.01"), 422, over)
    assert api.invoice(invoice_id) == before

    first = ok(api.pay(invoice_id, "30.00"))["payment_id"]
    partly = api.invoice(invoice_id)
    assert (partly["status"], partly["due_amount"]["value"]) == ("PARTIALLY_PAID", "70.00")
    refused(api.pay(invoice_id, "70.01"), 422, over)
    assert api.invoice(invoice_id) == partly

    rest = ok(api.pay(invoice_id))["payment_id"]  # no amount: whatever is still due
    paid = api.invoice(invoice_id)
    assert paid["status"] == "MARKED_AS_PAID"
    assert paid["payments"]["paid_amount"] == money("100.00")
    assert [t["amount"]["value"] for t in paid["payments"]["transactions"]] == ["30.00", "70.00"]
    assert paid["due_amount"] == money("0.00")
    refused(api.pay(invoice_id, "0.01"), 422, "CANNOT_PROCESS_PAYMENTS")
    assert api.invoice(invoice_id) == paid

    ok(api.delete(f"{INV}/{invoice_id}/payments/{rest}"), 204)
    assert api.invoice(invoice_id) == partly
    ok(api.delete(f"{INV}/{invoice_id}/payments/{first}"), 204)
    undone = api.invoice(invoice_id)
    assert undone["status"] == sent_as
    assert undone["due_amount"] == money("100.00")
    assert "payments" not in undone
    refused(api.delete(f"{INV}/{invoice_id}/payments/{first}"), 404, "INVALID_RESOURCE_ID")


@pytest.mark.parametrize("value", [None, "0.01"])
def test_nothing_to_pay_on_a_zero_invoice(api: Api, value: str | None) -> None:
    invoice_id = make(api, "SENT", items=[item("Free sample", "1", "0.00")])
    before = api.invoice(invoice_id)
    assert before["due_amount"] == money("0.00")
    refused(api.pay(invoice_id, value), 422, "CANNOT_PROCESS_PAYMENTS")
    assert api.invoice(invoice_id) == before


@pytest.mark.parametrize("state", ["DRAFT", "SENT", "UNPAID", "CANCELLED", "MARKED_AS_REFUNDED"])
def test_refund_needs_a_payment(api: Api, state: str) -> None:
    invoice_id = make(api, state)
    before = api.invoice(invoice_id)
    refused(refund(api, invoice_id, "1.00"), 422, "CANNOT_PROCESS_REFUNDS")
    assert api.invoice(invoice_id) == before


def test_refunds_never_exceed_payments_and_deleting_undoes_them(api: Api) -> None:
    invoice_id = make(api, "SENT")
    sixty = ok(api.pay(invoice_id, "60.00"))["payment_id"]
    forty = ok(api.pay(invoice_id, "40.00"))["payment_id"]

    before = api.invoice(invoice_id)
    refused(refund(api, invoice_id, "100.01"), 422, "INVALID_REFUND_AMOUNT")
    assert api.invoice(invoice_id) == before

    first = ok(refund(api, invoice_id, "50.00"))["refund_id"]
    partly = api.invoice(invoice_id)
    assert partly["status"] == "PARTIALLY_REFUNDED"
    assert partly["refunds"]["refund_amount"] == money("50.00")
    assert partly["payments"]["paid_amount"] == money("100.00")
    assert partly["due_amount"] == money("0.00")  # refunds do not reopen the amount due
    refused(refund(api, invoice_id, "50.01"), 422, "INVALID_REFUND_AMOUNT")
    # Deleting the 60.00 payment would leave 40.00 paid against 50.00 refunded.
    refused(api.delete(f"{INV}/{invoice_id}/payments/{sixty}"), 422,
            "CANNOT_DELETE_EXTERNAL_PAYMENT")
    assert api.invoice(invoice_id) == partly

    second = ok(refund(api, invoice_id))["refund_id"]  # no amount: the rest
    full = api.invoice(invoice_id)
    assert full["status"] == "MARKED_AS_REFUNDED"
    assert full["refunds"]["refund_amount"] == money("100.00")
    assert [t["amount"]["value"] for t in full["refunds"]["transactions"]] == ["50.00", "50.00"]
    for payment in (sixty, forty):
        refused(api.delete(f"{INV}/{invoice_id}/payments/{payment}"), 422,
                "CANNOT_DELETE_EXTERNAL_PAYMENT")
    assert api.invoice(invoice_id) == full

    ok(api.delete(f"{INV}/{invoice_id}/refunds/{second}"), 204)
    assert api.invoice(invoice_id) == partly
    ok(api.delete(f"{INV}/{invoice_id}/refunds/{first}"), 204)
    assert api.invoice(invoice_id) == before  # MARKED_AS_PAID, no refunds
    ok(api.delete(f"{INV}/{invoice_id}/payments/{forty}"), 204)  # no refunds left to cover
    assert api.invoice(invoice_id)["status"] == "PARTIALLY_PAID"


def test_partial_refund_of_a_partial_payment(api: Api) -> None:
    """A refund on a partly paid invoice keeps it PARTIALLY_PAID (PayPal's saved sandbox
    response, OBSERVED.md); refund statuses follow refunds of an invoice paid in full."""
    invoice_id = make(api, "PARTIALLY_PAID")  # 30.00 of 100.00
    refused(refund(api, invoice_id, "30.01"), 422, "INVALID_REFUND_AMOUNT")
    ok(refund(api, invoice_id, "10.00"))
    invoice = api.invoice(invoice_id)
    assert invoice["status"] == "PARTIALLY_PAID"
    assert invoice["refunds"]["refund_amount"] == money("10.00")
    assert invoice["due_amount"] == money("70.00")
    assert [link["rel"] for link in invoice["links"]] == ["self", "record-payment",
                                                          "record-refund"]
    ok(refund(api, invoice_id, "20.00"))
    assert api.invoice(invoice_id)["status"] == "PARTIALLY_PAID"
    ok(api.pay(invoice_id))  # the 70.00 still due: paid in full, 30.00 of it refunded
    assert api.invoice(invoice_id)["status"] == "PARTIALLY_REFUNDED"


# --- invoice numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "following"),
    [("INVOICE-1234", ["INVOICE-1235", "INVOICE-1236"]),
     ("2025-A-0099-X", ["2025-A-0100-X", "2025-A-0101-X"]),
     ("INV-9", ["INV-10", "INV-11"])],
)
def test_next_invoice_number(api: Api, first: str, following: list[str]) -> None:
    def next_number() -> str:
        return ok(api.post(NEXT))["invoice_number"]

    created = api.create(number=first)
    assert next_number() == next_number() == following[0]  # a look-ahead, not a reservation
    assigned = api.create()  # no number: the next one is assigned
    assert assigned["detail"]["invoice_number"] == following[0]
    assert next_number() == following[1]

    before = api.count()
    for taken in (first, following[0]):
        refused(api.post(INV, invoice_body(number=taken)), 422, "DUPLICATE_INVOICE_NUMBER")
    assert api.count() == before
    other = api.create(number="OTHER-1")
    body = invoice_body(number=first)
    refused(api.put(f"{INV}/{other['id']}", body), 422, "DUPLICATE_INVOICE_NUMBER")
    assert api.invoice(other["id"]) == other

    ok(api.delete(f"{INV}/{assigned['id']}"), 204)  # a deleted draft frees its number
    again = api.create(number=following[0])
    assert again["id"] != assigned["id"]
    ok(api.delete(f"{INV}/{created['id']}"), 204)
    assert api.create(number=first)["detail"]["invoice_number"] == first


# --- QR codes ---------------------------------------------------------------------------------


def _png_pixels(png: bytes) -> np.ndarray:
    """Decode the emulator's PNG (8-bit greyscale, filter 0) into a height × width array."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + data)
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) == (8, 0, 0)
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return np.ascontiguousarray(rows[:, 1:])


def _qr_png(response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + response.headers["content-type"].encode() + b"\r\n\r\n"
        + response.content
    )
    [part] = list(message.iter_parts())
    assert part.get_content_type() == "image/png"
    assert part["Content-Transfer-Encoding"] == "base64"
    return part.get_payload(decode=True)


@pytest.mark.parametrize(
    ("config", "size", "suffix"),
    [(None, (500, 500), ""),
     ({"width": 150, "height": 150}, (150, 150), ""),
     ({"width": 300, "height": 200, "action": "pay"}, (300, 200), ""),
     ({"width": 500, "height": 500, "action": "DETAILS"}, (500, 500), "?view=details")],
    ids=["default", "150x150", "300x200", "500x500-details"],
)
def test_qr_code_encodes_the_payer_page(
    api: Api, config: dict[str, Any] | None, size: tuple[int, int], suffix: str
) -> None:
    invoice_id = make(api, "SENT")
    pixels = _png_pixels(_qr_png(api.post(f"{INV}/{invoice_id}/generate-qr-code", config)))
    assert (pixels.shape[1], pixels.shape[0]) == size
    # zxing may report one symbol more than once (depending on the URL's pixels): every
    # reading must be the one QR code of the payer page.
    codes = zxingcpp.read_barcodes(pixels)
    assert codes and {code.format for code in codes} == {zxingcpp.BarcodeFormat.QRCode}
    url = api.invoice(invoice_id)["detail"]["metadata"]["recipient_view_url"]
    assert url.startswith(api.base_url)
    assert {code.text for code in codes} == {url + suffix}


@pytest.mark.parametrize(
    ("config", "issue"),
    [({"width": 149}, "INVALID_INTEGER_MIN_VALUE"),
     ({"height": 149}, "INVALID_INTEGER_MIN_VALUE"),
     ({"width": 501, "height": 300}, "INVALID_INTEGER_MAX_VALUE"),
     ({"height": 501}, "INVALID_INTEGER_MAX_VALUE")],
)
def test_qr_code_size_bounds(api: Api, config: dict[str, int], issue: str) -> None:
    invoice_id = make(api, "SENT")
    refused(api.post(f"{INV}/{invoice_id}/generate-qr-code", config), 400, issue)


@pytest.mark.parametrize("state", ["DRAFT", "SCHEDULED"])
def test_qr_code_only_for_sent_invoices(api: Api, state: str) -> None:
    invoice_id = make(api, state)
    before = api.invoice(invoice_id)
    refused(api.post(f"{INV}/{invoice_id}/generate-qr-code", {"width": 200, "height": 200}),
            422, "INVALID_INVOICE_STATUS")
    assert api.invoice(invoice_id) == before


# --- templates --------------------------------------------------------------------------------


def _template(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, **fields}


def test_system_templates_cannot_be_deleted_or_replaced(api: Api) -> None:
    before = templates(api)
    assert [(t["name"], t["standard_template"]) for t in before] == [
        ("Amount", True), ("Hours", True), ("Quantity", True)]
    for system in before:
        refused(api.delete(f"{TPL}/{system['id']}"), 403, "CANNOT_DELETE_GLOBAL_TEMPLATE")
        refused(api.put(f"{TPL}/{system['id']}", _template("Mine")), 403,
                "CANNOT_UPDATE_GLOBAL_TEMPLATE")
    assert templates(api) == before


def test_at_most_fifty_merchant_templates(api: Api) -> None:
    made = [ok(api.post(TPL, _template(f"T{i:02}")), 201)["id"] for i in range(50)]
    before = templates(api)
    assert len(before) == 53
    refused(api.post(TPL, _template("T50")), 422, "TEMPLATE_LIMIT_REACHED")
    assert templates(api) == before
    ok(api.delete(f"{TPL}/{made[0]}"), 204)
    refused(api.get(f"{TPL}/{made[0]}"), 404, "INVALID_RESOURCE_ID")
    ok(api.post(TPL, _template("T50")), 201)


def test_template_names_are_unique(api: Api) -> None:
    monthly = ok(api.post(TPL, _template("Monthly")), 201)
    weekly = ok(api.post(TPL, _template("Weekly")), 201)
    before = templates(api)
    for name in ("Monthly", "Quantity"):
        refused(api.post(TPL, _template(name)), 400, "TEMPLATE_NAME_ALREADY_EXISTS")
        refused(api.put(f"{TPL}/{weekly['id']}", _template(name)), 400,
                "TEMPLATE_NAME_ALREADY_EXISTS")
    assert templates(api) == before
    renamed = ok(api.put(f"{TPL}/{monthly['id']}", _template("Monthly", unit_of_measure="HOURS")))
    assert renamed["name"] == "Monthly"  # keeping its own name is fine


TEMPLATE_INFO: dict[str, Any] = {
    "detail": {"currency_code": "USD", "memo": "Template memo", "note": "Template note",
               "payment_term": {"term_type": "NET_30"}},
    "items": [item("Hour", "3", "40.00")],
}


@pytest.mark.parametrize(
    ("body", "memo", "items", "total", "term"),
    [
        ({}, "Template memo", ["Hour"], "120.00", ("NET_30", 30)),
        ({"detail": {"currency_code": "USD", "memo": "Own memo"}}, "Own memo", ["Hour"],
         "120.00", ("NET_30", 30)),
        ({"items": [item("Fee", "1", "10.00"), item("Fee 2", "2", "2.50")]}, "Template memo",
         ["Fee", "Fee 2"], "15.00", ("NET_30", 30)),
        ({"detail": {"currency_code": "USD", "payment_term": {"term_type": "NET_10"}}},
         "Template memo", ["Hour"], "120.00", ("NET_10", 10)),
        ({"detail": {"currency_code": "USD", "payment_term": {"due_date": FUTURE}}},
         "Template memo", ["Hour"], "120.00", ("DUE_ON_DATE_SPECIFIED", FUTURE)),
    ],
    ids=["from-template", "own-memo", "own-items", "own-term", "own-due-date"],
)
def test_template_prepopulates_invoice(
    api: Api, body: dict[str, Any], memo: str, items: list[str], total: str,
    term: tuple[str, int | str],
) -> None:
    template = ok(api.post(TPL, _template("Consulting", template_info=TEMPLATE_INFO)), 201)
    invoice = ok(api.post(INV, {**body, "configuration": {"template_id": template["id"]}}), 201)
    detail = invoice["detail"]
    assert detail["memo"] == memo
    assert detail["note"] == "Template note"
    assert [i["name"] for i in invoice["items"]] == items
    assert invoice["amount"]["value"] == total
    assert invoice["due_amount"]["value"] == total
    term_type, due = term
    if isinstance(due, int):
        due = (dt.date.fromisoformat(detail["invoice_date"]) + dt.timedelta(days=due)).isoformat()
    assert detail["payment_term"] == {"term_type": term_type, "due_date": due}
    assert invoice["configuration"]["template_id"] == template["id"]
    assert api.invoice(invoice["id"]) == invoice


@pytest.mark.parametrize(
    ("configuration", "issue"),
    [({"template_id": "TEMP-NOSUCHTEMPLATE00"}, "INVALID_PARAMETER_VALUE"),
     ("TEMP-NOSUCHTEMPLATE00", "INVALID_PARAMETER_SYNTAX")],
)
def test_invoice_template_must_exist(api: Api, configuration: Any, issue: str) -> None:
    refused(api.post(INV, {**invoice_body(), "configuration": configuration}), 400, issue)
    assert api.count() == 0


def test_template_full_put_replaces_and_lists(api: Api) -> None:
    settings = {"template_item_settings": [{"field_name": "ITEMS_DATE",
                                            "display_preference": {"hidden": True}}]}
    created = ok(api.post(TPL, _template("Retainer", template_info=TEMPLATE_INFO,
                                         settings=settings, unit_of_measure="HOURS")), 201)
    assert created["template_info"] == TEMPLATE_INFO
    assert created["standard_template"] is False
    no_currency = _template("Retainer v2", template_info={"detail": {"note": "Only a note"}})
    refused(api.put(f"{TPL}/{created['id']}", no_currency), 400, "MISSING_REQUIRED_PARAMETER")
    assert ok(api.get(f"{TPL}/{created['id']}")) == created

    info = {"detail": {"currency_code": "EUR", "note": "Only a note"}}
    replaced = ok(api.put(f"{TPL}/{created['id']}", _template("Retainer v2", template_info=info)))
    fetched = ok(api.get(f"{TPL}/{created['id']}"))
    assert replaced == fetched
    assert fetched["name"] == "Retainer v2"
    assert fetched["template_info"] == info
    assert "settings" not in fetched
    assert "unit_of_measure" not in fetched
    listed = templates(api)
    assert [t for t in listed if t["id"] == created["id"]] == [fetched]

    bare = templates(api, fields="none")
    assert [t["id"] for t in bare] == [t["id"] for t in listed]
    for short, full in zip(bare, listed, strict=True):
        assert set(short) <= {"id", "name", "default_template", "links"}
        assert short == {k: full[k] for k in short}
        assert {"id", "name"} <= set(short)


def test_only_one_default_template(api: Api) -> None:
    def defaults() -> list[str]:
        return [t["name"] for t in templates(api) if t.get("default_template")]

    assert defaults() == ["Quantity"]
    first = ok(api.post(TPL, _template("First", default_template=True)), 201)
    assert defaults() == ["First"]
    second = ok(api.post(TPL, _template("Second", default_template=True)), 201)
    assert defaults() == ["Second"]
    assert ok(api.get(f"{TPL}/{first['id']}"))["default_template"] is False
    ok(api.put(f"{TPL}/{first['id']}", _template("First", default_template=True)))
    assert defaults() == ["First"]
    assert ok(api.get(f"{TPL}/{second['id']}"))["default_template"] is False
    ok(api.put(f"{TPL}/{first['id']}", _template("First", default_template=False)))
    assert defaults() == []


# --- recipients and full updates ------------------------------------------------------------


def test_primary_recipient_changes_twice_per_72_hours(timed: Timed) -> None:
    _, api = timed
    invoice_id = make(api, "SENT", email="r0@example.com")

    def put(mail: str, **detail: Any) -> httpx.Response:
        return api.put(f"{INV}/{invoice_id}", invoice_body(email=mail, **detail))

    ok(put("r1@example.com"))
    move_clock(timed, days=1)
    ok(put("r2@example.com"))
    ok(put("R2@example.com", memo="same recipient, other case"))  # not a change
    before = api.invoice(invoice_id)
    limit = "RECIPIENT_CHANGE_LIMIT_EXCEEDED"
    refused(put("r3@example.com"), 422, limit)
    move_clock(timed, to=dt.datetime(2025, 1, 18, 8, 59, 59, tzinfo=dt.UTC))  # 71:59:59 on
    refused(put("r3@example.com"), 422, limit)
    assert api.invoice(invoice_id) == before

    move_clock(timed, seconds=1)  # 72 h after the first change: it no longer counts
    ok(put("r3@example.com"))
    refused(put("r4@example.com"), 422, limit)  # the 2025-01-16 change still counts
    move_clock(timed, days=1)
    ok(put("r4@example.com"))
    email_now = api.invoice(invoice_id)["primary_recipients"][0]["billing_info"]["email_address"]
    assert email_now == "r4@example.com"


def test_full_put_replaces_writable_fields(timed: Timed) -> None:
    _, api = timed
    invoice_id = make(api, "PARTIALLY_PAID", number="PUT-1", memo="Memo", reference="PO-9",
                      note="A note", terms_and_conditions="Pay soon")
    before = api.invoice(invoice_id)
    move_clock(timed, days=1)
    design = {**item("Design", "3", "50.00"), "discount": {"percent": "10"},
              "tax": {"name": "VAT", "percent": "10"}}
    body = invoice_body(items=[design])
    updated = ok(api.put(f"{INV}/{invoice_id}", body))
    assert api.invoice(invoice_id) == updated
    detail = updated["detail"]
    for gone in ("memo", "reference", "note", "terms_and_conditions"):
        assert gone not in detail
    assert (updated["id"], updated["status"]) == (invoice_id, "PARTIALLY_PAID")
    assert detail["invoice_number"] == "PUT-1"
    metadata, old = detail["metadata"], before["detail"]["metadata"]
    assert metadata["create_time"] == old["create_time"] == "2025-01-15T09:00:00Z"
    assert metadata["first_sent_time"] == old["first_sent_time"]
    assert metadata["last_update_time"] == "2025-01-16T09:00:00Z"
    assert updated["payments"] == before["payments"]
    assert [i["name"] for i in updated["items"]] == ["Design"]
    breakdown = updated["amount"]["breakdown"]
    assert updated["amount"]["value"] == "148.50"  # 150.00 - 10 % + 10 % tax on 135.00
    assert breakdown["item_total"] == money("150.00")
    assert breakdown["discount"]["item_discount"] == money("-15.00")  # PayPal's sign
    assert breakdown["tax_total"] == money("13.50")
    assert updated["due_amount"] == money("118.50")

    refused(api.put(f"{INV}/{invoice_id}", invoice_body(items=[item("Less", "1", "29.99")])),
            422, "AMOUNT_LESS_THAN_PAID")
    assert api.invoice(invoice_id) == updated
    settled = ok(api.put(f"{INV}/{invoice_id}", invoice_body(items=[item("Exact", "1", "30")])))
    assert settled["due_amount"] == money("0.00")
    assert settled["status"] == "MARKED_AS_PAID"  # what was paid now covers the total


# --- search and list ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searchable() -> Iterator[Api]:
    """A merchant with four invoices created a day apart from 2025-03-01 09:00 UTC:

    ======  ========  ==============  ==========  ==========  ============  ================
    number  total     status          issued      due         recipient     paid (on)
    ======  ========  ==============  ==========  ==========  ============  ================
    S-100   100 USD   MARKED_AS_PAID  2025-02-25  2025-03-27  Ada Lovelace  100 (2025-03-01)
    S-200   250 EUR   PARTIALLY_PAID  2025-03-02  2025-03-02  Grace Hopper  50 (2025-03-02)
    S-300   40 USD    DRAFT           2025-03-03  2025-03-03  (none)
    S-400   1000 USD  SCHEDULED       2025-03-10  2025-03-20  Alan Turing
    ======  ========  ==============  ==========  ==========  ============  ================
    """
    clock = Clock(dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC), frozen=True)
    with start(clock=clock) as running:
        api = Api(running.base_url, *new_merchant(running.emulator))

        def create(body: dict[str, Any]) -> str:
            """Create an invoice on the next day (the first one on 2025-03-01)."""
            if api.count():
                clock.advance(days=1)
                api.token = api.fetch_token()
            return ok(api.post(INV, body), 201)["id"]

        a = create(invoice_body(number="S-100", invoice_date="2025-02-25", term="NET_30",
                                reference="PO-1", memo="first", email="ada@example.com"))
        ok(api.send(a))
        ok(api.pay(a))
        b_body = invoice_body(currency="EUR", number="S-200", reference="PO-2", memo="second",
                              items=[item("Audit", "1", "250.00", "EUR")])
        b_body["primary_recipients"] = recipient("grace@example.com", "Grace", "Hopper",
                                                 "Navy Ltd")
        b = create(b_body)
        ok(api.send(b))
        ok(api.pay(b, "50.00", "EUR"))
        create(invoice_body(number="S-300", email=None, items=[item("Box", "1", "40.00")]))
        d_body = invoice_body(number="S-400", invoice_date="2025-03-10", term="NET_10",
                              reference="PO-4", memo="fourth",
                              items=[item("Machine", "10", "100.00")])
        d_body["primary_recipients"] = recipient("alan@example.com", "Alan", "Turing",
                                                 "Bletchley Park")
        d = create(d_body)
        ok(api.send(d), 202)
        yield api
        api.http.close()


def _day(start: str, end: str | None = None) -> dict[str, str]:
    return {"start": f"{start}T00:00:00Z", "end": f"{end or start}T23:59:59Z"}


def _usd(low: str, high: str, currency: str = "USD") -> dict[str, Any]:
    return {"lower_amount": money(low, currency), "upper_amount": money(high, currency)}


#: filter -> [(value, the invoice numbers it matches, newest first)], positive and negative.
FILTERS: dict[str, list[tuple[Any, list[str]]]] = {
    "recipient_email": [("ADA@example.com", ["S-100"]), ("ada@example", [])],
    "recipient_first_name": [("Grace", ["S-200"]), ("Gracie", [])],
    "recipient_last_name": [("turing", ["S-400"]), ("Turin", [])],
    "recipient_business_name": [("Analytical Engines Ltd", ["S-100"]), ("Analytical", [])],
    "invoice_number": [("s-200", ["S-200"]), ("S-20", [])],
    "status": [(["DRAFT", "SCHEDULED"], ["S-400", "S-300"]),
               (["MARKED_AS_PAID", "PARTIALLY_PAID"], ["S-200", "S-100"]),
               (["CANCELLED", "SENT", "UNPAID"], [])],
    "reference": [("PO-4", ["S-400"]), ("PO-3", [])],
    "currency_code": [("USD", ["S-400", "S-300", "S-100"]), ("EUR", ["S-200"]), ("JPY", [])],
    "memo": [("FIRST", ["S-100"]), ("firs", [])],
    "total_amount_range": [(_usd("40.00", "100.00"), ["S-300", "S-100"]),
                           (_usd("100.00", "1000"), ["S-400", "S-100"]),
                           (_usd("200", "300", "EUR"), ["S-200"]),
                           (_usd("100.01", "999.99"), []),
                           (_usd("200", "300"), [])],
    "invoice_date_range": [({"start": "2025-03-02", "end": "2025-03-03"}, ["S-300", "S-200"]),
                           ({"start": "2025-02-25", "end": "2025-02-25"}, ["S-100"]),
                           ({"start": "2025-03-04", "end": "2025-03-09"}, [])],
    "due_date_range": [({"start": "2025-03-20", "end": "2025-03-27"}, ["S-400", "S-100"]),
                       ({"start": "2025-03-04", "end": "2025-03-19"}, [])],
    "payment_date_range": [(_day("2025-03-02"), ["S-200"]),
                           (_day("2025-03-01", "2025-03-31"), ["S-200", "S-100"]),
                           (_day("2025-03-03", "2025-03-31"), [])],
    "creation_date_range": [({"start": "2025-03-01T00:00:00Z", "end": "2025-03-02T09:00:00Z"},
                             ["S-200", "S-100"]),
                            ({"start": "2025-03-03T09:00:01Z", "end": "2025-03-31T00:00:00Z"},
                             ["S-400"]),
                            (_day("2025-02-01", "2025-02-28"), [])],
    "archived": [(False, ["S-400", "S-300", "S-200", "S-100"]), (True, [])],
}
#: One value per filter that S-100 matches: all of them together match S-100 only.
MATCH_S100: dict[str, Any] = {
    "recipient_email": "ada@example.com", "recipient_first_name": "Ada",
    "recipient_last_name": "Lovelace", "recipient_business_name": "Analytical Engines Ltd",
    "invoice_number": "S-100", "status": ["MARKED_AS_PAID"], "reference": "PO-1",
    "currency_code": "USD", "memo": "first", "total_amount_range": _usd("100", "100"),
    "invoice_date_range": {"start": "2025-02-25", "end": "2025-02-25"},
    "due_date_range": {"start": "2025-03-27", "end": "2025-03-27"},
    "payment_date_range": _day("2025-03-01"), "creation_date_range": _day("2025-03-01"),
    "archived": False, "fields": ["items", "payments"],
}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [pytest.param({key: value}, found, id=f"{key}-{i}")
     for key, cases in FILTERS.items() for i, (value, found) in enumerate(cases)],
)
def test_search_filter(searchable: Api, filters: dict[str, Any], expected: list[str]) -> None:
    found = search(searchable, filters, total_required="true")
    assert numbers(found) == expected
    assert found["total_items"] == len(expected)


@pytest.mark.parametrize("mismatch", [k for k in MATCH_S100 if k != "fields"])
def test_search_filters_must_all_match(searchable: Api, mismatch: str) -> None:
    assert numbers(search(searchable, MATCH_S100)) == ["S-100"]
    other = next(value for value, found in FILTERS[mismatch] if "S-100" not in found)
    assert numbers(search(searchable, {**MATCH_S100, mismatch: other})) == []


@pytest.mark.parametrize(
    ("fields", "items", "transactions"),
    [(None, False, False), ([], False, False), (["items"], True, False),
     (["payments"], False, True), (["ITEMS", " payments "], True, True)],
)
def test_search_fields_choose_collections(
    searchable: Api, fields: list[str] | None, items: bool, transactions: bool
) -> None:
    filters = {"invoice_number": "S-100"} if fields is None else {
        "invoice_number": "S-100", "fields": fields}
    [found] = search(searchable, filters)["items"]
    full = ok(searchable.get(f"{INV}/{found['id']}"))
    assert ("items" in found) is items
    assert ("transactions" in found["payments"]) is transactions
    assert found["payments"]["paid_amount"] == money("100.00")
    # a summary, as PayPal's: the total without its breakdown, the times of its metadata
    assert found["amount"] == {k: full["amount"][k] for k in ("currency_code", "value")}
    times = {k: v for k, v in full["detail"]["metadata"].items() if k.endswith("_time")}
    assert found["detail"]["metadata"] == times
    assert found["detail"]["payment_term"] == full["detail"]["payment_term"]
    assert "configuration" not in found and "invoicer" not in found
    if items:
        assert found["items"] == full["items"]


@pytest.mark.parametrize("status", [None, ["SENT"]])
def test_search_pages_newest_first(api: Api, status: list[str] | None) -> None:
    ids = [api.create(number=f"P-{i}")["id"] for i in range(1, 8)]
    for invoice_id in ids[1::2]:
        ok(api.send(invoice_id))
    filters = {"status": status} if status else {}
    expected = [f"P-{i}" for i in range(7, 0, -1) if status is None or i % 2 == 0]
    pages, seen = -(-len(expected) // 3), []
    for page in range(1, pages + 2):
        found = ok(api.post(SEARCH, filters,
                            params={"page": page, "page_size": 3, "total_required": "true"}))
        assert (found["total_items"], found["total_pages"]) == (len(expected), pages)
        rels = {link["rel"] for link in found["links"]}
        assert ("next" in rels) is (page < pages)
        assert ("prev" in rels) is (page > 1)
        seen += numbers(found)
    assert seen == expected
    unsized = ok(api.post(SEARCH, filters, params={"page_size": 3}))
    assert "total_items" not in unsized and "total_pages" not in unsized
    assert numbers(unsized) == expected[:3]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    ("param", "value", "issue"),
    [("page", 0, "INVALID_INTEGER_MIN_VALUE"), ("page", 1001, "INVALID_INTEGER_MAX_VALUE"),
     ("page_size", 0, "INVALID_INTEGER_MIN_VALUE"),
     ("page_size", 101, "INVALID_INTEGER_MAX_VALUE"),
     ("page", 1000, None), ("page_size", 100, None), ("page", 1, None), ("page_size", 1, None)],
)
def test_paging_bounds(
    searchable: Api, method: str, param: str, value: int, issue: str | None
) -> None:
    path, body = (INV, None) if method == "GET" else (SEARCH, {})
    response = searchable.request(method, path, body, params={param: value})
    if issue:
        refused(response, 400, issue)
    else:
        found = ok(response)
        expected = ["S-400", "S-300", "S-200", "S-100"]
        assert numbers(found) == (expected[:value] if param == "page_size" else
                                  expected if value == 1 else [])


def test_search_defaults_omit_items_and_list_fields(searchable: Api) -> None:
    assert all("items" not in inv for inv in search(searchable, {})["items"])
    refused(searchable.post(SEARCH, {"fields": ["items", "colour"]}), 400,
            "INVALID_PARAMETER_SYNTAX")
    listed = ok(searchable.get(INV, params={"total_required": "true"}))
    assert (listed["total_items"], listed["total_pages"]) == (4, 1)
    assert numbers(listed) == ["S-400", "S-300", "S-200", "S-100"]
    for summary in listed["items"]:  # fields=all (the default): whole invoices
        assert summary == ok(searchable.get(f"{INV}/{summary['id']}"))
    bare = ok(searchable.get(INV, params={"fields": "NONE"}))
    assert numbers(bare) == numbers(listed)
    assert "total_items" not in bare
    assert all("items" not in inv for inv in bare["items"])
    assert all(inv["amount"] for inv in bare["items"])


@pytest.mark.parametrize("fields", ["all", "none"])
def test_list_pages(searchable: Api, fields: str) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        found = ok(searchable.get(INV, params={"page": page, "page_size": 3, "fields": fields,
                                               "total_required": "true"}))
        assert (found["total_items"], found["total_pages"]) == (4, 2)
        assert {"next" in {lnk["rel"] for lnk in found["links"]}} == {page == 1}
        assert all(("items" in inv) is (fields == "all") for inv in found["items"])
        seen += numbers(found)
    assert seen == ["S-400", "S-300", "S-200", "S-100"]
