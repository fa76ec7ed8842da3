"""Cohort collection curves: the share of billing collected by days since issue, with open
invoices censored, and a Kaplan–Meier estimate of time to full payment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import Tables
from ._common import AnalysisError, Book, as_date, book_of, day_number

__all__ = ["cohort_curves"]


def cohort_curves(tables: Tables, as_of: Any, *, by: str = "month", horizon_days: int = 180,
                  step: int | None = None) -> pd.DataFrame:
    """Collection curves per cohort and currency, as they could be known at ``as_of``.

    The population is every invoice issued on or before ``as_of`` (rules of
    :func:`ppnb.analysis.aging`) with a positive total. An invoice's **age** at ``as_of`` is
    ``as_of − invoice_date``; its **time to pay** is the date of the payment that brought it to
    fully paid, minus the invoice date (0 if paid before it was dated).

    * ``collected_share`` at day t: Σ payments made within t days of issue ÷ Σ totals, both
      over the cohort's invoices at least t days old at ``as_of`` (younger ones are censored:
      they could not have been observed that long, and are not counted as unpaid). Invoices
      cancelled on or before ``as_of`` are left out of the share (voided billing), and
      payments after ``as_of`` are not seen.
    * ``km_paid`` at day t: the Kaplan–Meier probability that an invoice is fully paid within
      t days: 1 − Π over event days u ≤ t of (1 − paid_u / at_risk_u). An invoice still open
      at ``as_of`` is censored at its age; a cancelled one at its cancel date.
    * ``at_risk`` at day t: invoices neither paid nor censored before day t.
    * ``n``: invoices in the cohort (and currency).

    Parameters
    ----------
    as_of
        The date the data are seen from.
    by
        ``"month"`` (cohort = invoice month, ``"YYYY-MM"``), ``"customer"`` (recipient email)
        or any column of ``tables.invoices`` (a segment).
    horizon_days
        The last day of the curves.
    step
        Days between points (default 1).

    Returns
    -------
    pandas.DataFrame
        Long format: ``cohort``, ``currency``, ``days``, ``collected_share`` (0–1, NaN when no
        invoice is that old), ``km_paid`` (0–1), ``at_risk``, ``n``. Sorted by cohort,
        currency, days.
    """
    day = day_number(as_date(as_of, "as_of"))
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 0:
        raise AnalysisError(f"horizon_days: {horizon_days!r} is not a whole number ≥ 0")
    step = 1 if step is None else step
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise AnalysisError(f"step: {step!r} is not a whole number ≥ 1")
    book = book_of(tables)
    rows = np.flatnonzero(book.issued & (book.total > 0) & (book.inv_day <= day))
    labels = _cohort_labels(book, rows, by)
    group, cohorts = pd.factorize(pd.MultiIndex.from_arrays(
        [labels, np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]]),
        sort=True)
    ngroups, width = len(cohorts), horizon_days + 1
    age = day - book.inv_day[rows]
    # Kaplan–Meier: event = fully paid by as_of and before any cancellation
    paid_day, cancel_day = book.paid_day[rows], book.cancel_day[rows]
    event = (paid_day <= day) & (paid_day < cancel_day)
    end = np.where(event, paid_day, np.minimum(day, cancel_day - 1))
    time = np.maximum(end - book.inv_day[rows], 0)
    events = _counts(group, time[event], event, ngroups, width)
    leaving = _counts(group, time, np.ones(len(rows), bool), ngroups, width)
    n = np.bincount(group, minlength=ngroups)
    at_risk = n[:, None] - np.cumsum(leaving, axis=1) + leaving
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), 0.0)
    km = 1.0 - np.cumprod(1.0 - hazard, axis=1)
    share = _collected_share(book, rows, group, age, cancel_day > day, ngroups, width, day)
    grid = np.arange(0, width, step)
    cohort_names = np.asarray([c[0] for c in cohorts], dtype=object)
    currency_names = np.asarray([c[1] for c in cohorts], dtype=object)
    return pd.DataFrame({
        "cohort": np.repeat(cohort_names, len(grid)),
        "currency": np.repeat(currency_names, len(grid)),
        "days": np.tile(grid, ngroups).astype(np.int64),
        "collected_share": share[:, grid].ravel(),
        "km_paid": km[:, grid].ravel(),
        "at_risk": at_risk[:, grid].ravel().astype(np.int64),
        "n": np.repeat(n, len(grid)).astype(np.int64),
    })


def _cohort_labels(book: Book, rows: np.ndarray, by: str) -> np.ndarray:
    if by == "month":
        months = book.inv_day[rows].astype("datetime64[D]").astype("datetime64[M]")
        return np.datetime_as_string(months, unit="M").astype(object)
    if by == "customer":
        return np.asarray(book.emails(rows), dtype=object)
    if not isinstance(by, str) or by not in book.invoices.columns:
        raise AnalysisError(f"by: {by!r} is not 'month', 'customer' or a column of "
                            "tables.invoices")
    return book.invoices[by].astype(object).to_numpy()[rows]


def _counts(group: np.ndarray, time: np.ndarray, mask: np.ndarray, ngroups: int,
            width: int) -> np.ndarray:
    """How many of the masked invoices have each time (0..width-1; later ones dropped), per
    group."""
    g, t = group[mask], time
    inside = t < width
    flat = np.bincount(g[inside] * width + t[inside], minlength=ngroups * width)
    return flat.reshape(ngroups, width)


def _collected_share(book: Book, rows: np.ndarray, group: np.ndarray, age: np.ndarray,
                     alive: np.ndarray, ngroups: int, width: int, day: int) -> np.ndarray:
    """Σ payments within t days ÷ Σ totals over invoices at least t days old (not cancelled
    by ``as_of``), per group × t. Integer sums, one float division."""
    keep = alive
    rows, group, age = rows[keep], group[keep], np.minimum(age[keep], width - 1)
    # denominators: totals of invoices whose age ≥ t (reverse cumulative over ages)
    billed = np.zeros((ngroups, width), np.int64)
    np.add.at(billed, (group, age), book.total[rows])
    billed = np.cumsum(billed[:, ::-1], axis=1)[:, ::-1]
    # numerators: a payment at lag L on an invoice of age A counts for t in [L, A]
    where = np.full(book.n, -1, np.int64)
    where[rows] = np.arange(len(rows))
    k = where[book.p_inv]
    seen = (k >= 0) & (book.p_day <= day)
    k, amount = k[seen], book.p_amt[seen]
    lag = np.maximum(book.p_day[seen] - book.inv_day[rows[k]], 0)
    inside = lag <= age[k]
    k, amount, lag = k[inside], amount[inside], lag[inside]
    diff = np.zeros((ngroups, width + 1), np.int64)
    np.add.at(diff, (group[k], lag), amount)
    np.add.at(diff, (group[k], age[k] + 1), -amount)
    collected = np.cumsum(diff[:, :width], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(billed > 0, collected / np.where(billed > 0, billed, 1), np.nan)
