"""The notebook forms, driven as a notebook user would: set values, click, read the widgets.

ipywidgets swallows an exception raised in an ``on_click`` handler and only logs it, so every
test here fails on such a log record (see ``swallowed``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from helpers import new_merchant
from traitlets import log as traitlets_log

from ppnb.client import Client
from ppnb.emulator import RunningEmulator
from ppnb.pager import fetch_invoices
from ppnb.widgets import BulkAction, CancelForm, InvoiceForm, RemindForm, SendForm

TODAY = dt.date(2025, 1, 15)


@pytest.fixture(scope="module")
def running(frozen: RunningEmulator) -> RunningEmulator:
    """An emulator whose clock is frozen at 2025-01-15 09:00 UTC (reminders count per day)."""
    return frozen


@pytest.fixture
def client(running: RunningEmulator) -> Iterator[Client]:
    """A client for a fresh merchant."""
    with Client(running.base_url, *new_merchant(running.emulator)) as made:
        yield made


@pytest.fixture(autouse=True)
def swallowed() -> Iterator[list[logging.LogRecord]]:
    """Fail the test if a widget callback raised (ipywidgets only logs it)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = traitlets_log.get_logger()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    assert not records, [r.getMessage() for r in records]


def draft(client: Client, number: str | None = None, **detail: str) -> dict:
    body = {"detail": {"currency_code": "USD", **detail},
            "primary_recipients": [{"billing_info": {"email_address": "ada@example.com"}}],
            "items": [{"name": "Consulting", "quantity": "3",
                       "unit_amount": {"currency_code": "USD", "value": "40.00"}}]}
    if number:
        body["detail"]["invoice_number"] = number
    return client.invoices.create(body)


def sent(client: Client, number: str | None = None) -> dict:
    invoice = draft(client, number)
    client.invoices.send(invoice["id"])
    return client.invoices.get(invoice["id"])


def asked(mail: dict) -> tuple[str | None, str | None]:
    """The subject and note an outbox email's call asked for. PayPal ignores them on send and
    remind (OBSERVED.md); an emulator that copies this keeps them as ``requested_subject`` and
    ``requested_note`` beside its own, and one that does not sends them as asked."""
    return (mail.get("requested_subject", mail["subject"]),
            mail.get("requested_note", mail["note"]))


def fill(form: InvoiceForm, *, unit: str = "95.00", **fields: object) -> None:
    form.set(**{"email": "ada@example.com", "given_name": "Ada", "surname": "Lovelace",
                **fields})
    row = form.items[0]
    row.name.value, row.quantity.value, row.unit.value = "Consulting", "10", unit


# --- InvoiceForm --------------------------------------------------------------------------------


def test_empty_form_cannot_submit_and_says_why(client: Client) -> None:
    form = InvoiceForm(client)
    errors = form.validate()
    assert errors["email"] == "required"
    assert "name required" in errors["item 1"] and "unit amount required" in errors["item 1"]
    assert form._submit.disabled
    assert "required" in form.fields["email"].error.value
    assert "unit amount required" in form.items[0].error.value
    form._submit.click()
    assert "Fix the fields" in form._status.value
    assert form.result is None


def test_each_rule_is_checked_next_to_its_field(client: Client) -> None:
    form = InvoiceForm(client, templates=False)
    fill(form, email="not-an-email", currency="JPY", unit="1.5")
    errors = form.validate()
    assert "is not an email address" in errors["email"]
    assert errors["item 1"] == "unit amount takes no decimals in JPY"
    form.set(email="ada@example.com")
    form.items[0].unit.value = "1500"
    form.items[0].quantity.value = "-2"
    assert form.validate() == {"item 1": "quantity must be more than 0"}
    form.items[0].quantity.value = "2"
    form.items[0].tax.value = "120"
    assert form.validate() == {"item 1": "tax % must be from 0 to 100"}
    form.items[0].tax.value = ""
    form.set(term="DUE_ON_DATE_SPECIFIED", invoice_date=dt.date(2025, 1, 10),
             due_date=dt.date(2025, 1, 9))
    assert form.validate() == {"due_date": "2025-01-09 is before the invoice date 2025-01-10"}
    assert "before the invoice date" in form.fields["due_date"].error.value
    form.set(due_date=dt.date(2025, 1, 10))
    assert form.validate() == {}
    assert not form._submit.disabled
    for _ in range(100):
        form.add_item({"name": "x", "quantity": "1",
                       "unit_amount": {"currency_code": "JPY", "value": "1"}})
    assert form.validate() == {"items": "at most 100 items (101 given)"}
    form.remove_item(100)
    assert form.validate() == {}


