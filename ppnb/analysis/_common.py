"""The shared engine: invoices and payments as integer day arrays, and balances as of any dates.

Every analysis reduces to one question: *how much of which invoice was receivable on which
day?* :class:`Book` answers it without a Python loop over invoices or dates. Dates become
int64 day numbers (days since 1970-01-01); payments are sorted by (invoice, date) once, with a
running total per invoice, so "paid as of D" for any number of (invoice, D) pairs is one
``searchsorted``. :meth:`Book.open_pairs` expands each invoice only over the as-of dates on
which it is open (issued, not cancelled, not yet fully paid), which is a small multiple of the
number of invoices in a real book, never invoices × dates.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..frames import Tables
from ..money import format_amount, from_minor

__all__ = ["DEFAULT_BUCKETS", "Book", "Pairs", "bucket_labels", "month_ends"]

#: Default bucket edges in days past the basis date: ``current``, ``1-30``, ``31-60``,
#: ``61-90``, ``91+``.
DEFAULT_BUCKETS: tuple[int, ...] = (30, 60, 90)
BASES = ("due_date", "invoice_date")
#: Statuses of invoices that were never issued to the customer (a SCHEDULED invoice turns
#: SENT/UNPAID when it goes out, so one still SCHEDULED has not).
NOT_ISSUED = ("DRAFT", "SCHEDULED")
FOREVER = np.int64(2**40)  # a day number after every real date ("never happens")
NEVER = -FOREVER  # a day number before every real date ("since forever")
_EPOCH = dt.date(1970, 1, 1)


class AnalysisError(ValueError):
    """Bad input to an analysis function (the message names the argument)."""


# --- small public helpers -----------------------------------------------------------------


def bucket_labels(buckets: Sequence[int] = DEFAULT_BUCKETS) -> list[str]:
    """Labels for aging buckets with the given upper edges, in order.

    ``(30, 60, 90)`` gives ``["current", "1-30", "31-60", "61-90", "91+"]``: ``current`` is
    0 or fewer days past the basis date, each edge closes a bucket, the last is open-ended.

    Raises
    ------
    AnalysisError
        If the edges are empty, not positive integers, or not strictly increasing.
    """
    edges = check_buckets(buckets)
    labels = ["current"]
    low = 1
    for edge in edges:
        labels.append(f"{low}-{edge}")
        low = edge + 1
    labels.append(f"{low}+")
    return labels


def check_buckets(buckets: Sequence[int]) -> tuple[int, ...]:
    """The bucket edges as a tuple of ints, or an AnalysisError saying what is wrong."""
    try:
        edges = tuple(buckets)
    except TypeError:
        raise AnalysisError(f"buckets: expected a sequence of day counts, got {buckets!r}"
                            ) from None
    if not edges:
        raise AnalysisError("buckets: at least one edge is needed, e.g. (30, 60, 90)")
    for edge in edges:
        if isinstance(edge, bool) or not isinstance(edge, int | np.integer) or edge < 1:
            raise AnalysisError(f"buckets: {edge!r} is not a positive whole number of days")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise AnalysisError(f"buckets: edges {edges} are not strictly increasing")
    return tuple(int(e) for e in edges)


def month_ends(start: Any, end: Any) -> list[dt.date]:
    """Every calendar month end from ``start``'s month through ``end`` (inclusive).

    ``month_ends("2025-01-15", "2025-03-31")`` is ``[2025-01-31, 2025-02-28, 2025-03-31]``;
    a month whose end falls after ``end`` is left out.
    """
    first, last = as_date(start, "start"), as_date(end, "end")
    if last < first:
        raise AnalysisError(f"end {last} is before start {first}")
    stamps = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="ME")
    return [t.date() for t in stamps]


def as_date(value: Any, name: str) -> dt.date:
    """A calendar date from a date, datetime (its own local date), Timestamp or ISO string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            pass
    elif isinstance(value, np.datetime64) and not np.isnat(value):
        return pd.Timestamp(value).date()
    raise AnalysisError(f"{name}: {value!r} is not a date (use a date or 'YYYY-MM-DD')")


