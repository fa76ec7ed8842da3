"""A weekly cash forecast per currency, built from each open invoice's payment-day
distribution (:mod:`._predict`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..frames import Tables
from ._params import AnalysisError
from ._predict import payment_model

__all__ = ["FORECAST_COLUMNS", "cash_forecast"]

FORECAST_COLUMNS = ("currency", "week", "start", "end", "expected_minor", "low_minor",
                    "high_minor", "cumulative_minor", "cumulative_low_minor",
                    "cumulative_high_minor", "open_minor")
DRAWS = 2000  # simulated futures behind the 80% band
_BLOCK = 500  # invoices simulated at a time


def cash_forecast(tables: Tables, as_of: Any, weeks: int = 13, *,
                  reminders: pd.DataFrame | None = None, dispute: bool = True) -> pd.DataFrame:
    """Expected collections per week and currency from the invoices open on ``as_of``,
    with an 80% band.

    Week 1 is the seven days after ``as_of`` (``as_of + 1`` to ``as_of + 7``), and so on.
    Each open invoice's outstanding amount is collected on the day it is paid in full, with
    the probabilities of :func:`ppnb.analysis.predict_payments` (same model, same inputs; a
    model fitted for the same tables and date is reused).

    * ``expected_minor`` = Σ outstanding × P(paid in that week), rounded to a minor unit.
    * ``low_minor`` / ``high_minor``: the 10th and 90th percentiles of the week's total over
      2,000 simulated futures (a fixed seed, so the same book gives the same band), in
      which each invoice is paid in the week drawn from its own distribution. The invoices
      are drawn independently of each other, so the band is narrower than reality when
      customers' behaviour moves together (a recession, a seasonal close). Each total is an
      exact int64 sum of minor units.
    * ``cumulative_*``: the same for everything collected from week 1 to that week (its
      band comes from the same simulated futures, so it widens like a fan).
    * Currencies are never added together: one row per currency and week.
    * Invoices issued after ``as_of`` are not in the forecast (it is the open book's).

    Parameters
    ----------
    tables, as_of, reminders, dispute
        As in :func:`ppnb.analysis.predict_payments`.
    weeks
        How many weeks (1 to 52).

    Returns
    -------
    pandas.DataFrame
        ``currency``, ``week`` (1..weeks), ``start``, ``end`` (the week's first and last
        day), ``expected_minor``, ``low_minor``, ``high_minor``, ``cumulative_minor``,
        ``cumulative_low_minor``, ``cumulative_high_minor`` (int64) and ``open_minor`` (the
        currency's outstanding on ``as_of``). Sorted by currency, then week;
        ``attrs["as_of"]`` holds the date.
    """
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= 52:
        raise AnalysisError(f"weeks: {weeks!r} is not a whole number from 1 to 52")
    model = payment_model(tables, as_of, reminders=reminders, dispute=dispute)
    book, rows = model.pop.book, model.pop.rows[model.members]
    currency = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    names, codes = np.unique(currency.astype(str), return_inverse=True)
    ncur = len(names)
    width = 7 * weeks  # at most 364 days, within the model's horizon
    week_prob = model.prob[:, :width].reshape(len(rows), weeks, 7).sum(axis=2)
    amount = model.outstanding.astype(np.int64)
    expected = np.zeros((ncur, weeks))
    np.add.at(expected, codes, amount[:, None] * week_prob)
    sums = _simulate(codes, amount, week_prob, ncur, weeks)
    low, high = _band(sums)
    cum_low, cum_high = _band(np.cumsum(sums, axis=1))
    open_minor = np.zeros(ncur, np.int64)
    np.add.at(open_minor, codes, amount)
    start = np.datetime64(model.as_of, "D") + 1 + 7 * np.arange(weeks)
    frame = pd.DataFrame({
        "currency": np.repeat(np.asarray(names, dtype=object), weeks),
        "week": np.tile(np.arange(1, weeks + 1), ncur).astype(np.int64),
        "start": np.tile(start, ncur).astype("datetime64[ns]"),
        "end": np.tile(start + 6, ncur).astype("datetime64[ns]"),
        "expected_minor": np.rint(expected).astype(np.int64).ravel(),
        "low_minor": low.ravel(),
        "high_minor": high.ravel(),
        "cumulative_minor": np.rint(np.cumsum(expected, axis=1)).astype(np.int64).ravel(),
        "cumulative_low_minor": cum_low.ravel(),
        "cumulative_high_minor": cum_high.ravel(),
        "open_minor": np.repeat(open_minor, weeks),
    }, columns=list(FORECAST_COLUMNS))
    frame.attrs["as_of"] = model.as_of
    return frame


def _band(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 10th and 90th percentiles over the simulated futures (last axis): values that
    occurred, so exact int64 minor units."""
    low = np.quantile(sums, 0.1, axis=2, method="inverted_cdf")
    high = np.quantile(sums, 0.9, axis=2, method="inverted_cdf")
    return low.astype(np.int64), high.astype(np.int64)


def _simulate(codes: np.ndarray, amount: np.ndarray, week_prob: np.ndarray, ncur: int,
              weeks: int) -> np.ndarray:
    """Each currency's collections per week in :data:`DRAWS` simulated futures, exact
    int64: shape ``(currencies, weeks, DRAWS)``."""
    rng = np.random.default_rng(0)
    sums = np.zeros(ncur * (weeks + 1) * DRAWS, np.int64)
    cumulative = np.cumsum(week_prob, axis=1)
    draw = np.arange(DRAWS)
    for start in range(0, len(amount), _BLOCK):
        part = slice(start, start + _BLOCK)
        u = rng.random((len(amount[part]), DRAWS))
        week = np.zeros(u.shape, np.int64)  # 0..weeks-1, or weeks: later than the forecast
        for w in range(weeks):
            week += u >= cumulative[part, w:w + 1]
        cell = ((codes[part][:, None] * (weeks + 1) + week) * DRAWS + draw[None, :]).ravel()
        np.add.at(sums, cell, np.repeat(amount[part], DRAWS))
    return sums.reshape(ncur, weeks + 1, DRAWS)[:, :weeks, :]
