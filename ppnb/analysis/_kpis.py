"""Collection KPIs per currency over a period: DSO (simple and count-back), best DSO, ADD,
CEI, days to pay, days late and on-time share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..display import declare
from ..frames import Tables
from ._common import Book, book_of
from ._params import AnalysisError, as_date, check_basis, day_number, from_day

__all__ = ["KPI_COLUMNS", "dso_countback", "kpi_series", "kpis"]

#: Length of the usual KPI period, in days, ending on the as-of date (reports, the dashboard
#: and ``ppnb kpis`` default to it).
KPI_DAYS = 90

#: The columns of :func:`kpis`, in order.
KPI_COLUMNS = (
    "currency", "start", "end", "days", "beginning_ar_minor", "ending_ar_minor",
    "ending_current_ar_minor", "credit_sales_minor", "refunds_minor", "net_sales_minor",
    "dso_simple", "dso_countback", "best_dso", "add", "cei", "paid_invoices",
    "avg_days_to_pay", "avg_days_to_pay_weighted", "avg_days_late", "avg_days_late_weighted",
    "on_time_pct",
)  # fmt: skip
_MAX_MONTHS = 120  # how far count-back DSO walks back at most


def dso_countback(ending_ar: int, monthly_sales: Sequence[int], *,
                  month_days: int | Sequence[int] = 30) -> float:
    """Count-back DSO: how many days of the latest sales the receivable balance represents.

    Walk back month by month from the latest: while the remaining AR covers a whole month's
    sales, take the whole month (its days) and subtract its sales; then take the fraction
    ``remaining / sales`` of the next month. With the default 30-day months, AR 212,000 and
    sales 100,000, 80,000, 70,000 (latest first) give 30 + 30 + 32/70 × 30 = **73.7** days.

    Parameters
    ----------
    ending_ar
        AR at the end of the latest month (any unit, as long as the sales use the same).
    monthly_sales
        Credit sales per month, latest first.
    month_days
        Days counted per month: one number for every month (30, the convention of the
        worked example), or a sequence with each month's days, latest first.

    Returns
    -------
    float
        Days; 0 when there is no AR; NaN when the AR is more than all the sales given.
    """
    days_each = ([month_days] * len(monthly_sales) if isinstance(month_days, int)
                 else list(month_days))
    if len(days_each) < len(monthly_sales):
        raise AnalysisError("month_days: fewer day counts than months of sales")
    remaining, days = ending_ar, 0.0
    for sales, length in zip(monthly_sales, days_each, strict=False):
        if remaining <= 0:
            return days
        if sales <= remaining:
            days += length
            remaining -= sales
        else:
            return days + remaining / sales * length
    return days if remaining <= 0 else float("nan")


def kpis(tables: Tables, start: Any, end: Any, *, basis: str = "due_date",
         month_days: int | None = 30) -> pd.DataFrame:
    """Collection KPIs for the period ``start``..``end`` (both inclusive), one row per currency.

    Balances follow the rules of :func:`ppnb.analysis.aging` (as-of, rebuilt from payments;
    cancelled and unissued invoices excluded). ``basis`` decides what "current" means.

    ==========================  ==================================================================
    column                      formula
    ==========================  ==================================================================
    ``days``                    end − start + 1
    ``beginning_ar_minor``      AR at the end of the day before ``start``
    ``ending_ar_minor``         AR at the end of ``end``
    ``ending_current_ar_minor`` the part of ending AR in the ``current`` bucket (not past due)
    ``credit_sales_minor``      totals of issued invoices dated in the period, less those
                                cancelled on or before ``end``
    ``refunds_minor``           refunds dated in the period
    ``net_sales_minor``         credit sales − refunds
    ``dso_simple``              ending AR ÷ credit sales × days
    ``dso_countback``           :func:`dso_countback` of ending AR over the months ending at
                                ``end`` (calendar months back from ``end``; each counts
                                ``month_days`` days, 30 by default, None: its actual days;
                                monthly sales as for credit sales, cancellations up to ``end``)
    ``best_dso``                ending current AR ÷ credit sales × days
    ``add``                     average days delinquent = dso_simple − best_dso
    ``cei``                     (beginning AR + credit sales − ending AR) ÷ (beginning AR +
                                credit sales − ending current AR) × 100
    ``paid_invoices``           invoices fully paid in the period (the payment that brought
                                the paid amount to the total is dated in the period)
    ``avg_days_to_pay``         mean of (settling payment date − invoice date) over those
    ``avg_days_to_pay_weighted``the same weighted by invoice total
    ``avg_days_late``           mean of max(0, settling payment date − due date)
    ``avg_days_late_weighted``  the same weighted by invoice total
    ``on_time_pct``             100 × share of those paid on or before the due date
    ==========================  ==================================================================

    Ratios are NaN when their denominator is 0 (no sales; no paid invoices). A cancellation
    lowers ending AR like a collection would; CEI therefore counts write-offs as collected
    (PayPal has no separate write-off).

    Returns
    -------
    pandas.DataFrame
        :data:`KPI_COLUMNS`: ``start``/``end`` as datetime64, amounts int64 minor units,
        the rest float (``paid_invoices`` int64). Sorted by currency.
    """
    first, last = as_date(start, "start"), as_date(end, "end")
    if last < first:
        raise AnalysisError(f"end {last} is before start {first}")
    return _kpi_table(book_of(tables), [(first, last)], check_basis(basis), month_days)


def kpi_series(tables: Tables, month_ends_list: Sequence[Any], *, basis: str = "due_date",
               month_days: int | None = 30) -> pd.DataFrame:
    """:func:`kpis` for each calendar month ending at the given dates (start = the first of
    that month), for DSO / best DSO / CEI trend charts.

    Returns
    -------
    pandas.DataFrame
        The :func:`kpis` columns plus ``as_of`` (= ``end``), one row per month × currency,
        sorted by ``as_of`` and currency.
    """
    ends = sorted({as_date(d, "month_ends_list") for d in month_ends_list})
    if not ends:
        raise AnalysisError("month_ends_list: give at least one date")
    periods = [(d.replace(day=1), d) for d in ends]
    frame = _kpi_table(book_of(tables), periods, check_basis(basis), month_days)
    frame.insert(0, "as_of", frame["end"])
    return frame


def _kpi_table(book: Book, periods: list[tuple[dt.date, dt.date]], basis: str,
               month_days: int | None) -> pd.DataFrame:
    """One row per period × currency with the KPIs."""
    starts = np.array([day_number(s) for s, _ in periods], np.int64)
    ends = np.array([day_number(e) for _, e in periods], np.int64)
    ncur = len(book.currencies)
    # AR at every day needed, per currency: total, and the current (not past due) part
    days = np.unique(np.concatenate((starts - 1, ends)))
    pairs = book.open_pairs(days)
    dpd = days[pairs.at] - book.basis_day(basis)[pairs.inv]
    cell = pairs.at * ncur + book.currency_codes[pairs.inv]
    size = len(days) * ncur
    ar = _sum_by(cell, pairs.outstanding, size).reshape(len(days), ncur)
    current = _sum_by(cell[dpd <= 0], pairs.outstanding[dpd <= 0], size).reshape(len(days), ncur)
    begin_ar = ar[np.searchsorted(days, starts - 1)]
    end_ar = ar[np.searchsorted(days, ends)]
    end_current = current[np.searchsorted(days, ends)]
    sales = np.vstack([book.sales(starts[k:k + 1], ends[k:k + 1], ends[k])
                       for k in range(len(periods))])
    refunds = _refunds(book, starts, ends)
    rows = []
    currencies = [str(c) for c in book.currencies]
    present = np.zeros(ncur, bool)
    present[np.unique(book.currency_codes[book.issued])] = True
    for k, (first, last) in enumerate(periods):
        back = _countback(book, first, last, end_ar[k], month_days)
        paid = _paid_stats(book, starts[k], ends[k])
        length = int(ends[k] - starts[k] + 1)
        for code in np.flatnonzero(present):
            s, e_ar, e_cur, b_ar = (int(sales[k, code]), int(end_ar[k, code]),
                                    int(end_current[k, code]), int(begin_ar[k, code]))
            dso = _ratio(e_ar, s) * length
            best = _ratio(e_cur, s) * length
            rows.append({
                "currency": currencies[code], "start": pd.Timestamp(first),
                "end": pd.Timestamp(last), "days": length, "beginning_ar_minor": b_ar,
                "ending_ar_minor": e_ar, "ending_current_ar_minor": e_cur,
                "credit_sales_minor": s, "refunds_minor": int(refunds[k, code]),
                "net_sales_minor": s - int(refunds[k, code]), "dso_simple": dso,
                "dso_countback": back[code], "best_dso": best, "add": dso - best,
                "cei": 100 * _ratio(b_ar + s - e_ar, b_ar + s - e_cur),
                **paid[code],
            })
    frame = pd.DataFrame(rows, columns=list(KPI_COLUMNS))
    ints = ["days", "beginning_ar_minor", "ending_ar_minor", "ending_current_ar_minor",
            "credit_sales_minor", "refunds_minor", "net_sales_minor", "paid_invoices"]
    floats = [c for c in KPI_COLUMNS if c not in (*ints, "currency", "start", "end")]
    frame = frame.astype({**dict.fromkeys(ints, np.int64), **dict.fromkeys(floats, np.float64),
                          "start": "datetime64[ns]", "end": "datetime64[ns]"})
    return declare(frame.sort_values(["end", "currency"], kind="stable").reset_index(drop=True),
                   cei="pct")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


def _sum_by(cell: np.ndarray, amount: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums of ``amount`` per cell index in ``range(size)``."""
    out = np.zeros(size, np.int64)
    np.add.at(out, cell, amount)
    return out


