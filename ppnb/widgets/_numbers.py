"""Numbers as people type them into the forms: amounts, quantities and percents.

PayPal takes ``1250.50``; people type ``1,250.50``. Commas between groups of three digits are
accepted and dropped, but only where they cannot be misread: ``1.250,50`` (a decimal comma),
``1,25`` and ``0,100`` (a comma that may be a decimal one) and ``1.250.000`` are refused with a
message that says what is wrong and how to write the number. A quantity or a price misread by
a factor of a thousand is worse than a refusal.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..money import MoneyError, decimals, parse_amount

#: PayPal's largest number of decimals in a quantity or a percent.
PLACES = 5
#: How a grouped number is written (shown in messages).
EXAMPLE = "1,250.50"
_HUNDRED = Decimal(100)
#: Commas between groups of exactly three digits, the first group not starting with 0.
_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?\Z")
#: A comma that reads as a decimal comma (``1.250,50``, ``1,25``, ``0,100``).
_DECIMAL_COMMA = re.compile(r"-?[0-9]+(?:\.[0-9]{3})*,[0-9]+\Z")
#: Only digits, separators and a leading minus: anything else is simply not a number.
_SEPARATED = re.compile(r"-?[0-9.,]+\Z")


class GroupingError(MoneyError):
    """A number whose commas or dots can be read more than one way; the message says what is
    wrong and how to write it (``reason`` is ``"syntax"``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "syntax")


def ungroup(text: str) -> str:
    """``text``, stripped, without its thousands separators (``"1,250.50"`` → ``"1250.50"``).

    Text that is not made of digits, commas and dots is returned as it is, for
    :func:`ppnb.money.parse_amount` to refuse.

    Raises
    ------
    GroupingError
        On a decimal comma (``1.250,50``, ``1,25``), commas not between groups of three digits
        (``12,0000,0``, ``,100``) or more than one dot (``1.250.000``).
    """
    text = text.strip()
    if not _SEPARATED.match(text) or ("," not in text and text.count(".") < 2):
        return text
    if _GROUPED.match(text):
        return text.replace(",", "")
    if _DECIMAL_COMMA.match(text):
        dotted = text.replace(".", "").replace(",", ".")
        if "." in text:
            raise GroupingError(
                f"{text!r} has a decimal comma: write {dotted} (a dot before the decimals, "
                f"commas only between groups of three digits, as in {EXAMPLE})")
        raise GroupingError(
            f"{text!r} is ambiguous: a comma only goes between groups of three digits (as in "
            f"{EXAMPLE}); for decimals write a dot ({dotted})")
    if "," not in text:
        raise GroupingError(f"{text!r} has more than one dot: a dot only goes before the "
                            "decimals, commas between groups of three digits (1,250,000.00)")
    raise GroupingError(f"{text!r}: commas only go between groups of three digits, as in "
                        f"{EXAMPLE}")


def plain(text: str) -> str:
    """What to send PayPal for a typed number: without its thousands separators when they
    are valid, else as typed (stripped), for PayPal to refuse."""
    try:
        return ungroup(text)
    except GroupingError:
        return text.strip()


def quantity(text: str) -> Decimal:
    """A positive quantity with at most 5 decimals (PayPal's rule)."""
    value = parse_amount(ungroup(text), "USD", places=PLACES)
    if value <= 0:
        raise MoneyError("must be more than 0", "range")
    return value


def percent(text: str) -> Decimal:
    """A percent from 0 to 100 with at most 5 decimals."""
    value = parse_amount(ungroup(text), "USD", places=PLACES)
    if not 0 <= value <= _HUNDRED:
        raise MoneyError("must be from 0 to 100", "range")
    return value


def money(text: str, currency: str) -> Decimal:
    """A positive amount with the currency's decimals (no 1.5 JPY)."""
    value = parse_amount(ungroup(text), currency)
    if value <= 0:
        raise MoneyError("must be more than 0", "range")
    return value


def why(exc: MoneyError, currency: str, places: int | None = None) -> str:
    """Why an amount (``places=None``: the currency's decimals) or a quantity or percent
    (``places=5``) was refused, in words that follow the field's name."""
    if isinstance(exc, GroupingError):
        return str(exc)
    if exc.reason == "precision":
        if places is not None:
            return f"takes at most {places} decimals"
        places = decimals(currency)
        return (f"takes no decimals in {currency}" if places == 0
                else f"takes at most {places} decimals in {currency}")
    if exc.reason == "syntax":
        return "is not a number"
    return str(exc)
