"""What every analysis function checks and shares: its one error, the aging buckets and
bases, the group keys, and dates as calendar days.

Dates become int64 day numbers (days since 1970-01-01) so the engine (:mod:`._common`) can
compare and search them as arrays.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import PPNBError
from ..money import format_amount, from_minor

__all__ = ["BASES", "DEFAULT_BUCKETS", "AnalysisError", "amount_text", "as_date",
           "bucket_labels", "check_basis", "check_buckets", "day_number", "from_day",
           "key_names", "month_ends", "resolve_as_of", "resolve_by"]

#: Default bucket edges in days past the basis date: ``current``, ``1-30``, ``31-60``,
#: ``61-90``, ``91+``.
DEFAULT_BUCKETS: tuple[int, ...] = (30, 60, 90)
BASES = ("due_date", "invoice_date")
_EPOCH = dt.date(1970, 1, 1)


class AnalysisError(ValueError, PPNBError):
    """Bad input to an analysis function (the message names the argument)."""



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


def as_date(value: Any, name: str = "date") -> dt.date:
    """A calendar date from a date, a datetime or Timestamp (its own date, in its own zone),
    a ``numpy.datetime64`` or an ISO string (``"2025-06-30"``).

    Every analysis function reads its dates through this, so they all accept the same
    spellings and refuse the rest the same way.

    Parameters
    ----------
    value
        The date to read.
    name
        The argument's name, for the error message.

    Raises
    ------
    AnalysisError
        If ``value`` is none of those (``"30/06/2025"``, ``None``, ``NaT``).
    """
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
    """``as_of`` as a date; if None, the date ``clock()`` gives.

    Raises
    ------
    AnalysisError
        With neither: an analysis never reads the machine's clock behind the caller's back
        (the book's today is ``client.today()``; pass it).
    """
    if as_of is not None:
        return as_date(as_of, "as_of")
    if clock is not None:
        return as_date(clock(), "clock()")
    raise AnalysisError("as_of is required: pass a date, e.g. client.today() for the book's "
                        "today, or a clock=")


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