def test_total_shown_before_submit_is_the_servers(client: Client) -> None:
    form = InvoiceForm(client, templates=False)
    fill(form, unit="33.33")
    row = form.items[0]
    row.quantity.value, row.tax.value, row.discount.value = "3", "8.25", "10"
    form.add_item({"name": "Travel", "quantity": "1",
                   "unit_amount": {"currency_code": "USD", "value": "0.05"},
                   "tax": {"name": "Tax", "percent": "7"}})
    assert form.validate() == {}
    shown = form.total()
    # 99.99 - 10.00 discount = 89.99 + 7.42 tax; 0.05 + 0.00 tax (half-up of 0.0035)
    assert shown == Decimal("97.46")
    assert "97.46 USD" in form._total.value
    form._submit.click()
    assert form.result is not None, form._status.value
    assert client.invoices.get(form.result["id"])["amount"]["value"] == "97.46"


def test_submit_creates_the_draft_and_links_it(client: Client, running: RunningEmulator) -> None:
    form = InvoiceForm(client)
    fill(form, business="Analytical Engines", memo="m-1", reference="PO-9", note="Thanks",
         partial=True, minimum="100.00", term="NET_45")
    form._submit.click()
    invoice = form.result
    assert invoice is not None, form._status.value
    stored = client.invoices.get(invoice["id"])
    assert stored["status"] == "DRAFT"
    assert stored["detail"]["payment_term"]["term_type"] == "NET_45"
    assert stored["detail"]["memo"] == "m-1" and stored["detail"]["reference"] == "PO-9"
    assert stored["configuration"]["partial_payment"]["minimum_amount_due"]["value"] == "100.00"
    assert stored["primary_recipients"][0]["billing_info"]["business_name"] == \
        "Analytical Engines"
    status = form._status.value
    for text in (invoice["id"], stored["detail"]["invoice_number"], "DRAFT", "950.00 USD",
                 f"{running.base_url}/invoice/p/{invoice['id']}"):
        assert text in status


def test_api_error_is_shown_and_the_input_kept(client: Client) -> None:
    draft(client, "DUP-1")
    form = InvoiceForm(client, templates=False)
    fill(form, number="DUP-1")
    form._submit.click()
    assert form.result is None
    assert form.error is not None and form.error.issues == ["DUPLICATE_INVOICE_NUMBER"]
    status = form._status.value
    assert "UNPROCESSABLE_ENTITY" in status and "DUPLICATE_INVOICE_NUMBER" in status
    assert form.error.debug_id and form.error.debug_id in status
    assert form._email.value == "ada@example.com"
    assert form.items[0].unit.value == "95.00"
    form._next.click()  # the "Next number" button fixes it
    assert form._number.value == "DUP-2"
    form._submit.click()
    assert form.result is not None and form.result["detail"]["invoice_number"] == "DUP-2"


