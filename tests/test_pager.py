"""The pager: complete, deduplicated pulls over real loopback HTTP, even while the book moves."""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import orjson
import pytest

import ppnb
from ppnb.client import Client, RateLimited, RetryPolicy, Throttle
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.money import from_minor
from ppnb.pager import PagerError, fetch_raw, search_data

TODAY = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def _invoice(i: int, day: str, currency: str = "USD") -> dict:
    value = "1234" if currency == "JPY" else f"{10 + i}.{i % 100:02d}"
    return {
        "detail": {"currency_code": currency, "invoice_number": f"PG-{i:05d}",
                   "invoice_date": day, "payment_term": {"term_type": "NET_30"}},
        "primary_recipients": [{"billing_info": {"email_address": f"c{i % 7}@example.com"}}],
        "items": [{"name": "Work", "quantity": "1.5",
                   "unit_amount": {"currency_code": currency, "value": value}},
                  {"name": "Extra", "quantity": "1",
                   "unit_amount": {"currency_code": currency, "value": value}}],
    }


@pytest.fixture(scope="module")
def book() -> Iterator[tuple[RunningEmulator, list[str]]]:
    """120 invoices over 40 days (60 sent, 20 partly paid) on a private emulator."""
    with start(clock=Clock(TODAY, frozen=True), seed=4) as running:
        service, merchant = running.emulator.service, running.emulator.merchant()
        ids = []
        for i in range(120):
            day = (dt.date(2025, 1, 1) + dt.timedelta(days=i % 40)).isoformat()
            doc = orjson.loads(service.create_invoice(
                merchant, _invoice(i, day, "JPY" if i % 10 == 0 else "USD")))
            ids.append(doc["id"])
            if i % 2:
                service.send_invoice(merchant, doc["id"], {})
                if i % 3 == 0:
                    currency = doc["detail"]["currency_code"]
                    service.record_payment(merchant, doc["id"], {
                        "method": "CASH", "payment_date": day,
                        "amount": {"currency_code": currency,
                                   "value": "100" if currency == "JPY" else "3.33"}})
        yield running, ids


def _client(running: RunningEmulator, **kw: object) -> Client:
    creds = running.credentials
    return Client(running.base_url, creds.client_id, creds.client_secret, **kw)


def test_pulls_every_invoice_once_with_its_tables(book: tuple[RunningEmulator, list[str]]
                                                  ) -> None:
    running, ids = book
    with _client(running) as client:
        tables = ppnb.fetch_tables(client, page_size=7, concurrency=4)
        assert sorted(tables.invoices["id"]) == sorted(ids)
        assert len(tables.items) == 2 * len(ids)
        assert set(tables.items["invoice_id"]) == set(ids)
        paid = tables.invoices[tables.invoices["status"] == "PARTIALLY_PAID"]
        assert len(paid) == len(tables.payments) == 20
        # pages of 7 → 18 pages (the first carries the count), plus a count after
        assert client.stats["requests"] == 18 + 1
        # exact money survives the trip: the invoice totals equal the server's strings
        one = client.invoices.get(ids[3])
        row = tables.invoices.set_index("id").loc[ids[3]]
        assert str(from_minor(int(row["total_minor"]), row["currency"])) == one["amount"][
            "value"]


def test_filters_are_translated_and_applied(book: tuple[RunningEmulator, list[str]]) -> None:
    running, _ = book
    with _client(running) as client:
        jan = ppnb.fetch_invoices(client, invoice_date=("2025-01-01", dt.date(2025, 1, 10)),
                                  status=["SENT", "PARTIALLY_PAID"], currency="USD")
        assert len(jan) and (jan["invoice_date"] <= "2025-01-10").all()
        assert set(jan["status"]) <= {"SENT", "PARTIALLY_PAID"} and set(jan["currency"]) == {
            "USD"}
        assert len(ppnb.fetch_invoices(client, recipient_email="c3@example.com")) == 17
        total = ppnb.fetch_invoices(client, currency="USD", total=("25", Decimal("40.00")))
        assert len(total) and total["total_minor"].between(2500, 4000).all()
    assert search_data(payment_date=(dt.date(2025, 1, 2), None))["payment_date_range"] == {
        "start": "2025-01-02T00:00:00Z", "end": "2199-12-31T23:59:59Z"}
    with pytest.raises(TypeError, match="unknown filter"):
        search_data(colour="red")
    with pytest.raises(ValueError, match="currency"):
        search_data(total=("1", "2"))


