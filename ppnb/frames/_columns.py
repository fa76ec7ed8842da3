"""Typed columns in bulk: text, dates, instants, quantities and exact money (Arrow does the
parsing; a value it refuses is found again one by one, to name it in the error)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..money import CURRENCY_DECIMALS, MoneyError, decimals, to_minor
from ._schema import Dtype

_NUMBER = r"-?([0-9]+|[0-9]*\.[0-9]+)"  # the spec's money pattern (ASCII digits only)
_NUMBER_RE = re.compile(_NUMBER)
_LIMIT = 10**18  # a bound on |minor units| that fits int64
_PRECISION = 18  # decimal digits Arrow may hold, so that every parsed amount is below _LIMIT
_SCALE = 10.0 ** np.arange(max(CURRENCY_DECIMALS.values()) + 1)  # minor units per unit



def _frame(schema: dict[str, Dtype], columns: dict[str, Any]) -> pd.DataFrame:
    """One DataFrame from ready-made columns, in the schema's order, without copying them."""
    return pd.DataFrame({name: columns[name] for name in schema}, copy=False)


def _text(values: list[Any], field: str) -> pd.api.extensions.ExtensionArray:
    """A ``string[pyarrow]`` column; ``None`` becomes ``<NA>``."""
    try:
        return pd.arrays.ArrowStringArray(pa.array(values, pa.string()))
    except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        raise ValueError(f"{field}: expected text or nothing ({exc})") from None


def _dates(values: list[Any], field: str) -> np.ndarray:
    """A ``datetime64[ns]`` column from ``YYYY-MM-DD`` strings; ``None`` becomes ``NaT``.

    Arrow reads them in bulk, several times faster than :func:`pandas.to_datetime`, and
    strictly: exactly ``YYYY-MM-DD``, and a real calendar day.
    """
    try:
        days = pa.array(values, pa.string()).cast(pa.date32()).cast(pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{field}: {exc}") from None
    return days.to_numpy(zero_copy_only=False)


def _instants(values: list[Any], field: str) -> pd.DatetimeIndex:
    """A ``datetime64[ns, UTC]`` column from RFC 3339 date-times; ``None`` becomes ``NaT``.

    Arrow reads them in bulk and requires the zone offset (``Z`` or ``+hh:mm``) that the
    spec's ``date_time`` has; fractions of a second are kept.
    """
    try:
        stamps = pa.array(values, pa.string()).cast(pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{field}: {exc}") from None
    return pd.DatetimeIndex(stamps.to_numpy(zero_copy_only=False)).tz_localize("UTC")


# --- numbers and money ----------------------------------------------------------------------


def _exponents(currencies: list[Any], ids: list[Any]) -> np.ndarray:
    """Each invoice's currency decimals; an unsupported currency is a MoneyError."""
    try:
        return np.array([CURRENCY_DECIMALS[c] for c in currencies], np.int8)
    except (KeyError, TypeError):
        return np.array([_decimals(c, i) for c, i in zip(currencies, ids, strict=True)],
                        np.int8)


def _decimals(currency: Any, invoice_id: Any) -> int:
    """:func:`ppnb.money.decimals`, with the invoice named in the error."""
    try:
        return decimals(currency)
    except MoneyError as exc:
        raise MoneyError(f"invoice {invoice_id}, /detail/currency_code: {exc}",
                         exc.reason) from None


def _decimal_text(values: list[Any]) -> pa.StringArray | None:
    """``values`` as Arrow strings if each is ``None`` or a plain decimal string, else None."""
    try:
        text = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    matches = pc.match_substring_regex(text, f"^{_NUMBER}$")
    return text if pc.index(matches, False).as_py() < 0 else None


def _quantities(values: list[Any], where: Callable[[int], str]) -> np.ndarray:
    """Item quantities as floats (display only; the exact text is kept beside them)."""
    text = _decimal_text(values)
    if text is not None:
        return text.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.array([_quantity(v, where, k) for k, v in enumerate(values)], np.float64)


def _quantity(value: Any, where: Callable[[int], str], k: int) -> float:
    """One quantity as a float, or a ValueError naming it."""
    if value is None:
        return float("nan")
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value):
        return float(value)
    raise ValueError(f"{where(k)}: {value!r} is not a decimal string like '1.5'")


def _minor(values: list[Any], exps: np.ndarray,
           row: Callable[[int], tuple[str, str]]) -> np.ndarray:
    """Exact int64 minor units of money values (``None``, for an absent object, is 0).

    ``exps`` holds each row's currency decimals; ``row(k)`` names row ``k``'s value and
    gives its currency, for errors. The fast path checks every value against the spec's
    pattern, then lets Arrow parse the decimal strings with integer arithmetic, one cast per
    exponent; the cast refuses to drop a non-zero digit. If anything is off, :func:`_exact`
    redoes the rows one by one with :func:`ppnb.money.to_minor` to name the culprit.
    """
    text = _decimal_text(values)
    if text is None:
        return np.array([_exact(v, row, k) for k, v in enumerate(values)], np.int64)
    text = text.fill_null("0")
    minor = np.empty(len(values), np.int64)
    for exp in np.unique(exps).tolist():
        rows = exps == exp
        try:
            part = text if rows.all() else text.filter(pa.array(rows))
            unscaled = pc.multiply(part.cast(pa.decimal128(_PRECISION, exp)), 10**exp)
            minor[rows] = unscaled.cast(pa.int64()).to_numpy()
        except pa.ArrowInvalid:  # a digit beyond the currency's minor unit, or too large
            minor[rows] = [_exact(values[k], row, k) for k in np.flatnonzero(rows).tolist()]
    return minor


def _exact(value: Any, row: Callable[[int], tuple[str, str]], k: int) -> int:
    """One amount in minor units by :func:`ppnb.money.to_minor`, or a MoneyError naming it."""
    if value is None:
        return 0
    where, currency = row(k)
    try:
        if not isinstance(value, str) or not _NUMBER_RE.fullmatch(value):
            raise MoneyError(f"{value!r} is not a decimal string like '12.50'", "syntax")
        minor = to_minor(value, currency)
        if not -_LIMIT < minor < _LIMIT:
            raise MoneyError(f"{value} {currency} is too large (limit 10**18 minor units)",
                             "precision")
    except MoneyError as exc:
        raise MoneyError(f"{where}: {exc}", exc.reason) from None
    return minor
