"""Invoicing v1 on the emulator (issue 18): every operation, one book with v2, v1's errors.

Everything runs over loopback HTTP on a private emulator whose clock is frozen at
2025-01-15 09:00 UTC (01:00 PST, the same day in the merchant's zone), each test as its own
merchant.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import struct
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from helpers import Api, invoice_body, new_merchant

from ppnb.emulator import Clock, DeliveryPolicy, RunningEmulator, start
from ppnb.totals import compute

INV = "/v1/invoicing/invoices"
TPL = "/v1/invoicing/templates"
SEARCH = "/v1/invoicing/search"
START = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
INFO = "https://developer.paypal.com/docs/api/invoicing/v1/#errors"
#: A webhook URL nothing listens on: events are recorded, one delivery attempt fails fast.
HOOK = "http://127.0.0.1:9/hook"


def v1_body(*, currency: str = "USD", items: list[dict[str, Any]] | None = None,
            email: str | None = "customer@example.com", **extra: Any) -> dict[str, Any]:
    """A valid v1 create-invoice body; keyword arguments are v1 invoice fields."""
    body: dict[str, Any] = {
        "merchant_info": {"email": "merchant@example.com", "business_name": "Ledger & Co"},
        "items": copy.deepcopy(items) if items is not None else [
            {"name": "Consulting", "quantity": 2,
             "unit_price": {"currency": currency,
                            "value": "5000" if currency == "JPY" else "50.00"}}],
        **extra,
    }
    if email:
        body["billing_info"] = [{"email": email, "first_name": "Ada", "last_name": "Lovelace",
                                 "business_name": "Analytical Engines Ltd"}]
    return body


def running_emulator(when: dt.datetime = START) -> RunningEmulator:
    """A private emulator, clock frozen at ``when``, one quick delivery attempt per event."""
    return start(clock=Clock(when, frozen=True),
                 webhook_policy=DeliveryPolicy(attempts=1, timeout=1))


def events(api: Api, invoice_id: str) -> list[str]:
    """The webhook event types emitted for an invoice, oldest first."""
    found = api.get("/v1/notifications/webhooks-events", params={"page_size": 300}).json()
    return [e["event_type"] for e in reversed(found["events"])
            if e["resource"]["id"] == invoice_id]


def subscribe(api: Api) -> None:
    response = api.post("/v1/notifications/webhooks",
                        {"url": HOOK, "event_types": [{"name": "*"}]})
    assert response.status_code == 201, response.text


def count(api: Api) -> int:
    return api.post(SEARCH, {"total_count_required": True, "page_size": 1}).json()["total_count"]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningEmulator]:
    """This module's emulator, private and frozen (conftest's ``merchants`` and ``api`` make
    their merchants on it)."""
    with running_emulator() as running:
        yield running
    running.emulator.close()


@pytest.fixture
def v1(api: Api) -> Api:
    """A fresh merchant, spoken to in v1."""
    return api


def created(api: Api, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = api.post(INV, body or v1_body(), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def shown(api: Api, invoice_id: str) -> dict[str, Any]:
    response = api.get(f"{INV}/{invoice_id}")
    assert response.status_code == 200, response.text
    return response.json()


def v1_error(response: Any, status: int, name: str) -> dict[str, Any]:
    """Check a v1 error answer and return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["name"], body["information_link"]) == (name, INFO), body
    assert body["debug_id"] == response.headers["paypal-debug-id"]
    assert set(body) <= {"name", "message", "information_link", "debug_id", "details"}
    assert body["message"]
    return body


