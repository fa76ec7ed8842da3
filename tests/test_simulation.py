"""The ``/_emulator/`` simulation endpoints: clock, scheduled sends, the customer paying,
the outbox, effect stats, reset and snapshots, over real loopback HTTP, through the typed
:class:`ppnb.emulator.Control` (its ``request`` for bodies the typed methods never send)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Api, invoice_body, new_merchant, refused

from ppnb.emulator import ClockError, Control, RunningEmulator, start

Timed = tuple[RunningEmulator, Api]
INV = "/v2/invoicing/invoices"


def control_of(running: RunningEmulator) -> Control:
    """A control client closed when the emulator's test ends (the fixture stops it)."""
    return running.control(timeout=30)


def advance(timed: Timed, days: float) -> dict[str, Any]:
    running, api = timed
    with control_of(running) as control:
        moved = control.advance(days)
    api.token = api.fetch_token()  # the old token expired with the time that passed
    return moved


def set_clock(running: RunningEmulator, when: str) -> dict[str, Any]:
    with control_of(running) as control:
        return control.set_clock(when)


def call(running: RunningEmulator, use: Callable[[Control], Any]) -> Any:
    with control_of(running) as control:
        return use(control)


def test_clock_reads_moves_and_refuses_to_go_back(timed: Timed) -> None:
    running, _ = timed
    control = control_of(running)
    assert control.clock() == {
        "now": "2025-01-15T09:00:00Z", "today": "2025-01-15", "frozen": True}
    moved = advance(timed, 2.5)
    assert moved["now"] == "2025-01-17T21:00:00Z" and moved["fired"] == []
    assert control.set_clock("2025-03-01T00:00:00Z")["today"] == "2025-03-01"
    back = refused(lambda: control.set_clock("2025-02-01T00:00:00Z"), 400)
    assert back["details"][0]["field"] == "/set"
    for bad in ({}, {"set": 5}, {"advance_days": -1}, {"advance_days": "1"},
                {"set": "x", "advance_days": 1}, {"set": "yesterday"}):
        assert refused(lambda bad=bad: control.request("POST", "/clock", bad), 400)[
            "name"] == "INVALID_REQUEST"
    assert control.clock()["today"] == "2025-03-01"
    control.close()
    with pytest.raises(ClockError):
        running.emulator.set_clock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def test_scheduled_invoices_go_out_when_their_day_comes(timed: Timed) -> None:
    running, api = timed
    soon = api.create(invoice_date="2025-01-17")["id"]
    later = api.create(invoice_date="2025-01-20")["id"]
    quiet = api.create(invoice_date="2025-01-17", number="QUIET-1")["id"]
    assert api.send(soon).status_code == 202
    assert api.send(later).status_code == 202
    assert api.send(quiet, send_to_recipient=False).status_code == 202
    assert advance(timed, 1)["fired"] == []
    assert api.invoice(soon)["status"] == "SCHEDULED"
    assert sorted(advance(timed, 1)["fired"]) == sorted([soon, quiet])
    sent = api.invoice(soon)
    assert sent["status"] == "SENT"
    assert sent["detail"]["metadata"]["first_sent_time"] == "2025-01-17T09:00:00Z"
    assert api.invoice(quiet)["status"] == "UNPAID"  # the stored notice is honoured
    assert api.invoice(later)["status"] == "SCHEDULED"
    # Moved in Python, the clock fires on the next API call.
    running.emulator.clock.advance(days=3)
    api.token = api.fetch_token()
    assert api.invoice(later)["status"] == "SENT"
    assert [e["invoice_id"] for e in running.emulator.outbox(kind="invoice")] == [soon, later]


def test_reminder_limit_resets_at_the_day_boundary(timed: Timed) -> None:
    running, api = timed
    invoice_id = api.sent()["id"]
    path = f"{INV}/{invoice_id}/remind"
    assert api.post(path, {}).status_code == 204
    assert api.post(path, {}).status_code == 204
    assert api.post(path, {}).json()["details"][0]["issue"] == "MAX_REMINDERS_PER_DAY"
    set_clock(running, "2025-01-15T23:59:59Z")
    api.token = api.fetch_token()
    assert api.post(path, {}).status_code == 422
    set_clock(running, "2025-01-16T00:00:00Z")
    api.token = api.fetch_token()
    assert api.post(path, {}).status_code == 204
    assert call(running, lambda c: c.stats(invoice_id))["invoice"] == {
        "created": 1, "reminded": 3, "sent": 1}


def test_the_customer_pays_through_paypal(timed: Timed) -> None:
    running, api = timed
    control = control_of(running)
    whole = api.sent()["id"]  # 100.00 USD, partial payments not allowed
    assert refused(lambda: control.pay(whole, "30.00"), 422)[
        "details"][0]["issue"] == "PARTIAL_PAYMENT_NOT_ALLOWED"
    body = invoice_body()
    body["configuration"] = {"partial_payment": {
        "allow_partial_payment": True,
        "minimum_amount_due": {"currency_code": "USD", "value": "20.00"}}}
    invoice_id = api.post(INV, body).json()["id"]
    assert api.send(invoice_id).status_code == 200
    assert refused(lambda: control.pay(invoice_id, "10.00"), 422)[
        "details"][0]["issue"] == "AMOUNT_BELOW_MINIMUM"
    part = control.pay(invoice_id, "30.00")
    assert part["status"] == "PARTIALLY_PAID"
    rest = control.pay(invoice_id, date="2025-01-10")
    assert rest["status"] == "PAID"
    payments = api.invoice(invoice_id)["payments"]["transactions"]
    assert [(p["type"], p["method"], p["amount"]["value"], p["payment_date"]) for p in payments
            ] == [("PAYPAL", "PAYPAL", "30.00", "2025-01-15"),
                  ("PAYPAL", "PAYPAL", "70.00", "2025-01-10")]
    assert [p["payment_id"] for p in payments] == [part["payment_id"], rest["payment_id"]]
    assert refused(lambda: control.pay(invoice_id), 422)["details"][0][
        "issue"] == "CANNOT_PROCESS_PAYMENTS"
    assert refused(lambda: control.pay("INV2-NOPE"), 404)["name"] == "RESOURCE_NOT_FOUND"
    assert refused(lambda: control.request("POST", f"/invoices/{invoice_id}/pay",
                                           {"amount": 5}), 400)
    draft = api.create()["id"]
    assert refused(lambda: control.pay(draft), 422)
    control.close()


