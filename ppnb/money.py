"""Exact money: the currencies PayPal accepts, their minor units, and Decimal helpers.

Every amount in ppnb is a :class:`decimal.Decimal` or an integer count of minor units
(cents, yen, ...). Floats never take part in arithmetic on money. The emulator, the
DataFrame builders and the analysis all read currency exponents from here, so a
currency's decimals are defined once.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ._errors import PPNBError

__all__ = [
    "CURRENCY_DECIMALS",
    "MoneyError",
    "decimals",
    "format_amount",
    "from_minor",
    "parse_amount",
    "quantize",
    "to_minor",
]

#: PayPal's supported currencies and their decimal places. HUF, JPY and TWD are
#: whole-unit currencies on PayPal.
CURRENCY_DECIMALS: dict[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2, "HKD": 2,
    "HUF": 0, "ILS": 2, "JPY": 0, "MYR": 2, "MXN": 2, "TWD": 0, "NZD": 2, "NOK": 2,
    "PHP": 2, "PLN": 2, "GBP": 2, "RUB": 2, "SGD": 2, "SEK": 2, "CHF": 2, "THB": 2,
    "USD": 2,
}  # fmt: skip

#: The spec's money pattern: ASCII digits only (``\d`` would admit any script's digits, which
#: ``Decimal`` accepts and PayPal refuses), and nothing after them (``$`` would admit "10\n").
_NUMBER = re.compile(r"-?([0-9]+|[0-9]*\.[0-9]+)\Z")


class MoneyError(ValueError, PPNBError):
    """An amount or currency that cannot be represented exactly.

    ``reason`` is one of ``"currency"``, ``"syntax"`` or ``"precision"``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def decimals(currency: str) -> int:
    """Return the number of minor-unit digits of ``currency``.

    Raises
    ------
    MoneyError
        If PayPal does not support the currency.
    """
    try:
        return CURRENCY_DECIMALS[currency]
    except (KeyError, TypeError):
        raise MoneyError(f"currency {currency!r} is not supported", "currency") from None


def parse_amount(value: str, currency: str, *, places: int | None = None) -> Decimal:
    """Parse a PayPal money string exactly.

    Parameters
    ----------
    value
        The string, e.g. ``"10.50"``. Numbers given as JSON floats are refused by
        callers before they get here: ``0.1`` has no exact binary value.
    currency
        ISO-4217 code; decides how many decimals are allowed.
    places
        Override for the number of decimals allowed (quantities allow 5).

    Raises
    ------
    MoneyError
        On an unknown currency, a malformed number, or more decimals than allowed
        (``1.5`` JPY).
    """
    allowed = decimals(currency) if places is None else places
    if not isinstance(value, str) or not _NUMBER.match(value):
        raise MoneyError(f"{value!r} is not a decimal number", "syntax")
    try:
        amount = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
        raise MoneyError(f"{value!r} is not a decimal number", "syntax") from None
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > allowed and amount != amount.quantize(Decimal(1).scaleb(-allowed)):
        raise MoneyError(
            f"{value} has more than {allowed} decimal place(s) for {currency}", "precision"
        )
    return amount


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-up to the currency's minor unit."""
    return amount.quantize(Decimal(1).scaleb(-decimals(currency)), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """Render ``amount`` with exactly the currency's decimals (``"10.50"``, ``"1500"``)."""
    return str(quantize(amount, currency))


def to_minor(amount: Decimal | str, currency: str) -> int:
    """Convert an exact amount to integer minor units; refuses to round."""
    value = amount if isinstance(amount, Decimal) else parse_amount(amount, currency)
    scaled = value.scaleb(decimals(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{value} is not a whole number of {currency} minor units", "precision")
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """Convert integer minor units back to an exact Decimal with the currency's decimals."""
    return Decimal(minor).scaleb(-decimals(currency))
