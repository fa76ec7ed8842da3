"""Payment-date predictions: when each open invoice will be paid, with an 80% interval.

Why a discrete-time hazard model
--------------------------------
The question "when will this invoice be paid?" is a survival question: most of the book's
recent history is invoices that are *still open*, and treating them as unpaid forever (or
dropping them, which keeps only the fast payers) biases any model towards the wrong answer.
A discrete-time hazard model handles that exactly: every invoice contributes one row per day
it was seen open (label 1 on the day it was paid in full, 0 before), so an open invoice says
"not paid during these days" and nothing more. The daily hazard is then a plain binary
classification, for which scikit-learn's ``HistGradientBoostingClassifier`` is a well-kept,
fast, deterministic learner that handles missing values (a customer without history) and
categorical currencies natively; lifelines and scikit-survival have no comparable learner for
time-varying covariates (days past due, amount paid so far, reminders sent) without pulling in
heavier dependencies. Multiplying ``1 − hazard`` over the days ahead gives each open invoice a
full distribution of its payment day, *conditional on its still being open on* ``as_of``:
the median is the expected date, the 10th and 90th percentiles the 80% interval, and the
same distribution answers "late?", "still unpaid 90 days past due?" and the cash forecast.

The features are what a collector knows on the day (:mod:`._features`): days outstanding
and past due, terms, amount, currency, share paid so far, reminders sent, the memo's dispute
flag, and the customer's record among invoices settled before that day (count, mean days to
pay, mean days late, share paid late, the last one's lateness).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._extras import require
from ..display import declare
from ..frames import Tables
from ._common import book_of
from ._features import FEATURES, GROUPS, Population, population
from ._params import AnalysisError, amount_text, as_date, day_number

__all__ = ["HORIZON", "MIN_PAID", "PaymentModel", "payment_model", "predict_payments"]

#: Days ahead of ``as_of`` each open invoice's payment-day distribution covers; what is left
#: after them is "not paid within the horizon".
HORIZON = 400
#: Days ahead for which the hazard is evaluated daily (then weekly up to the horizon).
DAILY = 120
_AHEAD = np.concatenate((np.arange(1, DAILY + 1), np.arange(DAILY + 4, HORIZON + 1, 7)))
#: Invoices paid in full by ``as_of`` that the model needs to learn from.
MIN_PAID = 20
INTERVAL = (0.1, 0.9)  # the 80% interval
_BLOCK = 50_000  # prediction rows per call to the learner (bounds memory on big books)
_PARAMS = {"learning_rate": 0.1, "max_iter": 150, "max_leaf_nodes": 15,
           "min_samples_leaf": 80, "l2_regularization": 1.0}
PREDICTION_COLUMNS = ("invoice_id", "number", "customer", "customer_name", "currency",
                      "outstanding_minor", "due_date", "days_past_due", "expected_date",
                      "low", "high", "p_late", "p_unpaid_90", "why")


def _learner() -> Any:
    require("ml", "ppnb.analysis.predict_payments")  # one line naming the extra if it is missing
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        categorical_features=[FEATURES.index("currency")], early_stopping=False,
        random_state=0, **_PARAMS)


def _one_thread() -> Any:
    """Run the learner on one OpenMP thread: the data are small, and threads spinning
    against other busy processes made fitting 3-7 times slower on a shared 2-core machine."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    return threadpool_limits(limits=1, user_api="openmp")


