"""Fault injection: the emulator fails like a busy PayPal, and retries with
PayPal-Request-Id still take effect exactly once."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import Api, invoice_body, new_merchant, refused

from ppnb.client import APIError, Client, RetryPolicy
from ppnb.emulator import Control, RunningEmulator, start
from ppnb.emulator._faults import Faults

INVOICES = "/v2/invoicing/invoices"
SEARCH = "/v2/invoicing/search-invoices"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    """An emulator for this module alone: faults are emulator-wide."""
    with start() as served:
        yield served
    served.emulator.close()


@pytest.fixture
def faults(running: RunningEmulator) -> Iterator[Faults]:
    """The emulator's faults, cleared after each test."""
    yield running.emulator.faults
    running.emulator.faults.clear()


@pytest.fixture
def control(running: RunningEmulator) -> Iterator[Control]:
    """The typed client of the emulator's own endpoints, with its control token."""
    with running.control(timeout=30) as made:
        yield made


@pytest.fixture
def api(running: RunningEmulator, faults: Faults) -> Iterator[Api]:
    """A fresh merchant whose token was fetched before any fault was configured."""
    client = Api(running.base_url, *new_merchant(running.emulator))
    yield client
    client.http.close()


def paypal_error(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    """Assert ``response`` is PayPal's error body for ``status``; return the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["name"] == name
    assert body["message"]
    assert body["links"] == []
    assert body["debug_id"] == response.headers["paypal-debug-id"]
    int(body["debug_id"], 16)
    return body


def unchecked_get(api: Api, path: str) -> httpx.Response:
    """GET without the spec check: PayPal's spec documents no 429, 502 or 504 body."""
    return api.http.get(path, headers={"Authorization": f"Bearer {api.token}"})


def no_wait(seconds: float) -> None:
    """A RetryPolicy sleep that does not sleep: faults, not waits, are under test."""


# --- what gets faulted ------------------------------------------------------------------------


def test_rate_zero_faults_nothing(faults: Faults, api: Api) -> None:
    faults.configure(rate=0, statuses=[500, 503], drop_connections=True, seed=1)
    for n in range(1, 21):
        assert api.post(INVOICES, invoice_body()).status_code == 201
        assert api.count() == n
    assert set(faults.settings()["injected"].values()) == {0}


def test_rate_one_fails_every_api_call_and_no_emulator_route(
    running: RunningEmulator, faults: Faults, api: Api, control: Control,
) -> None:
    invoice_id = api.create()["id"]
    faults.configure(rate=1, statuses=[503])
    paypal_error(api.get(f"{INVOICES}/{invoice_id}"), 503, "SERVICE_UNAVAILABLE")
    paypal_error(api.post(INVOICES, invoice_body()), 503, "SERVICE_UNAVAILABLE")
    paypal_error(api.post(SEARCH, {}), 503, "SERVICE_UNAVAILABLE")
    token = api.http.post("/v1/oauth2/token", auth=(api.client_id, api.secret),
                          data={"grant_type": "client_credentials"})
    paypal_error(token, 503, "SERVICE_UNAVAILABLE")
    # The emulator's own routes and the payer page are never faulted.
    assert control.faults()["injected"]["503"] == 4
    assert control.stats(invoice_id)["invoice"] == {"created": 1}
    assert api.http.get(f"/invoice/p/{invoice_id}").status_code != 503
    assert faults.settings()["injected"]["503"] == 4


@pytest.mark.parametrize("retry_after", [None, 1])
def test_429_has_retry_after_only_when_asked_and_the_client_waits_right(
    running: RunningEmulator, faults: Faults, api: Api, retry_after: int | None,
) -> None:
    """PayPal documents no Retry-After (OBSERVED.md): by default none is sent and the client
    backs off exponentially; a setting adds one, and the client honours it."""
    waits: list[float] = []
    client = Client(running.base_url, api.client_id, api.secret,
                    retry=RetryPolicy(attempts=3, backoff=0.01, sleep=waits.append))
    client.get_token()
    faults.configure_from_json({"rate": 1, "statuses": [429], "retry_after": retry_after})
    response = unchecked_get(api, INVOICES)
    paypal_error(response, 429, "RATE_LIMIT_REACHED")
    assert response.headers.get("retry-after") == (None if retry_after is None else "1")
    assert faults.settings()["retry_after"] == retry_after
    with pytest.raises(APIError) as raised, client:
        client.invoices.list()
    assert raised.value.status == 429
    if retry_after is None:  # full jitter under 0.01 s, then 0.02 s
        assert len(waits) == 2 and 0 <= waits[0] <= 0.01 and 0 <= waits[1] <= 0.02
    else:
        assert waits == [1.0, 1.0]  # Retry-After, not the 0.01 s backoff


def test_dropped_connection_is_a_transport_error(
    running: RunningEmulator, faults: Faults, api: Api,
) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(handler)
    faults.configure(rate=1, statuses=[], drop_connections=True)
    try:
        for method, path in [("GET", INVOICES), ("POST", INVOICES), ("POST", SEARCH)]:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                api.request(method, path, invoice_body())
    finally:
        uvicorn_log.removeHandler(handler)
    assert faults.settings()["injected"]["dropped"] == 3
    assert [r.getMessage() for r in records] == []  # a deliberate drop is not an app error
    faults.clear()
    assert api.get(INVOICES).status_code == 200


def test_latency_delays_every_api_call(faults: Faults, api: Api, control: Control) -> None:
    faults.configure(latency_ms=(30, 30))
    started = time.perf_counter()
    for _ in range(3):
        assert api.get(INVOICES).status_code == 200
    assert time.perf_counter() - started >= 0.09
    assert faults.settings()["injected"]["latency"] == 3
    assert control.faults()["injected"]["latency"] == 3
    assert faults.settings()["injected"]["latency"] == 3


def test_same_seed_same_faults(faults: Faults, api: Api) -> None:
    def statuses() -> list[int]:
        faults.configure(rate=0.5, statuses=[429, 500, 502, 503, 504], seed=99)
        return [unchecked_get(api, INVOICES).status_code for _ in range(40)]

    first = statuses()
    assert statuses() == first
    assert {200, 429, 500, 502, 503, 504} <= set(first)


# --- writes: not applied, or applied and then failed ------------------------------------------


def test_faulted_writes_are_sometimes_applied(faults: Faults, api: Api) -> None:
    attempts = 40
    faults.configure(rate=1, statuses=[500], seed=7)
    for n in range(attempts):
        response = api.post(INVOICES, invoice_body(number=f"W-{n}"),
                            headers={"PayPal-Request-Id": f"write-{n}"})
        paypal_error(response, 500, "INTERNAL_SERVER_ERROR")
    applied = faults.settings()["injected"]["applied_then_failed"]
    faults.clear()
    assert 0 < applied < attempts
    assert api.count() == applied
    # Retrying with the same request ids finishes the rest and replays the applied ones.
    for n in range(attempts):
        response = api.post(INVOICES, invoice_body(number=f"W-{n}"),
                            headers={"PayPal-Request-Id": f"write-{n}"})
        assert response.status_code == 201, response.text
    assert api.count() == attempts


def test_exactly_once_under_faults(running: RunningEmulator, faults: Faults) -> None:
    """200 creates and sends through 30 % faults (drops, latency, applied-then-failed)."""
    total = 200
    client_id, secret = new_merchant(running.emulator)
    settings = faults.configure(rate=0.3, statuses=[429, 500, 502, 503, 504],
                                latency_ms=(0, 2), drop_connections=True, seed=2024)
    assert settings["seed"] == 2024
    with Client(running.base_url, client_id, secret,
                retry=RetryPolicy(attempts=20, backoff=0.001, sleep=no_wait)) as client:
        for n in range(total):
            invoice = client.invoices.create(invoice_body(number=f"F-{n:04d}"))
            client.invoices.send(invoice["id"], {"send_to_invoicer": False})
        injected = faults.settings()["injected"]
        faults.clear()
        assert client.stats["retries"] > 0.2 * total
        page = client.invoices.search({}, page_size=100, total_required=True)
        items = page["items"] + client.invoices.search({}, page=2, page_size=100)["items"]
    assert page["total_items"] == total
    assert sorted(i["detail"]["invoice_number"] for i in items) == [
        f"F-{n:04d}" for n in range(total)]
    assert {i["status"] for i in items} == {"SENT"}
    assert injected["applied_then_failed"] > 0
    assert injected["dropped"] > 0
    for item in items:
        effects = running.emulator.stats(item["id"])["invoice"]
        assert (effects["created"], effects["sent"]) == (1, 1), item["id"]


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "field"), [
    ({"rate": 1.5}, "rate"),
    ({"rate": -0.1}, "rate"),
    ({"rate": True}, "rate"),
    ({"rate": "0.5"}, "rate"),
    ({"statuses": [404]}, "statuses"),
    ({"statuses": "503"}, "statuses"),
    ({"statuses": []}, "statuses"),
    ({"latency_ms": (50, 5)}, "latency_ms"),
    ({"latency_ms": (0, 60_001)}, "latency_ms"),
    ({"latency_ms": (-1, 5)}, "latency_ms"),
    ({"latency_ms": (1, 2, 3)}, "latency_ms"),
    ({"latency_ms": (0.5, 2)}, "latency_ms"),
    ({"drop_connections": 1}, "drop_connections"),
    ({"seed": "42"}, "seed"),
    ({"retry_after": -1}, "retry_after"),
    ({"retry_after": 1.5}, "retry_after"),
    ({"retry_after": True}, "retry_after"),
])
def test_bad_settings_are_refused_by_name(faults: Faults, control: Control,
                                          options: dict[str, Any], field: str) -> None:
    before = faults.configure(rate=0.25, seed=5)
    with pytest.raises(ValueError, match=f"^{field}: "):
        faults.configure(**options)
    body = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    with pytest.raises(ValueError, match=f"^{field}: "):
        faults.configure_from_json(body)
    answer = refused(lambda: control.set_faults(**body), 400)
    assert answer["details"][0]["description"].startswith(f"{field}: ")
    assert faults.settings() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"rate": 0.1, "ratio": 0.2}, "ratio"),
    ({"latency_ms": 5}, "latency_ms"),
    ([0.1], "body"),
])
def test_bad_json_is_refused_by_name(faults: Faults, body: Any, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        faults.configure_from_json(body)


def test_configure_over_http(faults: Faults, control: Control) -> None:
    sent = {"rate": 0.1, "statuses": [429, 503], "latency_ms": [5, 50],
            "drop_connections": True, "seed": 42}
    answer = control.set_faults(**sent)
    assert {k: answer[k] for k in sent} == sent
    assert faults.settings() == answer
    assert control.clear_faults()["rate"] == 0
    cleared = control.faults()
    assert (cleared["rate"], cleared["latency_ms"], cleared["drop_connections"]) == (
        0, [0, 0], False)
    assert set(cleared["injected"].values()) == {0}