def test_template_prefills_the_form(client: Client) -> None:
    template = client.templates.create({
        "name": "Monthly retainer",
        "template_info": {
            "detail": {"currency_code": "EUR", "note": "Retainer, thank you",
                       "payment_term": {"term_type": "NET_15"}},
            "items": [{"name": "Retainer", "quantity": "1",
                       "unit_amount": {"currency_code": "EUR", "value": "1200.00"}}],
        },
    })
    form = InvoiceForm(client)
    assert ("Monthly retainer", template["id"]) in form._template.options
    form._template.value = template["id"]
    assert (form._currency.value, form._term.value, form._note.value) == (
        "EUR", "NET_15", "Retainer, thank you")
    assert [r.name.value for r in form.items] == ["Retainer"]
    form.set(email="bob@example.com")
    assert form.validate() == {}
    assert "1200.00 EUR" in form._total.value
    form._submit.click()
    assert form.result is not None
    assert form.result["detail"]["note"] == "Retainer, thank you"


# --- SendForm -----------------------------------------------------------------------------------


def test_send_form_sends_with_cc_and_shows_the_qr_code(
    client: Client, running: RunningEmulator,
) -> None:
    invoice = draft(client)
    form = SendForm(client, invoice["id"])
    form.set(subject="Your invoice", note="Due in 30 days", additional_recipients="bad")
    assert "not an email: bad" in form.fields["additional_recipients"].error.value
    assert form._submit.disabled
    form.set(additional_recipients="cc@example.com", send_to_invoicer=True)
    assert not form._submit.disabled
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "ok", form._status.value
    assert "sent" in form._status.value and "SENT" in form._status.value
    emails = {(m["role"], m["email"], asked(m)[0]) for m in
              running.emulator.outbox(invoice_id=invoice["id"], kind="invoice")}
    assert emails == {("recipient", "ada@example.com", "Your invoice"),
                      ("cc", "cc@example.com", "Your invoice"),
                      ("invoicer", client.invoices.get(invoice["id"])["invoicer"]
                       ["email_address"], "Your invoice")}
    png = form.show_qr()
    assert png.startswith(b"\x89PNG") and form.qr.value == png


def test_send_form_says_scheduled_for_a_future_date(client: Client) -> None:
    invoice = draft(client, invoice_date="2025-02-01")
    form = SendForm(client, invoice["id"])
    form._submit.click()
    assert form.result is not None and form.result["detail"] == "scheduled"
    assert "scheduled" in form._status.value and "SCHEDULED" in form._status.value


def test_subject_and_note_say_paypal_uses_its_own(client: Client, tmp_path: Path) -> None:
    """PayPal ignores the subject and note of send and remind (OBSERVED.md): the empty inputs
    say so rather than promise an email text."""
    invoice = draft(client)
    for form in (SendForm(client, invoice["id"]),
                 RemindForm(client, invoice["id"], journal_dir=tmp_path, today=TODAY)):
        for name in ("subject", "note"):
            assert "PayPal's email uses its own" in form._inputs[name].placeholder, name


def test_send_form_skips_an_invoice_already_sent(client: Client) -> None:
    form = SendForm(client, sent(client)["id"])
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "skipped"
    assert "wrong status SENT" in form._status.value


# --- RemindForm ---------------------------------------------------------------------------------