def resolve_as_of(as_of: Any, clock: Callable[[], Any] | None) -> dt.date:
    """``as_of`` as a date; if None, the date ``clock()`` gives, else the machine's today."""
    if as_of is not None:
        return as_date(as_of, "as_of")
    if clock is not None:
        return as_date(clock(), "clock()")
    return dt.date.today()


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01."""
    return (date - _EPOCH).days


def from_day(day: int) -> dt.date:
    """The date of a day number."""
    return _EPOCH + dt.timedelta(days=int(day))


def check_basis(basis: str) -> str:
    if basis not in BASES:
        raise AnalysisError(f"basis: {basis!r} is not one of {', '.join(BASES)}")
    return basis


def amount_text(minor: int, currency: str) -> str:
    """Minor units as an exact decimal string with the currency's decimals (``"10.50"``)."""
    return format_amount(from_minor(int(minor), currency), currency)


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
    needed = {"invoices": ("id", "number", "status", "invoice_date", "due_date", "currency",
                           "total_minor", "cancelled", "last_updated", "recipient_email",
                           "recipient_name", "recipient_business"),
              "payments": ("invoice_id", "payment_date", "amount_minor"),
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
    """

    def __init__(self, tables: Tables) -> None:
        tables = check_tables(tables)
        inv = tables.invoices
        self.invoices = inv
        self.refunds = tables.refunds
        self.n = len(inv)
        status = inv["status"]
        self.inv_day = _days(inv["invoice_date"], FOREVER)
        self.issued = ~status.isin(NOT_ISSUED).to_numpy(bool) & (self.inv_day < FOREVER)
        due = _days(inv["due_date"], FOREVER)
        self.due_day = np.where(due < FOREVER, due, self.inv_day)
        cancel = _days(inv["cancelled"], FOREVER)
        missing = status.eq("CANCELLED").fillna(False).to_numpy(bool) & (cancel == FOREVER)
        if missing.any():
            updated = _days(inv["last_updated"], NEVER)
            cancel = np.where(missing, updated, cancel)
        self.cancel_day = cancel
        self.total = inv["total_minor"].to_numpy(np.int64)
        self.currency_codes, self.currencies = pd.factorize(inv["currency"], use_na_sentinel=False)
        self.currency_codes = self.currency_codes.astype(np.int64)
        self._payments(tables.payments)

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
        order = np.argsort(key, kind="stable")
        self.p_key, self.p_inv, self.p_day, self.p_amt = (key[order], p_inv[order],
                                                          p_day[order], amount[order])
        running = np.cumsum(self.p_amt)
        first = np.ones(len(self.p_inv), bool)
        first[1:] = self.p_inv[1:] != self.p_inv[:-1]
        starts = np.flatnonzero(first)
        before = running[starts] - self.p_amt[starts]  # running total before each invoice
        self.p_cum = running - np.repeat(before, np.diff(np.append(starts, len(running))))
        settled = self.p_cum >= self.total[self.p_inv]
        settled_inv, where = np.unique(self.p_inv[settled], return_index=True)
        self.paid_day = np.full(self.n, FOREVER, np.int64)
        self.paid_day[settled_inv] = self.p_day[settled][where]
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
        start = np.searchsorted(days, self.inv_day, side="left")
        stop = np.minimum(np.searchsorted(days, self.cancel_day, side="left"),
                          np.searchsorted(days, self.paid_day, side="left"))
        counts = np.where(self.issued & (self.total > 0), np.maximum(stop - start, 0), 0)
        inv = np.repeat(np.arange(self.n, dtype=np.int64), counts)
        offsets = np.arange(len(inv), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts,
                                                                  counts)
        at = np.repeat(start, counts) + offsets
        paid = self.paid_by(inv, days[at])
        outstanding = self.total[inv] - paid
        keep = outstanding > 0
        return Pairs(inv[keep], at[keep], outstanding[keep], paid[keep])

    @cached_property
    def _issued_by_day(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Issued invoices' (day, total, cancel day) sorted by (currency, day), and where each
        currency's run starts and ends."""
        rows = np.flatnonzero(self.issued)
        rows = rows[np.lexsort((self.inv_day[rows], self.currency_codes[rows]))]
        bounds = np.searchsorted(self.currency_codes[rows], np.arange(len(self.currencies) + 1))
        return self.inv_day[rows], self.total[rows], self.cancel_day[rows], bounds

    def sales(self, start: np.ndarray, end: np.ndarray, cutoff: int) -> np.ndarray:
        """Credit sales per (window, currency): issued invoices dated in [start, end] that were
        not cancelled on or before ``cutoff``; int64, shape ``(len(start), currencies)``."""
        day, total, cancel, bounds = self._issued_by_day
        running = np.concatenate(([0], np.cumsum(np.where(cancel > cutoff, total, 0))))
        out = np.zeros((len(start), len(self.currencies)), np.int64)
        for code in range(len(self.currencies)):
            lo, hi = bounds[code], bounds[code + 1]
            first = lo + np.searchsorted(day[lo:hi], start, side="left")
            after = lo + np.searchsorted(day[lo:hi], end, side="right")
            out[:, code] = running[after] - running[first]
        return out

    @cached_property
    def _customers(self) -> tuple[np.ndarray, Any]:
        """Each invoice's customer code (-1 without an email), and each customer's display
        name: business name, else person name, else the email, from the customer's latest
        invoice (by invoice date)."""
        inv = self.invoices
        codes, _ = pd.factorize(inv["recipient_email"])
        name = inv["recipient_business"]
        for column in ("recipient_name", "recipient_email"):
            name = name.fillna(inv[column])
        known = np.flatnonzero(codes >= 0)
        latest = np.full(codes.max() + 1 if len(known) else 0, NEVER, np.int64)
        np.maximum.at(latest, codes[known], self.inv_day[known])
        known = known[self.inv_day[known] == latest[codes[known]]]
        pick = np.full(len(latest), -1, np.int64)
        np.maximum.at(pick, codes[known], known)  # the last row of the latest date
        return codes, name.array.take(pick)

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


def resolve_by(by: str | Sequence[str], columns: pd.Index) -> list[str]:
    """The group keys asked for, as invoice-level column names (``customer`` is special).

    ``"customer"``, ``"currency"`` (same as ``"none"``: currency is always a key), ``"none"``,
    any invoices column, or a list of those.
    """
    asked = [by] if isinstance(by, str) else list(by)
    keys: list[str] = []
    for key in asked:
        if not isinstance(key, str):
            raise AnalysisError(f"by: {key!r} is not a column name")
        if key in ("none", "currency"):
            continue
        if key != "customer" and key not in columns:
            raise AnalysisError(f"by: {key!r} is not 'customer', 'currency', 'none' or a "
                                "column of tables.invoices")
        if key not in keys:
            keys.append(key)
    return keys


def key_names(keys: list[str]) -> list[str]:
    """The output columns of group keys (``customer`` adds ``customer_name``)."""
    names: list[str] = []
    for key in keys:
        names += ["customer", "customer_name"] if key == "customer" else [key]
    return names
