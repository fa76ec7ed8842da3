"""Snapshots: an incremental sync equals a fresh full pull, costs little, and is atomic."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import orjson
import pandas as pd
import pytest

import ppnb
from ppnb.client import Client
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.frames import Tables

TODAY = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
KEYS = {"invoices": ["id"], "items": ["invoice_id", "line"],
        "payments": ["invoice_id", "payment_id"], "refunds": ["invoice_id", "refund_id"]}


def _body(i: int) -> dict:
    day = (dt.date(2025, 1, 1) + dt.timedelta(days=i % 170)).isoformat()
    currency = "JPY" if i % 9 == 0 else "EUR" if i % 5 == 0 else "USD"
    return {"detail": {"currency_code": currency, "invoice_number": f"S-{i:05d}",
                       "invoice_date": day, "payment_term": {"term_type": "NET_30"}},
            "primary_recipients": [{"billing_info": {"email_address": f"c{i % 11}@ex.com"}}],
            "items": [{"name": "Service", "quantity": "2",
                       "unit_amount": {"currency_code": currency,
                                       "value": str(1000 + i) if currency == "JPY"
                                       else f"{20 + i % 50}.25"}}]}


def seed(running: RunningEmulator, n: int, open_share: float) -> None:
    """Mostly settled book: drafts, open, partly paid, cancelled, paid and refunded."""
    service, merchant = running.emulator.service, running.emulator.merchant()
    rng = random.Random(n)
    with service.store.transaction():
        for i in range(n):
            running.emulator.clock.advance(seconds=7)  # distinct creation times, as in life
            doc = orjson.loads(service.create_invoice(merchant, _body(i)))
            fate = rng.random()
            if fate < open_share / 4:
                continue
            service.send_invoice(merchant, doc["id"], {"send_to_recipient": False})
            if fate < open_share:
                continue
            day = doc["detail"]["invoice_date"]
            if fate < open_share + 0.01:
                service.cancel_invoice(merchant, doc["id"], {})
                continue
            service.record_payment(merchant, doc["id"], {"method": "CHECK", "payment_date": day})
            if fate > 0.99:
                service.record_refund(merchant, doc["id"], {"method": "CHECK"})


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with start(clock=Clock(TODAY, frozen=True), seed=11) as running:
        yield running


def _client(running: RunningEmulator) -> Client:
    creds = running.credentials
    return Client(running.base_url, creds.client_id, creds.client_secret)


def assert_same(left: Tables, right: Tables) -> None:
    for name, keys in KEYS.items():
        a = getattr(left, name).sort_values(keys, ignore_index=True)
        b = getattr(right, name).sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(a, b, obj=name)


def _ids(client: Client, status: str, n: int) -> list[str]:
    return [i["id"] for i in client.invoices.search({"status": [status]}, page_size=n)["items"]]


def test_incremental_sync_equals_a_full_pull(emulator: RunningEmulator, tmp_path: Path) -> None:
    seed(emulator, 300, open_share=0.2)
    client = _client(emulator)
    first = ppnb.sync(client, tmp_path / "book", page_size=20)
    assert first.mode == "full" and len(first.tables.invoices) == 300
    old_draft = first.tables.invoices.loc[first.tables.invoices["status"] == "DRAFT", "id"].iloc[0]

    emulator.emulator.clock.advance(days=1)
    # every kind of change the API allows
    new = client.invoices.create(_body(1000))
    client.invoices.send(new["id"], {"send_to_recipient": False})
    client.invoices.create(_body(1001))  # a new draft
    unpaid = _ids(client, "UNPAID", 12)
    client.invoices.record_payment(unpaid[0], {"method": "CASH"})  # paid today
    client.invoices.record_payment(unpaid[1], {"method": "CASH", "payment_date": "2025-01-05"})
    client.invoices.record_payment(unpaid[2], {"method": "CASH", "amount": {
        "currency_code": client.invoices.get(unpaid[2])["detail"]["currency_code"],
        "value": "1"}})  # partial
    for invoice_id in unpaid[5:9]:  # enough cancels that one search beats reading each
        client.invoices.cancel(invoice_id)
    update = client.invoices.get(unpaid[4])
    client.invoices.update(unpaid[4], {k: update[k] for k in ("detail", "items",
                                                              "primary_recipients")}
                           | {"detail": {**update["detail"], "memo": "changed"}})
    client.invoices.delete(old_draft)
    paid = _ids(client, "MARKED_AS_PAID", 3)
    client.invoices.record_refund(paid[0], {"method": "CASH"})
    reopened = client.invoices.get(paid[1])
    client.invoices.delete_payment(paid[1], reopened["payments"]["transactions"][0]["payment_id"])
    refunded = client.invoices.get(_ids(client, "MARKED_AS_REFUNDED", 5)[-1])
    client.invoices.delete_refund(refunded["id"], refunded["refunds"]["transactions"][0][
        "refund_id"])

    again = ppnb.sync(client, tmp_path / "book", page_size=20)
    assert again.mode == "incremental" and again.removed == 1
    assert client.stats["404"] == 1  # the deleted draft, read by id, is gone
    fresh = ppnb.fetch_tables(client)
    assert_same(again.tables, fresh)
    assert_same(ppnb.load(tmp_path / "book"), fresh)


def test_resync_after_one_percent_costs_under_ten_percent(emulator: RunningEmulator,
                                                          tmp_path: Path) -> None:
    seed(emulator, 3000, open_share=0.02)
    client = _client(emulator)
    full = ppnb.sync(client, tmp_path / "book", page_size=10)
    assert full.requests >= 300
    emulator.emulator.clock.advance(days=1)
    for i in range(15):  # 1% of the book changes
        created = client.invoices.create(_body(5000 + i))
        client.invoices.send(created["id"], {"send_to_recipient": False})
    for invoice_id in _ids(client, "UNPAID", 15):
        client.invoices.record_payment(invoice_id, {"method": "CASH"})
    again = ppnb.sync(client, tmp_path / "book", page_size=10)
    assert again.requests <= 0.10 * full.requests, (again.requests, full.requests)
    assert_same(again.tables, ppnb.fetch_tables(client))


def test_an_interrupted_sync_leaves_the_previous_snapshot(emulator: RunningEmulator,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    seed(emulator, 40, open_share=0.3)
    client = _client(emulator)
    first = ppnb.sync(client, tmp_path / "book")
    pointer = (tmp_path / "book" / "CURRENT").read_text()
    client.invoices.create(_body(777))

    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def flaky(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    with pytest.raises(OSError, match="disk full"):
        ppnb.sync(client, tmp_path / "book")
    monkeypatch.undo()
    assert (tmp_path / "book" / "CURRENT").read_text() == pointer
    assert_same(ppnb.load(tmp_path / "book"), first.tables)

    recovered = ppnb.sync(client, tmp_path / "book")
    assert len(recovered.tables.invoices) == 41
    assert not list((tmp_path / "book").glob("*.partial"))


def test_load_without_a_snapshot_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run ppnb\.sync"):
        ppnb.load(tmp_path / "nothing")
