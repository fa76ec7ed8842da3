"""A collector's worklist: the open invoices ranked by the expected cost of waiting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..display import declare
from ..frames import Tables
from ..money import from_minor
from ._aging import aging
from ._params import DEFAULT_BUCKETS, AnalysisError
from ._predict import HORIZON, _frame, payment_model
from ._rates import RateInput, Rates, rate_table

__all__ = ["WORKLIST_COLUMNS", "worklist"]

WORKLIST_COLUMNS = ("rank", "invoice_id", "number", "customer", "customer_name", "currency",
                    "outstanding_minor", "due_date", "days_past_due", "bucket",
                    "reminders_sent", "last_reminder", "expected_date", "p_late", "risk",
                    "cost_minor", "reason")


def worklist(tables: Tables, as_of: Any, *, reminders: pd.DataFrame | None = None,
             dispute: bool = True, grace_days: int = 30,
             buckets: Sequence[int] = DEFAULT_BUCKETS,
             rates: Rates | RateInput | None = None) -> pd.DataFrame:
    """The invoices open on ``as_of``, most urgent first: outstanding × lateness risk.

    * ``risk`` is the probability (from :func:`ppnb.analysis.predict_payments`' model) that
      the invoice is still unpaid ``grace_days`` after the later of its due date and
      ``as_of``: for an invoice not yet due, "more than a month late"; for one past due,
      "still open a month from now".
    * ``cost_minor`` = outstanding × risk, rounded to a minor unit: the amount expected to be
      still waiting then, which is what chasing can save.
    * Currencies are never compared without rates: ``rank`` counts within each currency and
      the list is sorted by currency, then cost. With ``rates`` the costs are converted
      with exact decimals and ranked across currencies (the amounts shown stay in their
      own currencies).

    Parameters
    ----------
    tables, as_of, reminders, dispute
        As in :func:`ppnb.analysis.predict_payments`; ``reminders`` (e.g.
        :func:`ppnb.actions.reminder_history`) also fills ``reminders_sent`` and
        ``last_reminder``.
    grace_days
        The lateness that counts as a risk (0 to 180 days).
    buckets
        Aging bucket edges for the ``bucket`` column.
    rates
        Optional rates for one ranking across currencies: a :class:`Rates`, or currency →
        rate into one currency (a mapping, a Series, or a DataFrame with ``currency`` and
        ``rate`` columns; every currency of the list needs one, that currency's own at 1).

    Returns
    -------
    pandas.DataFrame
        ``rank``, ``invoice_id``, ``number``, ``customer``, ``customer_name``, ``currency``,
        ``outstanding_minor``, ``due_date``, ``days_past_due``, ``bucket``,
        ``reminders_sent``, ``last_reminder`` (NaT if none), ``expected_date``, ``p_late``,
        ``risk``, ``cost_minor`` and ``reason`` (in words: how late, the risk, and the
        model's strongest drivers). ``attrs["as_of"]`` holds the date.
    """
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or \
            not 0 <= grace_days <= 180:
        raise AnalysisError(f"grace_days: {grace_days!r} is not a whole number from 0 to 180")
    model = payment_model(tables, as_of, reminders=reminders, dispute=dispute)
    frame = _frame(model, explain=True)
    survive = model.survival()
    wait = np.maximum(-frame["days_past_due"].to_numpy(), 0) + grace_days
    index = np.clip(wait, 1, HORIZON) - 1
    risk = survive[np.arange(len(frame)), index] if len(frame) else np.zeros(0)
    outstanding = frame["outstanding_minor"].to_numpy(np.int64)
    frame["risk"] = risk
    frame["cost_minor"] = np.rint(outstanding * risk).astype(np.int64)
    detail = aging(tables, model.as_of, buckets=buckets).detail.set_index("id")
    frame["bucket"] = frame["invoice_id"].map(detail["bucket"]).astype(object)
    sent, last = _reminders(frame["invoice_id"], reminders, model.as_of)
    frame["reminders_sent"] = sent
    frame["last_reminder"] = last
    frame["reason"] = [_reason(row, grace_days) for row in frame.itertuples(index=False)]
    if rates is not None:
        table = rate_table(rates)
        missing = sorted(set(frame["currency"]) - set(table))
        if missing:
            raise AnalysisError(f"rates: no rate for {', '.join(missing)}")
        value = [from_minor(int(m), c) * table[c] for m, c in zip(frame["cost_minor"],
                                                                   frame["currency"],
                                                                   strict=True)]
        order = sorted(range(len(frame)), key=lambda i: (-value[i], frame["invoice_id"].iat[i]))
        frame = frame.iloc[order].reset_index(drop=True)
        frame["rank"] = np.arange(1, len(frame) + 1)
    else:
        frame = frame.sort_values(["currency", "cost_minor", "invoice_id"],
                                  ascending=[True, False, True], kind="stable")
        frame["rank"] = frame.groupby("currency").cumcount() + 1
        frame = frame.reset_index(drop=True)
    out = declare(frame[list(WORKLIST_COLUMNS)].copy(), p_late="share", risk="share")
    out.attrs["as_of"] = model.as_of
    return out


def _reminders(ids: pd.Series, reminders: pd.DataFrame | None, as_of: Any
               ) -> tuple[np.ndarray, pd.Series]:
    """Reminders sent up to ``as_of`` per invoice, and the day of the last one."""
    if reminders is None or reminders.empty:
        return np.zeros(len(ids), np.int64), pd.Series(pd.NaT, index=ids.index,
                                                       dtype="datetime64[ns]")
    days = pd.to_datetime(reminders["day"])
    seen = reminders.assign(day=days)[days <= pd.Timestamp(as_of)]
    grouped = seen.groupby("invoice_id")["day"]
    count = ids.map(grouped.size()).fillna(0).astype(np.int64).to_numpy()
    return count, ids.map(grouped.max()).astype("datetime64[ns]")


def _reason(row: Any, grace: int) -> str:
    """Why the invoice is where it is, in a few words."""
    dpd = int(row.days_past_due)
    when = f"{dpd} d past due" if dpd > 0 else ("due today" if dpd == 0 else
                                                f"due in {-dpd} d")
    risk = f"{row.risk:.0%} likely unpaid {grace} d after " + (
        "today" if dpd > 0 else "its due date")
    parts = [when, risk]
    if row.why and row.why != "typical for this book":
        parts.append(row.why)
    return "; ".join(parts)