@dataclass
class PaymentModel:
    """A fitted payment model and the payment-day distribution of every invoice open on
    ``as_of`` (the shared core of predictions, the cash forecast and the worklist).

    Attributes
    ----------
    as_of
        The date the book is seen from.
    pop
        The population it learned from (:func:`._features.population`).
    members
        The open invoices, as indexes into the population.
    age
        Each open invoice's age (days since its invoice date) on ``as_of``.
    prob
        ``prob[i, j]``: the probability that open invoice ``i`` is paid in full on day
        ``as_of + j + 1``; shape ``(open, HORIZON)``.
    tail
        The probability that it is not paid within the horizon.
    outstanding
        Minor units still owed on ``as_of``.
    """

    as_of: dt.date
    pop: Population
    learner: Any
    dispute: bool
    members: np.ndarray
    age: np.ndarray
    prob: np.ndarray
    tail: np.ndarray
    outstanding: np.ndarray

    def distribution(self, members: np.ndarray, age: np.ndarray,
                     design: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(prob, tail) of the given members from age ``age`` on; ``design`` may rewrite
        each block of feature rows first (used to explain predictions).

        The hazard is evaluated for each of the first :data:`DAILY` days ahead, then once a
        week (mid-week) and held for the seven days: far-off days matter only to the tail
        of the distribution, and this keeps the learner's work to 160 rows per invoice.
        """
        prob = np.empty((len(members), HORIZON))
        tail = np.empty(len(members))
        step = max(1, _BLOCK // len(_AHEAD))
        for start in range(0, len(members), step):
            part = slice(start, start + step)
            m = np.repeat(members[part], len(_AHEAD))
            a = (age[part][:, None] + _AHEAD[None, :]).ravel()
            rows = self.pop.design(m, a, dispute=self.dispute)
            if design is not None:
                rows = design(rows)
            with _one_thread():
                hazard = self.learner.predict_proba(rows)[:, 1].reshape(-1, len(_AHEAD))
            hazard = np.concatenate((hazard[:, :DAILY], np.repeat(hazard[:, DAILY:], 7,
                                                                  axis=1)), axis=1)
            survive = np.cumprod(1.0 - hazard, axis=1)
            before = np.concatenate((np.ones((len(hazard), 1)), survive[:, :-1]), axis=1)
            prob[part] = hazard * before
            tail[part] = survive[:, -1]
        return prob, tail

    def survival(self) -> np.ndarray:
        """``S[i, j]``: the probability that open invoice ``i`` is still unpaid at the end of
        day ``as_of + j + 1``."""
        return self.tail[:, None] + np.cumsum(self.prob[:, ::-1], axis=1)[:, ::-1] - self.prob


def _reminder_key(reminders: pd.DataFrame | None, day: int) -> int:
    if reminders is None or reminders.empty:
        return 0
    missing = {"invoice_id", "day"} - set(reminders.columns)
    if missing:
        raise AnalysisError(f"reminders: needs columns invoice_id and day (lacks "
                            f"{', '.join(sorted(missing))})")
    stamps = pd.to_datetime(reminders["day"]).to_numpy("datetime64[D]").astype(np.int64)
    seen = reminders.loc[stamps <= day, ["invoice_id", "day"]]
    return int(pd.util.hash_pandas_object(seen, index=False).sum())


class _Models:
    """The last two fitted models, per prepared book (held weakly), as-of day and inputs, so
    ``predict_payments`` then ``cash_forecast`` then ``worklist`` fit once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[weakref.ref, tuple, PaymentModel]] = []

    def get(self, book: Any, key: tuple) -> PaymentModel | None:
        with self.lock:
            return next((m for ref, k, m in self.entries if ref() is book and k == key), None)

    def put(self, book: Any, key: tuple, model: PaymentModel) -> None:
        with self.lock:
            alive = [e for e in self.entries if e[0]() is not None]
            self.entries = [(weakref.ref(book), key, model), *alive][:2]


_MODELS = _Models()


def payment_model(tables: Tables, as_of: Any, *, reminders: pd.DataFrame | None = None,
                  dispute: bool = True) -> PaymentModel:
    """Fit the payment model on the book as of ``as_of`` (or reuse the one already fitted on
    the same unchanged tables and inputs). See :func:`predict_payments`."""
    when = as_date(as_of, "as_of")
    day = day_number(when)
    book = book_of(tables)
    key = (day, bool(dispute), _reminder_key(reminders, day))
    cached = _MODELS.get(book, key)
    if cached is not None:
        return cached
    pop = population(book, day, reminders)
    members = np.flatnonzero(pop.open)
    age = day - pop.issue[members]
    outstanding = book.total[pop.rows[members]] - book.paid_by(
        pop.rows[members], np.full(len(members), day))
    learner = _learner()
    if len(members):
        paid = int(pop.event.sum())
        if paid < MIN_PAID:
            raise AnalysisError(f"too little history to predict payments as of {when}: "
                                f"{paid} invoices paid in full by then, {MIN_PAID} needed")
        rows, label = pop.training_rows(dispute=dispute)
        with _one_thread():
            learner.fit(rows, label)
    model = PaymentModel(when, pop, learner, bool(dispute), members, age,
                         np.zeros((0, HORIZON)), np.zeros(0), outstanding)
    if len(members):
        model.prob, model.tail = model.distribution(members, age)
    _MODELS.put(book, key, model)
    return model