def test_a_v1_invoice_is_a_v2_invoice(v1: Api) -> None:
    made = created(v1, v1_body(note="Thanks", merchant_memo="own memo", reference="PO-7",
                               terms="No refunds", cc_info=[{"email": "cc@example.com"}],
                               payment_term={"term_type": "NET_30"},
                               shipping_info={"first_name": "Sally", "address": {
                                   "line1": "1 Broad St.", "city": "Portland", "state": "OR",
                                   "postal_code": "97216", "country_code": "US"}}))
    doc = v1.invoice(made["id"])
    detail = doc["detail"]
    assert (detail["currency_code"], detail["note"], detail["memo"], detail["reference"],
            detail["terms_and_conditions"], detail["invoice_number"]) == (
        "USD", "Thanks", "own memo", "PO-7", "No refunds", made["number"])
    assert detail["payment_term"] == {"term_type": "NET_30", "due_date": "2025-02-14"}
    recipient = doc["primary_recipients"][0]
    assert recipient["billing_info"]["email_address"] == "customer@example.com"
    assert recipient["billing_info"]["name"] == {"given_name": "Ada", "surname": "Lovelace"}
    assert recipient["shipping_info"]["address"]["admin_area_2"] == "Portland"
    assert doc["additional_recipients"] == ["cc@example.com"]
    assert doc["invoicer"]["email_address"] == "merchant@example.com"
    assert doc["items"][0]["quantity"] == "2"
    assert doc["amount"]["value"] == made["total_amount"]["value"] == "100.00"
    assert doc["configuration"]["tax_calculated_after_discount"] is False  # v1's default
    assert made["payment_term"] == {"term_type": "NET_30", "due_date": "2025-02-14 PST"}


def test_a_v2_invoice_reads_in_v1_and_both_act_on_it(v1: Api) -> None:
    v2_made = v1.create(memo="from v2", number="V2-1")
    got = shown(v1, v2_made["id"])
    assert (got["number"], got["status"], got["merchant_memo"]) == ("V2-1", "DRAFT", "from v2")
    assert got["billing_info"] == [{"email": "customer@example.com", "first_name": "Ada",
                                    "last_name": "Lovelace",
                                    "business_name": "Analytical Engines Ltd"}]
    assert got["items"] == [{"name": "Consulting", "quantity": 2,
                             "unit_price": {"currency": "USD", "value": "50.00"}}]
    assert got["total_amount"] == {"currency": "USD", "value": "100.00"}
    assert got["tax_calculated_after_discount"] is True  # v2's default, in force
    assert [link["rel"] for link in got["links"]][:3] == ["send", "delete", "update"]
    assert v1.post(f"{INV}/{v2_made['id']}/send").status_code == 202
    assert v1.invoice(v2_made["id"])["status"] == "SENT"
    v1_made = created(v1)
    assert v1.send(v1_made["id"]).status_code == 200  # a v1 invoice sent through v2
    assert v1.post(f"{INV}/{v1_made['id']}/record-payment", {"method": "CASH"}).status_code \
        == 200
    assert shown(v1, v1_made["id"])["status"] == "MARKED_AS_PAID"
    assert v1.invoice(v1_made["id"])["due_amount"]["value"] == "0.00"


