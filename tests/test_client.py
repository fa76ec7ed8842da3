"""ppnb.client: every operation, the error tree, retries, tokens, secrets, connect(), partners.

The client talks real loopback HTTP to the emulator wherever the emulator can produce the
situation; ``httpx.MockTransport`` shapes only what it cannot (429, 5xx, dropped connections).
No test really sleeps: retry waits go to a recorder.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import Api, invoice_body

import ppnb.connection as connect_module
from ppnb._extras import MissingExtra
from ppnb.client import (
    APIError,
    AuthenticationError,
    Client,
    ClientCredentials,
    InvalidRequest,
    NotFound,
    PayPalError,
    PermissionDenied,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)
from ppnb.connection import ENVIRONMENTS, connect
from ppnb.emulator import Credentials, RunningEmulator
from ppnb.pager import fetch_raw

TOKEN = "/v1/oauth2/token"
INVOICES = "/v2/invoicing/invoices"
TEMPLATES = "/v2/invoicing/templates"
SEARCH = "/v2/invoicing/search-invoices"
SANDBOX = ENVIRONMENTS["sandbox"]
MOCK_SECRET = "mock-secret-" + "s3cr3t" * 6


# --- tools ------------------------------------------------------------------------------------


def snapshot(request: httpx.Request) -> httpx.Request:
    """The request as sent now (the auth flow re-sends the same object with a new token)."""
    return httpx.Request(request.method, request.url, headers=request.headers.copy(),
                         content=request.read())


class Recording(httpx.BaseTransport):
    """The real HTTP transport, remembering every exchange (the wire as the server saw it)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.exchanges.append((snapshot(request), response))
        return response

    def close(self) -> None:
        self.inner.close()

    def to(self, path: str) -> list[tuple[httpx.Request, httpx.Response]]:
        return [(q, r) for q, r in self.exchanges if q.url.path == path]

    def bearer_tokens(self) -> set[str]:
        return {q.headers["authorization"].removeprefix("Bearer ") for q, _ in self.exchanges
                if q.headers.get("authorization", "").startswith("Bearer ")}


