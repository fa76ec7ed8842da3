"""ppnb.analysis KPIs, roll rates, cohort curves and the customer view on hand-computed books."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_analysis_aging import BOOK, LABELS, D, invoice, row

from ppnb.analysis import (
    AnalysisError,
    cohort_curves,
    customer_view,
    dso_countback,
    kpi_series,
    kpis,
    month_ends,
    roll_rates,
)
from ppnb.frames import Tables, flatten


@pytest.fixture(scope="module")
def book() -> Tables:
    return flatten(BOOK)


def test_countback_worked_example() -> None:
    # AR 212k; monthly sales 100k, 80k, 70k (latest first): 30 + 30 + 32/70 × 30
    assert round(dso_countback(212_000, [100_000, 80_000, 70_000]), 1) == 73.7
    assert dso_countback(212_000, [100_000, 80_000, 70_000], month_days=[31, 28, 31]) == (
        pytest.approx(31 + 28 + 32 / 70 * 31))
    assert dso_countback(0, [100]) == 0
    assert dso_countback(180, [100, 80]) == 60
    assert math.isnan(dso_countback(500, [100, 80]))


def test_kpis_hand_book(book: Tables) -> None:
    frame = kpis(book, "2025-03-01", D)
    assert list(frame["currency"]) == ["EUR", "JPY", "USD"]
    usd = row(frame, currency="USD")
    assert (usd["start"], usd["end"], usd["days"]) == (pd.Timestamp("2025-03-01"),
                                                       pd.Timestamp(D), 31)
    # AR on 2025-02-28: A1 700.00, A3 500.00, A4 400.00, B2 100.00, X1 90.00
    assert usd["beginning_ar_minor"] == 179000
    assert (usd["ending_ar_minor"], usd["ending_current_ar_minor"]) == (140000, 20000)
    # sales: A2 only (A5 is scheduled); refunds: B1
    assert (usd["credit_sales_minor"], usd["refunds_minor"], usd["net_sales_minor"]) == (
        20000, 15000, 5000)
    assert usd["dso_simple"] == pytest.approx(140000 / 20000 * 31)
    assert usd["best_dso"] == pytest.approx(31.0)
    assert usd["add"] == pytest.approx(217.0 - 31.0)
    assert usd["cei"] == pytest.approx(100 * 59000 / 179000)
    # count-back: Mar 20,000 (30 d), Feb 9,000 (30 d), Jan 100,000 (C1 cancelled, 30 d),
    # then 11,000 of Dec's 52,000 (A4 cancelled only after the end counts)
    assert usd["dso_countback"] == pytest.approx(90 + 11000 / 52000 * 30)
    # X1 is the only invoice settled in March: 30 days to pay, on time
    assert (usd["paid_invoices"], usd["avg_days_to_pay"], usd["avg_days_late"],
            usd["on_time_pct"]) == (1, 30.0, 0.0, 100.0)
    jpy = row(frame, currency="JPY")
    assert (jpy["beginning_ar_minor"], jpy["ending_ar_minor"], jpy["credit_sales_minor"]) == (
        15000, 10000, 0)
    assert math.isnan(jpy["dso_simple"]) and jpy["paid_invoices"] == 0
    assert math.isnan(jpy["avg_days_to_pay"])
    assert jpy["cei"] == pytest.approx(100 * 5000 / 15000)
    assert frame["credit_sales_minor"].dtype == np.int64
    with pytest.raises(AnalysisError, match="before start"):
        kpis(book, D, "2025-03-01")


def test_days_to_pay_weighted() -> None:
    tables = flatten([
        invoice("W1", 10000, status="PAID", invoice_date="2025-01-01", due_date="2025-01-11",
                payments=[("2025-01-05", 10000)]),  # 4 days, on time
        invoice("W2", 30000, status="PAID", invoice_date="2025-01-01", due_date="2025-01-11",
                payments=[("2025-01-10", 10000), ("2025-01-21", 20000)]),  # 20 days, 10 late
    ])
    usd = row(kpis(tables, "2025-01-01", "2025-01-31"), currency="USD")
    assert usd["paid_invoices"] == 2
    assert usd["avg_days_to_pay"] == 12.0
    assert usd["avg_days_to_pay_weighted"] == pytest.approx((4 * 1 + 20 * 3) / 4)
    assert usd["avg_days_late"] == 5.0
    assert usd["avg_days_late_weighted"] == pytest.approx(10 * 3 / 4)
    assert usd["on_time_pct"] == 50.0


def test_kpi_series_matches_kpis(book: Tables) -> None:
    ends = month_ends("2025-01-01", "2025-03-31")
    series = kpi_series(book, ends)
    assert list(series["as_of"].drop_duplicates()) == [pd.Timestamp(d) for d in ends]
    for end in ends:
        one = kpis(book, end.replace(day=1), end)
        part = series[series["as_of"] == pd.Timestamp(end)].drop(columns="as_of")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), one)


def test_roll_rates_hand_book(book: Tables) -> None:
    rolls = roll_rates(book, month_ends("2025-01-01", "2025-03-31"))
    assert rolls.states == [*LABELS, "paid", "cancelled"]
    usd = rolls.amounts.loc["USD"]
    assert usd.loc["current"].tolist() == [0, 70000, 0, 0, 0, 39000, 6000]
    assert usd.loc["1-30"].tolist() == [0, 0, 70000, 0, 0, 0, 0]
    assert usd.loc["31-60"].tolist() == [0, 0, 50000, 40000, 10000, 0, 0]
    assert usd.loc["61-90"].tolist() == [0, 0, 0, 50000, 0, 0, 50000]
    assert usd.loc["91+"].sum() == 0
    assert rolls.rates.loc[("USD", "31-60"), "61-90"] == pytest.approx(0.4)
    assert rolls.rates.loc[("USD", "91+")].isna().all()
    jpy = rolls.amounts.loc["JPY"]
    assert jpy.loc["current"].tolist() == [0, 10000, 0, 0, 0, 5000, 0]
    expected = rolls.expected_collection
    assert expected.loc[("USD", "current"), "paid"] == pytest.approx(39 / 115)
    assert expected.loc[("USD", "current"), "cancelled"] == pytest.approx(62 / 115)
    assert expected.loc[("USD", "31-60"), "cancelled"] == pytest.approx(0.8)
    assert expected.loc[("USD", "61-90")].tolist() == pytest.approx([0.0, 1.0])
    assert expected.loc[("USD", "91+")].tolist() == [0.0, 0.0]
    assert expected.loc[("JPY", "current"), "paid"] == pytest.approx(1 / 3)
    a1 = rolls.transitions[rolls.transitions["id"] == "A1"]
    assert a1[["from", "to", "amount_minor"]].values.tolist() == [
        ["current", "1-30", 70000], ["current", "paid", 30000], ["1-30", "31-60", 70000]]
    with pytest.raises(AnalysisError, match="two"):
        roll_rates(book, [D])


def test_cohort_curves_censoring() -> None:
    tables = flatten([
        invoice("P1", 10000, status="PAID", invoice_date="2025-01-01",
                payments=[("2025-01-11", 10000)]),
        invoice("P2", 30000, status="PAID", invoice_date="2025-01-01",
                payments=[("2025-01-06", 10000), ("2025-02-10", 20000)]),
        invoice("P3", 10000, invoice_date="2025-01-21"),  # open, 30 days old at as_of
        invoice("P4", 10000, status="CANCELLED", invoice_date="2025-01-01",
                cancel_time="2025-01-16T09:00:00Z"),
    ])
    curves = cohort_curves(tables, "2025-02-20", horizon_days=60)
    assert list(curves.columns) == ["cohort", "currency", "days", "collected_share", "km_paid",
                                    "at_risk", "at_risk_minor", "n"]
    assert set(curves["cohort"]) == {"2025-01"} and (curves["n"] == 4).all()
    assert curves["days"].tolist() == list(range(51))  # P1 and P2 are 50 days old: no day 51
    at = curves.set_index("days")
    # amount-weighted Kaplan–Meier over P1-P3 (P4 was cancelled): 100.00 of 500.00 on day 5,
    # 100.00 of the 400.00 at risk on day 10, P3's 100.00 censored after day 30, then the
    # last 200.00 at risk (P2's) on day 40
    assert at.loc[4, "collected_share"] == 0.0
    assert at.loc[5, "collected_share"] == pytest.approx(0.2)
    assert at.loc[10, "collected_share"] == pytest.approx(0.4)
    assert at.loc[31, "collected_share"] == pytest.approx(0.4)  # P3 censored: no fall, no jump
    assert at.loc[40, "collected_share"] == at.loc[50, "collected_share"] == 1.0
    assert [at.loc[d, "at_risk_minor"] for d in (5, 6, 11, 30, 31, 40, 41)] == [
        50000, 40000, 30000, 30000, 20000, 20000, 0]
    assert at.loc[9, "km_paid"] == 0.0 and at.loc[10, "km_paid"] == pytest.approx(0.25)
    assert at.loc[39, "km_paid"] == pytest.approx(0.25)
    assert at.loc[40, "km_paid"] == pytest.approx(1.0)
    assert [at.loc[d, "at_risk"] for d in (10, 11, 15, 31, 40, 41)] == [4, 3, 2, 1, 1, 0]
    stepped = cohort_curves(tables, "2025-02-20", horizon_days=60, step=30)
    assert stepped["days"].tolist() == [0, 30]
    by_customer = cohort_curves(tables, "2025-02-20", by="customer", horizon_days=5)
    assert set(by_customer["cohort"]) == {"a@example.com"}
    with pytest.raises(AnalysisError, match="step"):
        cohort_curves(tables, "2025-02-20", step=0)


def test_customer_view_hand_book(book: Tables) -> None:
    view = customer_view(book, D)
    assert len(view) == 4
    a_usd = row(view, customer="a@example.com", currency="USD")
    assert (a_usd["open_minor"], a_usd["open_61_plus_minor"], a_usd["open_invoices"]) == (
        130000, 40000, 3)
    assert a_usd["oldest_open_invoice_date"] == pd.Timestamp("2024-12-01")
    assert a_usd["oldest_days_past_due"] == 90
    assert (a_usd["paid_invoices"], a_usd["avg_days_late"], a_usd["on_time_share"]) == (1, 0.0,
                                                                                        1.0)
    assert a_usd["invoices_this_year"] == 4 and a_usd["risk"] == "high"  # 31% is 61+ days
    b_usd = row(view, customer="b@example.com", currency="USD")
    assert (b_usd["customer_name"], b_usd["avg_days_late"], b_usd["on_time_share"]) == (
        "Bea Jones", 15.0, 0.0)
    assert b_usd["risk"] == "high"
    assert row(view, customer="b@example.com", currency="JPY")["risk"] == "low"
    a_eur = row(view, customer="a@example.com", currency="EUR")
    assert a_eur["risk"] == "low" and math.isnan(a_eur["on_time_share"])
    assert view["open_minor"].tolist() == sorted(view["open_minor"], reverse=True)