def predict_payments(tables: Tables, as_of: Any, *, reminders: pd.DataFrame | None = None,
                     dispute: bool = True, explain: bool = True) -> pd.DataFrame:
    """When will each invoice open on ``as_of`` be paid in full?

    The model (see the module docstring: a discrete-time hazard model, gradient-boosted with
    scikit-learn) learns from the book as it stood on ``as_of`` only: payments dated after it
    do not exist for it, invoices issued after it are ignored, and invoices still open are
    censored, never counted as unpaid forever. A book truncated at ``as_of`` gives the same
    predictions as the full book, and the same book and date always give the same result.

    Parameters
    ----------
    tables
        The book (every invoice, paid or not: the history is what it learns from).
    as_of
        The day the predictions are made on (end of day).
    reminders
        Reminders sent, with columns ``invoice_id`` and ``day``
        (:func:`ppnb.actions.reminder_history`); those after ``as_of`` are ignored. PayPal
        has no call that lists reminders, so without this the count is 0.
    dispute
        Use the memo's dispute flag as a feature (the default; see
        :func:`ppnb.analysis.disputed`).
    explain
        Compute ``why`` (costs one more pass of the model per driver group).

    Returns
    -------
    pandas.DataFrame
        One row per invoice open on ``as_of``: ``invoice_id``, ``number``, ``customer``,
        ``customer_name``, ``currency``, ``outstanding_minor`` (int64), ``due_date``,
        ``days_past_due``; ``expected_date`` (the median payment date), ``low`` and ``high``
        (the 10th and 90th percentiles: an 80% interval; NaT when that much probability lies
        beyond :data:`HORIZON` days), ``p_late`` (paid after the due date; 1 once past
        due), ``p_unpaid_90`` (still unpaid 90 days past due) and ``why`` (the strongest
        drivers, each with how many days it moves the expected wait). Sorted by invoice
        date, number and id.

    Raises
    ------
    ImportError
        Without scikit-learn (``pip install 'ppnb[ml]'``).
    AnalysisError
        For a bad date or reminders table, or fewer than :data:`MIN_PAID` invoices paid
        in full by ``as_of`` to learn from.
    """
    model = payment_model(tables, as_of, reminders=reminders, dispute=dispute)
    return _frame(model, explain)


def _quantile(cdf: np.ndarray, q: float, start: dt.date) -> np.ndarray:
    """The first day on which each row's cumulative probability reaches ``q`` (NaT if
    never within the horizon)."""
    reached = cdf >= q - 1e-12
    first = np.argmax(reached, axis=1)
    days = np.datetime64(start, "D") + (first + 1).astype("timedelta64[D]")
    return np.where(reached.any(axis=1), days, np.datetime64("NaT")).astype("datetime64[ns]")


def _frame(model: PaymentModel, explain: bool) -> pd.DataFrame:
    pop, members = model.pop, model.members
    book = pop.book
    rows = pop.rows[members]
    survive = model.survival()
    cdf = 1.0 - survive
    due = book.due_day[rows]
    until_due = due - pop.day
    until_90 = until_due + 90

    def unpaid_after(offset: np.ndarray) -> np.ndarray:
        index = np.clip(offset, 1, HORIZON) - 1
        at = survive[np.arange(len(members)), index] if len(members) else np.zeros(0)
        return np.where(offset <= 0, 1.0, at)

    keys = book.key_columns(["customer"], rows)
    currency = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    frame = pd.DataFrame({
        "invoice_id": book.invoices["id"].array.take(rows),
        "number": book.invoices["number"].array.take(rows),
        **keys,
        "currency": currency,
        "outstanding_minor": model.outstanding.astype(np.int64),
        "due_date": due.astype("datetime64[D]").astype("datetime64[ns]"),
        "days_past_due": (-until_due).astype(np.int64),
        "expected_date": _quantile(cdf, 0.5, model.as_of),
        "low": _quantile(cdf, INTERVAL[0], model.as_of),
        "high": _quantile(cdf, INTERVAL[1], model.as_of),
        "p_late": unpaid_after(until_due),
        "p_unpaid_90": unpaid_after(until_90),
        "why": _why(model, currency) if explain else pd.Series([""] * len(members)),
    }, columns=list(PREDICTION_COLUMNS))
    return declare(frame, p_late="share", p_unpaid_90="share")


