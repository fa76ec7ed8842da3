"""Search that may not carry transactions: the emulator's summaries switch, end to end.

PayPal's saved list and search responses are summaries: no items, no payment or refund
transactions, only a creation time (OBSERVED.md). With the emulator serving them
(``summaries=True``: unless ``fields`` asks for collections; ``"always"``: even then, a server
that ignores ``fields``), the pager must read whole every invoice that lacks what its status
says exists, so the IBM sample's aging and KPIs come out exactly as from whole invoices, and
a notebook works unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED
from helpers import new_merchant, run_notebook, shows_money

from ppnb.analysis import aging, aging_series, kpis, month_ends
from ppnb.client import Client
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.frames import Tables
from ppnb.pager import fetch_invoices, fetch_tables
from ppnb.seed import seed_demo, seed_ibm

IBM_CSV = SHARED / "datasets" / "ibm-accounts-receivable.csv"
NOW = dt.datetime(2025, 6, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def ibm() -> Iterator[tuple[RunningEmulator, Client, Tables]]:
    """The IBM sample loaded through the API, and its tables pulled from whole invoices."""
    running = start(clock=Clock(NOW, frozen=True))
    client = Client(running.base_url, running.credentials.client_id,
                    running.credentials.client_secret)
    try:
        assert seed_ibm(client, IBM_CSV).created == 2466
        yield running, client, fetch_tables(client, progress=False)
    finally:
        client.close()
        running.stop()
        running.emulator.close()


def _sorted(tables: Tables) -> list[pd.DataFrame]:
    keys = {"invoices": ["id"], "items": ["invoice_id", "line"],
            "payments": ["invoice_id", "payment_id"], "refunds": ["invoice_id", "refund_id"]}
    return [getattr(tables, name).sort_values(key, ignore_index=True)
            for name, key in keys.items()]


def _requests(client: Client, pull: object) -> tuple[object, int]:
    before = client.stats["requests"]
    result = pull()  # type: ignore[operator]
    return result, client.stats["requests"] - before


def test_summaries_look_like_paypals_saved_responses(
        ibm: tuple[RunningEmulator, Client, Tables]) -> None:
    running, client, _ = ibm
    running.emulator.set_summaries(True)
    try:
        page = client.invoices.search({}, page_size=5)
        listed = client.invoices.list(page_size=5)
    finally:
        running.emulator.set_summaries(False)
    for item in [*page["items"], *listed["items"]]:
        assert "items" not in item and "transactions" not in item.get("payments", {})
        assert item["detail"]["metadata"] == {"create_time": item["detail"]["metadata"][
            "create_time"]}
        assert set(item["detail"]["payment_term"]) == {"due_date"}
        assert set(item["amount"]) == {"currency_code", "value"}  # no breakdown
        assert item["payments"]["paid_amount"] == item["amount"]  # every IBM row is settled
    assert client.invoices.search({}, page_size=1)["items"][0]["detail"]["metadata"].get(
        "last_update_time")  # switched off again: the emulator's fuller items


@pytest.mark.parametrize("mode", ["always", True])
def test_ibm_figures_unchanged_with_summaries(ibm: tuple[RunningEmulator, Client, Tables],
                                              mode: bool | str) -> None:
    running, client, whole = ibm
    pages = -(-2466 // 100)
    running.emulator.set_summaries(mode)
    try:
        tables, used = _requests(client, lambda: fetch_tables(client, progress=False))
    finally:
        running.emulator.set_summaries(False)
    # "always" ignores fields: every invoice lacks its items and is read whole, one by one;
    # True honours fields, so nothing is read twice.
    assert used == pages + 1 + (2466 if mode == "always" else 0)
    for got, want in zip(_sorted(tables), _sorted(whole), strict=True):
        pd.testing.assert_frame_equal(got, want)
    [usd] = kpis(tables, "2012-01-01", "2014-12-31").to_dict("records")
    assert usd["paid_invoices"] == 2466
    assert round(usd["avg_days_to_pay"], 2) == 26.44  # the CSV's DaysToSettle
    assert round(usd["avg_days_late"], 2) == 3.44
    assert round(usd["on_time_pct"], 1) == 64.4
    dates = month_ends("2012-01-01", "2014-01-31")
    pd.testing.assert_frame_equal(aging_series(tables, dates), aging_series(whole, dates))
    with IBM_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    day = dt.date(2013, 6, 30)
    open_on_day = {r["invoiceNumber"] for r in rows
                   if dt.datetime.strptime(r["InvoiceDate"], "%m/%d/%Y").date() <= day
                   < dt.datetime.strptime(r["SettledDate"], "%m/%d/%Y").date()}
    assert set(aging(tables, day).detail["number"]) == open_on_day


def test_invoices_only_pull_reads_nothing_twice_when_summaries_suffice(
        ibm: tuple[RunningEmulator, Client, Tables]) -> None:
    running, client, whole = ibm
    running.emulator.set_summaries(True)
    try:
        invoices, used = _requests(client, lambda: fetch_invoices(client, progress=False))
    finally:
        running.emulator.set_summaries(False)
    assert used == -(-2466 // 100) + 1  # settled summaries carry the paid amount: enough
    money = ["id", "number", "status", "invoice_date", "due_date", "currency", "total_minor",
             "paid_minor", "refunded_minor", "due_minor", "recipient_email", "created"]
    got = invoices.sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(got[money], whole.invoices.sort_values(
        "id", ignore_index=True)[money])
    assert got["first_sent"].isna().all()  # what summaries do not say stays empty, not made up


def test_a_notebook_against_a_summary_only_emulator(tmp_path: Path) -> None:
    """02_aging, headless, in a kernel whose emulator serves only summaries (and ignores
    ``fields``): its aging equals the aging of whole invoices."""
    running = start(clock=Clock(NOW, frozen=True))
    try:
        client_id, secret = new_merchant(running.emulator)
        with Client(running.base_url, client_id, secret) as client:
            seed_demo(client, invoices=150, customers=15, months=12, today=NOW.date())
            expected = aging(fetch_tables(client, progress=False), NOW.date()).totals
        assert expected["total"].sum() > 0
        running.emulator.set_summaries("always")
        text = run_notebook("02_aging.ipynb", tmp_path, {
            "PPNB_ENV": "emulator", "PPNB_BASE_URL": running.base_url,
            "PAYPAL_CLIENT_ID": client_id, "PAYPAL_CLIENT_SECRET": secret})
    finally:
        running.stop()
        running.emulator.close()
    for row in expected.to_dict("records"):  # without the pager's reads, payments would be
        assert shows_money(text, row["total"], row["currency"])  # missing, every invoice open