def test_splits_into_date_windows_past_the_page_cap(book: tuple[RunningEmulator, list[str]]
                                                    ) -> None:
    running, ids = book
    with _client(running) as client:
        found = fetch_raw(client, page_size=10, max_pages=3)  # 30 per window at most
        assert sorted(i["id"] for i in found) == sorted(ids)
        assert len({i["id"] for i in found}) == len(found)
        with pytest.raises(PagerError, match="cannot page them all"):
            fetch_raw(client, page_size=1, max_pages=2,
                      invoice_date=("2025-01-05", "2025-01-05"))


class _Meddler(httpx.BaseTransport):
    """Forwards to the emulator; before page 2 of a search is served, runs ``act`` once."""

    def __init__(self, act: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.act: Callable[[], None] | None = act

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.act and request.url.path.endswith("search-invoices") and \
                request.url.params.get("page") == "2":
            act, self.act = self.act, None
            act()
        return self.inner.handle_request(request)


def test_invoices_created_mid_pull_shift_pages_but_nothing_is_lost_or_doubled() -> None:
    with start(clock=Clock(TODAY, frozen=True)) as running:
        service, merchant = running.emulator.service, running.emulator.merchant()
        before = [orjson.loads(service.create_invoice(merchant, _invoice(i, "2025-02-01")))["id"]
                  for i in range(40)]
        late: list[str] = []

        def insert() -> None:
            late.extend(orjson.loads(service.create_invoice(
                merchant, _invoice(100 + i, "2025-02-02")))["id"] for i in range(5))

        with _client(running, transport=_Meddler(insert)) as client:
            found = fetch_raw(client, page_size=10, concurrency=1)
        ids = [i["id"] for i in found]
        assert len(ids) == len(set(ids)), "duplicates survived"
        assert set(before) <= set(ids), "an invoice that existed all along was lost"
        assert late  # the shift really happened
        assert client.stats["requests"] > 5


def test_a_draft_deleted_mid_pull_does_not_hide_another_invoice() -> None:
    with start(clock=Clock(TODAY, frozen=True)) as running:
        service, merchant = running.emulator.service, running.emulator.merchant()
        ids = [orjson.loads(service.create_invoice(merchant, _invoice(i, "2025-02-01")))["id"]
               for i in range(30)]
        doomed = ids[-2]  # newest first: on page 1, so deleting it shifts page 2 up

        with _client(running, transport=_Meddler(
                lambda: service.delete_invoice(merchant, doomed))) as client:
            found = {i["id"] for i in fetch_raw(client, page_size=10, concurrency=1)}
        assert found == set(ids) - {doomed}


def test_rate_limits_shrink_parallelism_and_the_pull_completes() -> None:
    pages = {n: [{"id": f"INV2-{n}-{k}", "status": "SENT",
                  "detail": {"currency_code": "USD", "invoice_number": f"{n}-{k}",
                             "metadata": {"create_time": "2025-01-01T00:00:00Z"}},
                  "amount": {"currency_code": "USD", "value": "1.00"},
                  "items": [{"name": "x", "quantity": "1",
                             "unit_amount": {"currency_code": "USD", "value": "1.00"}}]}
                 for k in range(10)]
             for n in range(1, 6)}
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={
                "name": "RATE_LIMIT_REACHED", "message": "slow down"})
        page = int(request.url.params["page"])
        body = {"items": pages[page] if int(request.url.params["page_size"]) > 1 else [],
                "total_items": 50, "total_pages": 5}
        return httpx.Response(200, json=body)

    waits: list[float] = []
    client = Client("http://127.0.0.1:9", "id", "secret", transport=httpx.MockTransport(handler),
                    retry=RetryPolicy(sleep=waits.append))
    found = fetch_raw(client, page_size=10, concurrency=4)
    assert len(found) == 50 and client.stats["429"] >= 1 and waits


