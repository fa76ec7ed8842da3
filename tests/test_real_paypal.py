"""PayPal as it really answers: every fact of ``../shared/paypal/OBSERVED.md``, tested twice.

1. **The emulator reproduces each fact**, over real HTTP (the conformance-checked ``Api``,
   which validates every answer against the spec, with OBSERVED.md's narrow exceptions).
2. **The client, the pager and the tables cope with each fact**, fed PayPal's shapes as its
   saved responses show them (``tests/recorded.py``, written from the facts), served over
   HTTP independently of the emulator, since the emulator was written from the same reading
   of the spec as the client and could share its blind spots.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from conformance import load_spec
from helpers import Api, Served, invoice_body, new_merchant, refused, wait_for
from recorded import INVOICES, recorded_paypal
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ppnb import webhooks as W
from ppnb.client import Client, RetryPolicy
from ppnb.emulator import Clock, DeliveryPolicy, Emulator, RunningEmulator, start
from ppnb.frames import flatten
from ppnb.pager import fetch_invoices, fetch_tables, incomplete

INV = "/v2/invoicing/invoices"
TPL = "/v2/invoicing/templates"
NOW = dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC)
LINK = re.compile(r"^http://127\.0\.0\.1:\d+/v2/invoicing/(invoices/INV2-[A-Z0-9-]{19}|"
                  r"templates/TEMP-[A-Z0-9]{17})$")
TAX_ID = re.compile(r"^TAX-[A-Z0-9]{17}$")


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def bare(server: RunningEmulator) -> Iterator[Api]:
    """A fresh merchant whose calls send no ``Prefer`` header, as most integrations do."""
    api = Api(server.base_url, *new_merchant(server.emulator), prefer=None)
    yield api
    api.http.close()


# --- 1. the emulator: create and update answer with a link -------------------------------


@pytest.mark.parametrize("prefer", [None, "return=minimal"])
def test_create_and_update_answer_a_bare_self_link(bare: Api, prefer: str | None) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    created = ok(bare.post(INV, invoice_body(), headers=headers), 201)
    assert set(created) == {"rel", "href", "method"}  # OBSERVED.md, and the spec's 201 text
    assert created["rel"] == "self" and created["method"] == "GET"
    assert LINK.match(created["href"])
    invoice = ok(bare.http.get(created["href"], headers={"Authorization":
                                                         f"Bearer {bare.token}"}))
    assert invoice["status"] == "DRAFT"
    updated = ok(bare.put(f"{INV}/{invoice['id']}", invoice_body(memo="new"), headers=headers))
    assert updated == {"rel": "self", "href": created["href"], "method": "GET"}
    template = ok(bare.post(TPL, {"name": f"T {prefer}"}, headers=headers), 201)
    assert set(template) == {"rel", "href", "method"} and LINK.match(template["href"])
    again = ok(bare.put("/" + template["href"].split("/", 3)[3], {"name": f"T2 {prefer}"},
                        headers=headers))
    assert again == {"rel": "self", "href": template["href"], "method": "GET"}


def test_prefer_return_representation_gives_the_resource(bare: Api) -> None:
    asked = {"Prefer": "return=representation"}
    created = ok(bare.post(INV, invoice_body(), headers=asked), 201)
    assert created["status"] == "DRAFT" and created["id"].startswith("INV2-")
    updated = ok(bare.put(f"{INV}/{created['id']}", invoice_body(memo="m"), headers=asked))
    assert updated["detail"]["memo"] == "m"
    template = ok(bare.post(TPL, {"name": "Rep"}, headers=asked), 201)
    assert template["name"] == "Rep" and template["id"].startswith("TEMP-")


class WithoutPrefer:
    """The real emulator behind a proxy that drops every ``Prefer`` header (a server that
    answers minimally whatever the client asks); it can also lose the answer to the next
    invoice create after the emulator applied it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lose_next_create = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                          if k.lower() != b"prefer"]}
            if self.lose_next_create and scope["method"] == "POST" and scope["path"] == INV:
                self.lose_next_create = False

                async def discard(message: Any) -> None:
                    return None

                await self.app(scope, receive, discard)  # applied, then the answer is lost
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body",
                            "body": b'{"name":"SERVICE_UNAVAILABLE","message":"lost"}'})
                return
        await self.app(scope, receive, send)


