"""The shared engine: invoices and payments as integer day arrays, and balances as of any dates.

Every analysis reduces to one question: *how much of which invoice was receivable on which
day?* :class:`Book` answers it without a Python loop over invoices or dates. Dates become
int64 day numbers (days since 1970-01-01); payments are sorted by (invoice, date) once, with a
running total per invoice, so "paid as of D" for any number of (invoice, D) pairs is one
``searchsorted``. :meth:`Book.open_pairs` expands each invoice only over the as-of dates on
which it is open (issued, not cancelled, not yet fully paid), which is a small multiple of the
number of invoices in a real book, never invoices × dates.

Preparing a book (the invoice-id lookup, the payment sort, the date arrays) is most of the
cost of one analysis call on a big book, so :func:`book_of` keeps the books of the last
:data:`CACHE_SIZE` :class:`~ppnb.frames.Tables` objects: ``aging(tables, D)`` then
``kpis(tables, ...)`` prepare once. A cached book is reused only for the *same* Tables object
(by identity, held weakly: the entry goes when the tables do) whose frames are the same
objects and whose every column the book read still equals the copy taken when it was
prepared (``Series.equals``: a memory compare, a few ms per million rows; Arrow-backed text
compares in no time when unchanged; the copies of the numeric and date columns are the
memory this costs). Anything else (a replaced, edited, added-to or dropped column the book
read) prepares afresh, so results never depend on the cache. Columns a book does not hold
(``number``, ``by`` keys, refunds) are read from the frames at each call.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import CANCELLED_STATUSES, Tables
from ._params import AnalysisError, check_basis

__all__ = ["CACHE_SIZE", "FOREVER", "NEVER", "Book", "Pairs", "book_of", "check_tables",
           "clear_cache"]

#: Statuses of invoices that were never issued to the customer (a SCHEDULED invoice turns
#: SENT/UNPAID when it goes out, so one still SCHEDULED has not).
NOT_ISSUED = ("DRAFT", "SCHEDULED")
#: How many prepared books :func:`book_of` keeps (one per Tables object).
CACHE_SIZE = 2
#: The columns a :class:`Book` reads when preparing; a cached book is reused only while they
#: are unchanged.
BOOK_COLUMNS = {
    "invoices": ("id", "status", "invoice_date", "due_date", "cancelled", "last_updated",
                 "total_minor", "currency", "recipient_email", "recipient_name",
                 "recipient_business"),
    "payments": ("invoice_id", "payment_date", "amount_minor"),
}
FOREVER = np.int64(2**40)  # a day number after every real date ("never happens")
NEVER = -FOREVER  # a day number before every real date ("since forever")


def _days(values: pd.Series, fill: np.int64) -> np.ndarray:
    """Day numbers of a datetime64 column (an instant's UTC date); NaT becomes ``fill``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = values.to_numpy(dtype="datetime64[ns]")
    days = stamps.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(stamps), fill, days)


def check_tables(tables: Any) -> Tables:
    if not isinstance(tables, Tables):
        raise AnalysisError(f"tables: expected ppnb.frames.Tables, got {type(tables).__name__}")
    needed = {"invoices": (*BOOK_COLUMNS["invoices"], "number"),
              "payments": BOOK_COLUMNS["payments"],
              "refunds": ("refund_date", "amount_minor", "currency")}
    for table, columns in needed.items():
        missing = [c for c in columns if c not in getattr(tables, table).columns]
        if missing:
            raise AnalysisError(f"tables.{table} lacks column(s) {', '.join(missing)}")
    return tables


# --- the engine -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """Open (invoice, as-of date) pairs: ``inv`` indexes the invoices, ``at`` the dates."""

    inv: np.ndarray
    at: np.ndarray
    outstanding: np.ndarray  # int64 minor units, > 0
    paid: np.ndarray  # int64 minor units paid as of the date