def test_totals_are_the_ones_ppnb_totals_computes(v1: Api) -> None:
    items = [
        {"name": "Hours", "quantity": 1.5, "unit_price": {"currency": "EUR", "value": "80"},
         "tax": {"name": "VAT", "percent": 8.25}, "discount": {"percent": 10}},
        {"name": "Kit", "quantity": 3, "unit_price": {"currency": "EUR", "value": "19.99"},
         "discount": {"amount": {"currency": "EUR", "value": "2.50"}},
         "tax": {"name": "VAT", "percent": 8.25}},
    ]
    body = v1_body(items=items, discount={"percent": 5},
                   shipping_cost={"amount": {"currency": "EUR", "value": "7.00"},
                                  "tax": {"name": "Ship tax", "percent": 10}},
                   custom={"label": "Fee", "amount": {"currency": "EUR", "value": "-1.10"}})
    made = created(v1, body)
    twin = invoice_body(currency="EUR", items=[
        {"name": "Hours", "quantity": "1.5", "unit_amount": {"currency_code": "EUR",
                                                             "value": "80"},
         "tax": {"name": "VAT", "percent": "8.25"}, "discount": {"percent": "10"}},
        {"name": "Kit", "quantity": "3", "unit_amount": {"currency_code": "EUR", "value": "19.99"},
         "discount": {"amount": {"currency_code": "EUR", "value": "2.50"}},
         "tax": {"name": "VAT", "percent": "8.25"}}])
    twin["amount"] = {"breakdown": {
        "discount": {"invoice_discount": {"percent": "5"}},
        "shipping": {"amount": {"currency_code": "EUR", "value": "7.00"},
                     "tax": {"name": "Ship tax", "percent": "10"}},
        "custom": {"label": "Fee", "amount": {"currency_code": "EUR", "value": "-1.10"}}}}
    twin["configuration"] = {"tax_calculated_after_discount": False}
    expected = compute(twin, "EUR")
    assert Decimal(made["total_amount"]["value"]) == expected
    assert made["total_amount"]["value"] == v1.invoice(made["id"])["amount"]["value"]
    assert made["items"][0]["quantity"] == 1.5 and made["items"][0]["tax"]["percent"] == 8.25
    assert made["discount"] == {"percent": 5}
    assert made["items"][1]["discount"] == {"amount": {"currency": "EUR", "value": "2.50"}}
    assert made["shipping_cost"]["amount"] == {"currency": "EUR", "value": "7.00"}
    assert made["custom"] == {"label": "Fee", "amount": {"currency": "EUR", "value": "-1.10"}}
    yen = created(v1, v1_body(currency="JPY", items=[
        {"name": "Tea", "quantity": 3, "unit_price": {"currency": "JPY", "value": 1200}}]))
    assert yen["total_amount"] == {"currency": "JPY", "value": "3600"}


def test_lifecycle_in_v1(server: RunningEmulator, v1: Api) -> None:
    made = created(v1)
    echoed = v1.put(f"{INV}/{made['id']}", made)  # what a legacy SDK's update() sends
    assert echoed.status_code == 200, echoed.text
    assert {k: v for k, v in echoed.json().items() if k != "metadata"} == {
        k: v for k, v in made.items() if k != "metadata"}
    changed = copy.deepcopy(made)
    changed["items"][0]["quantity"] = 3
    assert v1.put(f"{INV}/{made['id']}", changed).json()["total_amount"]["value"] == "150.00"
    invoice_id = made["id"]
    assert v1.post(f"{INV}/{invoice_id}/send", params={"notify_merchant": "false"}
                   ).status_code == 202
    outbox = server.emulator.outbox
    assert [m["role"] for m in outbox(invoice_id=invoice_id)] == ["recipient"]
    reminded = v1.post(f"{INV}/{invoice_id}/remind", {"subject": "Past due", "note": "Please",
                                                      "send_to_merchant": True})
    assert (reminded.status_code, reminded.content) == (202, b"")
    assert [m["role"] for m in outbox(invoice_id=invoice_id, kind="reminder")] == [
        "recipient", "invoicer"]
    paid = v1.post(f"{INV}/{invoice_id}/record-payment", {
        "method": "CASH", "date": "2025-01-14 03:30:00 PST", "note": "Cash received.",
        "amount": {"currency": "USD", "value": "30"}})
    assert (paid.status_code, paid.content) == (200, b"")
    got = shown(v1, invoice_id)
    assert got["status"] == "PARTIALLY_PAID"
    [payment] = got["payments"]
    assert payment["transaction_id"].startswith("EXTR-")
    assert {k: v for k, v in payment.items() if k != "transaction_id"} == {
        "type": "EXTERNAL", "date": "2025-01-14 PST", "method": "CASH", "note": "Cash received.",
        "amount": {"currency": "USD", "value": "30.00"}}
    assert got["paid_amount"] == {"paypal": {"currency": "USD", "value": "0.00"},
                                  "other": {"currency": "USD", "value": "30.00"}}
    assert v1.post(f"{INV}/{invoice_id}/record-payment", {"method": "CHECK"}).status_code == 200
    got = shown(v1, invoice_id)
    assert got["status"] == "MARKED_AS_PAID"
    assert {link["rel"] for link in got["links"]} == {"record-refund"}
    assert v1.post(f"{INV}/{invoice_id}/record-refund", {
        "date": "2013-11-10 14:00:00 PST", "note": "Refunded by cash!",
        "amount": {"currency": "USD", "value": "20.00"}}).status_code == 200
    got = shown(v1, invoice_id)
    assert got["status"] == "PARTIALLY_REFUNDED"
    [refund] = got["refunds"]
    assert (refund["date"], refund["amount"]["value"]) == ("2013-11-10 PST", "20.00")
    assert got["refunded_amount"]["other"]["value"] == "20.00"
    gone = v1.delete(f"{INV}/{invoice_id}/refund-records/{refund['transaction_id']}")
    assert gone.status_code == 204
    assert shown(v1, invoice_id)["status"] == "MARKED_AS_PAID"
    gone = v1.delete(f"{INV}/{invoice_id}/payment-records/{payment['transaction_id']}")
    assert gone.status_code == 204
    got = shown(v1, invoice_id)
    assert (got["status"], got["paid_amount"]["other"]["value"]) == ("PARTIALLY_PAID", "120.00")
    v1_error(v1.delete(f"{INV}/{invoice_id}/payment-records/EXTR-NOPE"), 404,
             "INVALID_RESOURCE_ID")


