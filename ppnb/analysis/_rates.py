"""Exchange rates as of a date, for the one figure that adds currencies: a converted total.

Analysis never adds amounts in different currencies. When a person wants one figure anyway
(the whole book in USD), they give :class:`Rates`: the day the rates are from, the target
currency, and what one unit of each other currency is worth in it. A converted amount is
exact: each currency's amount (a Decimal from its minor units) times its rate, summed, then
rounded once, half up, to the target's minor unit (``ppnb.money.quantize``), and given back
as integer minor units of the target. It always says what it is: ``USD at rates of
2025-06-30``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from ..money import MoneyError, decimals, from_minor, quantize, to_minor
from ._params import AnalysisError, as_date

__all__ = ["Rates", "rate_table"]

RateInput = Mapping[str, Any] | pd.Series | pd.DataFrame


@dataclass(frozen=True, init=False)
class Rates:
    """Rates into one ``target`` currency, as they stood on ``date``.

    ``Rates("2025-06-30", "USD", {"EUR": "1.08", "JPY": "0.0067"})``: one EUR is 1.08 USD.
    The target's own rate is 1 (it may be given, as 1). Give rates as strings, ints or
    Decimals to keep them exact; a float is read by its shortest repr (``1.08`` → ``1.08``).

    Attributes
    ----------
    date
        The day the rates are from: shown beside every converted figure. Required, never
        taken from a clock.
    target
        The currency converted figures are in (one PayPal supports, see
        :data:`ppnb.money.CURRENCY_DECIMALS`).
    rates
        Currency → the value of one unit of it in ``target`` (exact Decimals), the target
        included at 1.

    Raises
    ------
    AnalysisError
        For a date that is not a date, an unknown currency code, or a rate that is missing,
        not a number, NaN, infinite, zero or negative, or other than 1 for the target.
    """

    date: dt.date
    target: str
    rates: dict[str, Decimal]

    def __init__(self, date: Any, target: str, rates: RateInput) -> None:
        object.__setattr__(self, "date", as_date(date, "rates date"))
        object.__setattr__(self, "target", _currency(target, "target currency"))
        table = rate_table(rates)
        if table.setdefault(self.target, Decimal(1)) != 1:
            raise AnalysisError(f"rates: the target currency {self.target} must have rate 1, "
                                f"not {table[self.target]}")
        object.__setattr__(self, "rates", dict(sorted(table.items())))

    def __hash__(self) -> int:
        return hash((self.date, self.target, tuple(self.rates.items())))

    def __repr__(self) -> str:
        listed = ", ".join(f"{c}: {r}" for c, r in self.rates.items() if c != self.target)
        return f"Rates({self.label}: {listed or 'none'})"

    @property
    def label(self) -> str:
        """What a converted figure is, e.g. ``"USD at rates of 2025-06-30"``."""
        return f"{self.target} at rates of {self.date.isoformat()}"

    def describe(self) -> str:
        """The rates as a person reads them: ``1 EUR = 1.08 USD; 1 JPY = 0.0067 USD``."""
        return "; ".join(f"1 {c} = {r} {self.target}" for c, r in self.rates.items()
                         if c != self.target) or f"{self.target} only"

    def rate(self, currency: str) -> Decimal:
        """The value of one unit of ``currency`` in the target.

        Raises
        ------
        AnalysisError
            If there is no rate for it (the message names it).
        """
        try:
            return self.rates[currency]
        except KeyError:
            raise AnalysisError(f"rates: no rate for {currency} (rates of {self.date} into "
                                f"{self.target} cover {', '.join(self.rates)})") from None

    def check(self, currencies: Iterable[str]) -> None:
        """Raise :class:`AnalysisError` naming every currency without a rate."""
        missing = sorted({str(c) for c in currencies} - set(self.rates))
        if missing:
            raise AnalysisError(f"rates: no rate for {', '.join(missing)} (rates of "
                                f"{self.date} into {self.target})")

    def value(self, minor: int, currency: str) -> Decimal:
        """An amount in ``currency`` minor units as an exact Decimal in the target (unrounded)."""
        return from_minor(int(minor), currency) * self.rate(currency)

    def convert(self, amounts: Iterable[tuple[int, str]]) -> int:
        """The sum of ``(minor units, currency)`` amounts in target minor units: exact
        products, summed, rounded once half up to the target's minor unit."""
        total = sum((self.value(minor, currency) for minor, currency in amounts), Decimal(0))
        return to_minor(quantize(total, self.target), self.target)


def rate_table(rates: RateInput) -> dict[str, Decimal]:
    """Currency → exact positive Decimal rate, from a mapping, a Series or a DataFrame with
    ``currency`` and ``rate`` columns.

    Raises
    ------
    AnalysisError
        For an unknown currency code, a currency given twice, or a rate that is not a
        finite positive number (``0``, ``-1``, ``float("nan")``, ``"abc"``, ``True``).
    """
    if isinstance(rates, Rates):
        return dict(rates.rates)
    if isinstance(rates, pd.DataFrame):
        if not {"currency", "rate"} <= set(rates.columns):
            raise AnalysisError("rates: a DataFrame needs 'currency' and 'rate' columns")
        pairs = list(zip(rates["currency"], rates["rate"], strict=True))
    elif isinstance(rates, pd.Series | Mapping):
        pairs = list(rates.items())
    else:
        raise AnalysisError(f"rates: expected Rates, a mapping, a Series or a DataFrame, got "
                            f"{type(rates).__name__}")
    table: dict[str, Decimal] = {}
    for currency, rate in pairs:
        code = _currency(currency, "rates")
        if code in table:
            raise AnalysisError(f"rates: {code} is given twice")
        table[code] = _rate(rate, code)
    return table


def _currency(code: Any, what: str) -> str:
    try:
        decimals(code)
    except MoneyError:
        raise AnalysisError(f"{what}: {code!r} is not a currency code PayPal supports"
                            ) from None
    return str(code)


def _rate(rate: Any, currency: str) -> Decimal:
    """One rate as an exact Decimal, or an AnalysisError that says what is wrong with it."""
    problem = f"rates: {rate!r} for {currency} is not a positive number"
    if isinstance(rate, bool):
        raise AnalysisError(problem)
    try:
        value = Decimal(str(rate).strip())
    except (InvalidOperation, ValueError):
        raise AnalysisError(problem) from None
    if value.is_nan() or not value.is_finite():
        raise AnalysisError(f"rates: {rate!r} for {currency} is not a finite number")
    if value <= 0:
        raise AnalysisError(problem)
    return value
