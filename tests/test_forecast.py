"""ppnb.analysis.cash_forecast: weeks and currencies, exact minor units, the expected amount
built from each invoice's payment-day distribution, and a band that holds what happened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from ppnb.analysis import AnalysisError, aging, cash_forecast
from ppnb.analysis._predict import payment_model
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.frames import Tables
from ppnb.pager import fetch_tables
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = NOW.date()
EARLIER = dt.date(2025, 3, 31)  # 13 weeks before the book's day: a forecast to check


@pytest.fixture(scope="module")
def tables() -> Iterator[Tables]:
    """A demo book in USD, EUR, GBP and JPY."""
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=400, customers=30, months=12)
            yield fetch_tables(client, progress=False)


def test_one_row_per_currency_and_week_in_exact_minor_units(tables: Tables) -> None:
    forecast = cash_forecast(tables, AS_OF, weeks=6)
    totals = aging(tables, AS_OF).totals.set_index("currency")["total"]
    assert sorted(forecast["currency"].unique()) == sorted(totals.index)
    assert len(forecast) == 6 * len(totals)
    assert forecast.attrs["as_of"] == AS_OF
    for currency, rows in forecast.groupby("currency"):
        assert list(rows["week"]) == [1, 2, 3, 4, 5, 6]
        starts = [AS_OF + dt.timedelta(days=1 + 7 * k) for k in range(6)]
        assert list(rows["start"].dt.date) == starts
        assert list(rows["end"].dt.date) == [d + dt.timedelta(days=6) for d in starts]
        assert (rows["open_minor"] == totals[currency]).all()  # never mixed with another
        assert rows["expected_minor"].sum() <= totals[currency]
        assert (rows["low_minor"] <= rows["high_minor"]).all()
        assert (rows["low_minor"] >= 0).all()
        assert rows["cumulative_minor"].is_monotonic_increasing
        assert rows["cumulative_low_minor"].is_monotonic_increasing
        assert (rows["cumulative_high_minor"] <= totals[currency]).all()
        assert abs(rows["cumulative_minor"].iat[-1] - rows["expected_minor"].sum()) <= 6
    for column in ("expected_minor", "low_minor", "high_minor", "cumulative_minor",
                   "open_minor"):
        assert forecast[column].dtype == np.int64


def test_expected_is_the_sum_of_each_invoice_times_its_probability(tables: Tables) -> None:
    """Σ outstanding × P(paid in full that week), from the same model as the predictions."""
    forecast = cash_forecast(tables, AS_OF, weeks=13).set_index(["currency", "week"])
    model = payment_model(tables, AS_OF)
    book = model.pop.book
    rows = model.pop.rows[model.members]
    currency = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    survive = model.survival()
    for week in (1, 7, 13):
        start = np.ones(len(rows)) if week == 1 else survive[:, 7 * (week - 1) - 1]
        chance = start - survive[:, 7 * week - 1]
        for name in set(currency):
            mine = currency == name
            expected = float((model.outstanding[mine] * chance[mine]).sum())
            assert forecast.loc[(name, week), "expected_minor"] == pytest.approx(expected,
                                                                                abs=1)


def test_the_band_holds_what_the_book_later_showed(tables: Tables) -> None:
    """Forecast 13 weeks ahead from an earlier day, then count what the invoices open then
    really brought in (their outstanding, in the week they were paid in full)."""
    forecast = cash_forecast(tables, EARLIER)
    model = payment_model(tables, EARLIER)
    book = model.pop.book
    rows = model.pop.rows[model.members]
    currency = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    week = (book.paid_day[rows] - (EARLIER - dt.date(1970, 1, 1)).days - 1) // 7
    weeks_inside, totals_inside = [], []
    for name, expected in forecast.groupby("currency"):
        actual = np.array([model.outstanding[(currency == name) & (week == k)].sum()
                           for k in range(13)])
        weeks_inside += list((expected["low_minor"] <= actual)
                             & (actual <= expected["high_minor"]))
        totals_inside.append(expected["cumulative_low_minor"].iat[-1] <= actual.sum()
                             <= expected["cumulative_high_minor"].iat[-1])
    assert np.mean(weeks_inside) >= 0.7  # weeks inside their 80% band
    assert sum(totals_inside) >= len(totals_inside) - 1  # 13-week totals


def test_deterministic_and_checked(tables: Tables) -> None:
    again = Tables(*(frame.copy() for frame in tables))
    pd.testing.assert_frame_equal(cash_forecast(tables, AS_OF), cash_forecast(again, AS_OF))
    for weeks in (0, 53, True, "4"):
        with pytest.raises(AnalysisError, match="weeks"):
            cash_forecast(tables, AS_OF, weeks=weeks)