def test_remind_form_counts_and_refuses_a_third(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    invoice = sent(client)
    form = RemindForm(client, invoice["id"], journal_dir=tmp_path, today=TODAY)
    assert form.sent_today() == 0 and ">0</b> of 2" in form._today.value
    form.set(subject="Friendly reminder", note="Please pay")
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "ok"
    assert ">1</b> of 2" in form._today.value
    form._submit.click()
    assert ">2</b> of 2" in form._today.value
    assert form._submit.disabled
    form._submit.click()  # a disabled button still runs its handler when clicked from code
    assert "2 reminders already sent today" in form._status.value
    reminders = running.emulator.outbox(invoice_id=invoice["id"], kind="reminder")
    assert [asked(m) for m in reminders] == [
        ("Friendly reminder", "Please pay")] * 2
    # Another form on the same ledger agrees.
    assert RemindForm(client, invoice["id"], journal_dir=tmp_path, today=TODAY).sent_today() == 2


def test_remind_form_shows_paypals_refusal_for_reminders_sent_elsewhere(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    invoice = sent(client)
    client.invoices.remind(invoice["id"])
    client.invoices.remind(invoice["id"])  # not through ppnb's ledger
    form = RemindForm(client, invoice["id"], journal_dir=tmp_path, today=TODAY)
    assert form.sent_today() == 0
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "failed"
    assert "MAX_REMINDERS_PER_DAY" in form._status.value
    assert form.result["debug_id"] in form._status.value
    assert form.sent_today() == 2 and form._submit.disabled
    assert len(running.emulator.outbox(invoice_id=invoice["id"], kind="reminder")) == 2


# --- CancelForm ---------------------------------------------------------------------------------


def test_cancel_form_is_armed_by_the_typed_number(client: Client, running: RunningEmulator,
                                                  tmp_path: Path) -> None:
    first, second = sent(client, "C-1"), sent(client, "C-2")
    table = fetch_invoices(client, progress=False)
    form = CancelForm(client, invoices=table, journal_dir=tmp_path)
    assert {v for _, v in form.picker._input.options} == {first["id"], second["id"]}
    form.picker.value = second["id"]
    assert "C-2" in form._summary.value and "120.00 USD" in form._summary.value
    assert form._submit.disabled
    form.confirm.value = "C-1"
    assert form._submit.disabled
    form._submit.click()
    assert client.invoices.get(second["id"])["status"] == "SENT"
    form.set(note="Issued in error", send_to_recipient=False)
    form.confirm.value = "C-2"
    assert not form._submit.disabled
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "ok", form._status.value
    assert client.invoices.get(second["id"])["status"] == "CANCELLED"
    assert client.invoices.get(first["id"])["status"] == "SENT"
    assert "CANCELLED" in form._summary.value and form.confirm.value == ""
    assert running.emulator.outbox(invoice_id=second["id"], kind="cancellation") == []


def test_cancel_form_shows_paypals_refusal(client: Client, tmp_path: Path) -> None:
    invoice = sent(client, "C-9")
    client.invoices.record_payment(invoice["id"], {"method": "CASH", "amount": {
        "currency_code": "USD", "value": "20.00"}})
    form = CancelForm(client, invoice["id"], journal_dir=tmp_path)
    form.confirm.value = "C-9"
    form._submit.click()
    assert form.result is not None and form.result["outcome"] == "skipped"
    assert "wrong status PARTIALLY_PAID" in form._status.value


# --- BulkAction ---------------------------------------------------------------------------------


def test_bulk_widget_previews_then_runs_once_confirmed(
    client: Client, running: RunningEmulator, tmp_path: Path,
) -> None:
    invoices = [sent(client)["id"] for _ in range(4)] + [draft(client)["id"]]
    widget = BulkAction(client, "remind", invoices, journal_dir=tmp_path, today=TODAY,
                        note="Overdue")
    widget._run.click()
    assert widget.result is None and "Dry run and confirm first" in widget._counts.value
    widget._preview.click()
    assert widget.plan is not None and list(widget.plan["plan"]) == ["run"] * 4 + ["skip"]
    assert "<b>4</b> to run" in widget._summary.value
    assert "wrong status DRAFT" in widget._plan.value
    assert widget._run.disabled
    assert running.emulator.outbox(kind="reminder", invoice_id=invoices[0]) == []
    widget._confirm.value = True
    assert not widget._run.disabled
    widget._run.click()
    assert widget.result is not None
    assert widget.result.attrs["counts"] == {"ok": 4, "skipped": 1}
    assert widget._progress.value == 5
    assert 'ok <b class="ppnb-ok">4</b>' in widget._counts.value
    assert widget._run.disabled  # confirmation is used up
    for invoice_id in invoices[:4]:
        assert len(running.emulator.outbox(invoice_id=invoice_id, kind="reminder")) == 1
    # The same job again: everything is already done.
    widget._preview.click()
    assert set(widget.plan["reason"][:4]) == {"already done in this job"}
    assert isinstance(widget.plan, pd.DataFrame)