@pytest.fixture
def minimal_only() -> Iterator[tuple[RunningEmulator, WithoutPrefer]]:
    """A real emulator that answers create and update minimally whatever the client asks."""
    emulator = Emulator(clock=Clock(NOW, frozen=True))
    proxy = WithoutPrefer(emulator.app)
    emulator.app = proxy
    running = emulator.serve_in_thread()
    yield running, proxy
    running.stop()
    emulator.close()


def test_the_client_follows_a_minimal_answer_with_one_get(
        minimal_only: tuple[RunningEmulator, WithoutPrefer]) -> None:
    running, _ = minimal_only
    creds = running.credentials
    with Client(running.base_url, creds.client_id, creds.client_secret) as client:
        client.get_token()
        before = client.stats["requests"]
        invoice = client.invoices.create(invoice_body(number="MIN-1"))
        assert client.stats["requests"] - before == 2  # the POST, then one GET of its link
        assert invoice == client.invoices.get(invoice["id"])
        assert invoice["detail"]["invoice_number"] == "MIN-1"
        updated = client.invoices.update(invoice["id"], invoice_body(number="MIN-1", memo="x"))
        assert updated["detail"]["memo"] == "x"
        template = client.templates.create({"name": "Minimal"})
        assert template["name"] == "Minimal" and template["id"].startswith("TEMP-")
        assert client.templates.update(template["id"], {"name": "Min 2"})["name"] == "Min 2"


def test_a_retried_create_answered_minimally_is_applied_once(
        minimal_only: tuple[RunningEmulator, WithoutPrefer]) -> None:
    running, proxy = minimal_only
    creds = running.credentials
    waits: list[float] = []
    with Client(running.base_url, creds.client_id, creds.client_secret,
                retry=RetryPolicy(sleep=waits.append)) as client:
        proxy.lose_next_create = True
        invoice = client.invoices.create(invoice_body(number="ONCE-1"))
        assert waits and client.stats["503"] == 1  # the first answer was lost, then retried
        found = client.invoices.search({"invoice_number": "ONCE-1"}, total_required=True)
        assert found["total_items"] == 1 and found["items"][0]["id"] == invoice["id"]
        assert running.emulator.stats(invoice["id"])["invoice"] == {"created": 1}


# --- 1. the emulator: amounts, tax ids, extra fields -------------------------------------


def docs_sample() -> dict[str, Any]:
    """The spec's own sample invoice (its template id exists only on PayPal)."""
    body = copy.deepcopy(load_spec()["components"]["examples"]["invoice"]["value"])
    del body["configuration"]["template_id"]
    del body["detail"]["invoice_number"]
    return body


def test_the_docs_sample_totals_74_21_with_negative_discounts(api: Api) -> None:
    """A sandbox GET of this invoice shows 74.21 and discounts -2.50, -7.50, -2.63."""
    invoice = ok(api.post(INV, docs_sample()), 201)
    assert invoice["amount"]["value"] == "74.21"
    breakdown = invoice["amount"]["breakdown"]
    assert breakdown["discount"]["item_discount"] == usd("-7.50")
    assert breakdown["discount"]["invoice_discount"] == {"percent": "5",
                                                         "amount": usd("-2.63")}
    assert [i["discount"]["amount"] for i in invoice["items"]] == [usd("-2.50"),
                                                                  usd("-5.00")]
    assert api.invoice(invoice["id"]) == invoice
    tables = flatten([invoice])  # the tables read the amount taken off
    assert list(tables.items["discount_minor"]) == [250, 500]
    assert tables.invoices.loc[0, "total_minor"] == 7421


def test_tax_entries_carry_ids_that_stay(api: Api) -> None:
    invoice = ok(api.post(INV, docs_sample()), 201)
    ids = [item["tax"]["id"] for item in invoice["items"]]
    shipping = invoice["amount"]["breakdown"]["shipping"]["tax"]["id"]
    assert all(TAX_ID.match(i) for i in [*ids, shipping]) and len({*ids, shipping}) == 3
    assert ok(api.send(invoice["id"]))["rel"] == "payer-view"
    ok(api.pay(invoice["id"], "10.00"))
    again = api.invoice(invoice["id"])
    assert [item["tax"]["id"] for item in again["items"]] == ids
    assert again["amount"]["breakdown"]["shipping"]["tax"]["id"] == shipping
    assert again["amount"]["breakdown"]["discount"]["item_discount"] == usd("-7.50")


