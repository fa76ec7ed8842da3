"""ppnb.analysis aging: a hand-computed book, properties against a per-invoice oracle, JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppnb.analysis import (
    DEFAULT_BUCKETS,
    AnalysisError,
    aging,
    aging_series,
    bucket_labels,
    month_ends,
)
from ppnb.frames import Tables, flatten
from ppnb.money import decimals, format_amount, from_minor

D = dt.date(2025, 3, 31)
LABELS = ["current", "1-30", "31-60", "61-90", "91+"]


def money(minor: int, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": format_amount(from_minor(minor, currency),
                                                              currency)}


def invoice(id_: str, total: int, *, currency: str = "USD", status: str = "UNPAID",
            invoice_date: str = "2025-01-01", due_date: str | None = None,
            email: str = "a@example.com", business: str | None = "Acme Ltd",
            person: tuple[str, str] | None = None, payments: Sequence[tuple[str, int]] = (),
            refunds: Sequence[tuple[str, int]] = (), cancel_time: str | None = None,
            last_update: str = "2025-06-01T00:00:00Z") -> dict[str, Any]:
    """One invoice as the API returns it (amounts in minor units here, text in the JSON)."""
    paid = sum(a for _, a in payments)
    billing: dict[str, Any] = {"email_address": email}
    if business:
        billing["business_name"] = business
    if person:
        billing["name"] = {"given_name": person[0], "surname": person[1]}
    doc: dict[str, Any] = {
        "id": id_, "status": status,
        "detail": {"invoice_number": id_, "currency_code": currency,
                   "invoice_date": invoice_date,
                   "payment_term": {"term_type": "NET_30", "due_date": due_date or invoice_date},
                   "metadata": {"create_time": "2024-01-01T00:00:00Z",
                                "last_update_time": last_update}},
        "primary_recipients": [{"billing_info": billing}],
        "amount": money(total, currency),
        "due_amount": money(total - paid, currency),
    }
    if cancel_time:
        doc["detail"]["metadata"]["cancel_time"] = cancel_time
    if payments:
        doc["payments"] = {"paid_amount": money(paid, currency), "transactions": [
            {"payment_id": f"{id_}-P{k}", "payment_date": day, "amount": money(a, currency),
             "method": "BANK_TRANSFER", "type": "EXTERNAL"}
            for k, (day, a) in enumerate(payments)]}
    if refunds:
        doc["refunds"] = {"refund_amount": money(sum(a for _, a in refunds), currency),
                          "transactions": [
            {"refund_id": f"{id_}-R{k}", "refund_date": day, "amount": money(a, currency),
             "method": "BANK_TRANSFER", "type": "EXTERNAL"}
            for k, (day, a) in enumerate(refunds)]}
    return doc


BEA = {"email": "b@example.com", "business": None, "person": ("Bea", "Jones")}

#: The hand-computed book (see the expected numbers in each test).
BOOK = [
    # partly paid before D, rest after D: 700.00 open at D, 59 days past due
    invoice("A1", 100000, status="PAID", due_date="2025-01-31",
            payments=[("2025-02-15", 30000), ("2025-04-10", 70000)]),
    invoice("A2", 20000, invoice_date="2025-03-20", due_date="2025-04-19"),  # not yet due
    # cancelled before D (open on 2025-02-28), and after D (open at D, exactly 90 days)
    invoice("A3", 50000, status="CANCELLED", invoice_date="2024-11-01", due_date="2024-12-01",
            cancel_time="2025-03-01T10:00:00Z"),
    invoice("A4", 40000, status="CANCELLED", invoice_date="2024-12-01", due_date="2024-12-31",
            cancel_time="2025-04-05T10:00:00Z"),
    invoice("A5", 30000, status="SCHEDULED", invoice_date="2025-03-01"),  # never went out
    invoice("A6", 5000, status="DRAFT", invoice_date="2025-03-01"),
    invoice("A7", 7000, invoice_date="2025-04-02", due_date="2025-05-02"),  # after D
    # paid long ago, refunded in March: a refund does not reopen
    invoice("B1", 15000, status="REFUNDED", invoice_date="2024-10-01", due_date="2024-10-31",
            payments=[("2024-11-15", 15000)], refunds=[("2025-03-10", 15000)], **BEA),
    invoice("B2", 12000, status="PARTIALLY_PAID", invoice_date="2024-12-01",
            due_date="2024-12-30", payments=[("2025-01-10", 2000)], **BEA),  # 91 days
    # JPY has no decimals; a payment dated D counts
    invoice("J1", 15000, currency="JPY", status="PARTIALLY_PAID", invoice_date="2025-02-01",
            due_date="2025-03-03", payments=[("2025-03-31", 5000)], **BEA),
    invoice("E1", 8050, currency="EUR", invoice_date="2025-03-31", due_date="2025-04-30"),
    # cancelled with no cancel time: cancelled at its last update (2025-02-10)
    invoice("C1", 6000, status="CANCELLED", invoice_date="2025-01-05", due_date="2025-02-04",
            last_update="2025-02-10T08:00:00Z"),
    # marked as paid by an external payment on its due date
    invoice("X1", 9000, status="MARKED_AS_PAID", invoice_date="2025-02-01",
            due_date="2025-03-03", payments=[("2025-03-03", 9000)]),
]


@pytest.fixture(scope="module")
def book() -> Tables:
    return flatten(BOOK)


def row(frame: pd.DataFrame, **keys: Any) -> dict[str, Any]:
    match = frame
    for key, value in keys.items():
        match = match[match[key] == value]
    assert len(match) == 1, keys
    return match.iloc[0].to_dict()


def amounts(record: dict[str, Any]) -> list[int]:
    return [int(record[label]) for label in [*LABELS, "total"]]


def test_bucket_labels() -> None:
    assert bucket_labels(DEFAULT_BUCKETS) == LABELS
    assert bucket_labels((15,)) == ["current", "1-15", "16+"]
    assert bucket_labels([7, 14, 45]) == ["current", "1-7", "8-14", "15-45", "46+"]
    for bad in [(), (30, 30), (60, 30), (0, 30), (1.5,), "30"]:
        with pytest.raises(AnalysisError, match="buckets"):
            bucket_labels(bad)


def test_month_ends() -> None:
    assert month_ends("2024-01-15", dt.date(2024, 3, 31)) == [
        dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    assert month_ends("2024-01-01", "2024-03-30") == [dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
    with pytest.raises(AnalysisError, match="before start"):
        month_ends("2024-02-01", "2024-01-01")


def test_hand_book_by_customer(book: Tables) -> None:
    aged = aging(book, D)
    assert aged.as_of == D and aged.labels == LABELS and aged.by == ["customer", "customer_name"]
    s = aged.summary
    assert list(s.columns) == ["customer", "customer_name", "currency", *LABELS, "total",
                               *(f"pct_{label}" for label in LABELS)]
    assert len(s) == 4
    a_usd = row(s, customer="a@example.com", currency="USD")
    assert a_usd["customer_name"] == "Acme Ltd"
    assert amounts(a_usd) == [20000, 0, 70000, 40000, 0, 130000]
    assert a_usd["pct_31-60"] == pytest.approx(100 * 70000 / 130000)
    assert amounts(row(s, customer="a@example.com", currency="EUR")) == [8050, 0, 0, 0, 0, 8050]
    b_usd = row(s, customer="b@example.com", currency="USD")
    assert b_usd["customer_name"] == "Bea Jones"
    assert amounts(b_usd) == [0, 0, 0, 0, 10000, 10000]
    assert amounts(row(s, customer="b@example.com", currency="JPY")) == [0, 10000, 0, 0, 0,
                                                                          10000]
    t = aged.totals
    assert amounts(row(t, currency="USD")) == [20000, 0, 70000, 40000, 10000, 140000]
    assert amounts(row(t, currency="JPY")) == [0, 10000, 0, 0, 0, 10000]
    assert amounts(row(t, currency="EUR")) == [8050, 0, 0, 0, 0, 8050]
    assert all(s[label].dtype == np.int64 for label in [*LABELS, "total"])


def test_hand_book_detail(book: Tables) -> None:
    detail = aging(book, D).detail
    assert sorted(detail["id"]) == ["A1", "A2", "A4", "B2", "E1", "J1"]
    a1 = row(detail, id="A1")
    assert (a1["total_minor"], a1["paid_minor"], a1["outstanding_minor"]) == (100000, 30000,
                                                                             70000)
    assert (a1["days_past_due"], a1["bucket"]) == (59, "31-60")
    assert (row(detail, id="A4")["days_past_due"], row(detail, id="A4")["bucket"]) == (90,
                                                                                       "61-90")
    assert (row(detail, id="B2")["days_past_due"], row(detail, id="B2")["bucket"]) == (91, "91+")
    assert (row(detail, id="A2")["days_past_due"], row(detail, id="A2")["bucket"]) == (-19,
                                                                                       "current")
    j1 = row(detail, id="J1")
    assert (j1["currency"], j1["paid_minor"], j1["outstanding_minor"]) == ("JPY", 5000, 10000)
    assert list(detail.columns) == ["id", "number", "customer", "customer_name", "currency",
                                    "invoice_date", "due_date", "total_minor", "paid_minor",
                                    "outstanding_minor", "days_past_due", "bucket"]


def test_as_of_other_dates(book: Tables) -> None:
    # 2025-02-28: A3 still open (cancelled 2025-03-01), X1 not yet paid, A1 partly paid
    feb = aging(book, "2025-02-28", by="none")
    assert amounts(row(feb.totals, currency="USD")) == [9000, 70000, 40000 + 10000, 50000, 0,
                                                        179000]
    # C1 is cancelled at its last update (2025-02-10): open the day before, gone that day
    assert "C1" in set(aging(book, "2025-02-09").detail["id"])
    assert "C1" not in set(aging(book, "2025-02-10").detail["id"])
    # A1 is fully paid after 2025-04-10; A4 cancelled on 2025-04-05
    later = set(aging(book, "2025-04-10").detail["id"])
    assert later == {"A2", "A7", "B2", "E1", "J1"}


def test_basis_invoice_date_and_buckets(book: Tables) -> None:
    aged = aging(book, D, basis="invoice_date", by="none")
    assert amounts(row(aged.totals, currency="USD")) == [0, 20000, 0, 70000, 50000, 140000]
    assert amounts(row(aged.totals, currency="JPY")) == [0, 0, 10000, 0, 0, 10000]
    assert amounts(row(aged.totals, currency="EUR")) == [8050, 0, 0, 0, 0, 8050]
    wide = aging(book, D, buckets=(60,), by="currency")
    assert wide.labels == ["current", "1-60", "61+"] and wide.by == []
    usd = row(wide.summary, currency="USD")
    assert [usd["current"], usd["1-60"], usd["61+"]] == [20000, 70000, 50000]


def test_by_column_and_list(book: Tables) -> None:
    by_status = aging(book, D, by="status").summary
    assert amounts(row(by_status, status="CANCELLED", currency="USD")) == [0, 0, 0, 40000, 0,
                                                                             40000]
    both = aging(book, D, by=["customer", "status"])
    assert both.by == ["customer", "customer_name", "status"]
    assert len(both.summary) == 6
    with pytest.raises(AnalysisError, match="nope"):
        aging(book, D, by="nope")
    with pytest.raises(AnalysisError, match="basis"):
        aging(book, D, basis="paid_date")


def test_as_of_from_clock_never_wall_clock(book: Tables) -> None:
    aged = aging(book, clock=lambda: dt.datetime(2025, 3, 31, 23, 0, tzinfo=dt.UTC))
    assert aged.as_of == D
    assert aging(book, "2025-03-31", clock=lambda: dt.date(1999, 1, 1)).as_of == D
    with pytest.raises(AnalysisError, match="as_of"):
        aging(book, "31/03/2025")
    with pytest.raises(AnalysisError, match="as_of is required"):
        aging(book)  # neither a date nor a clock: refused, never the machine's today


def test_rates_convert_without_mixing(book: Tables) -> None:
    from decimal import Decimal

    from ppnb.analysis import Rates

    rates = Rates("2025-03-30", "USD", {"EUR": "1.10", "JPY": "0.0065"})
    aged = aging(book, D, by="none", rates=rates)
    assert aged.converted is not None and len(aged.converted) == 1
    row = aged.converted.iloc[0]
    # 1400.00 + 80.50 × 1.10 + 10000 × 0.0065, in USD cents
    assert row["total"] == (Decimal("1400.00") + Decimal("88.55") + Decimal("65.00")) * 100
    assert (row["currency"], row["rates_date"]) == ("USD", pd.Timestamp("2025-03-30"))
    assert aging(book, D).converted is None
    with pytest.raises(AnalysisError, match="no rate for JPY"):
        aging(book, D, rates=Rates("2025-03-30", "USD", {"EUR": 1}))
    with pytest.raises(AnalysisError, match=r"give ppnb\.analysis\.Rates"):
        aging(book, D, rates={"USD": 1, "EUR": 1, "JPY": 1})  # type: ignore[arg-type]


def test_to_json_shape(book: Tables) -> None:
    data = aging(book, D).to_json()
    assert set(data) == {"as_of", "basis", "buckets", "rows", "totals"}
    assert (data["as_of"], data["basis"], data["buckets"]) == ("2025-03-31", "due_date", LABELS)
    keys = ["customer", "customer_name", "currency", *LABELS, "total"]
    assert all(list(r) == keys for r in data["rows"])
    bea_jpy = next(r for r in data["rows"] if r["currency"] == "JPY")
    assert bea_jpy == {"customer": "b@example.com", "customer_name": "Bea Jones",
                       "currency": "JPY", "current": "0", "1-30": "10000", "31-60": "0",
                       "61-90": "0", "91+": "0", "total": "10000"}
    totals = {t["currency"]: t for t in data["totals"]}
    assert list(totals["USD"]) == ["currency", *LABELS, "total"]
    assert totals["USD"]["total"] == "1400.00" and totals["USD"]["current"] == "200.00"
    assert totals["EUR"]["total"] == "80.50"
    by_none = aging(book, D, by="none").to_json()
    assert list(by_none["rows"][0]) == ["currency", *LABELS, "total"]


def test_nothing_open() -> None:
    tables = flatten([invoice("P", 1000, status="PAID", payments=[("2025-01-02", 1000)])])
    aged = aging(tables, D)
    assert aged.summary.empty and aged.totals.empty and aged.detail.empty
    assert "customer" in aged.summary.columns and aged.to_json()["rows"] == []
    assert aging_series(tables, [D]).empty


def test_series_matches_aging(book: Tables) -> None:
    dates = [*month_ends("2024-11-01", "2025-04-30"), dt.date(2025, 2, 9)]
    series = aging_series(book, dates, by="customer")
    assert list(series.columns) == ["as_of", "customer", "customer_name", "currency", *LABELS,
                                    "total"]
    for date in dates:
        one = aging(book, date).summary[["customer", "customer_name", "currency", *LABELS,
                                         "total"]]
        part = series[series["as_of"] == pd.Timestamp(date)].drop(columns="as_of")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), one.reset_index(drop=True),
                                      check_dtype=False)


# --- properties against a straightforward per-invoice oracle -------------------------------

CURRENCIES = ("USD", "JPY", "EUR")
START = dt.date(2025, 1, 1)


@st.composite
def books(draw: st.DrawFn) -> list[dict[str, Any]]:
    docs = []
    for k in range(draw(st.integers(0, 12))):
        currency = draw(st.sampled_from(CURRENCIES))
        total = draw(st.integers(1, 10**6))
        issued = START + dt.timedelta(days=draw(st.integers(0, 150)))
        due = issued + dt.timedelta(days=draw(st.sampled_from((0, 10, 30, 60))))
        pays, left = [], total
        for _ in range(draw(st.integers(0, 3))):
            if left == 0:
                break
            amount = draw(st.integers(1, left))
            left -= amount
            day = issued + dt.timedelta(days=draw(st.integers(-2, 150)))
            pays.append((day.isoformat(), amount))
        kind = draw(st.sampled_from(("open", "open", "draft", "scheduled", "cancelled")))
        status = {"draft": "DRAFT", "scheduled": "SCHEDULED", "cancelled": "CANCELLED"}.get(
            kind, "PAID" if left == 0 else "PARTIALLY_PAID" if pays else "UNPAID")
        cancel = None
        if kind == "cancelled":
            cancel = f"{issued + dt.timedelta(days=draw(st.integers(0, 150)))}T12:00:00Z"
            pays = []
        docs.append(invoice(f"I{k}", total, currency=currency, status=status,
                            invoice_date=issued.isoformat(), due_date=due.isoformat(),
                            email=draw(st.sampled_from(("a@x.com", "b@x.com"))),
                            payments=pays, cancel_time=cancel))
    return docs


def oracle(docs: list[dict[str, Any]], as_of: dt.date) -> dict[str, int]:
    """Outstanding per open invoice id, one invoice at a time."""
    out = {}
    for doc in docs:
        detail = doc["detail"]
        if doc["status"] in ("DRAFT", "SCHEDULED"):
            continue
        if dt.date.fromisoformat(detail["invoice_date"]) > as_of:
            continue
        cancel = detail["metadata"].get("cancel_time")
        if cancel and dt.date.fromisoformat(cancel[:10]) <= as_of:
            continue
        currency = detail["currency_code"]
        scale = 10 ** decimals(currency)
        paid = sum(round(float(t["amount"]["value"]) * scale)
                   for t in doc.get("payments", {}).get("transactions", [])
                   if dt.date.fromisoformat(t["payment_date"]) <= as_of)
        owed = round(float(doc["amount"]["value"]) * scale) - paid
        if owed > 0:
            out[doc["id"]] = owed
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=books(), offset=st.integers(0, 240))
def test_properties(docs: list[dict[str, Any]], offset: int) -> None:
    tables = flatten(docs)
    as_of = START + dt.timedelta(days=offset)
    aged = aging(tables, as_of)
    expected = oracle(docs, as_of)
    detail = aged.detail
    # every open invoice lands in exactly one bucket, for exactly what it owes
    assert dict(zip(detail["id"], detail["outstanding_minor"], strict=True)) == expected
    assert detail["id"].is_unique and set(detail["bucket"]) <= set(LABELS)
    # bucket totals equal the total outstanding, per row and per currency
    s = aged.summary
    assert (s[LABELS].sum(axis=1) == s["total"]).all()
    for currency, group in detail.groupby("currency"):
        total = row(aged.totals, currency=currency)
        assert total["total"] == group["outstanding_minor"].sum()
        for label in LABELS:
            assert total[label] == group.loc[group["bucket"] == label,
                                             "outstanding_minor"].sum()
    # the series gives the same rows
    series = aging_series(tables, [as_of, START], by="customer")
    part = series[series["as_of"] == pd.Timestamp(as_of)].drop(columns="as_of")
    pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                  s[part.columns].reset_index(drop=True), check_dtype=False)


@settings(max_examples=40, deadline=None)
@given(docs=books())
def test_as_of_today_equals_todays_view(docs: list[dict[str, Any]]) -> None:
    """With nothing after D (no later payments, cancellations or invoices), the as-of view
    is the API's own due amounts of the open invoices."""
    tables = flatten(docs)
    today = START + dt.timedelta(days=400)  # after every generated date
    detail = aging(tables, today).detail
    inv = tables.invoices
    open_now = inv[inv["status"].isin(["UNPAID", "PARTIALLY_PAID", "SENT"])
                   & (inv["due_minor"] > 0)]
    assert dict(zip(detail["id"], detail["outstanding_minor"], strict=True)) == dict(
        zip(open_now["id"], open_now["due_minor"], strict=True))


def test_an_auto_cancelled_invoice_stops_being_owed_when_it_was_called_off() -> None:
    """PayPal's docs list AUTO_CANCELLED; without a cancel time it counts from last update."""
    tables = flatten([
        invoice("A", 5000, status="AUTO_CANCELLED", last_update="2025-02-15T00:00:00Z"),
        invoice("B", 700, invoice_date="2025-01-10", due_date="2025-01-10"),
    ])
    before = aging(tables, "2025-02-14", by="none").totals.set_index("currency")
    assert before.loc["USD", "total"] == 5700  # owed until it was called off
    after = aging(tables, D, by="none").totals.set_index("currency")
    assert after.loc["USD", "total"] == 700