def test_outbox_honours_the_notification_flags(api: Api, server: RunningEmulator) -> None:
    def emails(invoice_id: str, kind: str) -> list[tuple[str, str]]:
        found = call(server, lambda c: c.outbox(invoice_id, kind))
        return [(e["role"], e["email"]) for e in found]

    invoicer = server.emulator.service.merchant_by_client(api.client_id).email
    loud = api.create(additional_recipients=None)["id"]
    api.send(loud, send_to_invoicer=True, additional_recipients=["boss@example.com"],
             subject="Your invoice", note="Thanks")
    assert emails(loud, "invoice") == [("recipient", "customer@example.com"),
                                       ("cc", "boss@example.com"), ("invoicer", invoicer)]
    first = call(server, lambda c: c.outbox(loud))[0]
    number = api.invoice(loud)["detail"]["invoice_number"]  # PayPal ignores subject and note
    assert first["subject"].startswith(f"Invoice {number} from ") and first["note"] is None
    assert (first["requested_subject"], first["requested_note"]) == ("Your invoice", "Thanks")
    quiet = api.create()["id"]
    api.send(quiet, send_to_recipient=False)
    assert emails(quiet, "invoice") == []
    api.post(f"{INV}/{quiet}/remind", {"send_to_recipient": False, "send_to_invoicer": True})
    assert emails(quiet, "reminder") == [("invoicer", invoicer)]
    api.post(f"{INV}/{loud}/cancel", {"send_to_recipient": True})
    assert emails(loud, "cancellation") == [("recipient", "customer@example.com")]
    assert call(server, lambda c: c.outbox(kind="nothing")) == []


def test_stats_count_effects_not_replays(api: Api, server: RunningEmulator) -> None:
    invoice_id = api.sent()["id"]
    key = {"PayPal-Request-Id": str(uuid.uuid4())}
    for _ in range(3):
        assert api.post(f"{INV}/{invoice_id}/remind", {}, headers=key).status_code == 204
    api.post(f"{INV}/{invoice_id}/remind", {})  # a second, distinct reminder
    api.pay(invoice_id)
    refund = {"method": "BANK_TRANSFER", "amount": {"currency_code": "USD", "value": "1.00"}}
    api.post(f"{INV}/{invoice_id}/refunds", refund)
    counts = call(server, lambda c: c.stats(invoice_id))
    assert counts["invoice"] == {"created": 1, "payments": 1, "refunds": 1, "reminded": 2,
                                 "sent": 1}
    assert counts["operations"]["reminded"] >= 2
    assert counts["max_per_invoice"]["sent"] == 1


def test_reset_empties_books_but_keeps_merchants(tmp_path: Path) -> None:
    with start(tmp_path / "book.sqlite") as running:
        api = Api(running.base_url, *new_merchant(running.emulator))
        api.sent()
        api.post("/v2/invoicing/templates", {"name": "Mine", "template_info": {
            "detail": {"currency_code": "USD"}}})
        control = control_of(running)
        assert control.reset() == {"reset": True}
        assert api.count() == 0  # the same token still works
        names = [t["name"] for t in api.get("/v2/invoicing/templates").json()["templates"]]
        assert names == ["Amount", "Hours", "Quantity"]
        assert control.stats()["operations"] == {}
        assert control.outbox() == []
        assert api.create(number="0001")["detail"]["invoice_number"] == "0001"
        api.http.close()
        control.close()


@pytest.mark.parametrize("on_disk", [True, False], ids=["file", "memory"])
def test_snapshots_roll_back_a_bulk_action(tmp_path: Path, on_disk: bool) -> None:
    with start(tmp_path / "book.sqlite" if on_disk else ":memory:") as running:
        api = Api(running.base_url, *new_merchant(running.emulator))
        ids = [api.sent()["id"] for _ in range(3)]
        control = control_of(running)
        assert control.snapshot("before") == {"saved": "before"}
        for invoice_id in ids:
            api.post(f"{INV}/{invoice_id}/cancel", {})
        api.create()
        assert {api.invoice(i)["status"] for i in ids} == {"CANCELLED"}
        assert control.restore("before") == {"restored": "before"}
        assert api.count() == 3  # the same token still works after the restore
        assert {api.invoice(i)["status"] for i in ids} == {"SENT"}
        assert control.stats()["operations"].get("cancelled") is None
        assert control.snapshots() == ["before"]
        assert refused(lambda: control.restore("nope"), 404)
        assert refused(lambda: control.snapshot("bad name!"), 400)
        api.http.close()
        control.close()
    if on_disk:  # snapshots persist beside the database
        with start(tmp_path / "book.sqlite") as again:
            assert call(again, lambda c: c.snapshots()) == ["before"]


def test_simulation_can_be_switched_off() -> None:
    with start(simulation=False) as running:
        for path in ("/clock", "/stats", "/outbox"):
            response = httpx.get(running.base_url + "/_emulator" + path)
            assert response.status_code == 404