def test_extra_detail_and_metadata_fields(api: Api) -> None:
    invoice = api.create()
    detail = invoice["detail"]
    assert (detail["archived"], detail["viewed_by_recipient"], detail["group_draft"],
            detail["category_code"]) == (False, False, False, "SHIPPABLE")
    assert detail["metadata"]["caller_type"] == "API_V2_INVOICE"
    assert detail["metadata"]["spam_info"] == {}
    assert invoice["unilateral"] is False
    # a client that PUTs back what it read keeps working: read-only fields are ignored
    sent_back = ok(api.put(f"{INV}/{invoice['id']}", {k: v for k, v in invoice.items()
                                                      if k not in ("id", "status", "links")}))
    assert sent_back["detail"]["archived"] is False


# --- 1. the emulator: statuses and links ---------------------------------------------------


def test_a_draft_offers_record_payment_and_can_be_marked_paid(server: RunningEmulator,
                                                              api: Api) -> None:
    draft = api.create()
    assert [link["rel"] for link in draft["links"]] == ["self", "send", "replace", "delete",
                                                        "record-payment"]
    payment = ok(api.pay(draft["id"]))  # the whole 100.00, by bank transfer
    paid = api.invoice(draft["id"])
    assert paid["status"] == "MARKED_AS_PAID" and paid["due_amount"] == usd("0.00")
    assert "first_sent_time" not in paid["detail"]["metadata"]  # marked paid, never sent
    ok(api.delete(f"{INV}/{draft['id']}/payments/{payment['payment_id']}"), 204)
    assert api.invoice(draft["id"])["status"] == "DRAFT"  # unpaid again: still a draft
    other = api.create()
    ok(api.pay(other["id"], "30.00"))
    assert api.invoice(other["id"])["status"] == "PARTIALLY_PAID"
    # the customer cannot pay a draft through PayPal: it was never sent to them
    with server.control() as control:
        refusal = refused(lambda: control.pay(api.create()["id"]), 422)
    assert refusal["details"][0]["issue"] == "CANNOT_PROCESS_PAYMENTS"


def test_a_refund_on_a_partly_paid_invoice_keeps_it_partially_paid(api: Api) -> None:
    """PayPal's saved sandbox response: 198.21, 10.00 paid, 5.00 refunded."""
    invoice = api.sent(items=[{"name": "Mat", "quantity": "1", "unit_amount": usd("198.21")}])
    ok(api.pay(invoice["id"], "10.00"))
    ok(api.post(f"{INV}/{invoice['id']}/refunds", {"method": "CASH", "amount": usd("5.00")}))
    after = api.invoice(invoice["id"])
    assert after["status"] == "PARTIALLY_PAID"
    assert after["due_amount"] == usd("188.21")
    assert after["refunds"]["refund_amount"] == usd("5.00")
    assert [link["rel"] for link in after["links"]] == ["self", "record-payment",
                                                        "record-refund"]


def test_refund_statuses_follow_a_refund_of_a_paid_invoice(api: Api) -> None:
    invoice = api.sent()
    ok(api.pay(invoice["id"]))
    refund = f"{INV}/{invoice['id']}/refunds"
    ok(api.post(refund, {"method": "CASH", "amount": usd("40.00")}))
    assert api.invoice(invoice["id"])["status"] == "PARTIALLY_REFUNDED"
    ok(api.post(refund, {"method": "CASH"}))
    assert api.invoice(invoice["id"])["status"] == "MARKED_AS_REFUNDED"


def test_send_without_notifying_gives_unpaid_and_remind_has_no_body(api: Api) -> None:
    invoice = api.create()
    ok(api.send(invoice["id"], send_to_recipient=False))
    assert api.invoice(invoice["id"])["status"] == "UNPAID"
    assert ok(api.post(f"{INV}/{invoice['id']}/remind", {}), 204) is None


