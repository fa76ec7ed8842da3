"""One row per customer and currency: what they owe, how late they pay, and a risk flag."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import Tables
from ._common import book_of
from ._params import as_date, check_basis, day_number

__all__ = ["CUSTOMER_COLUMNS", "customer_view"]

#: The columns of :func:`customer_view`, in order.
CUSTOMER_COLUMNS = (
    "customer", "customer_name", "currency", "open_minor", "open_61_plus_minor",
    "open_invoices", "oldest_open_invoice_date", "oldest_days_past_due", "paid_invoices",
    "avg_days_late", "on_time_share", "invoices_this_year", "risk",
)  # fmt: skip
HIGH_LATE_SHARE = 0.20  # share of the open amount more than 60 days past due
HIGH_ON_TIME = 0.50
MEDIUM_ON_TIME = 0.80
MIN_PAID = 5  # paid invoices needed before the on-time share is trusted


def customer_view(tables: Tables, as_of: Any, *, basis: str = "due_date") -> pd.DataFrame:
    """Each customer's position at ``as_of``, per currency (rules of
    :func:`ppnb.analysis.aging`; payment history up to ``as_of`` only).

    Columns: ``customer`` (email), ``customer_name``, ``currency``, ``open_minor`` (outstanding
    at ``as_of``), ``open_61_plus_minor`` (the part more than 60 days past the basis date),
    ``open_invoices``, ``oldest_open_invoice_date``, ``oldest_days_past_due`` (of the open
    invoices; NaT/NaN if none), ``paid_invoices`` (fully paid on or before ``as_of``),
    ``avg_days_late`` (mean of max(0, settling payment − due date) over those),
    ``on_time_share`` (0–1, paid on or before the due date), ``invoices_this_year`` (issued,
    dated from 1 January of ``as_of``'s year to ``as_of``), ``risk``.

    Risk rule, first match wins:

    * ``high``: more than 20% of the open amount is over 60 days past due, or at least 5 paid
      invoices of which fewer than 50% were on time;
    * ``medium``: anything open over 30 days past due, or at least 5 paid invoices of which
      fewer than 80% were on time;
    * ``low``: otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per customer × currency with any invoice issued by ``as_of``, sorted by
        ``open_minor`` descending, then customer.
    """
    basis = check_basis(basis)
    day = day_number(as_date(as_of, "as_of"))
    book = book_of(tables)
    rows = np.flatnonzero(book.issued & (book.inv_day <= day))
    pairs = book.open_pairs(np.array([day], np.int64))
    dpd = day - book.basis_day(basis)
    owed = np.zeros(book.n, np.int64)
    owed[pairs.inv] = pairs.outstanding
    is_open = owed > 0
    settled = (book.paid_day <= day) & (book.paid_day < book.cancel_day) & (book.total > 0)
    late = np.maximum(book.paid_day - book.due_day, 0)
    year_start = day_number(as_date(as_of, "as_of").replace(month=1, day=1))
    keys = book.key_columns(["customer"], rows)
    frame = pd.DataFrame({
        **keys,
        "currency": np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]],
        "open_minor": owed[rows],
        "open_61_plus_minor": np.where(dpd[rows] > 60, owed[rows], 0),
        "open_invoices": is_open[rows].astype(np.int64),
        "open_date": np.where(is_open[rows], book.inv_day[rows], np.iinfo(np.int64).max),
        "open_dpd": np.where(is_open[rows], dpd[rows], np.iinfo(np.int64).min),
        "paid_invoices": settled[rows].astype(np.int64),
        "late_days": np.where(settled[rows], late[rows], 0),
        "on_time": (settled & (late == 0))[rows].astype(np.int64),
        "invoices_this_year": (book.inv_day[rows] >= year_start).astype(np.int64),
    })
    grouped = frame.groupby(["customer", "customer_name", "currency"], dropna=False, sort=True)
    out = grouped.agg(
        open_minor=("open_minor", "sum"), open_61_plus_minor=("open_61_plus_minor", "sum"),
        open_invoices=("open_invoices", "sum"), open_date=("open_date", "min"),
        open_dpd=("open_dpd", "max"), paid_invoices=("paid_invoices", "sum"),
        late_days=("late_days", "sum"), on_time=("on_time", "sum"),
        invoices_this_year=("invoices_this_year", "sum"),
    ).reset_index()
    has_open = out["open_invoices"] > 0
    out["oldest_open_invoice_date"] = pd.to_datetime(
        np.where(has_open, out["open_date"], 0).astype("datetime64[D]")).where(has_open)
    out["oldest_days_past_due"] = out["open_dpd"].where(has_open).astype(np.float64)
    paid = out["paid_invoices"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["avg_days_late"] = np.where(paid > 0, out["late_days"] / paid, np.nan)
        out["on_time_share"] = np.where(paid > 0, out["on_time"] / paid, np.nan)
    out["risk"] = _risk(out)
    out = out.sort_values(["open_minor", "customer"], ascending=[False, True], kind="stable")
    return out[list(CUSTOMER_COLUMNS)].reset_index(drop=True)


def _risk(out: pd.DataFrame) -> np.ndarray:
    """The documented risk rule, vectorised."""
    open_amount = out["open_minor"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        old_share = np.where(open_amount > 0, out["open_61_plus_minor"] / open_amount, 0.0)
    trusted = out["paid_invoices"].to_numpy() >= MIN_PAID
    on_time = out["on_time_share"].to_numpy(np.float64)
    high = (old_share > HIGH_LATE_SHARE) | (trusted & (on_time < HIGH_ON_TIME))
    medium = (out["oldest_days_past_due"].to_numpy(np.float64) > 30) | (
        trusted & (on_time < MEDIUM_ON_TIME))
    return np.where(high, "high", np.where(medium, "medium", "low")).astype(object)
