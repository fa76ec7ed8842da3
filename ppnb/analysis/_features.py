"""What a collector knows about an invoice on a given day: the payment model's features.

The payment model (:mod:`._predict`) is a discrete-time hazard model: one training row per
invoice and day it was open, asking "is it paid in full on this day?". This module builds
those rows, and the rows of the days still ahead of each open invoice, from a
:class:`~._common.Book` seen **as of** one date ``D``:

* the population is every invoice issued on or before ``D`` with a positive total (rules of
  :func:`ppnb.analysis.aging`); an invoice paid in full on or before ``D`` is an event at
  its age then; one still open is **censored** at ``D`` (and one cancelled on or before
  ``D`` the day before it was cancelled): it counts as "not paid yet" for the days it was
  seen open, never as "never paid";
* nothing dated after ``D`` exists: a row for day ``d`` uses only what was known before
  ``k = min(d, D + 1)``: the customer's invoices settled before ``k``, the reminders sent
  before ``k``, the amount paid up to ``k − 1``. A book truncated at ``D`` therefore gives
  the very same rows as the full book.

Rows are put in one canonical order (invoice date, invoice number, id), so the fitted model
does not depend on the order in which the API returned the invoices (nor, for books whose
numbers differ, on the ids the server generated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..money import CURRENCY_DECIMALS
from ._common import Book

__all__ = ["FEATURES", "GROUPS", "Population", "disputed", "population"]

#: The model's columns, in order (``currency`` is categorical: an index into
#: :attr:`Population.currencies`).
FEATURES = ("age", "days_past_due", "term_days", "log_amount", "currency", "paid_share",
            "reminders", "disputed", "cust_paid", "cust_days_to_pay", "cust_days_late",
            "cust_late_share", "cust_last_late")
#: Driver groups for explanations: name → the feature columns it covers.
GROUPS: dict[str, tuple[str, ...]] = {
    "customer": ("cust_paid", "cust_days_to_pay", "cust_days_late", "cust_late_share",
                 "cust_last_late"),
    "amount": ("log_amount",),
    "terms": ("term_days",),
    "currency": ("currency",),
    "partial": ("paid_share",),
    "reminders": ("reminders",),
    "dispute": ("disputed",),
}
MAX_AGE = 730  # an invoice open longer than two years is censored there
_COL = {name: i for i, name in enumerate(FEATURES)}


def disputed(invoices: pd.DataFrame) -> np.ndarray:
    """Whether each invoice is flagged as disputed: its memo mentions ``disput`` (any case).

    PayPal has no dispute field on invoices; the memo (a note to self the customer does not
    see) is where a merchant records one, and the IBM sample's ``Disputed`` column is
    loaded there (memo ``"disputed"``). The memo is read as it is now: PayPal keeps no
    history of it.
    """
    if "memo" not in invoices.columns:
        return np.zeros(len(invoices), bool)
    memo = invoices["memo"].astype("string")
    return memo.str.contains("disput", case=False, regex=False).fillna(False).to_numpy(bool)


@dataclass
class Population:
    """The invoices the model sees as of ``day`` (book positions in canonical order) and the
    fixed facts of each; plus the indexes that answer "known before day k" questions."""

    book: Book
    day: int
    rows: np.ndarray
    issue: np.ndarray
    term: np.ndarray
    log_amount: np.ndarray
    currency: np.ndarray
    currencies: list[str]
    disputed: np.ndarray
    customer: np.ndarray
    event: np.ndarray
    last_age: np.ndarray
    open: np.ndarray
    history: _History
    reminders: _Counts

    def design(self, member: np.ndarray, age: np.ndarray, *, dispute: bool = True
               ) -> np.ndarray:
        """Feature rows for population members ``member`` at ages ``age`` (elementwise).

        Each row's knowledge cut-off is ``k = min(issue + age, D + 1)``.
        """
        day = self.issue[member] + age
        known = np.minimum(day, self.day + 1)
        out = np.empty((len(member), len(FEATURES)), np.float64)
        out[:, _COL["age"]] = age
        out[:, _COL["days_past_due"]] = age - self.term[member]
        out[:, _COL["term_days"]] = self.term[member]
        out[:, _COL["log_amount"]] = self.log_amount[member]
        out[:, _COL["currency"]] = self.currency[member]
        book_rows = self.rows[member]
        paid = self.book.paid_by(book_rows, known - 1)
        out[:, _COL["paid_share"]] = paid / self.book.total[book_rows]
        out[:, _COL["reminders"]] = self.reminders.before(member, known)
        out[:, _COL["disputed"]] = self.disputed[member] if dispute else 0.0
        history = self.history.before(self.customer[member], known)
        for name, values in history.items():
            out[:, _COL[name]] = values
        return out

    def training_rows(self, *, dispute: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """One row per invoice and day seen open (ages 0..last age); label 1 on the day an
        invoice was paid in full."""
        counts = np.maximum(self.last_age + 1, 0)
        member = np.repeat(np.arange(len(self.rows)), counts)
        starts = np.cumsum(counts) - counts
        age = np.arange(len(member), dtype=np.int64) - np.repeat(starts, counts)
        label = np.zeros(len(member), np.int8)
        ends = (starts + counts - 1)[self.event & (counts > 0)]
        label[ends] = 1
        return self.design(member, age, dispute=dispute), label


class _History:
    """Each customer's settled invoices by settle day: count, mean days to pay, mean days
    late, share paid late, and the last one's days late, known before any day."""

    def __init__(self, customer: np.ndarray, settle: np.ndarray, to_pay: np.ndarray,
                 late: np.ndarray) -> None:
        known = customer >= 0
        customer, settle, to_pay, late = (a[known] for a in (customer, settle, to_pay, late))
        self.base = int(settle.min()) - 1 if len(settle) else 0
        self.span = int(settle.max()) - self.base + 3 if len(settle) else 3
        key = customer * self.span + (settle - self.base)
        order = np.argsort(key, kind="stable")
        self.key, late = key[order], late[order]
        self.late = late
        self.sums = {name: np.concatenate(([0], np.cumsum(values[order])))
                     for name, values in (("to_pay", to_pay), ("late", late),
                                          ("is_late", (late > 0).astype(np.int64)))}

    def before(self, customer: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
        offset = np.clip(day - self.base, 0, self.span - 1)
        first = np.searchsorted(self.key, customer * self.span, side="left")
        upto = np.searchsorted(self.key, customer * self.span + offset, side="left")
        n = np.where(customer >= 0, upto - first, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = {name: np.where(n > 0, (s[upto] - s[first]) / np.maximum(n, 1), np.nan)
                    for name, s in self.sums.items()}
        last = np.where(n > 0, self.late[np.maximum(upto - 1, 0)] if len(self.late) else 0,
                        np.nan)
        return {"cust_paid": n.astype(np.float64), "cust_days_to_pay": mean["to_pay"],
                "cust_days_late": mean["late"], "cust_late_share": mean["is_late"],
                "cust_last_late": last}


class _Counts:
    """How many reminders each member had before a day (sorted (member, day) keys)."""

    def __init__(self, member: np.ndarray, day: np.ndarray, width: int) -> None:
        self.width = width
        self.base = int(day.min()) - 1 if len(day) else 0
        self.span = int(day.max()) - self.base + 3 if len(day) else 3
        self.key = np.sort(member * self.span + (day - self.base))

    def before(self, member: np.ndarray, day: np.ndarray) -> np.ndarray:
        if not len(self.key):
            return np.zeros(len(member), np.float64)
        offset = np.clip(day - self.base, 0, self.span - 1)
        first = np.searchsorted(self.key, member * self.span, side="left")
        upto = np.searchsorted(self.key, member * self.span + offset, side="left")
        return (upto - first).astype(np.float64)


def population(book: Book, day: int, reminders: pd.DataFrame | None) -> Population:
    """The model's view of ``book`` as of day number ``day`` (see the module docstring).

    ``reminders`` has ``invoice_id`` and ``day`` (datetime64) columns, e.g.
    :func:`ppnb.actions.reminder_history`; those dated after ``day`` are ignored.
    """
    inv = book.invoices
    rows = np.flatnonzero(book.issued & (book.total > 0) & (book.inv_day <= day))
    id_rank, _ = pd.factorize(inv["id"].array.take(rows), sort=True)
    number_rank, _ = pd.factorize(inv["number"].array.take(rows), sort=True)
    rows = rows[np.lexsort((id_rank, number_rank, book.inv_day[rows]))]
    issue = book.inv_day[rows]
    paid, cancel = book.paid_day[rows], book.cancel_day[rows]
    event = (paid <= day) & (paid < cancel)
    end = np.where(event, np.maximum(paid, issue), np.minimum(day, cancel - 1))
    last_age = np.minimum(end - issue, MAX_AGE)
    event &= end - issue <= MAX_AGE
    is_open = ~event & (paid > day) & (cancel > day)
    names = np.asarray(book.currencies, dtype=object)[book.currency_codes[rows]]
    currencies = sorted({str(c) for c in names})
    currency = np.searchsorted(np.asarray(currencies, dtype=object), names.astype(str))
    scale = np.array([10.0 ** CURRENCY_DECIMALS.get(c, 2) for c in currencies])[currency]
    customer, _ = pd.factorize(inv["recipient_email"].array.take(rows), sort=True)
    customer = customer.astype(np.int64)
    due = book.due_day[rows]
    settled = np.flatnonzero(event)
    history = _History(customer[settled], paid[settled],
                       np.maximum(paid[settled] - issue[settled], 0),
                       np.maximum(paid[settled] - due[settled], 0))
    return Population(
        book=book, day=day, rows=rows, issue=issue, term=due - issue,
        log_amount=np.log10(np.maximum(book.total[rows] / scale, 0.01)),
        currency=currency.astype(np.int64), currencies=currencies,
        disputed=disputed(inv)[rows], customer=customer, event=event, last_age=last_age,
        open=is_open, history=history,
        reminders=_reminder_counts(book, rows, day, reminders))


def _reminder_counts(book: Book, rows: np.ndarray, day: int,
                     reminders: pd.DataFrame | None) -> _Counts:
    if reminders is None or reminders.empty:
        return _Counts(np.zeros(0, np.int64), np.zeros(0, np.int64), len(rows))
    where = pd.Series(np.arange(len(rows)), index=book.invoices["id"].array.take(rows))
    member = reminders["invoice_id"].map(where)
    stamps = pd.to_datetime(reminders["day"]).to_numpy("datetime64[D]").astype(np.int64)
    keep = member.notna().to_numpy() & (stamps <= day)
    return _Counts(member.to_numpy()[keep].astype(np.int64), stamps[keep], len(rows))