def test_send_and_remind_ignore_subject_and_note(server: RunningEmulator, api: Api) -> None:
    """docs.paypal.ai: "the subject will always be defaulted to a system-defined value"."""
    invoice = api.create(number="SUBJ-1")
    ok(api.send(invoice["id"], subject="Pay now!", note="Custom note"))
    ok(api.post(f"{INV}/{invoice['id']}/remind", {"subject": "Again!", "note": "Please"}), 204)
    mails = server.emulator.outbox(invoice["id"])
    assert [(m["kind"], m["subject"], m["note"]) for m in mails] == [
        ("invoice", f"Invoice SUBJ-1 from {api.client_id} Ltd", None),
        ("reminder", f"Reminder: invoice SUBJ-1 from {api.client_id} Ltd", None)]
    assert [(m["requested_subject"], m["requested_note"]) for m in mails] == [
        ("Pay now!", "Custom note"), ("Again!", "Please")]


def test_a_scheduled_invoice_goes_out_at_seven_on_its_issue_date(
        timed: tuple[RunningEmulator, Api]) -> None:
    running, api = timed  # the clock stands at 2025-01-15 09:00 UTC
    invoice = api.create(invoice_date="2025-01-16")
    assert api.send(invoice["id"]).status_code == 202
    assert running.emulator.set_clock(dt.datetime(2025, 1, 16, 6, 59, tzinfo=dt.UTC)) == []
    api.token = api.fetch_token()  # the old one expired meanwhile
    assert api.invoice(invoice["id"])["status"] == "SCHEDULED"
    assert running.emulator.set_clock(dt.datetime(2025, 1, 16, 7, 0, tzinfo=dt.UTC)) == [
        invoice["id"]]
    sent = api.invoice(invoice["id"])
    assert sent["status"] == "SENT"
    assert sent["detail"]["metadata"]["first_sent_time"] == "2025-01-16T07:00:00Z"


def test_throttled_calls_get_429_without_retry_after() -> None:
    with start() as running:
        api = Api(running.base_url, running.credentials.client_id,
                  running.credentials.client_secret)
        running.emulator.faults.configure(rate=1, statuses=[429])
        throttled = api.http.get(INV, headers={"Authorization": f"Bearer {api.token}"})
        assert throttled.status_code == 429 and throttled.json()["name"] == "RATE_LIMIT_REACHED"
        assert "retry-after" not in throttled.headers
        api.http.close()


# --- 1. the emulator: list and search --------------------------------------------------------


def test_fields_bring_collections_back_while_summaries_are_on(
        frozen: RunningEmulator) -> None:
    api = Api(frozen.base_url, *new_merchant(frozen.emulator))
    invoice = api.sent()
    ok(api.pay(invoice["id"], "10.00"))
    frozen.emulator.set_summaries(True)
    control = frozen.control()
    try:
        assert control.settings() == {"summaries": "on"}
        brief = ok(api.post("/v2/invoicing/search-invoices", {}))["items"][0]
        full = ok(api.post("/v2/invoicing/search-invoices",
                           {"fields": ["items", "payments", "refunds"]}))["items"][0]
    finally:
        assert control.set_summaries(False) == {"summaries": "off"}
    assert "items" not in brief and brief["payments"] == {"paid_amount": usd("10.00")}
    assert brief["detail"]["metadata"] == {"create_time": invoice["detail"]["metadata"][
        "create_time"]}
    assert full["items"] and full["payments"]["transactions"][0]["amount"] == usd("10.00")
    refusal = refused(lambda: control.set_summaries("sometimes"), 400)  # type: ignore[arg-type]
    assert refusal["details"][0]["field"] == "/summaries"
    api.http.close()
    control.close()


# --- 1. the emulator: webhooks ---------------------------------------------------------------