def test_limiter_halves_on_429_and_recovers() -> None:
    limiter = Throttle(8)
    limiter.throttled()
    limiter.throttled()
    assert limiter.limit == 2
    for _ in range(8):
        limiter.succeeded()
    assert limiter.limit == 3


def test_progress_bar_is_switchable(book: tuple[RunningEmulator, list[str]],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    running, ids = book
    with _client(running) as client:
        fetch_raw(client, progress=False)
        assert "invoices" not in capsys.readouterr().err  # off when not interactive
        fetch_raw(client, progress=True)
        assert f"{len(ids)}/{len(ids)}" in capsys.readouterr().err


def test_pages_slow_to_come_are_read_as_they_arrive(
        book: tuple[RunningEmulator, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Over a slow network each page is read into columns as it comes (frames.walk), the
    others at the end; the tables are those of one flatten either way."""
    from ppnb.frames import flatten
    from ppnb.pager import _pull

    running, ids = book
    with _client(running) as client:
        fast = ppnb.fetch_tables(client, page_size=40, progress=False)
        expected = flatten(fetch_raw(client, page_size=40, progress=False))
        walked: list[int] = []
        real = _pull.walk
        monkeypatch.setattr(_pull, "walk", lambda items: walked.append(len(items)) or real(items))
        running.emulator.faults.configure(latency_ms=(60, 80), seed=1)
        try:
            slow = ppnb.fetch_tables(client, page_size=40, progress=False)
        finally:
            running.emulator.faults.clear()
    assert sorted(walked) == [40, 40, 40]  # each page, as it came
    for tables in (fast, slow):
        for got, want in zip(tables, expected, strict=True):
            assert got.equals(want)
    assert sorted(slow.invoices["id"]) == sorted(ids)


# --- retries in one place: the client's policy, a shared throttle, no side effects -----------


class _Counting(httpx.BaseTransport):
    """Forwards to the emulator; records each search attempt's page and status, and whether
    the garbage collector was on while it was sent."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.attempts: list[tuple[int, int]] = []
        self.gc_on: list[bool] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("search-invoices"):
            self.attempts.append((int(request.url.params["page"]), response.status_code))
            self.gc_on.append(gc.isenabled())
        return response


def test_a_429_storm_is_retried_by_the_policy_alone_with_no_side_effects(
        book: tuple[RunningEmulator, list[str]]) -> None:
    running, ids = book
    wire, waits = _Counting(), []
    policy = RetryPolicy(attempts=8, sleep=waits.append)
    try:
        with _client(running, transport=wire, retry=policy) as client:
            client.get_token()  # before the storm: the token endpoint is rate-limited too
            running.emulator.faults.configure(rate=0.3, statuses=[429], retry_after=2, seed=11)
            found = fetch_raw(client, page_size=10, concurrency=4, progress=False)
    finally:
        running.emulator.faults.clear()
    assert sorted(i["id"] for i in found) == sorted(ids)
    per_page = Counter(page for page, _ in wire.attempts if page > 0)
    assert sum(status == 429 for _, status in wire.attempts) > 0, "no storm happened"
    assert max(per_page.values()) <= policy.attempts, per_page
    assert waits and max(waits) >= 2  # Retry-After honoured by the policy's waits
    assert all(wire.gc_on) and gc.isenabled()  # the collector stayed on, during and after


def test_a_page_rate_limited_past_the_policy_ends_the_pull_after_its_attempts(
        book: tuple[RunningEmulator, list[str]]) -> None:
    running, _ = book
    wire = _Counting()
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)
    gc.disable()
    try:
        with _client(running, transport=wire, retry=policy) as client:
            client.get_token()  # before the storm: the token endpoint is rate-limited too
            running.emulator.faults.configure(rate=1, statuses=[429], seed=2)
            with pytest.raises(RateLimited):
                fetch_raw(client, page_size=10, progress=False)
        assert not gc.isenabled()  # a pull leaves the collector as it found it
    finally:
        running.emulator.faults.clear()
        gc.enable()
    assert wire.attempts == [(1, 429)] * policy.attempts  # no second loop on top


def test_client_with_throttle_shares_stats_and_limits_attempts_in_flight(
        book: tuple[RunningEmulator, list[str]]) -> None:
    running, _ = book
    in_flight, most = [0], [0]
    lock = threading.Lock()

    class Watching(httpx.BaseTransport):
        inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            try:
                return self.inner.handle_request(request)
            finally:
                with lock:
                    in_flight[0] -= 1

    throttle = Throttle(1)
    with _client(running, transport=Watching()) as client:
        client.get_token()
        paced = client.with_throttle(throttle)
        running.emulator.faults.configure(latency_ms=(20, 30), seed=3)
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda n: paced.invoices.search({}, page=n, page_size=5),
                              range(1, 9)))
        finally:
            running.emulator.faults.clear()
        assert most[0] == 1 and client.stats["requests"] == 8 and client.throttle is None
    assert throttle.limit == 1 and throttle.observe(429) is None and throttle.limit == 1


