"""Cohort curves that mean what they say: the collected share never falls, curves stop where
observation stops. Hand-computed books with censoring, a Hypothesis property over any book
(against an exact per-invoice oracle in Fractions), and the seeded demo book.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_analysis_aging import invoice

from ppnb.analysis import cohort_curves
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.frames import Tables, flatten
from ppnb.pager import fetch_tables
from ppnb.seed import seed_demo

AS_OF = dt.date(2025, 3, 31)


def day(offset: int) -> str:
    """The date ``offset`` days before AS_OF."""
    return (AS_OF - dt.timedelta(days=offset)).isoformat()


def curve(curves: pd.DataFrame, column: str) -> dict[int, float]:
    return dict(zip(curves["days"], curves[column], strict=True))


# --- hand-computed books ------------------------------------------------------------------------


def test_young_fast_payers_leaving_cannot_make_the_share_fall() -> None:
    # Y (10 days old) was paid on its invoice date; O (50 days old) is still open. The ratio of
    # sums over invoices at least t days old gave 50% on days 0-10, then 0 / 100.00 = 0% from
    # day 11, when Y stops being observed: the fall the issue saw on a real cohort.
    tables = flatten([
        invoice("O", 10000, invoice_date=day(50), email="c@example.com"),
        invoice("Y", 10000, status="PAID", invoice_date=day(10), email="c@example.com",
                payments=[(day(10), 10000)]),
    ])
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=90)
    share = curve(curves, "collected_share")
    assert list(share) == list(range(51))  # O has been observed 50 days: no day 51
    assert set(share.values()) == {0.5}  # half the money came in on day 0, none since
    assert curve(curves, "at_risk_minor") == {t: 20000 if t == 0 else 10000 for t in range(51)}


def test_partial_payments_and_censoring_by_hand() -> None:
    # A 400.00, 60 days old: 100.00 on day 10, 150.00 on day 40, 150.00 still open.
    # B 200.00, 20 days old: 100.00 on day 5, the rest open (censored on day 20).
    # C 400.00, 30 days old: open (censored on day 30).
    tables = flatten([
        invoice("A", 40000, status="PARTIALLY_PAID", invoice_date=day(60),
                payments=[(day(50), 10000), (day(20), 15000)]),
        invoice("B", 20000, status="PARTIALLY_PAID", invoice_date=day(20),
                payments=[(day(15), 10000)]),
        invoice("C", 40000, invoice_date=day(30)),
    ])
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=90)
    share, risk = curve(curves, "collected_share"), curve(curves, "at_risk_minor")
    assert list(share) == list(range(61))
    # money at risk: all 1,000.00; less B's 100.00 after day 5; less A's 100.00 after day 10;
    # B's 100.00 censored after day 20, C's 400.00 after day 30; A's 150.00 after day 40
    expected_risk = {**dict.fromkeys(range(6), 100000), **dict.fromkeys(range(6, 11), 90000),
                     **dict.fromkeys(range(11, 21), 80000), **dict.fromkeys(range(21, 31), 70000),
                     **dict.fromkeys(range(31, 41), 30000), **dict.fromkeys(range(41, 61), 15000)}
    assert risk == expected_risk
    # day 5: 100/1000 collected → S = 0.9; day 10: 100/900 → S = 0.8; day 40: 150/300 → S = 0.4
    expected = {t: 0.0 if t < 5 else 0.1 if t < 10 else 0.2 if t < 40 else 0.6 for t in range(61)}
    assert share == pytest.approx(expected, abs=1e-15)
    # (the ratio over invoices at least t days old fell from 200/1000 on day 20 to 100/800 on
    # day 21, when B stopped being observed)
    assert set(curve(curves, "km_paid").values()) == {0.0}  # no invoice was fully paid
    assert curve(curves, "at_risk") == {t: 3 if t <= 20 else 2 if t <= 30 else 1
                                        for t in range(61)}


def test_without_censoring_the_share_is_collected_over_billed() -> None:
    # Every invoice is older than the last day shown: nothing is censored, so Kaplan–Meier
    # must equal the plain ratio, collected within t days ÷ billed, exactly.
    tables = flatten([
        invoice("A", 30000, status="PAID", invoice_date=day(80),
                payments=[(day(75), 10000), (day(50), 20000)]),
        invoice("B", 10000, status="PAID", invoice_date=day(70), payments=[(day(68), 10000)]),
        invoice("C", 20000, invoice_date=day(65)),
    ])
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=60)
    share = curve(curves, "collected_share")
    assert list(share) == list(range(61))
    expected = {t: (10000 * (t >= 2) + 10000 * (t >= 5) + 20000 * (t >= 30)) / 60000
                for t in range(61)}
    assert share == pytest.approx(expected, abs=1e-15)


def test_overpayments_reversals_and_payments_outside_the_window() -> None:
    tables = flatten([
        # overpaid: collects its total, no more
        invoice("OVER", 10000, status="PAID", invoice_date=day(40),
                payments=[(day(35), 15000)]),
        # paid 80.00, reversed 30.00, paid 50.00: the most reached counts (80 by day 5, 100 by
        # day 20), the reversal does not un-collect
        invoice("REV", 10000, status="PAID", invoice_date=day(40),
                payments=[(day(35), 8000), (day(30), -3000), (day(20), 5000)]),
        # paid before its invoice date (counts on day 0), and after as_of (not seen)
        invoice("EARLY", 10000, status="PARTIALLY_PAID", invoice_date=day(40),
                payments=[(day(45), 4000), ((AS_OF + dt.timedelta(days=3)).isoformat(), 6000)]),
        # cancelled before as_of: voided billing, out of the share
        invoice("VOID", 50000, status="CANCELLED", invoice_date=day(40),
                cancel_time=f"{day(20)}T10:00:00Z"),
    ])
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=40)
    share = curve(curves, "collected_share")
    assert list(share) == list(range(41))
    # billed 300.00 (VOID left out); day 0: 40.00; day 5: +100.00 +80.00; day 20: +20.00
    expected = {t: (4000 + 18000 * (t >= 5) + 2000 * (t >= 20)) / 30000 for t in range(41)}
    assert share == pytest.approx(expected, abs=1e-15)
    assert curve(curves, "at_risk_minor")[40] == 6000
    assert (curves["n"] == 4).all()


def test_curves_stop_where_nothing_is_observed_any_more() -> None:
    # OLD (50 days old) was paid in full on day 5; NEW (10 days old) is open. After day 10 no
    # unpaid money is observed: neither the share nor Kaplan–Meier may draw a flat line to
    # day 50 as if nothing more would come in.
    tables = flatten([
        invoice("OLD", 10000, status="PAID", invoice_date=day(50), payments=[(day(45), 10000)]),
        invoice("NEW", 10000, invoice_date=day(10)),
    ])
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=90)
    assert curves["days"].tolist() == list(range(11))
    assert curve(curves, "collected_share") == {t: 0.0 if t < 5 else 0.5 for t in range(11)}
    assert curve(curves, "km_paid") == {t: 0.0 if t < 5 else 0.5 for t in range(11)}
    # ... but a cohort whose money all came in stays at 100% for as long as it was watched
    paid = flatten([invoice("OLD", 10000, status="PAID", invoice_date=day(50),
                            payments=[(day(45), 10000)])])
    whole = cohort_curves(paid, AS_OF, horizon_days=30)
    assert whole["days"].tolist() == list(range(31))  # horizon_days caps it
    assert curve(whole, "collected_share") == {t: float(t >= 5) for t in range(31)}


def test_a_cohort_of_cancelled_invoices_has_no_share() -> None:
    tables = flatten([invoice("VOID", 50000, status="CANCELLED", invoice_date=day(40),
                              cancel_time=f"{day(20)}T10:00:00Z")])
    curves = cohort_curves(tables, AS_OF, horizon_days=90)
    assert curves["days"].tolist() == list(range(20))  # Kaplan–Meier censors it on day 19
    assert curves["collected_share"].isna().all()
    assert (curves["km_paid"] == 0).all() and (curves["at_risk_minor"] == 0).all()


# --- any book --------------------------------------------------------------------------------


@st.composite
def books(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Invoices of any status in two currencies, with payments before their invoice date,
    after as_of, overpaying, reversed, and cancellations before and after as_of."""
    docs = []
    for k in range(draw(st.integers(0, 12))):
        issued = draw(st.integers(-20, 150))  # days before AS_OF; negative: after it
        total = draw(st.integers(1, 50_000))
        payments = [(day(issued - draw(st.integers(-5, 200))), draw(st.one_of(
            st.integers(1, total), st.integers(-total, 2 * total))))
            for _ in range(draw(st.integers(0, 3)))]
        status = draw(st.sampled_from(["SENT", "PAID", "PARTIALLY_PAID", "CANCELLED",
                                       "DRAFT", "MARKED_AS_PAID"]))
        cancel = None
        if status == "CANCELLED":
            cancel = f"{day(issued - draw(st.integers(0, 200)))}T10:00:00Z"
        docs.append(invoice(f"I{k}", total, currency=draw(st.sampled_from(["USD", "JPY"])),
                            status=status, invoice_date=day(issued),
                            email=draw(st.sampled_from(["a@example.com", "b@example.com"])),
                            payments=payments, cancel_time=cancel))
    return docs