class Ceiling(random.Random):
    """Full jitter always at its ceiling, so backoff waits are exactly predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


Reply = Callable[[httpx.Request], httpx.Response]
NAMES = {400: "INVALID_REQUEST", 401: "AUTHENTICATION_FAILURE", 403: "NOT_AUTHORIZED",
         404: "RESOURCE_NOT_FOUND", 409: "RESOURCE_CONFLICT", 422: "UNPROCESSABLE_ENTITY",
         429: "RATE_LIMIT_REACHED", 500: "INTERNAL_SERVER_ERROR", 502: "BAD_GATEWAY",
         503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


def reply(status: int, *, retry_after: str | None = None, body: Any = None) -> Reply:
    """A PayPal-shaped answer (a fresh response each time it is used)."""

    def make(request: httpx.Request) -> httpx.Response:
        debug_id = f"dbg{uuid.uuid4().hex[:10]}"
        headers = {"Paypal-Debug-Id": debug_id}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if body is not None:
            return httpx.Response(status, headers=headers, content=body)
        if status < 400:
            return httpx.Response(status, headers=headers, json={"id": "INV2-MOCK"})
        return httpx.Response(status, headers=headers, json={
            "name": NAMES[status], "message": f"Mock {status}.", "debug_id": debug_id,
            "details": [{"issue": f"MOCK_{status}", "description": "Shaped by the test."}]})

    return make


def drop(kind: type[httpx.TransportError] = httpx.ConnectError) -> Reply:
    """No answer at all."""

    def make(request: httpx.Request) -> httpx.Response:
        raise kind("connection refused by the test", request=request)

    return make


class Script:
    """A MockTransport handler: tokens are granted; API calls get the scripted answers in
    order, the last one repeating."""

    def __init__(self, *answers: Reply) -> None:
        self.answers = answers
        self.api_calls: list[httpx.Request] = []
        self.token_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN:
            self.token_calls += 1
            return httpx.Response(200, json={
                "access_token": f"MOCK-TOKEN-{self.token_calls}-{uuid.uuid4().hex}",
                "token_type": "Bearer", "expires_in": 32400})
        self.api_calls.append(snapshot(request))
        return self.answers[min(len(self.api_calls), len(self.answers)) - 1](request)


def scripted(*answers: Reply, **policy: Any) -> tuple[Client, Script, list[float]]:
    """A sandbox client whose wire is a script; its retry waits are recorded, not slept."""
    script = Script(*answers)
    sleeps: list[float] = []
    client = Client(SANDBOX, "mock-app", MOCK_SECRET, transport=httpx.MockTransport(script),
                    retry=RetryPolicy(sleep=sleeps.append, rng=Ceiling(), **policy))
    return client, script, sleeps


@dataclass
class Rig:
    """A client for a fresh merchant on the shared emulator, with its wire recorded."""

    client: Client
    wire: Recording
    sleeps: list[float]
    merchant: Api


def rig_for(server: RunningEmulator, merchant: Api) -> Rig:
    wire = Recording()
    sleeps: list[float] = []
    client = Client(server.base_url, merchant.client_id, merchant.secret, transport=wire,
                    retry=RetryPolicy(sleep=sleeps.append))
    return Rig(client, wire, sleeps, merchant)


@pytest.fixture
def rig(server: RunningEmulator, merchants: Callable[[], Api]) -> Iterator[Rig]:
    made = rig_for(server, merchants())
    yield made
    made.client.close()


def usd(value: str) -> dict[str, str]:
    return {"currency_code": "USD", "value": value}


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def search_total(client: Client, **filters: Any) -> int:
    return client.invoices.search(filters, total_required=True, page_size=100)["total_items"]


# --- 1. every operation, end to end -----------------------------------------------------------


def test_every_invoice_operation_end_to_end(rig: Rig) -> None:
    invoices = rig.client.invoices
    created = invoices.create(invoice_body(number="CL-0001", memo="first"))
    assert type(created) is dict
    assert created["status"] == "DRAFT" and created["detail"]["invoice_number"] == "CL-0001"
    invoice_id = created["id"]
    assert invoices.get(invoice_id) == created

    page = invoices.list(total_required=True)
    assert type(page) is dict and page["total_items"] == 1
    assert [doc["id"] for doc in page["items"]] == [invoice_id]

    updated = invoices.update(invoice_id, invoice_body(number="CL-0001", memo="second"))
    assert updated["detail"]["memo"] == "second"
    assert invoices.get(invoice_id)["detail"]["memo"] == "second"

    sent = invoices.send(invoice_id, {"send_to_invoicer": True})
    assert sent["rel"] == "payer-view" and invoice_id in sent["href"]
    assert invoices.get(invoice_id)["status"] == "SENT"
    assert invoices.remind(invoice_id, {"subject": "Reminder"}) is None

    payment = invoices.record_payment(invoice_id, {"method": "BANK_TRANSFER",
                                                   "amount": usd("40.00")})
    assert set(payment) == {"payment_id"}
    assert invoices.get(invoice_id)["status"] == "PARTIALLY_PAID"
    refund = invoices.record_refund(invoice_id, {"method": "BANK_TRANSFER",
                                                 "amount": usd("15.00")})
    assert set(refund) == {"refund_id"}
    assert invoices.get(invoice_id)["status"] == "PARTIALLY_PAID"  # as PayPal (OBSERVED.md)
    assert invoices.get(invoice_id)["refunds"]["refund_amount"] == usd("15.00")
    assert invoices.delete_refund(invoice_id, refund["refund_id"]) is None
    assert invoices.get(invoice_id)["status"] == "PARTIALLY_PAID"
    assert invoices.delete_payment(invoice_id, payment["payment_id"]) is None
    assert invoices.get(invoice_id)["due_amount"] == usd("100.00")

    png = invoices.generate_qr_code(invoice_id, width=200, height=320)
    assert type(png) is bytes and png_size(png) == (200, 320)

    assert invoices.cancel(invoice_id, {"note": "No longer needed"}) is None
    assert invoices.get(invoice_id)["status"] == "CANCELLED"
    assert invoices.generate_next_invoice_number() == {"invoice_number": "CL-0002"}

    found = invoices.search({"invoice_number": "cl-0001"}, total_required=True)
    assert found["total_items"] == 1 and found["items"][0]["status"] == "CANCELLED"
    assert invoices.search({"status": ["DRAFT"]}, total_required=True)["total_items"] == 0

    draft = invoices.create(invoice_body())
    assert draft["detail"]["invoice_number"] == "CL-0002"
    assert invoices.delete(draft["id"]) is None
    with pytest.raises(NotFound):
        invoices.get(draft["id"])
    assert search_total(rig.client) == 1


def test_update_notification_flags_are_sent(rig: Rig) -> None:
    invoice_id = rig.client.invoices.create(invoice_body())["id"]
    rig.client.invoices.update(invoice_id, invoice_body(memo="x"), send_to_recipient=False,
                               send_to_invoicer=True)
    request, response = rig.wire.exchanges[-1]
    assert request.method == "PUT" and response.status_code == 200
    assert dict(request.url.params) == {"send_to_recipient": "false",
                                        "send_to_invoicer": "true"}


def test_every_template_operation_end_to_end(rig: Rig) -> None:
    templates = rig.client.templates
    listed = templates.list()
    assert type(listed) is dict
    assert sorted(t["name"] for t in listed["templates"]) == ["Amount", "Hours", "Quantity"]

    made = templates.create({"name": "Monthly retainer", "template_info": {
        "detail": {"currency_code": "USD", "memo": "Retainer"}}})
    assert made["name"] == "Monthly retainer" and made["id"]
    assert templates.get(made["id"]) == made
    assert made["id"] in {t["id"] for t in templates.list()["templates"]}

    renamed = templates.update(made["id"], {"name": "Quarterly retainer"})
    assert renamed["name"] == "Quarterly retainer"
    assert templates.get(made["id"])["name"] == "Quarterly retainer"

    assert templates.delete(made["id"]) is None
    with pytest.raises(NotFound):
        templates.get(made["id"])
    assert len(templates.list()["templates"]) == 3


def test_get_token_returns_paypal_body_and_is_used(rig: Rig) -> None:
    body = rig.client.get_token()
    assert type(body) is dict
    assert body["token_type"] == "Bearer" and body["expires_in"] == 32400
    assert body["scope"].startswith("https://uri.paypal.com/services/invoicing")
    assert rig.client._auth.fetches == 1
    rig.client.templates.list()
    assert rig.client._auth.fetches == 1  # the fetched token serves the next call
    request, response = rig.wire.exchanges[-1]
    assert response.status_code == 200
    assert request.headers["authorization"] == f"Bearer {body['access_token']}"


def test_every_write_carries_a_fresh_request_id(rig: Rig) -> None:
    invoice_id = rig.client.invoices.create(invoice_body())["id"]
    rig.client.invoices.send(invoice_id)
    rig.client.invoices.search({})
    rig.client.invoices.generate_next_invoice_number()
    rig.client.invoices.get(invoice_id)
    posts = [q for q, _ in rig.wire.exchanges
             if q.method == "POST" and q.url.path.startswith("/v2/") and q.url.path != SEARCH]
    ids = [q.headers["paypal-request-id"] for q in posts]
    assert len(posts) == 3 and len(set(ids)) == 3
    [searched] = [q for q, _ in rig.wire.exchanges if q.url.path == SEARCH]
    assert "paypal-request-id" not in searched.headers  # a read: nothing to apply once
    assert all(uuid.UUID(value).version == 4 for value in ids)
    gets = [q for q, _ in rig.wire.exchanges if q.method == "GET"]
    assert gets and all("paypal-request-id" not in q.headers for q in gets)


# --- 2. errors --------------------------------------------------------------------------------


def check_error(err: APIError, wire: Recording | None, *, kind: type[APIError], status: int,
                name: str, issues: list[str], method: str, path: str) -> None:
    assert type(err) is kind and isinstance(err, PayPalError)
    assert (err.status, err.name, err.method, err.path) == (status, name, method, path)
    assert err.message
    assert err.issues == issues
    assert [d["issue"] for d in err.details] == issues
    if wire is not None:
        request, response = wire.exchanges[-1]
        assert (request.method, request.url.path, response.status_code) == (method, path,
                                                                            status)
        assert err.debug_id and err.debug_id == response.headers["paypal-debug-id"]
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert text.startswith(f"{status} {name} on {method} {path}")
    for issue in issues:
        assert issue in text
    if err.debug_id:
        assert err.debug_id in text


def test_400_is_invalid_request(rig: Rig) -> None:
    with pytest.raises(InvalidRequest) as caught:
        rig.client.invoices.create(invoice_body(
            currency="JPY", items=[{"name": "Tea", "quantity": "1",
                                    "unit_amount": {"currency_code": "JPY", "value": "1.5"}}]))
    check_error(caught.value, rig.wire, kind=InvalidRequest, status=400,
                name="INVALID_REQUEST", issues=["DECIMAL_PRECISION"], method="POST",
                path=INVOICES)
    assert caught.value.details[0]["field"].startswith("/items/0/unit_amount")


def test_400_on_query_parameter(rig: Rig) -> None:
    with pytest.raises(InvalidRequest) as caught:
        rig.client.invoices.search({}, page_size=101)
    check_error(caught.value, rig.wire, kind=InvalidRequest, status=400,
                name="INVALID_REQUEST", issues=["INVALID_INTEGER_MAX_VALUE"], method="POST",
                path=SEARCH)


def test_401_bad_secret_is_authentication_error(server: RunningEmulator,
                                                merchants: Callable[[], Api]) -> None:
    merchant = merchants()
    wrong = "wrong-" + merchant.secret[::-1]
    with Client(server.base_url, merchant.client_id, wrong) as client, \
            pytest.raises(AuthenticationError) as caught:
        client.invoices.list()
    err = caught.value
    check_error(err, None, kind=AuthenticationError, status=401, name="invalid_client",
                issues=[], method="POST", path=TOKEN)
    assert "Client Authentication failed" in str(err)
    for text in (str(err), repr(err), "".join(traceback.format_exception(err))):
        assert wrong not in text and merchant.secret not in text


def test_403_is_permission_denied(rig: Rig) -> None:
    system = rig.client.templates.list()["templates"][0]
    with pytest.raises(PermissionDenied) as caught:
        rig.client.templates.delete(system["id"])
    check_error(caught.value, rig.wire, kind=PermissionDenied, status=403,
                name="NOT_AUTHORIZED", issues=["CANNOT_DELETE_GLOBAL_TEMPLATE"],
                method="DELETE", path=f"{TEMPLATES}/{system['id']}")


def test_404_is_not_found(rig: Rig) -> None:
    missing = "INV2-AAAA-BBBB-CCCC-DDDD"
    with pytest.raises(NotFound) as caught:
        rig.client.invoices.get(missing)
    check_error(caught.value, rig.wire, kind=NotFound, status=404, name="RESOURCE_NOT_FOUND",
                issues=["INVALID_RESOURCE_ID"], method="GET", path=f"{INVOICES}/{missing}")


def test_409_is_invalid_request(rig: Rig) -> None:
    rig.client.invoices.create(invoice_body(memo="one"), request_id="reused-id")
    with pytest.raises(InvalidRequest) as caught:
        rig.client.invoices.create(invoice_body(memo="two"), request_id="reused-id")
    check_error(caught.value, rig.wire, kind=InvalidRequest, status=409,
                name="RESOURCE_CONFLICT", issues=["DUPLICATE_REQUEST_ID"], method="POST",
                path=INVOICES)
    assert search_total(rig.client) == 1


def test_422_is_invalid_request_and_one_line(rig: Rig) -> None:
    draft = rig.client.invoices.create(invoice_body())["id"]
    with pytest.raises(InvalidRequest) as caught:
        rig.client.invoices.cancel(draft)
    err = caught.value
    check_error(err, rig.wire, kind=InvalidRequest, status=422, name="UNPROCESSABLE_ENTITY",
                issues=["CANNOT_CANCEL_DRAFT_INVOICE"], method="POST",
                path=f"{INVOICES}/{draft}/cancel")
    assert "CANNOT_CANCEL_DRAFT_INVOICE" in str(err) and "\n" not in str(err)
    assert err.body["debug_id"] == err.debug_id


@pytest.mark.parametrize(("status", "kind"), [
    (429, RateLimited), (500, ServerError), (502, ServerError), (503, ServerError),
    (504, ServerError),
])
def test_statuses_the_emulator_cannot_make(status: int, kind: type[APIError]) -> None:
    client, script, _ = scripted(reply(status, retry_after="1"), attempts=2)
    with client, pytest.raises(kind) as caught:
        client.invoices.get("INV2-X")
    err = caught.value
    check_error(err, None, kind=kind, status=status, name=NAMES[status],
                issues=[f"MOCK_{status}"], method="GET", path=f"{INVOICES}/INV2-X")
    assert len(script.api_calls) == 2
    assert err.debug_id == err.body["debug_id"]
    if isinstance(err, RateLimited):
        assert err.retry_after == 1.0


def test_debug_id_comes_from_header_when_body_has_none() -> None:
    body = b'{"name": "SERVICE_UNAVAILABLE", "message": "Down."}'
    client, _, _ = scripted(reply(503, body=body), attempts=1)
    with client, pytest.raises(ServerError) as caught:
        client.templates.list()
    assert caught.value.debug_id and caught.value.debug_id.startswith("dbg")
    assert caught.value.debug_id in str(caught.value)


def test_non_json_multiline_error_body_still_one_line() -> None:
    page = b"<html>\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\n</html>"
    client, _, _ = scripted(reply(502, body=page), attempts=1)
    with client, pytest.raises(ServerError) as caught:
        client.invoices.list()
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text
    assert "502 Bad Gateway" in text and caught.value.issues == []


def test_no_answer_is_transport_error_over_real_loopback() -> None:
    with socket.socket() as closed:  # bound but never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        sleeps: list[float] = []
        with Client(f"http://127.0.0.1:{port}", "app", MOCK_SECRET,
                    retry=RetryPolicy(attempts=3, sleep=sleeps.append)) as client, \
                pytest.raises(TransportError) as caught:
            client.invoices.get("INV2-X")
    err = caught.value
    assert not isinstance(err, APIError) and isinstance(err, PayPalError)
    assert (err.method, err.path) == ("GET", f"{INVOICES}/INV2-X")
    assert "\n" not in str(err) and "3 tries" in str(err) and "ConnectError" in str(err)
    assert len(sleeps) == 2 and client.stats["transport_errors"] == 3


# --- 3. retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_retry_with_capped_exponential_backoff(status: int) -> None:
    client, script, sleeps = scripted(reply(status), attempts=6, backoff=0.5, max_backoff=3.0)
    with client, pytest.raises(ServerError):
        client.invoices.get("INV2-X")
    assert len(script.api_calls) == 6
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert client.stats["retries"] == 5 and client.stats[str(status)] == 6


def test_jittered_waits_stay_under_the_exponential_ceiling() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(attempts=8, backoff=0.25, max_backoff=4.0, sleep=sleeps.append,
                         rng=random.Random(7))
    client = Client(SANDBOX, "mock-app", MOCK_SECRET,
                    transport=httpx.MockTransport(Script(reply(500))), retry=policy)
    with client, pytest.raises(ServerError):
        client.templates.list()
    assert len(sleeps) == 7
    for attempt, waited in enumerate(sleeps):
        assert 0 <= waited <= min(4.0, 0.25 * 2**attempt)


def test_transient_server_errors_recover() -> None:
    client, script, sleeps = scripted(reply(503), reply(502), reply(200))
    with client:
        assert client.invoices.get("INV2-X") == {"id": "INV2-MOCK"}
    assert len(script.api_calls) == 3 and len(sleeps) == 2


def test_429_honours_retry_after() -> None:
    client, script, sleeps = scripted(reply(429, retry_after="7"), reply(429, retry_after="2.5"),
                                      reply(200), backoff=0.01)
    with client:
        assert client.invoices.get("INV2-X") == {"id": "INV2-MOCK"}
    assert len(script.api_calls) == 3
    assert len(sleeps) == 2 and sleeps[0] >= 7 and sleeps[1] >= 2.5


def test_429_retry_after_is_capped_and_exhaustion_raises() -> None:
    client, script, sleeps = scripted(reply(429, retry_after="3600"), attempts=3,
                                      max_retry_after=30.0)
    with client, pytest.raises(RateLimited) as caught:
        client.invoices.search({})
    assert len(script.api_calls) == 3 and sleeps == [30.0, 30.0]
    assert caught.value.retry_after == 3600.0


def test_connection_errors_are_retried_then_reported() -> None:
    client, script, sleeps = scripted(drop(), drop(httpx.ReadTimeout), reply(200))
    with client:
        assert client.invoices.get("INV2-X") == {"id": "INV2-MOCK"}
    assert len(script.api_calls) == 3 and len(sleeps) == 2

    client, script, sleeps = scripted(drop(), attempts=4, backoff=1.0, max_backoff=2.0)
    with client, pytest.raises(TransportError) as caught:
        client.invoices.create({"detail": {"currency_code": "USD"}})
    assert len(script.api_calls) == 4 and sleeps == [1.0, 2.0, 2.0]
    assert caught.value.method == "POST" and caught.value.path == INVOICES


@pytest.mark.parametrize(("status", "kind"), [
    (400, InvalidRequest), (403, PermissionDenied), (404, NotFound), (409, InvalidRequest),
    (422, InvalidRequest),
])
def test_client_errors_are_never_retried(status: int, kind: type[APIError]) -> None:
    client, script, sleeps = scripted(reply(status), reply(200))
    with client, pytest.raises(kind):
        client.invoices.create({})
    assert len(script.api_calls) == 1 and sleeps == [] and script.token_calls == 1


def test_401_refreshes_the_token_once_then_gives_up() -> None:
    client, script, sleeps = scripted(reply(401), reply(200))
    with client:
        assert client.invoices.get("INV2-X") == {"id": "INV2-MOCK"}  # refresh, then success
        assert script.token_calls == 2 and len(script.api_calls) == 2

    client, script, sleeps = scripted(reply(401))
    with client, pytest.raises(AuthenticationError) as caught:
        client.invoices.get("INV2-X")
    assert caught.value.status == 401
    assert len(script.api_calls) == 2 and script.token_calls == 2 and sleeps == []
    first, second = (q.headers["authorization"] for q in script.api_calls)
    assert first != second  # the retry carried the refreshed token


def test_token_endpoint_outage_is_retried() -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == TOKEN and calls.count(TOKEN) < 3:
            return httpx.Response(503, headers={"Paypal-Debug-Id": "tok503"},
                                  json={"name": "SERVICE_UNAVAILABLE", "message": "Down."})
        if request.url.path == TOKEN:
            return httpx.Response(200, json={"access_token": "T", "expires_in": 32400})
        return httpx.Response(200, json={"ok": True})

    sleeps: list[float] = []
    with Client(SANDBOX, "mock-app", MOCK_SECRET, transport=httpx.MockTransport(flaky),
                retry=RetryPolicy(sleep=sleeps.append)) as client:
        assert client.templates.list() == {"ok": True}
    assert calls == [TOKEN, TOKEN, TOKEN, TEMPLATES] and len(sleeps) == 2

    with Client(SANDBOX, "mock-app", MOCK_SECRET,
                transport=httpx.MockTransport(lambda r: httpx.Response(
                    503, headers={"Paypal-Debug-Id": "tok503"}, json={"name": "DOWN"})),
                retry=RetryPolicy(attempts=2, sleep=sleeps.append)) as client, \
            pytest.raises(ServerError) as caught:
        client.templates.list()
    assert caught.value.path == TOKEN and caught.value.debug_id == "tok503"


def test_retries_reuse_the_request_id() -> None:
    client, script, _ = scripted(reply(503), drop(), reply(429, retry_after="0"), reply(201))
    with client:
        client.invoices.create(invoice_body())
        client.invoices.create(invoice_body(), request_id="my-own-id")
    first, given = script.api_calls[:4], script.api_calls[4:]
    ids = {q.headers["paypal-request-id"] for q in first}
    assert len(first) == 4 and len(ids) == 1
    assert uuid.UUID(ids.pop()).version == 4
    assert [q.headers["paypal-request-id"] for q in given] == ["my-own-id"]


class LoseFirstCreateAnswer(httpx.BaseTransport):
    """The real transport, except that the first invoice create reaches the emulator, is
    applied there, and then its answer is lost on the way back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.creates: list[httpx.Request] = []
        self.lost: httpx.Response | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path == INVOICES:
            self.creates.append(snapshot(request))
            if self.lost is None:
                response.read()
                self.lost = response
                raise httpx.ReadError("connection reset while reading the answer",
                                      request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def test_retried_create_is_applied_once(server: RunningEmulator,
                                        merchants: Callable[[], Api]) -> None:
    merchant = merchants()
    wire = LoseFirstCreateAnswer()
    sleeps: list[float] = []
    with Client(server.base_url, merchant.client_id, merchant.secret, transport=wire,
                retry=RetryPolicy(sleep=sleeps.append)) as client:
        created = client.invoices.create(invoice_body(memo="once"))
        assert wire.lost is not None and wire.lost.status_code == 201
        assert created["id"] == wire.lost.json()["id"]  # the replay of the applied create
        assert len(wire.creates) == 2 and len(sleeps) == 1
        first, second = (q.headers["paypal-request-id"] for q in wire.creates)
        assert first == second
        assert search_total(client) == 1
        assert search_total(client, memo="once") == 1


# --- 4. tokens --------------------------------------------------------------------------------


def test_token_is_shared_across_threads(rig: Rig) -> None:
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(10):
                page = rig.client.invoices.list(page_size=1)
                with lock:
                    results.append(len(page["items"]))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert results == [0] * 80
    assert rig.client._auth.fetches == 1
    assert len(rig.wire.to(TOKEN)) == 1 and len(rig.wire.bearer_tokens()) == 1


def test_token_refreshed_before_expiry_with_margin(server: RunningEmulator,
                                                   merchants: Callable[[], Api]) -> None:
    merchant = merchants()
    now = [1000.0]
    auth = ClientCredentials(merchant.client_id, merchant.secret, margin=300,
                             clock=lambda: now[0])
    wire = Recording()
    with Client(server.base_url, merchant.client_id, merchant.secret, _auth=auth,
                transport=wire) as client:
        client.templates.list()
        assert auth.fetches == 1
        now[0] += 32400 - 300 - 1  # one second before the margin: still fresh
        client.templates.list()
        assert auth.fetches == 1
        now[0] += 2  # inside the margin, though the server would still accept it
        client.templates.list()
        assert auth.fetches == 2
        client.templates.list()
        assert auth.fetches == 2
    assert len(wire.bearer_tokens()) == 2
    assert [r.status_code for _, r in wire.exchanges if r.status_code == 401] == []


def test_token_refetched_once_when_the_server_says_401(
        timed: tuple[RunningEmulator, Api]) -> None:
    running, merchant = timed
    wire = Recording()
    with Client(running.base_url, merchant.client_id, merchant.secret,
                transport=wire) as client:
        invoice_id = client.invoices.create(invoice_body())["id"]
        assert client._auth.fetches == 1
        running.emulator.clock.advance(seconds=32401)  # the server's clock runs ahead of ours
        assert client.invoices.send(invoice_id)["rel"] == "payer-view"
        assert client._auth.fetches == 2
    send = f"{INVOICES}/{invoice_id}/send"
    statuses = [(q.url.path, r.status_code) for q, r in wire.exchanges]
    assert statuses == [(TOKEN, 200), (INVOICES, 201), (send, 401), (TOKEN, 200), (send, 200)]
    refused, retried = wire.to(send)
    assert refused[1].json()["details"][0]["issue"] == "TOKEN_EXPIRED"
    assert refused[0].headers["authorization"] != retried[0].headers["authorization"]
    assert refused[0].headers["paypal-request-id"] == retried[0].headers["paypal-request-id"]


# --- 5. secrets never leak --------------------------------------------------------------------


def test_reprs_hide_the_secret(rig: Rig, server: RunningEmulator) -> None:
    secret = rig.merchant.secret
    rig.client.templates.list()
    token = rig.client._auth._token
    assert token
    credentials = Credentials(rig.merchant.client_id, secret)
    shown = [repr(rig.client), str(rig.client), repr(rig.client._auth), str(rig.client._auth),
             repr(credentials), str(credentials), repr(server), repr(server.credentials),
             str(server.credentials), repr(rig.client.retry)]
    for text in shown:
        assert secret not in text and token not in text
        assert server.credentials.client_secret not in text
    assert rig.merchant.client_id in repr(rig.client)
    assert "***" in repr(rig.client._auth) and "***" in repr(credentials)


def forbidden(merchant: Api, tokens: set[str]) -> list[str]:
    """Every form in which a credential could leak."""
    basic = base64.b64encode(f"{merchant.client_id}:{merchant.secret}".encode()).decode()
    return [merchant.secret, basic, *tokens]


def exception_texts(err: BaseException) -> list[str]:
    return [str(err), repr(err), *map(str, err.args),
            "".join(traceback.format_exception(err))]


def test_no_secret_in_any_exception(server: RunningEmulator, rig: Rig) -> None:
    errors: list[BaseException] = []
    invoices = rig.client.invoices
    draft = invoices.create(invoice_body())["id"]
    for action in (lambda: invoices.cancel(draft), lambda: invoices.get("INV2-NONE"),
                   lambda: invoices.search({}, page=0),
                   lambda: invoices.record_refund(draft, {"method": "CASH"}),
                   lambda: rig.client.acting_for(payer_id="NOBODY").invoices.list()):
        with pytest.raises(APIError) as caught:
            action()
        errors.append(caught.value)
    bad = Client(server.base_url, rig.merchant.client_id, rig.merchant.secret + "x")
    with bad, pytest.raises(AuthenticationError) as refused:
        bad.templates.list()
    errors.append(refused.value)
    lost = Client(server.base_url, rig.merchant.client_id, rig.merchant.secret,
                  transport=LoseFirstCreateAnswer(),
                  retry=RetryPolicy(attempts=1, sleep=lambda _: None))
    with lost, pytest.raises(TransportError) as dropped:
        lost.invoices.create(invoice_body())
    errors.append(dropped.value)
    assert lost._auth._token
    tokens = rig.wire.bearer_tokens() | {lost._auth._token}
    assert len(tokens) == 2
    texts = [text for err in errors for text in exception_texts(err)]
    assert len({type(e) for e in errors}) == 5
    for value in [*forbidden(rig.merchant, tokens), rig.merchant.secret + "x"]:
        assert all(value not in text for text in texts)


def test_no_secret_in_any_log_record(server: RunningEmulator, rig: Rig,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    names = {*logging.root.manager.loggerDict, "ppnb.client", "httpx", "httpcore", "ppnb"}
    detached: list[logging.Logger] = []
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
        logger = logging.getLogger(name)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
            detached.append(logger)
    try:
        rig.client.get_token()  # an explicit token fetch
        invoices = rig.client.invoices
        invoice_id = invoices.create(invoice_body())["id"]  # the flow's own fetch is above
        with pytest.raises(InvalidRequest):
            invoices.cancel(invoice_id)
        with pytest.raises(NotFound):
            invoices.get("INV2-NONE")
        lossy = Client(server.base_url, rig.merchant.client_id, rig.merchant.secret,
                       transport=LoseFirstCreateAnswer(),
                       retry=RetryPolicy(sleep=lambda _: None))
        with lossy:
            lossy.invoices.create(invoice_body())  # a retried request
            lossy_token = lossy._auth._token
        with Client(server.base_url, rig.merchant.client_id, "not-" + rig.merchant.secret
                    ) as bad, pytest.raises(AuthenticationError):
            bad.templates.list()
        mocked, script, _ = scripted(reply(503), reply(429, retry_after="0"), reply(200))
        with mocked:
            mocked.templates.list()
            mock_token = mocked._auth._token
    finally:
        for logger in detached:
            logger.removeHandler(caplog.handler)
    assert lossy_token and mock_token and script.token_calls == 1
    tokens = rig.wire.bearer_tokens() | {lossy_token, mock_token}
    assert len(tokens) == 3
    values = [*forbidden(rig.merchant, tokens), "not-" + rig.merchant.secret, MOCK_SECRET]
    records = caplog.records
    messages = [r.getMessage() for r in records]
    assert any("fetched an access token" in m for m in messages)
    assert sum("retrying" in m for m in messages) >= 3
    assert any(r.name.startswith("httpcore") for r in records)
    for record in records:
        dumped = [record.getMessage(), repr(record.args), repr(vars(record))]
        for value in values:
            assert all(value not in text for text in dumped), record.name


# --- 6. connect() -----------------------------------------------------------------------------


ENV_VARS = ("PPNB_ENV", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PPNB_BASE_URL",
            "PPNB_EMULATOR_DB")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PPNB_SEED", "none")  # test_connect_seeds_an_empty_book seeds one
    return monkeypatch


def test_connect_reads_the_environment(clean_env: pytest.MonkeyPatch, server: RunningEmulator,
                                       merchants: Callable[[], Api]) -> None:
    merchant = merchants()
    clean_env.setenv("PPNB_ENV", "emulator")
    clean_env.setenv("PAYPAL_CLIENT_ID", merchant.client_id)
    clean_env.setenv("PAYPAL_CLIENT_SECRET", merchant.secret)
    clean_env.setenv("PPNB_BASE_URL", server.base_url)
    with connect() as client:
        assert (client.base_url, client.client_id) == (server.base_url, merchant.client_id)
        created = client.invoices.create(invoice_body())
    assert merchant.invoice(created["id"])["id"] == created["id"]  # in this merchant's book

    clean_env.setenv("PPNB_ENV", "SANDBOX")
    clean_env.delenv("PPNB_BASE_URL")
    with connect() as client:
        assert client.base_url == SANDBOX and client.client_id == merchant.client_id
    clean_env.setenv("PPNB_ENV", "live")
    with connect(retry=RetryPolicy(attempts=1)) as client:
        assert client.base_url == ENVIRONMENTS["live"] and client.retry.attempts == 1


def test_connect_arguments_override_the_environment(
        clean_env: pytest.MonkeyPatch, server: RunningEmulator,
        merchants: Callable[[], Api]) -> None:
    merchant = merchants()
    clean_env.setenv("PPNB_ENV", "sandbox")
    clean_env.setenv("PAYPAL_CLIENT_ID", "env-id")
    clean_env.setenv("PAYPAL_CLIENT_SECRET", "env-secret")
    clean_env.setenv("PPNB_BASE_URL", "https://api.example.com")
    with connect("emulator", client_id=merchant.client_id, client_secret=merchant.secret,
                 base_url=server.base_url) as client:
        assert (client.base_url, client.client_id) == (server.base_url, merchant.client_id)
        assert len(client.templates.list()["templates"]) == 3  # the secret was the argument's
    with connect(base_url="https://api-m.example.org") as client:
        assert client.base_url == "https://api-m.example.org" and client.client_id == "env-id"


@pytest.fixture
def embedded_db(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A private embedded-emulator file; whatever this process serves from it is stopped."""
    db = tmp_path / "book.sqlite"
    clean_env.setenv("PPNB_EMULATOR_DB", str(db))
    yield db
    running = connect_module._embedded.pop(str(db), None)
    if running is not None:
        running.stop()
        running.emulator.close()
    handle = connect_module._held.pop(str(db), None)
    if handle is not None:
        handle.close()


def test_connect_starts_and_shares_the_embedded_emulator(embedded_db: Path) -> None:
    with connect() as first:
        assert httpx.URL(first.base_url).host == "127.0.0.1"
        invoice = first.invoices.create(invoice_body(memo="from the first process"))
    assert embedded_db.exists()
    info = embedded_db.with_name(embedded_db.name + ".serving.json")
    assert info.stat().st_mode & 0o777 == 0o600
    with connect() as second:
        assert second.base_url == first.base_url
        assert second.invoices.get(invoice["id"])["detail"]["memo"] == "from the first process"

    script = (
        "import ppnb\n"
        "client = ppnb.connect()\n"
        "client.invoices.create({'detail': {'currency_code': 'USD', 'memo': 'from the child'},"
        " 'items': [{'name': 'x', 'quantity': '1',"
        " 'unit_amount': {'currency_code': 'USD', 'value': '1.00'}}]})\n"
        "print(client.base_url)\n"
    )
    env = {**os.environ, "PPNB_EMULATOR_DB": str(embedded_db)}
    child = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == first.base_url
    with connect() as third:  # the child wrote into this process's book
        assert search_total(third, memo="from the child") == 1
        assert search_total(third) == 2


def test_connect_seeds_an_empty_book_once(embedded_db: Path, tmp_path: Path) -> None:
    params = tmp_path / "demo.json"
    params.write_text('{"invoices": 30, "customers": 5, "months": 3}')
    os.environ["PPNB_SEED"] = str(params)  # clean_env restores it
    with connect() as client:
        numbers = {d["detail"]["invoice_number"] for d in fetch_raw(client, progress=False)}
        assert numbers == {f"DEMO7-{i:05d}" for i in range(30)}
        cred = connect_module._embedded[str(embedded_db)].credentials
        connect_module._seed_if_empty(client.base_url, cred.client_id, cred.client_secret,
                                      choice=str(params))
        assert search_total(client) == 30  # a book that has invoices is left alone


@pytest.mark.parametrize("env", ["sandbox", "live"])
def test_connect_paypal_without_credentials_is_refused(clean_env: pytest.MonkeyPatch,
                                                        env: str) -> None:
    clean_env.setenv("PPNB_ENV", env)
    clean_env.setenv("PAYPAL_CLIENT_ID", "only-the-id")
    with pytest.raises(ValueError, match=f"PPNB_ENV={env} needs PAYPAL_CLIENT_ID and "
                                         "PAYPAL_CLIENT_SECRET"):
        connect()
    with pytest.raises(ValueError, match="PAYPAL_CLIENT_SECRET"):
        connect(env, client_id=None)


@pytest.mark.parametrize("url", ["http://api-m.paypal.com", "http://10.0.0.5:8765",
                                 "http://example.com"])
def test_connect_refuses_plain_http_off_loopback(clean_env: pytest.MonkeyPatch,
                                                 url: str) -> None:
    clean_env.setenv("PAYPAL_CLIENT_ID", "id")
    clean_env.setenv("PAYPAL_CLIENT_SECRET", "secret")
    clean_env.setenv("PPNB_BASE_URL", url)
    with pytest.raises(ValueError, match="must use https"):
        connect()
    with pytest.raises(ValueError, match="must use https"):
        connect("sandbox")
    with pytest.raises(ValueError, match="http"):
        Client("ftp://127.0.0.1", "id", "secret")


def test_connect_without_the_emulator_extra_says_which_pip_install(
        clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "book" / "emulator.sqlite"
    clean_env.setenv("PPNB_EMULATOR_DB", str(db))
    clean_env.setitem(sys.modules, "uvicorn", None)  # as Python sees it in a core install
    with pytest.raises(MissingExtra) as raised:
        connect()
    message = str(raised.value)
    assert message == ("ppnb.connect() with the embedded emulator needs the 'emulator' extra "
                       "(missing: uvicorn): pip install 'ppnb[emulator]'")
    assert not db.parent.exists()  # refused before any lock or book file was made
    with connect("sandbox", client_id="id", client_secret="secret") as client:
        assert client.base_url == SANDBOX  # PayPal needs no emulator


def test_connect_lives_above_the_client(clean_env: pytest.MonkeyPatch) -> None:
    import ppnb
    import ppnb.client

    assert ppnb.connect is connect and connect.__module__ == "ppnb.connection"
    assert not {"connect", "embedded_emulator", "ENVIRONMENTS"} & set(dir(ppnb.client))


def test_connect_refuses_an_unknown_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PPNB_ENV", "staging")
    with pytest.raises(ValueError, match="PPNB_ENV must be emulator, sandbox or live"):
        connect()
    with pytest.raises(ValueError, match="'prod'"):
        connect("prod")


# --- 7. partners ------------------------------------------------------------------------------


def test_partner_acts_for_a_merchant_that_granted_it(server: RunningEmulator,
                                                     merchants: Callable[[], Api]) -> None:
    merchant, partner, stranger = merchants(), merchants(), merchants()
    server.emulator.grant(merchant.client_id, partner.client_id)
    payer_id = server.emulator.merchant(merchant.client_id).payer_id
    with Client(server.base_url, partner.client_id, partner.secret) as client:
        acting = client.acting_for(payer_id=payer_id)
        made = acting.invoices.create(invoice_body(memo="by the partner"))
        assert acting.invoices.get(made["id"])["detail"]["memo"] == "by the partner"
        assert merchant.invoice(made["id"])["id"] == made["id"]  # it is the merchant's
        with pytest.raises(NotFound):
            client.invoices.get(made["id"])  # not the partner's own
        by_email = client.acting_for(email=server.emulator.merchant(merchant.client_id).email)
        assert search_total(by_email) == 1
        assert client._auth.fetches == 1  # one token serves the partner and its delegates

        stranger_id = server.emulator.merchant(stranger.client_id).payer_id
        with pytest.raises(PermissionDenied) as caught:
            client.acting_for(payer_id=stranger_id).invoices.list()
        err = caught.value
        assert (err.status, err.issues, err.method) == (403, ["PERMISSION_DENIED"], "GET")
        assert "PERMISSION_DENIED" in str(err) and "\n" not in str(err)
        with pytest.raises(ValueError, match="payer_id or email"):
            client.acting_for()


def test_grant_is_per_partner(server: RunningEmulator, merchants: Callable[[], Api]) -> None:
    merchant, partner, other = merchants(), merchants(), merchants()
    server.emulator.grant(merchant.client_id, partner.client_id)
    payer_id = server.emulator.merchant(merchant.client_id).payer_id
    with Client(server.base_url, other.client_id, other.secret) as client, \
            pytest.raises(PermissionDenied):
        client.acting_for(payer_id=payer_id).templates.list()



def test_today_is_the_emulators_clock_else_the_machines(
        timed: tuple[RunningEmulator, Api]) -> None:
    running, merchant = timed
    with Client(running.base_url, merchant.client_id, merchant.secret) as client:
        assert client.today() == dt.date(2025, 1, 15)
        running.emulator.advance(days=40)
        assert client.today() == dt.date(2025, 2, 24)
    paypal = Client(SANDBOX, "id", "secret",
                    transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    before = dt.datetime.now(dt.UTC).date()
    assert paypal.today() in {before, dt.datetime.now(dt.UTC).date()}  # never asks PayPal
