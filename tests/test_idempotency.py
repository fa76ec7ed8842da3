"""PayPal-Request-Id: a repeated POST replays the first response and takes effect once."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from helpers import Api, invoice_body

from ppnb.emulator import RunningEmulator

INVOICES = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"
TEMPLATES = "/v2/invoicing/templates"


def rid(value: str) -> dict[str, str]:
    return {"PayPal-Request-Id": value}


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def same_response(first: httpx.Response, second: httpx.Response) -> None:
    """``second`` replays ``first``: status, content type and body bytes."""
    assert second.status_code == first.status_code, second.text
    assert second.headers.get("content-type") == first.headers.get("content-type")
    assert second.content == first.content


def assert_conflict(response: httpx.Response, request_id: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["name"] == "RESOURCE_CONFLICT"
    assert body["debug_id"] == response.headers["paypal-debug-id"]
    detail = body["details"][0]
    assert (detail["issue"], detail["field"], detail["location"], detail["value"]) == (
        "DUPLICATE_REQUEST_ID", "PayPal-Request-Id", "header", request_id)


def transactions(api: Api, invoice_id: str) -> list[dict[str, Any]]:
    return api.invoice(invoice_id).get("payments", {}).get("transactions", [])


@pytest.fixture
def other(merchants: Callable[[], Api]) -> Api:
    """A second, unrelated merchant."""
    return merchants()


# --- replays ----------------------------------------------------------------------------------


def test_create_twice_makes_one_invoice(api: Api) -> None:
    first = api.post(INVOICES, invoice_body(), headers=rid("create-1"))
    second = api.post(INVOICES, invoice_body(), headers=rid("create-1"))
    assert first.status_code == 201, first.text
    same_response(first, second)
    assert second.json()["id"] == first.json()["id"]
    assert api.count() == 1


def test_replay_is_the_first_response_not_a_rerun(api: Api) -> None:
    """After the invoice changed, the replay still shows what the first call returned."""
    first = api.post(INVOICES, invoice_body(memo="v1"), headers=rid("create-2"))
    invoice_id = first.json()["id"]
    assert api.put(f"{INVOICES}/{invoice_id}", invoice_body(memo="v2")).status_code == 200
    replay = api.post(INVOICES, invoice_body(memo="v1"), headers=rid("create-2"))
    same_response(first, replay)
    assert replay.json()["detail"]["memo"] == "v1"
    assert api.invoice(invoice_id)["detail"]["memo"] == "v2"
    assert api.count() == 1


def test_replay_survives_a_new_token(api: Api) -> None:
    """Request ids belong to the merchant, not to one access token."""
    first = api.post(INVOICES, invoice_body(), headers=rid("create-3"))
    api.token = api.fetch_token()
    same_response(first, api.post(INVOICES, invoice_body(), headers=rid("create-3")))
    assert api.count() == 1


def test_record_payment_twice_makes_one_transaction(api: Api) -> None:
    invoice_id = api.sent()["id"]
    body = {"method": "CASH", "amount": usd("40.00")}
    path = f"{INVOICES}/{invoice_id}/payments"
    first = api.post(path, body, headers=rid("pay-1"))
    second = api.post(path, body, headers=rid("pay-1"))
    assert first.status_code == 200, first.text
    same_response(first, second)
    [transaction] = transactions(api, invoice_id)
    assert transaction["payment_id"] == first.json()["payment_id"]
    doc = api.invoice(invoice_id)
    assert doc["due_amount"]["value"] == "60.00"
    assert doc["payments"]["paid_amount"]["value"] == "40.00"
    assert doc["status"] == "PARTIALLY_PAID"


def test_record_refund_twice_makes_one_refund(api: Api) -> None:
    invoice_id = api.sent()["id"]
    assert api.pay(invoice_id, "40.00").status_code == 200
    path = f"{INVOICES}/{invoice_id}/refunds"
    body = {"method": "CASH", "amount": usd("15.00")}
    first = api.post(path, body, headers=rid("refund-1"))
    assert first.status_code == 200, first.text
    same_response(first, api.post(path, body, headers=rid("refund-1")))
    refunds = api.invoice(invoice_id)["refunds"]
    assert len(refunds["transactions"]) == 1
    assert refunds["refund_amount"]["value"] == "15.00"


def test_send_twice_sends_once(timed: tuple[RunningEmulator, Api]) -> None:
    running, api = timed
    invoice_id = api.create()["id"]
    first = api.post(f"{INVOICES}/{invoice_id}/send", {"note": "Hi"}, headers=rid("send-1"))
    assert first.status_code == 200, first.text
    sent = api.invoice(invoice_id)
    running.emulator.clock.advance(seconds=3600)
    second = api.post(f"{INVOICES}/{invoice_id}/send", {"note": "Hi"}, headers=rid("send-1"))
    same_response(first, second)
    after = api.invoice(invoice_id)
    assert after == sent
    assert after["status"] == "SENT"
    assert after["detail"]["metadata"]["last_sent_time"] == "2025-01-15T09:00:00Z"


def test_remind_replay_counts_once_against_the_daily_limit(
    timed: tuple[RunningEmulator, Api],
) -> None:
    running, api = timed
    merchant = running.emulator.merchant(api.client_id)
    invoice_id = api.sent()["id"]
    path = f"{INVOICES}/{invoice_id}/remind"

    def reminders() -> int:
        return running.emulator.service.reminders_today(merchant, invoice_id)

    first = api.post(path, {}, headers=rid("remind-1"))
    assert first.status_code == 204, first.text
    same_response(first, api.post(path, {}, headers=rid("remind-1")))
    assert first.content == b""
    assert reminders() == 1
    assert api.post(path, {}, headers=rid("remind-2")).status_code == 204  # the 2nd of 2
    assert reminders() == 2
    # Replays of either still succeed and still do not count.
    assert api.post(path, {}, headers=rid("remind-1")).status_code == 204
    assert api.post(path, {}, headers=rid("remind-2")).status_code == 204
    assert reminders() == 2
    third = api.post(path, {}, headers=rid("remind-3"))  # a 3rd real one: over the limit
    assert third.status_code == 422, third.text
    assert third.json()["details"][0]["issue"] == "MAX_REMINDERS_PER_DAY"
    assert reminders() == 2
    # Next day: the refused request id replays its 422, a new id goes through.
    running.emulator.clock.advance(days=1)
    api.token = api.fetch_token()  # a day outlives a token
    same_response(third, api.post(path, {}, headers=rid("remind-3")))
    assert reminders() == 0
    assert api.post(path, {}, headers=rid("remind-4")).status_code == 204
    assert reminders() == 1


def test_replayed_422_stays_422(api: Api) -> None:
    """A refused request replays its refusal even once it would now succeed."""
    invoice_id = api.create()["id"]
    path = f"{INVOICES}/{invoice_id}/remind"
    first = api.post(path, {}, headers=rid("remind-draft"))
    assert first.status_code == 422, first.text
    assert first.json()["name"] == "UNPROCESSABLE_ENTITY"
    assert first.json()["details"][0]["issue"] == "CANNOT_REMIND_INVOICE"
    assert first.json()["debug_id"] == first.headers["paypal-debug-id"]
    assert api.send(invoice_id).status_code == 200  # now remindable
    replay = api.post(path, {}, headers=rid("remind-draft"))
    same_response(first, replay)
    assert replay.json()["debug_id"] == replay.headers["paypal-debug-id"]
    assert api.post(path, {}, headers=rid("remind-sent")).status_code == 204


def test_replayed_400_stays_400_and_stores_nothing(api: Api) -> None:
    bad = invoice_body(currency="XYZ")
    first = api.post(INVOICES, bad, headers=rid("bad-1"))
    assert first.status_code == 400, first.text
    assert first.json()["debug_id"] == first.headers["paypal-debug-id"]
    replay = api.post(INVOICES, bad, headers=rid("bad-1"))
    same_response(first, replay)
    assert replay.json()["debug_id"] == replay.headers["paypal-debug-id"]
    assert api.count() == 0


def test_replayed_qr_code_is_the_same_image(api: Api) -> None:
    invoice_id = api.sent()["id"]
    path = f"{INVOICES}/{invoice_id}/generate-qr-code"
    first = api.post(path, {"width": 200, "height": 200}, headers=rid("qr-1"))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("multipart/mixed")
    same_response(first, api.post(path, {"width": 200, "height": 200}, headers=rid("qr-1")))


# --- conflicts --------------------------------------------------------------------------------


def test_same_id_different_body_is_409(api: Api) -> None:
    first = api.post(INVOICES, invoice_body(memo="one"), headers=rid("dup-1"))
    assert first.status_code == 201, first.text
    assert_conflict(api.post(INVOICES, invoice_body(memo="two"), headers=rid("dup-1")), "dup-1")
    assert api.count() == 1
    assert api.invoice(first.json()["id"])["detail"]["memo"] == "one"
    # The original is still replayable after the conflict.
    same_response(first, api.post(INVOICES, invoice_body(memo="one"), headers=rid("dup-1")))


def test_same_id_different_payment_is_409(api: Api) -> None:
    invoice_id = api.sent()["id"]
    path = f"{INVOICES}/{invoice_id}/payments"
    assert api.post(path, {"method": "CASH", "amount": usd("10.00")},
                    headers=rid("pay-2")).status_code == 200
    assert_conflict(api.post(path, {"method": "CASH", "amount": usd("20.00")},
                             headers=rid("pay-2")), "pay-2")
    [transaction] = transactions(api, invoice_id)
    assert transaction["amount"]["value"] == "10.00"
    assert api.invoice(invoice_id)["due_amount"]["value"] == "90.00"


def test_same_id_on_another_route_is_409(api: Api) -> None:
    invoice_id = api.sent()["id"]
    other_id = api.sent()["id"]
    assert api.post(f"{INVOICES}/{invoice_id}/payments", {"method": "CASH"},
                    headers=rid("route-1")).status_code == 200
    # Same body, another invoice's path; then another operation altogether.
    assert_conflict(api.post(f"{INVOICES}/{other_id}/payments", {"method": "CASH"},
                             headers=rid("route-1")), "route-1")
    assert_conflict(api.post(INVOICES, invoice_body(), headers=rid("route-1")), "route-1")
    assert transactions(api, other_id) == []
    assert api.count() == 2


def test_same_id_different_query_is_409(api: Api) -> None:
    body = invoice_body(memo="query")
    first = api.post(INVOICES, body, params={"tag": "a"}, headers=rid("query-1"))
    assert first.status_code == 201, first.text
    same_response(first, api.post(INVOICES, body, params={"tag": "a"}, headers=rid("query-1")))
    assert_conflict(api.post(INVOICES, body, params={"tag": "b"}, headers=rid("query-1")),
                    "query-1")
    assert api.count() == 1


def test_a_search_is_a_read_and_never_replayed(api: Api) -> None:
    """A search has no effect to apply once: the same request id answers the book as it is
    now, and its pages are not stored."""
    first = api.post(SEARCH, {}, params={"total_required": "true"}, headers=rid("look"))
    api.create()
    again = api.post(SEARCH, {}, params={"total_required": "true"}, headers=rid("look"))
    assert (first.json()["total_items"], again.json()["total_items"]) == (0, 1)


# --- scope ------------------------------------------------------------------------------------


def test_merchants_use_request_ids_independently(api: Api, other: Api) -> None:
    mine = api.post(INVOICES, invoice_body(memo="mine"), headers=rid("shared-id"))
    theirs = other.post(INVOICES, invoice_body(memo="theirs"), headers=rid("shared-id"))
    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["detail"]["memo"] == "theirs"
    # Each merchant's replay is its own.
    again = other.post(INVOICES, invoice_body(memo="theirs"), headers=rid("shared-id"))
    same_response(theirs, again)
    assert api.count() == other.count() == 1


def test_without_the_header_nothing_is_deduplicated(api: Api) -> None:
    first = api.post(INVOICES, invoice_body())
    second = api.post(INVOICES, invoice_body())
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert api.count() == 2
    invoice_id = first.json()["id"]
    assert api.send(invoice_id).status_code == 200
    for _ in range(2):
        assert api.pay(invoice_id, "10.00").status_code == 200
    assert len(transactions(api, invoice_id)) == 2


def test_empty_header_is_not_a_request_id(api: Api) -> None:
    first = api.post(INVOICES, invoice_body(), headers=rid(""))
    second = api.post(INVOICES, invoice_body(), headers=rid(""))
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["id"] != second.json()["id"]
    assert api.count() == 2


def test_only_posts_are_deduplicated(api: Api) -> None:
    """PUT with a reused id runs each time (it is idempotent by nature)."""
    invoice_id = api.create()["id"]
    path = f"{INVOICES}/{invoice_id}"
    assert api.put(path, invoice_body(memo="a"), headers=rid("put-1")).status_code == 200
    second = api.put(path, invoice_body(memo="b"), headers=rid("put-1"))
    assert second.status_code == 200, second.text
    assert api.invoice(invoice_id)["detail"]["memo"] == "b"


def test_authentication_failures_are_not_remembered(api: Api) -> None:
    refused = api.post(INVOICES, invoice_body(), headers={**rid("auth-1"),
                                                          "Authorization": "Bearer A21AAnope"},
                       auth=False)
    assert refused.status_code == 401, refused.text
    accepted = api.post(INVOICES, invoice_body(), headers=rid("auth-1"))
    assert accepted.status_code == 201, accepted.text
    assert api.count() == 1


def test_authorization_failures_are_not_remembered(server: RunningEmulator, api: Api,
                                                   other: Api) -> None:
    payer_id = server.emulator.merchant(api.client_id).payer_id

    def b64url(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": other.client_id, "payer_id": payer_id}
    headers = {**rid("partner-1"),
               "PayPal-Auth-Assertion": f"{b64url({'alg': 'none'})}.{b64url(claims)}."}
    refused = other.post(INVOICES, invoice_body(), headers=headers)
    assert refused.status_code == 403, refused.text
    server.emulator.grant(api.client_id, other.client_id)
    accepted = other.post(INVOICES, invoice_body(), headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert api.count() == 1
    same_response(accepted, other.post(INVOICES, invoice_body(), headers=headers))
    assert api.count() == 1
    assert other.count() == 0


def test_malformed_body_is_not_remembered(api: Api) -> None:
    """A body that never parsed is not an attempt; the id stays free for the real request."""
    broken = api.post(INVOICES, content=b'{"detail":', headers={
        **rid("parse-1"), "Content-Type": "application/json"})
    assert broken.status_code == 400, broken.text
    assert api.post(INVOICES, invoice_body(), headers=rid("parse-1")).status_code == 201
    assert api.count() == 1