def oracle(docs: list[dict[str, Any]], horizon: int
           ) -> dict[tuple[str, str], tuple[list[Fraction], list[int]]]:
    """The amount-weighted Kaplan–Meier survival and money at risk per (customer, currency)
    and day, exactly, one invoice and one day at a time."""
    money: dict[tuple[str, str], list[tuple[int, int, list[int]]]] = {}
    for doc in docs:
        issued = dt.date.fromisoformat(doc["detail"]["invoice_date"])
        cancel = doc["detail"]["metadata"].get("cancel_time")
        if (doc["status"] == "DRAFT" or issued > AS_OF
                or (cancel and dt.date.fromisoformat(cancel[:10]) <= AS_OF)):
            continue
        currency = doc["detail"]["currency_code"]
        total = round(Fraction(doc["amount"]["value"]) * (100 if currency == "USD" else 1))
        by_lag = [0] * (horizon + 1)  # paid-to-date after each lag
        for tx in doc.get("payments", {}).get("transactions", []):
            paid = dt.date.fromisoformat(tx["payment_date"])
            if paid <= AS_OF:
                lag = max((paid - issued).days, 0)
                minor = round(Fraction(tx["amount"]["value"]) * (100 if currency == "USD" else 1))
                for t in range(lag, horizon + 1):
                    by_lag[t] += minor
        reached, best = [], 0
        for paid in by_lag:
            best = max(best, min(max(paid, 0), total))
            reached.append(best)
        key = (doc["primary_recipients"][0]["billing_info"]["email_address"], currency)
        money.setdefault(key, []).append(((AS_OF - issued).days, total, reached))
    out = {}
    for key, invoices in money.items():
        survival, risks, s = [], [], Fraction(1)
        for t in range(horizon + 1):
            risk = sum(total - (reached[t - 1] if t else 0)
                       for age, total, reached in invoices if age >= t)
            got = sum(reached[t] - (reached[t - 1] if t else 0)
                      for age, total, reached in invoices if age >= t)
            if risk:
                s *= 1 - Fraction(got, risk)
            survival.append(s)
            risks.append(risk)
        out[key] = (survival, risks)
    return out


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(docs=books(), horizon=st.integers(0, 120), step=st.integers(1, 7))
def test_curves_are_monotone_bounded_and_stop_for_any_book(docs: list[dict[str, Any]],
                                                           horizon: int, step: int) -> None:
    tables = flatten(docs)
    curves = cohort_curves(tables, AS_OF, by="customer", horizon_days=horizon, step=step)
    exact = oracle(docs, horizon)
    for (cohort, currency), one in curves.groupby(["cohort", "currency"], sort=False):
        days = one["days"].to_numpy()
        assert days.tolist() == list(range(0, len(days) * step, step))
        assert days[-1] <= horizon
        for column in ("collected_share", "km_paid"):
            values = one[column].to_numpy()
            known = ~np.isnan(values)
            assert not (known[1:] & ~known[:-1]).any(), (column, values)  # NaN only at the end
            values = values[known]
            assert ((values >= 0) & (values <= 1)).all(), (column, values)
            assert (np.diff(values) >= 0).all(), (column, values)
        assert not (one["collected_share"].isna() & one["km_paid"].isna()).any()
        risk = one["at_risk_minor"].to_numpy()
        assert (risk >= 0).all() and (np.diff(risk) <= 0).all()
        assert (np.diff(one["at_risk"].to_numpy()) <= 0).all()
        if (cohort, currency) not in exact:  # every invoice of it was cancelled by as_of
            assert one["collected_share"].isna().all() and not risk.any()
            continue
        survival, risks = exact[(cohort, currency)]
        assert risk.tolist() == [risks[t] for t in days]
        for t, share, at_risk in zip(days, one["collected_share"], risk, strict=True):
            if not math.isnan(share):
                assert share == pytest.approx(float(1 - survival[t]), abs=1e-12)
            informed = at_risk > 0 or (t > 0 and survival[t - 1] == 0)
            assert math.isnan(share) == (not informed), (t, share, at_risk)


# --- the seeded demo book ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[Tables]:
    """The demo book, seeded through the API on a frozen clock."""
    with start(clock=Clock(dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC), frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=400, customers=15, months=12)
            yield fetch_tables(client, progress=False)


def test_demo_book_curves_rise_and_stop_at_each_cohorts_age(demo: Tables) -> None:
    as_of = dt.date(2025, 6, 30)
    curves = cohort_curves(demo, as_of)
    assert curves["cohort"].nunique() >= 10
    issued = demo.invoices.dropna(subset=["invoice_date"])
    first = issued.groupby(issued["invoice_date"].dt.strftime("%Y-%m"))["invoice_date"].min()
    for (cohort, _), one in curves.groupby(["cohort", "currency"]):
        assert one["days"].max() <= (pd.Timestamp(as_of) - first[cohort]).days
        share = one["collected_share"].dropna().to_numpy()
        assert len(share) and (np.diff(share) >= 0).all(), cohort
        assert (np.diff(one["km_paid"].dropna().to_numpy()) >= 0).all(), cohort
