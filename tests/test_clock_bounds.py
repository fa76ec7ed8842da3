"""Issue 15, defect 7: the emulator's clock stays within 2000-01-01..2099-12-31 UTC.

``{"advance_days": 1e10}`` used to answer 500, and a clock set to 9999-12-31 left every
create answering 500 with no way back. Now anything outside the range, or not a finite
number of days, is a 400 in PayPal's error shape, and the clock stays where it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
import test_control_plane
from helpers import Api, control_headers, invoice_body, new_merchant, refused

from ppnb.emulator import Clock, ClockError, Control, Emulator, RunningEmulator
from ppnb.emulator._clock import EARLIEST, LATEST

#: The served emulator (a fixture), frozen at the control-plane tests' START.
running = test_control_plane.running
START = test_control_plane.START


@pytest.fixture
def control(running: RunningEmulator) -> Iterator[Control]:
    with running.control(timeout=30) as made:
        yield made


def paypal_400(body: dict) -> dict:
    assert body["name"] == "INVALID_REQUEST" and body["message"] and body["debug_id"]
    assert body["links"] and body["details"][0]["description"]
    return body["details"][0]


def test_advancing_ten_billion_days_is_a_400_and_time_stays(control: Control) -> None:
    detail = paypal_400(refused(lambda: control.advance(1e10), 400))
    assert detail["field"] == "/advance_days" and "2099-12-31" in detail["description"]
    assert control.clock()["now"] == "2025-01-15T09:00:00Z"


def test_the_year_9999_is_refused_and_creates_keep_working(running: RunningEmulator,
                                                           control: Control) -> None:
    detail = paypal_400(refused(lambda: control.set_clock("9999-12-31T00:00:00Z"), 400))
    assert detail["field"] == "/set" and "2000-01-01" in detail["description"]
    api = Api(running.base_url, *new_merchant(running.emulator))
    assert api.create()["detail"]["invoice_date"] == "2025-01-15"
    assert control.advance(30)["today"] == "2025-02-14"  # and it still moves
    api.http.close()


def test_an_invoice_date_that_leaves_no_due_date_is_a_400(running: RunningEmulator) -> None:
    """9999-12-01 with NET_90 (or 9999-12-31 with NET_10) has no due date: a 400 on the
    invoice date, not a 500; the last day itself is a valid date and is kept."""
    api = Api(running.base_url, *new_merchant(running.emulator))
    for day, term in (("9999-12-01", "NET_90"), ("9999-12-31", "NET_10")):
        answer = api.post("/v2/invoicing/invoices", invoice_body(invoice_date=day, term=term))
        assert answer.status_code == 400, answer.text
        detail = paypal_400(answer.json())
        assert detail["field"] == "/detail/invoice_date" and detail["value"] == day
    kept = api.create(invoice_date="9999-12-31", term="DUE_ON_RECEIPT")
    assert kept["detail"]["payment_term"]["due_date"] == "9999-12-31"
    api.http.close()


@pytest.mark.parametrize("raw", [
    b'{"advance_days": NaN}', b'{"advance_days": Infinity}', b'{"advance_days": 1e999}',
    b'{"advance_days": true}', b'{"advance_days": "1"}', b'{"advance_days": [1]}',
    b'{"advance_days": null}', b'{"advance_days": -0.5}', b'{"set": "2100-01-01T00:00:00Z"}',
    b'{"set": "1999-12-31T23:59:59Z"}', b'{"set": "0001-01-01"}',
])
def test_every_bad_move_is_a_400_in_paypals_shape(running: RunningEmulator, control: Control,
                                                  raw: bytes) -> None:
    response = httpx.post(running.base_url + "/_emulator/clock", content=raw,
                          headers=control_headers(running), timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["name"] in ("INVALID_REQUEST", "MALFORMED_REQUEST_JSON")
    assert response.json()["debug_id"]
    assert control.clock()["now"] == "2025-01-15T09:00:00Z"


def test_the_last_second_is_reachable_and_nothing_beyond(control: Control) -> None:
    assert control.set_clock(LATEST)["now"] == "2099-12-31T23:59:59Z"
    assert paypal_400(refused(lambda: control.advance(1 / 86400), 400))["field"] == (
        "/advance_days")
    assert control.advance(0)["now"] == "2099-12-31T23:59:59Z"


@pytest.mark.parametrize("days", [1e10, float("nan"), float("inf"), True, "1", -1])
def test_the_python_api_raises_clock_error(days: object) -> None:
    emulator = Emulator(clock=Clock(START, frozen=True))
    with pytest.raises(ClockError):
        emulator.advance(days)  # type: ignore[arg-type]
    assert emulator.now() == START
    with pytest.raises(ClockError):
        emulator.set_clock(dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
    emulator.close()


def test_a_clock_cannot_start_outside_the_range() -> None:
    with pytest.raises(ClockError, match="2099-12-31"):
        Clock(LATEST + dt.timedelta(seconds=1))
    with pytest.raises(ClockError, match="2000-01-01"):
        Clock(EARLIEST - dt.timedelta(seconds=1))
    assert Clock(EARLIEST, frozen=True).now() == EARLIEST
