"""Cohort collection curves: the share of billing collected by days since issue (an
amount-weighted Kaplan–Meier estimate, so censoring cannot make it fall), and a Kaplan–Meier
estimate of time to full payment, both stopping where observation stops."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import Tables
from ._common import Book, book_of
from ._params import AnalysisError, as_date, day_number

__all__ = ["cohort_curves"]


def cohort_curves(tables: Tables, as_of: Any, *, by: str = "month", horizon_days: int = 180,
                  step: int | None = None) -> pd.DataFrame:
    """Collection curves per cohort and currency, as they could be known at ``as_of``.

    The population is every invoice issued on or before ``as_of`` (rules of
    :func:`ppnb.analysis.aging`) with a positive total. An invoice's **age** at ``as_of`` is
    ``as_of − invoice_date``: it has been observed for that many days. A payment's **lag** is
    its date minus the invoice date (0 if paid before it was dated); payments after ``as_of``
    are not seen.

    * ``collected_share`` at day t: the share of the cohort's billing collected within t days
      of issue, estimated by an **amount-weighted Kaplan–Meier**: each minor unit billed is a
      subject, "collected" is its event, and the part of an invoice still unpaid at ``as_of``
      is censored at the invoice's age. On each day u, the money at risk is the unpaid part of
      the invoices at least u days old, and the hazard is the part of it collected on day u;
      ``collected_share(t) = 1 − Π_{u ≤ t} (1 − collected_u / at_risk_u)``. The ratio of
      sums over invoices at least t days old, the obvious alternative, changes its population
      with t: when the cohort's youngest invoices (paid fastest, observed shortest) drop out,
      the share can fall, which a cumulative share never does. Kaplan–Meier uses every
      invoice for as long as it was observed and is a product of factors in [0, 1], so it
      never decreases and stays within [0, 1] (and, with no censoring, it equals collected ÷
      billed exactly). Cutting each curve where its youngest invoice stops being observed
      would also be monotone, but throws away most of what the older invoices show.
      An invoice's collected amount is the most it had been paid by that day, capped at its
      total: an overpayment collects no more than the total, and a negative payment (a
      reversal) does not un-collect. Invoices cancelled on or before ``as_of`` are left out
      (voided billing). All sums are exact int64 minor units; only the hazards are floats.
    * ``km_paid`` at day t: the Kaplan–Meier probability that an invoice is fully paid within
      t days: 1 − Π over event days u ≤ t of (1 − paid_u / at_risk_u). An invoice still open
      at ``as_of`` is censored at its age; a cancelled one at its cancel date.
    * ``at_risk`` at day t: invoices neither paid nor censored before day t.
    * ``at_risk_minor`` at day t: the money at risk of the share (above), in minor units.
    * ``n``: invoices in the cohort (and currency).

    **Where curves stop.** An estimate is NaN from the first day nothing is at risk any more
    (``at_risk_minor``, resp. ``at_risk``, is 0) unless everything was already collected
    (paid), when it stays at 1: past that day a flat line would claim collections that no
    invoice was observed long enough to make or miss. A cohort has rows only for the days it
    has been observed: up to the age of its oldest invoice (and ``horizon_days``), and while
    at least one of the two estimates is informed.

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
        Long format: ``cohort``, ``currency``, ``days``, ``collected_share`` (0–1,
        non-decreasing, NaN where uninformed), ``km_paid`` (0–1, non-decreasing, NaN where
        uninformed), ``at_risk``, ``at_risk_minor``, ``n``. Sorted by cohort, currency, days.
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
    km = _kaplan_meier(events, at_risk)
    keep = cancel_day > day
    collected, at_risk_minor = _money(book, rows[keep], group[keep], age[keep], ngroups,
                                      width, day)
    share = _kaplan_meier(collected, at_risk_minor)
    # each cohort's observed days: up to its oldest invoice's age, while an estimate is
    # informed (both are NaN only from some day on, so this keeps a run of days from 0)
    oldest = np.full(ngroups, -1, np.int64)
    np.maximum.at(oldest, group, age)
    grid = np.arange(0, width, step)
    inside = ((grid[None, :] <= oldest[:, None])
              & ~(np.isnan(share[:, grid]) & np.isnan(km[:, grid])))
    per_group = inside.sum(axis=1)
    cohort_names = np.asarray([c[0] for c in cohorts], dtype=object)
    currency_names = np.asarray([c[1] for c in cohorts], dtype=object)
    return pd.DataFrame({
        "cohort": np.repeat(cohort_names, per_group),
        "currency": np.repeat(currency_names, per_group),
        "days": np.broadcast_to(grid, inside.shape)[inside].astype(np.int64),
        "collected_share": share[:, grid][inside],
        "km_paid": km[:, grid][inside],
        "at_risk": at_risk[:, grid][inside].astype(np.int64),
        "at_risk_minor": at_risk_minor[:, grid][inside],
        "n": np.repeat(n, per_group).astype(np.int64),
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


def _kaplan_meier(events: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """1 − Π_{u ≤ t} (1 − events_u / at_risk_u) per group × t, NaN from the first day
    nothing is at risk unless the product already reached 0 (everything happened).

    ``events ≤ at_risk`` makes each factor a float in [0, 1]; multiplying by such a factor
    never rounds up, so the result is non-decreasing in t and within [0, 1] exactly.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), 0.0)
    survival = np.cumprod(1.0 - hazard, axis=1)
    before = np.ones_like(survival)
    before[:, 1:] = survival[:, :-1]
    return np.where((at_risk > 0) | (before == 0.0), 1.0 - survival, np.nan)


def _money(book: Book, rows: np.ndarray, group: np.ndarray, age: np.ndarray, ngroups: int,
           width: int, day: int) -> tuple[np.ndarray, np.ndarray]:
    """The amount-weighted Kaplan–Meier's counts, per group × day, int64 minor units:
    what was collected on each lag, and what was at risk (unpaid and still observed) then.

    An invoice's collected amount by a lag is the most its paid-to-date had reached by then,
    within [0, total]; ``collected`` holds its increases at their lags. The money at risk on
    day t is Σ over invoices at least t days old of total − collected before t.
    """
    where = np.full(book.n, -1, np.int64)
    where[rows] = np.arange(len(rows))
    seen = np.flatnonzero((where[book.p_inv] >= 0) & (book.p_day <= day))
    # the paid-to-date after each (invoice, day): the last of that key's payments
    last = np.ones(len(seen), bool)
    last[:-1] = book.p_key[seen[1:]] != book.p_key[seen[:-1]]
    seen = seen[last]
    k = where[book.p_inv[seen]]
    total = book.total[rows[k]]
    reached = pd.Series(np.clip(book.p_cum[seen], 0, total)).groupby(k).cummax().to_numpy()
    first = np.ones(len(k), bool)
    first[1:] = k[1:] != k[:-1]
    before = np.where(first, 0, np.roll(reached, 1))
    rise = reached - before
    lag = np.maximum(book.p_day[seen] - book.inv_day[rows[k]], 0)  # ≤ age: paid by as_of
    up = (rise > 0) & (lag < width)
    k, rise, lag = k[up], rise[up], lag[up]
    collected = np.zeros((ngroups, width), np.int64)
    np.add.at(collected, (group[k], lag), rise)
    # at risk: totals of invoices at least t days old, less what they collected before t
    at_risk = np.zeros((ngroups, width + 1), np.int64)
    np.add.at(at_risk, (group, 0), book.total[rows])
    np.add.at(at_risk, (group, np.minimum(age + 1, width)), -book.total[rows])
    np.add.at(at_risk, (group[k], lag + 1), -rise)
    np.add.at(at_risk, (group[k], np.minimum(age[k] + 1, width)), rise)
    return collected, np.cumsum(at_risk[:, :width], axis=1)
