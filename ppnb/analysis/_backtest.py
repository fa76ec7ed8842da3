"""Predicted against actual: payment-date predictions made on a past day, beside what the
book later shows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import Tables
from ._common import FOREVER, book_of
from ._params import as_date, day_number
from ._predict import HORIZON, predict_payments

__all__ = ["backtest"]


def backtest(tables: Tables, as_of: Any, *, until: Any = None,
             reminders: pd.DataFrame | None = None, dispute: bool = True) -> pd.DataFrame:
    """Predict as of a past day, then compare with the payments the book shows since.

    The predictions are exactly those of :func:`ppnb.analysis.predict_payments` on
    ``as_of`` (the model sees nothing after it); the actual date is the day each invoice
    was paid in full, up to ``until``.

    Parameters
    ----------
    tables
        The whole book, as it is now.
    as_of
        The day the predictions are made on.
    until
        The last day whose payments count (default: the latest payment date in the book).
        An invoice not paid by then is **open** (censored): its actual date is unknown,
        not late by definition.

    Returns
    -------
    pandas.DataFrame
        The prediction columns (no ``why``) plus ``actual_date`` (NaT while open),
        ``cancelled`` (cancelled after ``as_of`` and by ``until``), ``error_days``
        (expected − actual, in days; NaN when the median lay beyond the horizon) and
        ``inside`` (actual within ``[low, high]``, a bound beyond the horizon being
        open-ended); attrs
        ``as_of``, ``until``, and over the invoices paid by ``until``: ``paid`` (their
        count), ``coverage`` (share inside the interval), ``mae`` (days) and ``within_5``
        (share at most 5 days off) over those that had a median date, and ``undated`` (those
        paid although their median lay beyond the horizon).
    """
    start = as_date(as_of, "as_of")
    book = book_of(tables)
    if until is None:
        known = book.p_day[book.p_day < FOREVER]
        last = int(known.max()) if len(known) else day_number(start)
    else:
        last = day_number(as_date(until, "until"))
    frame = predict_payments(tables, start, reminders=reminders, dispute=dispute,
                             explain=False).drop(columns="why")
    where = pd.Series(np.arange(book.n), index=book.invoices["id"].array)
    rows = where[frame["invoice_id"].to_numpy()].to_numpy()
    paid = book.paid_day[rows]
    settled = (paid <= last) & (paid < book.cancel_day[rows])
    frame["actual_date"] = pd.to_datetime(
        np.where(settled, paid, 0).astype("datetime64[D]")).where(settled).astype(
        "datetime64[ns]")
    frame["cancelled"] = book.cancel_day[rows] <= last
    beyond = pd.Timestamp(start) + pd.Timedelta(days=HORIZON + 1)  # "not within the horizon"
    frame["error_days"] = (frame["expected_date"] - frame["actual_date"]).dt.days
    inside = (frame["low"].fillna(beyond) <= frame["actual_date"]) & (
        frame["actual_date"] <= frame["high"].fillna(pd.Timestamp.max))
    frame["inside"] = inside.where(frame["actual_date"].notna())
    done = frame[frame["actual_date"].notna()]
    error = done["error_days"].dropna().abs()
    frame.attrs.update(
        as_of=start, until=pd.Timestamp(np.datetime64(last, "D")).date(), paid=len(done),
        undated=int(done["error_days"].isna().sum()),
        mae=float(error.mean()) if len(error) else np.nan,
        within_5=float((error <= 5).mean()) if len(error) else np.nan,
        coverage=float(done["inside"].astype(bool).mean()) if len(done) else np.nan)
    return frame
