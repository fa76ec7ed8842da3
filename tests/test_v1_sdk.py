"""PayPal's own deprecated v1 Python SDK (``paypalrestsdk``) drives a whole lifecycle against
the emulator, unchanged: only its ``endpoint`` option points at the emulator's base URL
(the SDK takes any URL there, plain http on loopback included). Skipped only when the
package is not installed.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import new_merchant

from ppnb.emulator import Clock, RunningEmulator, start

paypal = pytest.importorskip("paypalrestsdk")

START = dt.datetime(2014, 7, 10, 18, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sdk() -> Iterator[tuple[RunningEmulator, Any]]:
    with start(clock=Clock(START, frozen=True)) as running:
        client_id, secret = new_merchant(running.emulator)
        api = paypal.Api(mode="sandbox", endpoint=running.base_url, client_id=client_id,
                         client_secret=secret)
        yield running, api
    running.emulator.close()


def invoice_attributes(email: str = "example@example.com") -> dict[str, Any]:
    """The SDK's own sample invoice (samples/invoice/create.py), a number where it has one."""
    return {
        "merchant_info": {"email": "jaypatel512-facilitator@hotmail.com", "first_name": "Dennis",
                          "last_name": "Doctor", "business_name": "Medical Professionals, LLC",
                          "phone": {"country_code": "001", "national_number": "5032141716"},
                          "address": {"line1": "1234 Main St.", "city": "Portland",
                                      "state": "OR", "postal_code": "97217",
                                      "country_code": "US"}},
        "billing_info": [{"email": email}],
        "items": [{"name": "Sutures", "quantity": 100,
                   "unit_price": {"currency": "USD", "value": 5}}],
        "note": "Medical Invoice 16 Jul, 2013 PST",
        "payment_term": {"term_type": "NET_45"},
        "shipping_info": {"first_name": "Sally", "last_name": "Patient",
                          "business_name": "Not applicable",
                          "phone": {"country_code": "001", "national_number": "5039871234"},
                          "address": {"line1": "1234 Broad St.", "city": "Portland",
                                      "state": "OR", "postal_code": "97216",
                                      "country_code": "US"}},
    }


def test_invoice_lifecycle_through_the_sdk(sdk: tuple[RunningEmulator, Any]) -> None:
    running, api = sdk
    invoice = paypal.Invoice(invoice_attributes(), api=api)
    assert invoice.create(), invoice.error
    assert invoice.status == "DRAFT" and invoice.total_amount.value == "500.00"
    assert invoice.invoice_date == "2014-07-10 PDT"
    invoice.note = "Updated through the SDK"
    assert invoice.update(), invoice.error  # PUTs back everything it read, ids and links too
    found = paypal.Invoice.find(invoice.id, api=api)
    assert (found.note, found.total_amount.value) == ("Updated through the SDK", "500.00")
    assert found.shipping_info.phone.country_code == "1"
    assert invoice.send(), invoice.error
    assert paypal.Invoice.find(invoice.id, api=api).status == "SENT"
    assert invoice.remind({"subject": "Past due", "note": "Please pay soon",
                           "send_to_merchant": True}), invoice.error
    code = invoice.get_qr_code(height=200, width=300, api=api)
    assert base64.b64decode(code.image)[:4] == b"\x89PNG"
    assert invoice.record_payment({"method": "CASH", "date": "2014-07-06 03:30:00 PST",
                                   "note": "Cash received.",
                                   "amount": {"currency": "USD", "value": "100.00"}})
    paid = paypal.Invoice.find(invoice.id, api=api)
    assert paid.status == "PARTIALLY_PAID" and paid.paid_amount.other.value == "100.00"
    assert invoice.record_payment({"method": "CHECK"}), invoice.error
    assert invoice.record_refund({"date": "2014-07-10 14:00:00 PST", "note": "Refunded",
                                  "amount": {"currency": "USD", "value": "50.00"}})
    refunded = paypal.Invoice.find(invoice.id, api=api)
    assert refunded.status == "PARTIALLY_REFUNDED"
    invoice.delete_external_refund(refunded.refunds[0].transaction_id)
    invoice.delete_external_payment(refunded.payments[0].transaction_id)
    assert paypal.Invoice.find(invoice.id, api=api).status == "PARTIALLY_PAID"
    # the same invoice, as the v2 book holds it
    stored = running.emulator.invoice(invoice.id, api.client_id)
    assert stored["status"] == "PARTIALLY_PAID" and stored["due_amount"]["value"] == "100.00"


def test_cancel_delete_list_search_and_number(sdk: tuple[RunningEmulator, Any]) -> None:
    _, api = sdk
    sent = paypal.Invoice(invoice_attributes("cancel-me@example.com"), api=api)
    assert sent.create() and sent.send()
    assert sent.cancel({"subject": "Past due", "note": "Canceling invoice",
                        "send_to_merchant": True, "send_to_payer": True}), sent.error
    assert paypal.Invoice.find(sent.id, api=api).status == "CANCELLED"
    draft = paypal.Invoice(invoice_attributes("draft@example.com"), api=api)
    assert draft.create() and draft.delete()
    with pytest.raises(paypal.ResourceNotFound):
        paypal.Invoice.find(draft.id, api=api)
    history = paypal.Invoice.all({"page": 0, "page_size": 10, "total_count_required": True},
                                 api=api)
    assert history.total_count == len(history.invoices) >= 2
    assert history.invoices[0].id == sent.id
    found = paypal.Invoice.search({"email": "cancel", "status": ["CANCELLED"], "page": 0,
                                   "page_size": 3, "total_count_required": True}, api=api)
    assert found.total_count == 1 and found.invoices[0].id == sent.id
    number = paypal.Invoice.next_invoice_number(api=api)
    assert int(number.number) > int(sent.number)
    refused = paypal.Invoice(invoice_attributes(), api=api)
    refused.items[0].unit_price.currency = "XXX"
    assert not refused.create()  # 400s are answered, not raised, by the SDK
    assert refused.error["name"] == "VALIDATION_ERROR"
    assert refused.error["details"][0]["field"] == "items[0].unit_price.currency"


def test_templates_through_the_sdk(sdk: tuple[RunningEmulator, Any]) -> None:
    _, api = sdk
    template = paypal.InvoiceTemplate({
        "name": "Hours Template", "default": True, "unit_of_measure": "HOURS",
        "template_data": {"items": [{"name": "Nutri Bullet", "quantity": 1,
                                     "unit_price": {"currency": "USD", "value": "50.00"}}],
                          "merchant_info": {"email": "jaypatel512-facilitator@hotmail.com"},
                          "tax_calculated_after_discount": False, "tax_inclusive": False,
                          "note": "Thank you for your business."},
        "settings": [{"field_name": "items.date", "display_preference": {"hidden": True}}]},
        api=api)
    assert template.create(), template.error
    assert template.template_id.startswith("TEMP-")
    found = paypal.InvoiceTemplate.find(template.template_id, api=api)
    assert found.name == "Hours Template" and found.unit_of_measure == "Hours"
    found.name = "Hours Template (renamed)"
    assert found.update(), found.error
    listed = paypal.InvoiceTemplate.all(api=api)
    assert "Hours Template (renamed)" in [t.name for t in listed.templates]
    assert found.delete()
    with pytest.raises(paypal.ResourceNotFound):
        paypal.InvoiceTemplate.find(template.template_id, api=api)