def _refunds(book: Book, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Refunds dated in each period, per currency of the book (int64 minor units)."""
    refunds = book.refunds
    out = np.zeros((len(starts), len(book.currencies)), np.int64)
    if refunds.empty:
        return out
    day = refunds["refund_date"].to_numpy("datetime64[ns]").astype("datetime64[D]").astype(
        np.int64)
    amount = refunds["amount_minor"].to_numpy(np.int64)
    codes = pd.Index(book.currencies).get_indexer(refunds["currency"])
    for k in range(len(starts)):
        inside = (day >= starts[k]) & (day <= ends[k]) & (codes >= 0)
        out[k] = _sum_by(codes[inside], amount[inside], len(book.currencies))
    return out


def _month_windows(last: dt.date, count: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The ``count`` calendar months ending at ``last``, latest first: start days, end days
    and lengths. Month k is (last − k months, last − (k − 1) months]; when ``last`` is a
    month end, these are calendar months."""
    end = pd.Timestamp(last)
    month_end = end.is_month_end
    bounds = [end - (pd.offsets.MonthEnd(k) if month_end else pd.DateOffset(months=k))
              if k else end for k in range(count + 1)]
    ends = np.array([day_number(b.date()) for b in bounds[:-1]], np.int64)
    starts = np.array([day_number(b.date()) + 1 for b in bounds[1:]], np.int64)
    return starts, ends, (ends - starts + 1).tolist()


def _countback(book: Book, first: dt.date, last: dt.date, ending_ar: np.ndarray,
               month_days: int | None) -> np.ndarray:
    """Count-back DSO per currency for the period ending at ``last``."""
    issued_days = book.inv_day[book.issued]
    if not len(issued_days):
        return np.full(len(book.currencies), np.nan)
    earliest = from_day(int(issued_days.min()))
    count = min(_MAX_MONTHS, (last.year - earliest.year) * 12 + last.month - earliest.month + 1)
    starts, ends, lengths = _month_windows(last, max(count, 1))
    sales = book.sales(starts, ends, day_number(last))
    days = lengths if month_days is None else month_days
    return np.array([dso_countback(int(ending_ar[c]), sales[:, c].tolist(), month_days=days)
                     for c in range(len(book.currencies))])


def _paid_stats(book: Book, start: int, end: int) -> list[dict[str, float]]:
    """Days-to-pay statistics per currency of invoices fully paid in [start, end]."""
    paid = np.flatnonzero((book.paid_day >= start) & (book.paid_day <= end))
    paid = paid[book.issued[paid] & (book.total[paid] > 0)]
    codes = book.currency_codes[paid]
    out = []
    for code in range(len(book.currencies)):
        rows = paid[codes == code]
        weight = book.total[rows].astype(np.float64)
        to_pay = (book.paid_day[rows] - book.inv_day[rows]).astype(np.float64)
        late = np.maximum(book.paid_day[rows] - book.due_day[rows], 0).astype(np.float64)
        count = len(rows)
        out.append({
            "paid_invoices": count,
            "avg_days_to_pay": to_pay.mean() if count else np.nan,
            "avg_days_to_pay_weighted": _ratio(float(weight @ to_pay), weight.sum()),
            "avg_days_late": late.mean() if count else np.nan,
            "avg_days_late_weighted": _ratio(float(weight @ late), weight.sum()),
            "on_time_pct": 100 * (late == 0).mean() if count else np.nan,
        })
    return out
