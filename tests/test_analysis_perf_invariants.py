"""ppnb.analysis speed-ups that must not show: the cache of prepared books is reused only for
unchanged tables, and the integer grouping and sorting give what pandas would on the text."""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from ppnb.analysis import AnalysisError, aging, aging_series, kpis, month_ends
from ppnb.analysis._common import CACHE_SIZE, book_of
from ppnb.frames import INVOICE_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS, Tables, empty_tables

D = dt.date(2025, 6, 30)
QUARTER = (dt.date(2025, 4, 1), D)
LABELS = ["current", "1-30", "31-60", "61-90", "91+"]


def make_tables(n: int = 600, seed: int = 3) -> Tables:
    """A random book with every kind of invoice, a few missing emails, names and statuses."""
    rng = np.random.default_rng(seed)
    issued = np.datetime64("2024-07-01") + rng.integers(0, 365, n).astype("timedelta64[D]")
    due = issued + rng.choice([0, 15, 30, 60], n).astype("timedelta64[D]")
    total = rng.integers(100, 100_000, n)
    status = rng.choice(["UNPAID", "PAID", "PARTIALLY_PAID", "CANCELLED", "DRAFT",
                         "SCHEDULED"], n, p=[0.35, 0.4, 0.1, 0.05, 0.05, 0.05]).astype(object)
    status[rng.random(n) < 0.01] = None
    email = np.char.add(np.char.add("c", rng.integers(0, 40, n).astype(str)),
                        "@example.com").astype(object)
    email[rng.random(n) < 0.03] = None
    business = np.where(rng.random(n) < 0.5, "Biz", None).astype(object)
    cancelled = np.where(status == "CANCELLED", issued + np.timedelta64(20, "D"),
                         np.datetime64("NaT"))
    ids = np.array([f"INV-{k}" for k in range(n)], dtype=object)
    rows = np.flatnonzero(np.isin(status, ["PAID", "PARTIALLY_PAID"]))
    rows = np.concatenate((rows, rows[: len(rows) // 3]))  # some pay in two parts
    pay_day = issued[rows] + rng.integers(0, 90, len(rows)).astype("timedelta64[D]")
    amount = total[rows] // 2

    def utc(days: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(days.astype("datetime64[ns]")).tz_localize("UTC")

    invoices = pd.DataFrame({
        "id": ids, "number": ids, "status": status, "invoice_date": issued, "due_date": due,
        "term_type": "NET_30", "currency": rng.choice(["USD", "EUR", "JPY"], n),
        "total_minor": total, "paid_minor": 0, "refunded_minor": 0, "due_minor": total,
        "total": total / 100, "paid": 0.0, "refunded": 0.0, "due": total / 100,
        "recipient_email": email, "recipient_name": None, "recipient_business": business,
        "created": utc(issued), "first_sent": utc(issued), "last_sent": utc(issued),
        "cancelled": utc(cancelled), "last_updated": utc(issued), "reference": None,
        "memo": None,
    }).astype(INVOICE_COLUMNS)
    payments = pd.DataFrame({
        "invoice_id": ids[rows], "payment_id": [f"P{k}" for k in range(len(rows))],
        "payment_date": pay_day, "amount_minor": amount, "amount": amount / 100,
        "currency": invoices["currency"].to_numpy()[rows], "method": "CASH",
        "type": "EXTERNAL", "note": None,
    }).astype(PAYMENT_COLUMNS)
    refunds = pd.DataFrame({
        "invoice_id": ids[:3], "refund_id": ["R0", "R1", "R2"],
        "refund_date": [pd.Timestamp("2025-05-01")] * 3, "amount_minor": [100, 200, 300],
        "amount": [1.0, 2.0, 3.0], "currency": invoices["currency"].to_numpy()[:3],
        "method": "CASH", "type": "EXTERNAL",
    }).astype(REFUND_COLUMNS)
    return Tables(invoices, empty_tables().items, payments, refunds)


def cold(tables: Tables) -> Tables:
    """The same data in new frames and a new Tables: nothing cached applies to it."""
    return Tables(*(frame.copy() for frame in tables))


def open_row(tables: Tables) -> int:
    """The position of an invoice open at D with no payments (the first one)."""
    detail = aging(cold(tables), D).detail
    unpaid = detail[detail["paid_minor"] == 0]
    return int(np.flatnonzero(tables.invoices["id"] == unpaid["id"].iloc[0])[0])


def paid_row(tables: Tables) -> int:
    """The position of a payment, dated by D, on an invoice still partly open at D."""
    detail = aging(cold(tables), D).detail
    partly = set(detail.loc[detail["paid_minor"] > 0, "id"])
    pays = tables.payments
    hit = pays["invoice_id"].isin(partly) & (pays["payment_date"] <= pd.Timestamp(D))
    return int(np.flatnonzero(hit)[0])


def test_aging_then_kpis_prepare_the_book_once() -> None:
    tables = make_tables()
    book = book_of(tables)
    aging(tables, D)
    kpis(tables, *QUARTER)
    aging_series(tables, month_ends("2025-01-01", D))
    assert book_of(tables) is book
    # another Tables over the very same frames is another key, and gets its own book
    assert book_of(Tables(*tables)) is not book


def _pay_more(t: Tables) -> None:
    row = paid_row(t)
    t.payments.loc[row, "amount_minor"] = t.payments.loc[row, "amount_minor"] + 1


def _pay_later(t: Tables) -> None:
    t.payments.loc[paid_row(t), "payment_date"] = pd.Timestamp("2025-12-31")


def _draft(t: Tables) -> None:
    t.invoices.loc[open_row(t), "status"] = "DRAFT"


def _cancel(t: Tables) -> None:
    t.invoices.loc[open_row(t), "cancelled"] = pd.Timestamp("2025-06-01", tz="UTC")


def _bigger(t: Tables) -> None:
    t.invoices.loc[open_row(t), "total_minor"] = 10**9


def _due_later(t: Tables) -> None:  # the column replaced, not edited
    t.invoices["due_date"] = t.invoices["due_date"] + pd.Timedelta(days=45)


def _rename_customer(t: Tables) -> None:
    t.invoices.loc[open_row(t), "recipient_email"] = "zz-new@example.com"


def _move_payment(t: Tables) -> None:  # the payment now belongs to an unpaid invoice
    t.payments.loc[paid_row(t), "invoice_id"] = t.invoices["id"].iloc[open_row(t)]


def _add_payment(t: Tables) -> None:  # rows added in place
    row = open_row(t)
    t.payments.loc[len(t.payments)] = [t.invoices["id"].iloc[row], "PX", pd.Timestamp(D),
                                       t.invoices["total_minor"].iloc[row], 1.0,
                                       t.invoices["currency"].iloc[row], "CASH", "EXTERNAL",
                                       None]


@pytest.mark.parametrize("change", [_pay_more, _pay_later, _draft, _cancel, _bigger,
                                    _due_later, _rename_customer, _move_payment, _add_payment])
def test_a_changed_table_is_prepared_again(change: Callable[[Tables], None]) -> None:
    tables = make_tables()
    before = aging(tables, D)
    kpis_before = kpis(tables, *QUARTER)
    book = book_of(tables)
    change(tables)
    after = aging(tables, D)
    assert book_of(tables) is not book
    expected = aging(cold(tables), D)
    pd.testing.assert_frame_equal(after.summary, expected.summary)
    pd.testing.assert_frame_equal(after.detail, expected.detail)
    pd.testing.assert_frame_equal(kpis(tables, *QUARTER), kpis(cold(tables), *QUARTER))
    # the change mattered, so a stale book would have been caught
    changed = not (before.summary.equals(after.summary) and before.detail.equals(after.detail)
                   and kpis_before.equals(kpis(tables, *QUARTER)))
    assert changed


def test_columns_the_book_does_not_hold_are_read_each_time() -> None:
    tables = make_tables()
    detail = aging(tables, D).detail
    refunds = kpis(tables, *QUARTER)
    book = book_of(tables)
    row = open_row(tables)
    tables.invoices.loc[row, "number"] = "RENUMBERED"
    tables.refunds.loc[0, "amount_minor"] = 5000
    assert (aging(tables, D).detail["number"] == "RENUMBERED").sum() == 1
    assert "RENUMBERED" not in set(detail["number"])
    assert not kpis(tables, *QUARTER)["refunds_minor"].equals(refunds["refunds_minor"])
    assert book_of(tables) is book  # neither is part of the book


def test_a_dropped_column_is_an_error_not_a_stale_answer() -> None:
    tables = make_tables()
    aging(tables, D)
    del tables.payments["payment_date"]
    with pytest.raises(AnalysisError, match="payment_date"):
        aging(tables, D)


def test_books_go_with_their_tables_and_the_cache_stays_small() -> None:
    tables = make_tables()
    book = weakref.ref(book_of(tables))
    del tables
    gc.collect()
    assert book() is None
    first, *later = [make_tables(seed=k) for k in range(CACHE_SIZE + 1)]
    book = weakref.ref(book_of(first))
    for other in later:
        book_of(other)
    gc.collect()
    assert book() is None  # evicted while its tables live on; they simply prepare again
    pd.testing.assert_frame_equal(aging(first, D).summary, aging(cold(first), D).summary)


@pytest.mark.parametrize("by", ["customer", "currency", "status", ["status", "customer"],
                                "invoice_date"])
def test_summary_is_the_pandas_groupby_of_the_detail(by: str | list[str]) -> None:
    tables = make_tables()
    result = aging(tables, D, by=by)
    keys = [k for k in ([by] if isinstance(by, str) else by) if k != "currency"]
    detail = result.detail
    extra = [k for k in keys if k not in detail.columns]
    if extra:
        detail = detail.merge(tables.invoices[["id", *extra]], on="id", how="left")
    group = [*result.by, "currency"]
    expected = (detail.groupby([*group, "bucket"], sort=True, dropna=False)
                ["outstanding_minor"].sum().unstack("bucket", fill_value=0)
                .reindex(columns=LABELS, fill_value=0).reset_index())
    got = result.summary[[*group, *LABELS]]
    assert len(got) == len(expected) > 1
    for column in group:
        assert list(got[column].astype(object).fillna("<NA>")) == list(
            expected[column].astype(object).fillna("<NA>"))
    for label in LABELS:
        assert list(got[label]) == list(expected[label])


def test_detail_is_sorted_by_customer_date_and_id() -> None:
    detail = aging(make_tables(), D).detail
    resorted = detail.sort_values(["customer", "invoice_date", "id"], kind="stable",
                                  na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(detail, resorted)
    assert detail["customer"].isna().any()  # missing customers came last, and were there