@pytest.fixture
def hooked() -> Iterator[tuple[RunningEmulator, Client, list[tuple[dict[str, str], bytes]],
                               str]]:
    """An emulator whose merchant has a webhook to a receiver that keeps what it got."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def keep(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    listener = Served(Starlette(routes=[Route("/hook", keep, methods=["POST"])]))
    policy = DeliveryPolicy(base_delay=0.05, max_delay=0.5, timeout=5)
    with start(clock=Clock(NOW, frozen=True), webhook_policy=policy) as running:
        creds = running.credentials
        client = Client(running.base_url, creds.client_id, creds.client_secret)
        hook = W.WebhookAPI(client).create(listener.url + "/hook")
        yield running, client, received, hook["id"]
        client.close()
    listener.stop()


def test_deliveries_are_compact_raw_utf8_with_paypals_headers(hooked: Any) -> None:
    running, client, received, webhook_id = hooked
    body = invoice_body(number="EUR-1", currency="EUR", note="Merci : 95,00 € à régler")
    invoice = client.invoices.create(body)
    client.invoices.send(invoice["id"])
    client.invoices.record_payment(invoice["id"], {"method": "CASH", "amount": {
        "currency_code": "EUR", "value": "10.00"}})  # a partial payment fires PAID too
    wait_for(lambda: len(received) >= 3, "three deliveries")
    types = [orjson.loads(raw)["event_type"] for _, raw in received]
    assert types == ["INVOICING.INVOICE.CREATED", "INVOICING.INVOICE.SENT",
                     "INVOICING.INVOICE.PAID"]
    headers, raw = received[0]
    assert "€".encode() in raw and b"\\u20ac" not in raw  # raw UTF-8, not escaped
    assert raw == orjson.dumps(orjson.loads(raw))  # compact: no spaces to re-create
    for name in ("paypal-transmission-id", "paypal-transmission-time",
                 "paypal-transmission-sig", "paypal-cert-url", "correlation-id"):
        assert headers[name]
    assert headers["paypal-auth-algo"] == "SHA256withRSA"
    assert headers["paypal-auth-version"] == "v2"
    assert headers["user-agent"].startswith("PayPal/AUHD-")
    hosts = (running.base_url,)
    assert W.verify(headers, raw, webhook_id, allowed_cert_hosts=hosts,
                    now=running.emulator.clock.now())["resource"]["id"] == invoice["id"]
    reserialised = json.dumps(orjson.loads(raw)).encode()  # spaces, \u20ac: other bytes
    with pytest.raises(W.WebhookVerificationError, match="signature"):
        W.verify(headers, reserialised, webhook_id, allowed_cert_hosts=hosts,
                 now=running.emulator.clock.now())


def test_postback_carries_the_event_exactly_as_received(hooked: Any) -> None:
    _, client, received, webhook_id = hooked
    client.invoices.create(invoice_body(currency="EUR", note="Reçu : 12 €"))
    wait_for(lambda: received, "a delivery")
    headers, raw = received[0]
    assert W.verify_by_postback(client, headers, raw, webhook_id)["id"] == (
        orjson.loads(raw)["id"])
    assert W.verify_by_postback(client, headers, raw.decode(), webhook_id)  # its text works too
    reserialised = json.dumps(orjson.loads(raw), indent=1)  # what a naive integration posts
    with pytest.raises(W.WebhookVerificationError, match="postback"):
        W.verify_by_postback(client, headers, reserialised, webhook_id)
    with pytest.raises(TypeError, match="received bytes"):
        W.verify_by_postback(client, headers, orjson.loads(raw), webhook_id)  # type: ignore[arg-type]


def test_simulator_events_are_signed_for_WEBHOOK_ID(hooked: Any) -> None:
    running, client, received, webhook_id = hooked
    event = client.call("POST", "/v1/notifications/simulate-event", json={
        "webhook_id": webhook_id, "event_type": "INVOICING.INVOICE.PAID"})
    assert event["event_type"] == "INVOICING.INVOICE.PAID"
    wait_for(lambda: received, "the mock event")
    headers, raw = received[0]
    assert orjson.loads(raw)["id"] == event["id"] and "€".encode() in raw
    hosts, now = (running.base_url,), running.emulator.clock.now()
    with pytest.raises(W.WebhookVerificationError, match="signature"):
        W.verify(headers, raw, webhook_id, allowed_cert_hosts=hosts, now=now)
    assert W.verify(headers, raw, webhook_id, allowed_cert_hosts=hosts, now=now,
                    accept_simulator=True)["id"] == event["id"]
    assert W.verify(headers, raw, W.SIMULATOR_WEBHOOK_ID, allowed_cert_hosts=hosts, now=now)
    assert W.verify_by_postback(client, headers, raw, W.SIMULATOR_WEBHOOK_ID)
    listed = W.WebhookAPI(client).events()
    assert event["id"] not in {e["id"] for e in listed}  # mock events are not the merchant's


# --- 2. the client, pager and tables, fed PayPal's recorded shapes ------------------------


@pytest.fixture
def paypal() -> Iterator[tuple[Any, Client]]:
    with recorded_paypal() as recorded:
        client = Client(recorded.base_url, "recorded-app", "recorded-secret")
        yield recorded, client
        client.close()


def test_create_on_paypal_follows_the_link(paypal: tuple[Any, Client]) -> None:
    recorded, client = paypal
    invoice = client.invoices.create(invoice_body())
    assert invoice == INVOICES["INV2-GWNR-QBAW-496B-4Y5P"]
    posts = [c for c in recorded.calls if c[0] == "POST" and c[1] == INV]
    assert posts == [("POST", INV, "return=representation")]  # it asked for the invoice
    assert recorded.calls[-1][:2] == ("GET", f"{INV}/INV2-GWNR-QBAW-496B-4Y5P")
    assert client.invoices.remind("INV2-S3NT-0000-0000-0005") is None  # 202, no body


def test_tables_from_paypal_summaries(paypal: tuple[Any, Client]) -> None:
    recorded, client = paypal
    tables = fetch_tables(client, progress=False)
    gets = [c[1].rsplit("/", 1)[1] for c in recorded.calls if c[0] == "GET"]
    assert sorted(gets) == sorted(INVOICES)  # summaries lack items: each read whole, once
    invoices = tables.invoices.set_index("id")
    assert list(invoices["status"]) == [d["status"] for d in INVOICES.values()]  # AUTO_ kept
    partly = invoices.loc["INV2-6GCT-RGT9-JXGA-TZAE"]
    assert (partly["total_minor"], partly["paid_minor"], partly["refunded_minor"],
            partly["due_minor"]) == (19821, 1000, 500, 18821)
    assert set(tables.items["discount_minor"]) == {250}  # "-2.50" is 2.50 taken off
    assert len(tables.payments) == 2 and len(tables.refunds) == 2
    assert invoices.loc["INV2-C4NC-3L3D-0000-0003", "cancelled"] == dt.datetime(
        2022, 2, 9, 8, tzinfo=dt.UTC)


def test_invoices_only_from_paypal_reads_only_what_status_needs(
        paypal: tuple[Any, Client]) -> None:
    recorded, client = paypal
    invoices = fetch_invoices(client, progress=False).set_index("id")
    gets = sorted(c[1].rsplit("/", 1)[1] for c in recorded.calls if c[0] == "GET")
    assert gets == ["INV2-AUT0-C4NC-3L3D-0004", "INV2-C4NC-3L3D-0000-0003"]  # cancel times
    searches = [c for c in recorded.calls if c[1] == "/v2/invoicing/search-invoices"]
    assert len(searches) == 2  # the page, then the count that checks nothing moved
    assert invoices.loc["INV2-6GCT-RGT9-JXGA-TZAE", "due_minor"] == 18821
    assert invoices.loc["INV2-8B9B-RB25-PBKA-2LEZ", "refunded_minor"] == 5000
    assert invoices["cancelled"].notna().sum() == 2


@pytest.mark.parametrize("invoice_id", list(INVOICES))
def test_what_makes_a_summary_incomplete(invoice_id: str) -> None:
    from recorded import summary

    whole, brief = INVOICES[invoice_id], summary(INVOICES[invoice_id])
    assert not incomplete(whole, collections=True) and not incomplete(whole, collections=False)
    assert incomplete(brief, collections=True)  # no items: a summary
    assert incomplete(brief, collections=False) == whole["status"].endswith("CANCELLED")


def test_flatten_reads_both_signs_and_ignores_unknown_fields() -> None:
    paypals = INVOICES["INV2-6GCT-RGT9-JXGA-TZAE"]
    ours = copy.deepcopy(paypals)  # the spec's reading: positive discounts, no extras
    ours["items"][0]["discount"]["amount"]["value"] = "2.50"
    ours["amount"]["breakdown"]["discount"]["item_discount"]["value"] = "2.50"
    for key in ("unilateral",):
        ours.pop(key)
    ours["detail"] = {k: v for k, v in ours["detail"].items()
                      if k not in ("archived", "viewed_by_recipient", "group_draft",
                                   "category_code")}
    a, b = flatten([paypals]), flatten([ours])
    for left, right in zip(a, b, strict=True):
        assert left.equals(right)
    odd = {**paypals, "status": "SOMETHING_NEW", "brand_new_field": {"x": [1]}}
    assert flatten([odd]).invoices.loc[0, "status"] == "SOMETHING_NEW"