def test_delete_cancel_and_business_refusals(server: RunningEmulator, v1: Api) -> None:
    draft = created(v1)
    assert v1.delete(f"{INV}/{draft['id']}").status_code == 204
    body = v1_error(v1.get(f"{INV}/{draft['id']}"), 404, "INVALID_RESOURCE_ID")
    assert body["message"] == "Requested invoice was not found."
    other = created(v1)
    refused = v1_error(v1.post(f"{INV}/{other['id']}/cancel", {}), 422,
                       "CANNOT_CANCEL_DRAFT_INVOICE")
    assert refused["message"] == "Draft invoice cannot be canceled."
    v1_error(v1.post(f"{INV}/{other['id']}/remind", {}), 422, "CANNOT_REMIND_INVOICE")
    assert v1.post(f"{INV}/{other['id']}/send").status_code == 202
    v1_error(v1.delete(f"{INV}/{other['id']}"), 422, "CANNOT_DELETE_INVOICE")
    cancelled = v1.post(f"{INV}/{other['id']}/cancel", {
        "subject": "Past due", "note": "Canceling invoice", "send_to_merchant": False,
        "send_to_payer": True})
    assert (cancelled.status_code, cancelled.content) == (204, b"")
    got = shown(v1, other["id"])
    assert got["status"] == "CANCELLED" and got["metadata"]["cancelled_date"] == \
        "2025-01-15 01:00:00 PST"
    assert "links" not in got
    assert [(m["role"], m["note"]) for m in server.emulator.outbox(
        invoice_id=other["id"], kind="cancellation")] == [("recipient", "Canceling invoice")]


