"""The pager: complete, deduplicated pulls over real loopback HTTP, even while the book moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import orjson
import pytest

import ppnb
from ppnb.client import Client, RetryPolicy
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.money import from_minor
from ppnb.pager import PagerError, _Limiter, fetch_raw, search_data

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
    limiter = _Limiter(8)
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
    from ppnb import pager
    from ppnb.frames import flatten

    running, ids = book
    with _client(running) as client:
        fast = ppnb.fetch_tables(client, page_size=40, progress=False)
        expected = flatten(fetch_raw(client, page_size=40, progress=False))
        walked: list[int] = []
        real = pager.walk
        monkeypatch.setattr(pager, "walk", lambda items: walked.append(len(items)) or real(items))
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