# --- discoverable filters ---------------------------------------------------------------------


@pytest.mark.parametrize("function", [ppnb.fetch_tables, ppnb.fetch_invoices, fetch_raw])
def test_filters_are_explicit_keyword_parameters(function: Callable[..., object]) -> None:
    parameters = inspect.signature(function).parameters
    filters = [name for name in inspect.signature(search_data).parameters if name != "unknown"]
    assert len(filters) == 15
    for name in filters:
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None
        assert f"\n    {name}" in function.__doc__ or f" {name}," in function.__doc__ \
            or f", {name}\n" in function.__doc__, name
    assert {"page_size", "concurrency", "progress", "max_pages", "verify"} <= set(parameters)
    assert "%(filters)s" not in function.__doc__
    with pytest.raises(TypeError, match=rf"{function.__name__}\(\) .*'colour'.*recipient_email"):
        function(object(), colour="red")


# --- quiet progress ---------------------------------------------------------------------------


def test_progress_is_quiet_for_quick_pulls_and_shown_after_a_second(
        book: tuple[RunningEmulator, list[str]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ppnb import _progress

    running, ids = book
    monkeypatch.setattr(_progress, "interactive", lambda: True)  # as in a notebook/terminal
    with _client(running) as client:
        fetch_raw(client)  # well under a second
        assert capsys.readouterr().err == ""
        running.emulator.faults.configure(latency_ms=(200, 250), seed=4)
        try:
            started = time.perf_counter()
            fetch_raw(client, page_size=10, concurrency=2)
            took = time.perf_counter() - started
        finally:
            running.emulator.faults.clear()
    err = capsys.readouterr().err
    assert took > _progress.DELAY
    assert f"{len(ids)}/{len(ids)}" in err and "invoices: 0inv" not in err


def test_progress_in_a_log_is_its_start_and_end_not_a_stream_of_redraws(
        book: tuple[RunningEmulator, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    running, ids = book
    with _client(running) as client:
        running.emulator.faults.configure(latency_ms=(100, 120), seed=5)
        try:
            fetch_raw(client, page_size=10, concurrency=2)  # not interactive: no bar
            assert capsys.readouterr().err == ""
            fetch_raw(client, page_size=10, concurrency=2, progress=True)  # 12 pages, ~1 s
        finally:
            running.emulator.faults.clear()
    err = capsys.readouterr().err
    assert err.count("\r") <= 2, err  # drawn when it starts and when it ends
    assert f"{len(ids)}/{len(ids)}" in err and "invoices: 0inv" not in err