def test_schedule_is_the_scheduled_event_and_goes_out_on_the_day() -> None:
    with running_emulator() as running:
        v1 = Api(running.base_url, *new_merchant(running.emulator))
        subscribe(v1)
        made = created(v1, v1_body(invoice_date="2025-01-20 PST"))
        scheduled = v1.post(f"{INV}/{made['id']}/schedule")
        assert scheduled.status_code == 202
        assert scheduled.json() == {"links": [{
            "href": f"{running.base_url}{INV}/{made['id']}", "rel": "self", "method": "GET"}]}
        got = shown(v1, made["id"])
        assert got["status"] == "SCHEDULED"
        assert [link["rel"] for link in got["links"]] == ["delete", "update"]
        assert events(v1, made["id"]) == ["INVOICING.INVOICE.CREATED",
                                          "INVOICING.INVOICE.SCHEDULED"]
        running.emulator.set_clock(dt.datetime(2025, 1, 20, 15, 0, tzinfo=dt.UTC))
        v1.token = v1.fetch_token()
        assert shown(v1, made["id"])["status"] == "SENT"
        assert events(v1, made["id"])[-1] == "INVOICING.INVOICE.SENT"
        assert {m["role"] for m in running.emulator.outbox(invoice_id=made["id"])} == {
            "recipient", "invoicer"}
        v1.http.close()
    running.emulator.close()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_qr_code_and_next_invoice_number(v1: Api) -> None:
    made = created(v1, v1_body(number="QR-0041"))
    v1_error(v1.get(f"{INV}/{made['id']}/qr-code"), 422, "INVALID_INVOICE_STATUS")
    assert v1.post(f"{INV}/{made['id']}/send").status_code == 202
    code = v1.get(f"{INV}/{made['id']}/qr-code", params={"width": 200, "height": 150})
    assert code.status_code == 200
    assert _png_size(base64.b64decode(code.json()["image"])) == (200, 150)
    assert _png_size(base64.b64decode(v1.get(f"{INV}/{made['id']}/qr-code").json()[
        "image"])) == (500, 500)
    bad = v1_error(v1.get(f"{INV}/{made['id']}/qr-code", params={"width": 50}), 400,
                   "VALIDATION_ERROR")
    assert bad["details"][0]["field"] == "width"
    number = v1.post(f"{INV}/next-invoice-number")
    assert number.json() == {"number": "QR-0042"}
    assert v1.post("/v2/invoicing/generate-next-invoice-number").json() == {
        "invoice_number": "QR-0042"}


def test_list_pages_by_offset(v1: Api) -> None:
    ids = [created(v1, v1_body(number=f"L-{n}"))["id"] for n in range(4)]
    ids.append(v1.create(number="L-4")["id"])
    newest = ids[::-1]
    first = v1.get(INV, params={"page": 0, "page_size": 2, "total_count_required": "true"})
    assert first.json()["total_count"] == 5
    assert [i["id"] for i in first.json()["invoices"]] == newest[:2]
    assert all("items" not in i for i in first.json()["invoices"])
    for offset, size in ((1, 2), (3, 3), (4, 2), (0, 5), (5, 1)):
        page = v1.get(f"{INV}/", params={"page": offset, "page_size": size}).json()
        assert "total_count" not in page
        assert [i["id"] for i in page["invoices"]] == newest[offset:offset + size]
    v1_error(v1.get(INV, params={"page_size": 101}), 400, "VALIDATION_ERROR")


def test_search_filters(v1: Api) -> None:
    people = [("zed@example.com", "Zoe", "Ng", "Acme", "10.00"),
              ("zeta@example.com", "Ada", "Nguyen", "Bolt", "50.00"),
              ("amy@example.com", "Amy", "Young", "Acme Labs", "120.00")]
    ids = []
    for n, (email, first, last, business, value) in enumerate(people):
        body = v1_body(number=f"S-{n}7", items=[{"name": "x", "quantity": 1, "unit_price": {
            "currency": "USD", "value": value}}], invoice_date=f"2025-01-1{n} PST")
        body["billing_info"] = [{"email": email, "first_name": first, "last_name": last,
                                 "business_name": business}]
        ids.append(created(v1, body)["id"])
    assert v1.post(f"{INV}/{ids[2]}/send").status_code == 202

    def found(**filters: Any) -> list[str]:
        response = v1.post(SEARCH, {**filters, "total_count_required": True})
        assert response.status_code == 200, response.text
        body = response.json()
        if "page" not in filters:
            assert body["total_count"] == len(body["invoices"])
        return sorted(i["id"] for i in body["invoices"])

    assert found(email="ZE") == sorted(ids[:2])
    assert found(recipient_last_name="ngu") == [ids[1]]
    assert found(recipient_first_name="a") == sorted(ids[1:])
    assert found(recipient_business_name="acme") == sorted([ids[0], ids[2]])
    assert found(number="-17") == [ids[1]]
    assert found(lower_total_amount="20", upper_total_amount=120) == sorted(ids[1:])
    assert found(status=["SENT"]) == [ids[2]] == found(status="SENT")
    assert found(start_invoice_date="2025-01-11 PST") == sorted(ids[1:])
    assert found(end_invoice_date="2025-01-10 PST") == [ids[0]]
    assert found(start_creation_date="2025-01-15 PST", end_creation_date="2025-01-15 PST") \
        == sorted(ids)
    assert found(end_creation_date="2025-01-14 PST") == []
    assert found(email="ze", page=1, page_size=1) == [ids[0]]  # offsets count matches only
    assert v1.post(SEARCH, {"email": "ze", "page": 1, "page_size": 1,
                            "total_count_required": True}).json()["total_count"] == 2
    bad = v1_error(v1.post(SEARCH, {"start_due_date": "15/01/2025", "page_size": 0}), 400,
                   "VALIDATION_ERROR")
    assert {d["field"] for d in bad["details"]} == {"start_due_date", "page_size"}