# --- explanations ---------------------------------------------------------------------------


def _mean_wait(prob: np.ndarray, tail: np.ndarray) -> np.ndarray:
    """Expected days until payment, capped at the horizon."""
    return (prob * np.arange(1, HORIZON + 1)).sum(axis=1) + tail * HORIZON


def _why(model: PaymentModel, currency: np.ndarray) -> list[str]:
    """The two driver groups that move each invoice's expected wait the most, against a
    typical value of the book (its median, no partial payment, no reminder, no dispute).

    Each group's effect is measured by replacing its features with the typical value and
    predicting again (occlusion): ``customer paid 12 invoices, 9 d late on average (+6 d)``
    means the customer's record adds about six days to the expected wait.
    """
    members = model.members
    if not len(members):
        return []
    pop = model.pop
    base = _mean_wait(model.prob, model.tail)
    typical = _typical(model)
    rows = pop.design(members, model.age + 1, dispute=model.dispute)  # known on as_of
    totals = pop.book.total[pop.rows[members]]
    effects, texts = [], []
    for group, columns in GROUPS.items():
        if group == "dispute" and not model.dispute:
            continue
        idx = [FEATURES.index(c) for c in columns]
        values = np.array([typical[c] for c in columns])

        def swap(block: np.ndarray, idx: list[int] = idx, values: np.ndarray = values,
                 terms: bool = group == "terms") -> np.ndarray:
            block[:, idx] = values
            if terms:
                block[:, FEATURES.index("days_past_due")] = (
                    block[:, FEATURES.index("age")] - values[0])
            return block

        prob, tail = model.distribution(members, model.age, swap)
        effects.append(base - _mean_wait(prob, tail))
        texts.append([_describe(group, row, cur, total)
                      for row, cur, total in zip(rows, currency, totals, strict=True)])
    effect = np.array(effects)
    out = []
    for i in range(len(members)):
        order = np.argsort(-np.abs(effect[:, i]), kind="stable")[:2]
        parts = [f"{texts[g][i]} ({effect[g, i]:+.0f} d)" for g in order
                 if abs(effect[g, i]) >= 1]
        out.append("; ".join(parts) or "typical for this book")
    return out


def _typical(model: PaymentModel) -> dict[str, float]:
    """A typical invoice's features: the median over the population on its invoice date
    (the most common currency; no partial payment, reminder or dispute)."""
    pop = model.pop
    everyone = np.arange(len(pop.rows))
    rows = pop.design(everyone, np.zeros(len(everyone), np.int64), dispute=False)
    typical = {}
    for i, name in enumerate(FEATURES):
        column = rows[:, i]
        known = column[~np.isnan(column)]
        typical[name] = float(np.median(known)) if len(known) else np.nan
    typical["currency"] = float(np.bincount(pop.currency).argmax())
    typical.update(paid_share=0.0, reminders=0.0, disputed=0.0)
    return typical


def _describe(group: str, row: np.ndarray, currency: str, total: int) -> str:
    """The facts of one driver group in words."""
    f = dict(zip(FEATURES, row, strict=True))
    if group == "customer":
        if not f["cust_paid"]:
            return "no paid invoices from this customer yet"
        return (f"customer paid {f['cust_paid']:.0f} invoices, {f['cust_late_share']:.0%} "
                f"late, {f['cust_days_late']:.0f} d late on average")
    if group == "amount":
        return f"amount {amount_text(total, currency)} {currency}"
    if group == "terms":
        return f"{f['term_days']:.0f}-day terms"
    if group == "currency":
        return f"in {currency}"
    if group == "partial":
        return f"{f['paid_share']:.0%} paid so far"
    if group == "reminders":
        return f"{f['reminders']:.0f} reminders sent"
    return "memo says disputed" if f["disputed"] else "not disputed"

