"""Roll rates: how open balances move between aging buckets from one date to the next, and
the collection each bucket can expect (absorbing Markov chain)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..display import declare
from ..frames import Tables
from ._common import book_of
from ._params import (
    DEFAULT_BUCKETS,
    AnalysisError,
    as_date,
    bucket_labels,
    check_basis,
    check_buckets,
    day_number,
)

__all__ = ["ABSORBING", "RollRates", "roll_rates"]

#: The absorbing states, after the bucket labels.
ABSORBING = ("paid", "cancelled")


@dataclass(frozen=True, eq=False)
class RollRates:
    """Bucket-to-bucket movements of open balances (the result of :func:`roll_rates`).

    Attributes
    ----------
    labels
        The bucket labels (the transient states), in order.
    states
        ``labels`` + ``["paid", "cancelled"]`` (the absorbing states).
    amounts
        int64 minor units moved, summed over every consecutive pair of dates: index
        (``currency``, ``from``) with every bucket label for each currency, columns
        ``states``. A row adds up to the balance that was in that bucket at the earlier
        dates.
    rates
        ``amounts`` divided by each row's total (float; NaN for a bucket that was never
        occupied).
    expected_collection
        Index (``currency``, ``from``), columns ``paid`` and ``cancelled``: the probability
        that a unit of balance now in the bucket ends up paid (the expected collection) or
        cancelled, from the absorbing-chain formula B = (I − Q)⁻¹ R, with Q the
        bucket-to-bucket rates and R the bucket-to-absorbing rates. A bucket that cannot
        reach an absorbing state (its balances only ever stay open) gets 0 for both.
    transitions
        Invoice-level long table: ``from_date``, ``to_date``, ``id``, ``currency``,
        ``from``, ``to``, ``amount_minor``; an invoice partly paid between the dates has
        one row to ``paid`` and one to its new bucket.
    """

    labels: list[str]
    states: list[str]
    amounts: pd.DataFrame
    rates: pd.DataFrame
    expected_collection: pd.DataFrame
    transitions: pd.DataFrame

    def __repr__(self) -> str:
        currencies = ", ".join(map(str, self.amounts.index.get_level_values(0).unique()))
        dates = self.transitions["from_date"]
        span = f" from {dates.min():%Y-%m-%d} to {self.transitions['to_date'].max():%Y-%m-%d}" \
            if len(dates) else ""
        return (f"<RollRates{span}: {len(self.transitions)} movements in "
                f"{currencies or 'nothing open'} between {', '.join(self.states)}. "
                "Tables: amounts, rates, expected_collection, transitions>")


def roll_rates(tables: Tables, dates: Sequence[Any], *, basis: str = "due_date",
               buckets: Sequence[int] = DEFAULT_BUCKETS) -> RollRates:
    """Transition amounts and rates between aging buckets across consecutive dates.

    States. At each date an open invoice (see :func:`ppnb.analysis.aging` for the rules) is
    in the bucket of its days past due. Between a date D and the next date D', the balance
    an invoice had at D goes:

    * to ``paid``: whatever was paid on it after D up to D' (or up to the day before it
      was cancelled, if that came first);
    * to ``cancelled``: what was still open when it was cancelled, if cancelled on or before
      D' (PayPal's cancel is the write-off);
    * to its bucket at D': the rest, when it is still open at D'.

    Invoices issued after D are not in the D → D' movement; they enter at D'. Month ends
    (:func:`ppnb.analysis.month_ends`) are the usual dates.

    Returns
    -------
    RollRates
        ``amounts``, ``rates``, ``expected_collection`` and ``transitions``.

    Raises
    ------
    AnalysisError
        For fewer than two distinct dates, a bad basis or bad buckets.
    """
    basis = check_basis(basis)
    edges = check_buckets(buckets)
    labels = bucket_labels(edges)
    states = [*labels, *ABSORBING]
    days = np.unique(np.array([day_number(as_date(d, "dates")) for d in dates], np.int64))
    if len(days) < 2:
        raise AnalysisError("dates: give at least two distinct dates")
    book = book_of(tables)
    pairs = book.open_pairs(days)
    bucket = np.searchsorted(np.array((0, *edges)), days[pairs.at]
                             - book.basis_day(basis)[pairs.inv], side="left")
    # each pair's next-date pair, if the invoice is still open then (pairs are sorted by
    # invoice, then date, so their keys are sorted)
    key = pairs.inv * len(days) + pairs.at
    move = pairs.at < len(days) - 1
    inv, at, owed, bucket_now = pairs.inv[move], pairs.at[move], pairs.outstanding[move], \
        bucket[move]
    pos = np.minimum(np.searchsorted(key, key[move] + 1), len(key) - 1)
    still_open = key[pos] == key[move] + 1
    next_day = days[at + 1]
    cancelled = book.cancel_day[inv] <= next_day
    until = np.where(cancelled, book.cancel_day[inv] - 1, next_day)
    paid = np.minimum(book.paid_by(inv, until) - (book.total[inv] - owed), owed)
    paid = np.maximum(paid, 0)
    rest = owed - paid
    rest_to = np.where(still_open, bucket[pos], np.where(cancelled, len(labels) + 1,
                                                         len(labels)))
    frm = np.concatenate((bucket_now, bucket_now))
    to = np.concatenate((np.full(len(inv), len(labels)), rest_to))
    amount = np.concatenate((paid, rest))
    rows = np.concatenate((np.arange(len(inv)), np.arange(len(inv))))
    keep = amount > 0
    rows, frm, to, amount = rows[keep], frm[keep], to[keep], amount[keep]
    state_names = np.asarray(states, dtype=object)
    currencies = np.asarray(book.currencies, dtype=object)
    transitions = pd.DataFrame({
        "from_date": days[at[rows]].astype("datetime64[D]").astype("datetime64[ns]"),
        "to_date": next_day[rows].astype("datetime64[D]").astype("datetime64[ns]"),
        "id": book.invoices["id"].array.take(inv[rows]),
        "currency": currencies[book.currency_codes[inv[rows]]],
        "from": state_names[frm], "to": state_names[to], "amount_minor": amount,
    }).sort_values(["from_date", "id", "to"], kind="stable").reset_index(drop=True)
    amounts = _matrix(transitions, labels, states)
    totals = amounts.sum(axis=1).to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = amounts.astype(np.float64).div(np.where(totals > 0, totals, np.nan), axis=0)
    shares = {str(column): "share" for column in rates.columns}
    return RollRates(labels, states, declare(amounts, **dict.fromkeys(shares, "money")),
                     declare(rates, **shares),
                     declare(_absorption(rates, labels), **dict.fromkeys(ABSORBING, "share")),
                     transitions)


def _matrix(transitions: pd.DataFrame, labels: list[str], states: list[str]) -> pd.DataFrame:
    """Summed amounts, index (currency, from) over every label, columns every state."""
    currencies = sorted(transitions["currency"].unique())
    index = pd.MultiIndex.from_product([currencies, labels], names=["currency", "from"])
    summed = transitions.groupby(["currency", "from", "to"])["amount_minor"].sum()
    wide = summed.unstack("to", fill_value=0) if len(summed) else pd.DataFrame(index=index)
    out = wide.reindex(index=index, columns=states, fill_value=0).fillna(0).astype(np.int64)
    out.columns.name = "to"
    return out


def _absorption(rates: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Absorption probabilities B = (I − Q)⁻¹ R per currency (Q, R from ``rates``)."""
    blocks = []
    for currency in rates.index.get_level_values("currency").unique():
        block = rates.loc[currency].fillna(0.0)
        q = block[labels].to_numpy()
        r = block[list(ABSORBING)].to_numpy()
        # only buckets that can reach an absorbing state have a nonsingular I − Q
        reach = r.sum(axis=1) > 0
        for _ in labels:
            reach = reach | ((q > 0) & reach[None, :]).any(axis=1)
        b = np.zeros_like(r)
        if reach.any():
            sub = q[np.ix_(reach, reach)]
            b[reach] = np.linalg.solve(np.eye(reach.sum()) - sub, r[reach])
        blocks.append(pd.DataFrame(b, columns=list(ABSORBING),
                                   index=pd.MultiIndex.from_product(
                                       [[currency], labels], names=["currency", "from"])))
    if not blocks:
        return pd.DataFrame(columns=list(ABSORBING), index=rates.index, dtype=np.float64)
    return pd.concat(blocks)