def test_templates(v1: Api) -> None:
    template = {
        "name": "Hours", "default": True, "unit_of_measure": "Hours",
        "template_data": {
            "merchant_info": {"email": "merchant@example.com"},
            "items": [{"name": "Nutri Bullet", "quantity": 1,
                       "unit_price": {"currency": "USD", "value": "50.00"}}],
            "note": "Thank you for your business.", "tax_calculated_after_discount": False},
        "settings": [{"field_name": "items.date", "display_preference": {"hidden": True}},
                     {"field_name": "shipping", "display_preference": {"hidden": False}}]}
    v1_error(v1.post(TPL, template), 400, "VALIDATION_ERROR")  # the name is taken: a system one
    template["name"] = "Hours billed"
    made = v1.post(TPL, template)
    assert made.status_code == 200, made.text
    saved = made.json()
    assert (saved["default"], saved["unit_of_measure"], saved["custom"]) == (True, "Hours", True)
    assert saved["settings"] == template["settings"]
    stored = v1.get(f"/v2/invoicing/templates/{saved['template_id']}").json()
    assert stored["unit_of_measure"] == "HOURS"
    assert stored["template_info"]["detail"]["currency_code"] == "USD"
    assert stored["settings"]["template_item_settings"][0]["field_name"] == "ITEMS_DATE"
    listed = v1.get(TPL).json()
    assert listed["emails"] and listed["templates"][-1]["template_id"] == saved["template_id"]
    system = listed["templates"][0]
    assert system["custom"] is False and [link["rel"] for link in system["links"]] == ["self"]
    v1_error(v1.put(f"{TPL}/{system['template_id']}", {"name": "Mine"}), 403,
             "CANNOT_UPDATE_GLOBAL_TEMPLATE")
    names = v1.get(TPL, params={"fields": "none"}).json()["templates"]
    assert set(names[0]) == {"template_id", "name", "default", "links"}
    invoice = created(v1, {"template_id": saved["template_id"],
                           "merchant_info": {"email": "merchant@example.com"},
                           "billing_info": [{"email": "customer@example.com"}]})
    assert (invoice["template_id"], invoice["total_amount"]["value"], invoice["note"]) == (
        saved["template_id"], "50.00", "Thank you for your business.")
    saved["name"] = "Hours, renamed"
    renamed = v1.put(f"{TPL}/{saved['template_id']}", saved)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Hours, renamed"
    assert v1.get(f"{TPL}/{saved['template_id']}").json()["name"] == "Hours, renamed"
    assert v1.delete(f"{TPL}/{saved['template_id']}").status_code == 204
    v1_error(v1.get(f"{TPL}/{saved['template_id']}"), 404, "INVALID_RESOURCE_ID")