class Book:
    """Invoices and payments as arrays, ready for as-of questions.

    Receivable rules (the ``aging`` docstring states them for users):

    * issued: status not DRAFT or SCHEDULED, and an invoice date;
    * receivable on day D: issued, ``invoice_date <= D`` and ``cancel_day > D``, where
      ``cancel_day`` is the UTC date of ``cancelled``; a CANCELLED invoice without a cancel
      time counts as cancelled at ``last_updated``, and without that either, as never
      receivable;
    * paid as of D: the sum of its payments dated on or before D (a payment without a date
      counts from the invoice date); payments of invoices not in the table are ignored.

    Get one with :func:`book_of`, which reuses the book of unchanged tables.
    """

    def __init__(self, tables: Tables) -> None:
        tables = check_tables(tables)
        inv = tables.invoices
        self.invoices = inv
        self.payments = tables.payments
        self.refunds = tables.refunds
        # what the book is made of, for :meth:`matches` (copies: a frame can change in place)
        self._read = [(frame, column, frame[column].copy(deep=True))
                      for frame, table in ((inv, "invoices"), (self.payments, "payments"))
                      for column in BOOK_COLUMNS[table]]
        self.n = len(inv)
        status = inv["status"]
        self.inv_day = _days(inv["invoice_date"], FOREVER)
        self.issued = ~status.isin(NOT_ISSUED).to_numpy(bool) & (self.inv_day < FOREVER)
        due = _days(inv["due_date"], FOREVER)
        self.due_day = np.where(due < FOREVER, due, self.inv_day)
        cancel = _days(inv["cancelled"], FOREVER)
        missing = status.isin(CANCELLED_STATUSES).fillna(False).to_numpy(bool) & (
            cancel == FOREVER)
        if missing.any():
            updated = _days(inv["last_updated"], NEVER)
            cancel = np.where(missing, updated, cancel)
        self.cancel_day = cancel
        self.total = inv["total_minor"].to_numpy(np.int64)
        self.currency_codes, self.currencies = pd.factorize(inv["currency"], use_na_sentinel=False)
        self.currency_codes = self.currency_codes.astype(np.int64)
        self._payments(self.payments)

    def matches(self, tables: Tables) -> bool:
        """Whether this book still describes ``tables``: the same frames, and every column it
        was prepared from equal (values and dtype) to what it read then."""
        if (tables.invoices is not self.invoices or tables.payments is not self.payments
                or tables.refunds is not self.refunds):
            return False
        try:
            return all(seen.equals(frame[column]) for frame, column, seen in self._read)
        except KeyError:  # a column it read was dropped
            return False

    def _payments(self, payments: pd.DataFrame) -> None:
        """Sort payments by (invoice, day) and keep a running paid amount per invoice."""
        position = pc.index_in(pa.array(payments["invoice_id"], pa.string()),
                               value_set=pa.array(self.invoices["id"], pa.string()))
        position = position.fill_null(-1).to_numpy(zero_copy_only=False)
        known = position >= 0
        p_inv = position[known].astype(np.int64)
        p_day = _days(payments["payment_date"], FOREVER)[known]
        p_day = np.where(p_day < FOREVER, p_day, self.inv_day[p_inv])
        amount = payments["amount_minor"].to_numpy(np.int64)[known]
        # one int64 key (invoice, day) sorts faster than a two-key lexsort
        self._base = int(p_day.min()) - 1 if len(p_day) else 0
        self._span = int(p_day.max()) - self._base + 2 if len(p_day) else 2
        key = p_inv * self._span + (p_day - self._base)
        if len(key) > 1 and (key[1:] < key[:-1]).any():  # not already in order
            # payments with equal keys (same invoice and day) count together in every as-of
            # sum, and, none being negative, settle on the same day in any order: then the
            # faster unstable sort does; a negative one keeps the table's order
            order = np.argsort(key, kind="stable" if (amount < 0).any() else None)
            key, p_inv, p_day, amount = key[order], p_inv[order], p_day[order], amount[order]
        self.p_key, self.p_inv, self.p_day, self.p_amt = key, p_inv, p_day, amount
        running = np.cumsum(self.p_amt)
        first = np.ones(len(self.p_inv), bool)
        first[1:] = self.p_inv[1:] != self.p_inv[:-1]
        starts = np.flatnonzero(first)
        before = running[starts] - self.p_amt[starts]  # running total before each invoice
        self.p_cum = running - np.repeat(before, np.diff(np.append(starts, len(running))))
        # the first payment of each invoice that brings its paid amount to the total
        settled = np.flatnonzero(self.p_cum >= self.total[self.p_inv])
        settling = np.ones(len(settled), bool)
        settling[1:] = self.p_inv[settled[1:]] != self.p_inv[settled[:-1]]
        settled = settled[settling]
        self.paid_day = np.full(self.n, FOREVER, np.int64)
        self.paid_day[self.p_inv[settled]] = self.p_day[settled]
        self.paid_day[self.total <= 0] = self.inv_day[self.total <= 0]

    def basis_day(self, basis: str) -> np.ndarray:
        """Each invoice's aging reference day (a missing due date falls back to the invoice
        date)."""
        return self.due_day if check_basis(basis) == "due_date" else self.inv_day

    def paid_by(self, inv: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Minor units paid on invoices ``inv`` by days ``day`` (elementwise)."""
        if not len(self.p_key):
            return np.zeros(len(inv), np.int64)
        offset = np.clip(day - self._base, 0, self._span - 1)
        pos = np.searchsorted(self.p_key, inv * self._span + offset, side="right") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & (self.p_inv[safe] == inv)
        return np.where(hit, self.p_cum[safe], 0)

    def receivable(self, day: int) -> np.ndarray:
        """Which invoices are receivable (open or not) on ``day``."""
        return self.issued & (self.inv_day <= day) & (self.cancel_day > day)

    def open_pairs(self, days: np.ndarray) -> Pairs:
        """Every (invoice, date) with an outstanding balance; ``days`` sorted ascending."""
        days = np.asarray(days, np.int64)
        # invoices open on some day between the first and the last date (cheap comparisons
        # first, so that the searches below only see those)
        live = np.flatnonzero(self.issued & (self.total > 0) & (self.inv_day <= days[-1])
                              & (self.cancel_day > days[0]) & (self.paid_day > days[0]))
        start = np.searchsorted(days, self.inv_day[live], side="left")
        stop = np.minimum(np.searchsorted(days, self.cancel_day[live], side="left"),
                          np.searchsorted(days, self.paid_day[live], side="left"))
        counts = np.maximum(stop - start, 0)
        inv = np.repeat(live.astype(np.int64), counts)
        offsets = np.arange(len(inv), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts,
                                                                  counts)
        at = np.repeat(start, counts) + offsets
        paid = self.paid_by(inv, days[at])
        outstanding = self.total[inv] - paid
        keep = outstanding > 0
        return Pairs(inv[keep], at[keep], outstanding[keep], paid[keep])

    @cached_property
    def _issued_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """Issued invoices' cell in a (currency, day) grid, total and cancel day; and the
        grid's first day and width in days."""
        rows = np.flatnonzero(self.issued)
        day = self.inv_day[rows]
        low = int(day.min()) if len(rows) else 0
        span = int(day.max()) - low + 1 if len(rows) else 1
        cell = self.currency_codes[rows] * span + (day - low)
        return cell, self.total[rows], self.cancel_day[rows], low, span

    def sales(self, start: np.ndarray, end: np.ndarray, cutoff: int) -> np.ndarray:
        """Credit sales per (window, currency): issued invoices dated in [start, end] that were
        not cancelled on or before ``cutoff``; int64, shape ``(len(start), currencies)``.

        Totals are added up per currency and day (exact int64), then a running sum over the
        days answers every window with two lookups.
        """
        cell, total, cancel, low, span = self._issued_cells
        ncur = len(self.currencies)
        daily = np.zeros(ncur * span, np.int64)
        np.add.at(daily, cell, np.where(cancel > cutoff, total, 0))
        running = np.zeros((ncur, span + 1), np.int64)
        np.cumsum(daily.reshape(ncur, span), axis=1, out=running[:, 1:])
        first = np.clip(np.asarray(start, np.int64) - low, 0, span)
        after = np.clip(np.asarray(end, np.int64) - low + 1, 0, span)
        return (running[:, after] - running[:, first]).T

    @cached_property
    def currency_rank(self) -> np.ndarray:
        """Each currency code's place when the currencies are sorted (a missing one last)."""
        names = list(self.currencies)
        order = sorted(range(len(names)), key=lambda c: (pd.isna(names[c]), str(names[c])))
        rank = np.empty(len(names), np.int64)
        rank[order] = np.arange(len(names))
        return rank

    @cached_property
    def _customers(self) -> tuple[np.ndarray, Any]:
        """Each invoice's customer code (-1 without an email; codes follow the sorted emails),
        and each customer's display name: business name, else person name, else the email,
        from the customer's latest invoice (by invoice date)."""
        inv = self.invoices
        codes, _ = pd.factorize(inv["recipient_email"], sort=True)
        known = np.flatnonzero(codes >= 0)
        latest = np.full(codes.max() + 1 if len(known) else 0, NEVER, np.int64)
        np.maximum.at(latest, codes[known], self.inv_day[known])
        known = known[self.inv_day[known] == latest[codes[known]]]
        pick = np.full(len(latest), -1, np.int64)
        np.maximum.at(pick, codes[known], known)  # the last row of the latest date
        name = pd.Series(inv["recipient_business"].array.take(pick))
        for column in ("recipient_name", "recipient_email"):
            name = name.fillna(pd.Series(inv[column].array.take(pick)))
        return codes, name.array

    def groups(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each invoice's group by ``keys`` × currency, and one invoice row of each group.

        Groups are numbered ``0..g-1`` in the order ``groupby(sort=True, dropna=False)``
        gives their key values (missing values last), so tables can be summed with integer
        arrays instead of grouping text. ``customer`` groups by email (its name follows).
        """
        group, size = np.zeros(self.n, np.int64), 1
        for key in keys:
            if key == "customer":
                codes, names = self._customers
                count = len(names)
            else:
                codes, uniques = pd.factorize(self.invoices[key], sort=True)
                count = len(uniques)
            codes = np.where(codes < 0, count, codes).astype(np.int64)  # missing: last
            group, size = _dense(group * (count + 1) + codes, size * (count + 1))
        ncur = len(self.currencies)
        group, size = _dense(group * ncur + self.currency_rank[self.currency_codes], size * ncur)
        member = np.zeros(size, np.int64)
        member[group] = np.arange(self.n, dtype=np.int64)  # any member: keys are equal
        return group, member

    def customer_rank(self, rows: np.ndarray) -> np.ndarray:
        """Sort keys of the customers of the invoices at ``rows``: the rank of their email
        among the sorted emails, a missing email after every other."""
        codes, names = self._customers
        codes = codes[rows]
        return np.where(codes < 0, len(names), codes)

    def emails(self, rows: np.ndarray) -> Any:
        """The customer key (recipient email) of the invoices at ``rows``."""
        return self.invoices["recipient_email"].array.take(rows)

    def key_columns(self, by: Sequence[str], rows: np.ndarray) -> dict[str, Any]:
        """Invoice-level group key columns (``customer`` expands to customer + name) for the
        invoice positions ``rows``."""
        out: dict[str, Any] = {}
        for key in by:
            if key == "customer":
                codes, names = self._customers
                out["customer"] = self.emails(rows)
                out["customer_name"] = names.take(codes[rows], allow_fill=True)
            else:
                out[key] = self.invoices[key].array.take(rows)
        return out


def _dense(codes: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Renumber the codes (each in ``range(size)``) ``0..k-1`` in the same order, k being the
    number of distinct codes."""
    if size <= 4 * len(codes) + 1024:
        present = np.bincount(codes, minlength=size) > 0
        return (np.cumsum(present) - 1)[codes], int(present.sum())
    distinct, dense = np.unique(codes, return_inverse=True)
    return dense.astype(np.int64), len(distinct)


class _Cache:
    """The books of the last :data:`CACHE_SIZE` Tables objects (see the module docstring).

    Entries hold their Tables weakly and go when it does. Correctness never rests on the
    cache: a book is reused only after :meth:`Book.matches` says it still fits.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: list[tuple[weakref.ref[Tables], Book]] = []
        self.lock = threading.Lock()

    def book(self, tables: Tables) -> Book:
        with self.lock:
            book = next((b for ref, b in self.entries if ref() is tables), None)
        if book is None or not book.matches(tables):
            book = Book(tables)
        with self.lock:
            others = [(ref, b) for ref, b in self.entries
                      if (held := ref()) is not None and held is not tables]
            self.entries = [(weakref.ref(tables, self.forget), book), *others][: self.size]
        return book

    def forget(self, gone: weakref.ref[Tables]) -> None:
        """Drop the entry of tables that no longer exist (the weakref callback; it takes no
        lock, as the garbage collector may call it while :meth:`book` holds it)."""
        self.entries = [entry for entry in self.entries if entry[0] is not gone]


_CACHE = _Cache(CACHE_SIZE)


def book_of(tables: Tables) -> Book:
    """The prepared :class:`Book` of ``tables``: the cached one while the tables are unchanged,
    else a new one (see the module docstring)."""
    return _CACHE.book(check_tables(tables))


def clear_cache() -> None:
    """Forget every prepared book (benchmarks use it to time a cold start)."""
    with _CACHE.lock:
        _CACHE.entries = []