BAD = [
    ({}, {"merchant_info", "items"}),
    (v1_body(items=[{"name": "x", "quantity": True, "unit_price": {"currency": "USD",
                                                                   "value": "1"}}]),
     {"items[0].quantity"}),
    (v1_body(invoice_date="27/02/2014"), {"invoice_date"}),
    (v1_body(payment_term={"due_date": "soon"}), {"payment_term.due_date"}),
    (v1_body(currency="XXX"), {"items[0].unit_price.currency"}),
    (v1_body(items=[{"name": "a", "quantity": 1, "unit_price": {"currency": "USD", "value": "1"}},
                    {"name": "b", "quantity": 1, "unit_price": {"currency": "EUR",
                                                                "value": "1"}}]),
     {"items[1].unit_price.currency"}),
    (v1_body(currency="JPY", items=[{"name": "a", "quantity": 1, "unit_price": {
        "currency": "JPY", "value": "1.5"}}]), {"items[0].unit_price.value"}),
    (v1_body(email="not-an-email"), {"billing_info[0].email"}),
    (v1_body(shipping_info={"first_name": "S", "phone": {"country_code": "abcd",
                                                         "national_number": "1"}}),
     {"shipping_info.phone.country_code"}),
    (v1_body(merchant_info={"email": "m@example.com", "first_name": "x" * 141}),
     {"merchant_info.first_name"}),
    (v1_body(items=[]), {"items"}),
]


@pytest.mark.parametrize(("body", "fields"), BAD)
def test_bad_input_gets_v1_errors_and_nothing_is_stored(
        server: RunningEmulator, v1: Api, body: dict[str, Any], fields: set[str]) -> None:
    subscribe(v1)
    payer = server.emulator.merchant(v1.client_id).payer_id
    body = v1_error(v1.post(INV, body), 400, "VALIDATION_ERROR")
    assert body["message"] == "Invalid request - see details"
    assert {d["field"] for d in body["details"]} == fields, body
    assert all(d["issue"] for d in body["details"])
    assert count(v1) == 0
    store = server.emulator.store
    assert store.one("SELECT COUNT(*) FROM events WHERE merchant = ?", (payer,))[0] == 0
    assert store.one("SELECT COUNT(*) FROM v1_fields WHERE merchant = ?", (payer,))[0] == 0


def test_malformed_json_and_refused_totals(v1: Api) -> None:
    bad = v1.post(INV, content=b'{"merchant_info": ', headers={"Content-Type":
                                                                 "application/json"})
    assert "not valid JSON" in v1_error(bad, 400, "MALFORMED_REQUEST")["details"][0]["issue"]
    negative = v1_error(v1.post(INV, v1_body(items=[{"name": "x", "quantity": -1, "unit_price": {
        "currency": "USD", "value": "5"}}])), 422, "INVALID_TOTAL_AMOUNT")
    assert negative["message"] == "The invoice total cannot be negative."
    assert count(v1) == 0


def test_idempotent_create_and_replayed_errors(v1: Api) -> None:
    first = created(v1, v1_body(), **{"PayPal-Request-Id": "v1-create-1"})
    again = created(v1, v1_body(), **{"PayPal-Request-Id": "v1-create-1"})
    assert again["id"] == first["id"] and count(v1) == 1
    v1_error(v1.post(INV, v1_body(note="else"), headers={"PayPal-Request-Id": "v1-create-1"}),
             409, "DUPLICATE_REQUEST_ID")
    refused = [v1.post(f"{INV}/{first['id']}/cancel", {}, headers={
        "PayPal-Request-Id": "v1-cancel-1"}) for _ in range(2)]
    names = {v1_error(r, 422, "CANNOT_CANCEL_DRAFT_INVOICE")["debug_id"] for r in refused}
    assert len(names) == 1  # the stored answer, replayed


def test_unknown_paths_and_methods_answer_in_v1(v1: Api) -> None:
    v1_error(v1.get("/v1/invoicing/nothing-here"), 404, "RESOURCE_NOT_FOUND")
    v1_error(v1.delete(SEARCH), 405, "METHOD_NOT_SUPPORTED")
    v1_error(v1.get(INV, auth=False), 401, "AUTHENTICATION_FAILURE")
    assert v1.get(f"{INV}/").status_code == 200
    assert v1.post(f"{SEARCH}/", {}).status_code == 200
