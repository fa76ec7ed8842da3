"""Invoice arithmetic, done the way PayPal documents it, in exact Decimals.

For an invoice in currency C (rounding half-up to C's minor unit at each line):

* line amount = quantity × unit_amount
* item discount = line amount × percent / 100, or the given amount
* invoice discount = (Σ lines − Σ item discounts) × percent / 100, or the given amount
* item tax = taxable base × tax percent / 100, where the taxable base is the line after its
  own discount and, when ``tax_calculated_after_discount`` (the default), after its pro-rata
  share of the invoice discount. With ``tax_inclusive`` the tax is the part of the base that
  is tax (``base − base / (1 + rate)``) and is not added again.
* shipping tax = shipping × percent / 100; ``tax_total`` includes it.
* total = item_total − item discounts − invoice discount + tax (unless inclusive) + shipping
  + custom amount.

The server computes all of this; amounts a client sends in ``amount`` are ignored, except the
inputs: invoice discount, shipping and the custom amount. The emulator computes totals with
this module, and the invoice form shows the same total before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import PPNBError
from .money import MoneyError, decimals, format_amount, parse_amount, quantize

__all__ = ["Problem", "TotalsError", "compute"]

_LIMIT = Decimal(1_000_000)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Problem:
    """One amount that cannot be used: where (a JSON pointer), PayPal's issue name, and why."""

    issue: str
    description: str
    field: str
    value: Any = None


class TotalsError(ValueError, PPNBError):
    """The amounts cannot make an invoice.

    ``status`` is the HTTP status PayPal answers with (400 for unreadable amounts, 422 for a
    negative total) and ``problems`` lists each amount at fault (at most ten).
    """

    def __init__(self, status: int, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.description}" for p in problems))
        self.status = status
        self.problems = problems


class _Reader:
    """Reads money and numbers from a validated body, collecting every problem."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.details: list[Problem] = []

    def _fail(self, path: str, issue: str, description: str, value: Any) -> Decimal:
        self.details.append(Problem(issue, description, path, value))
        return Decimal(0)

    def money(self, money: dict[str, Any], path: str, *, signed: bool = True) -> Decimal:
        code, value = money.get("currency_code"), money.get("value")
        if code != self.currency:
            return self._fail(
                f"{path}/currency_code", "CURRENCY_MISMATCH",
                f"The currency must be the invoice currency, {self.currency}.", code,
            )
        try:
            amount = parse_amount(value, code)
        except MoneyError as exc:
            places = decimals(code)
            description = (
                f"{code} amounts take no decimal places." if places == 0
                else f"{code} amounts take at most {places} decimal places."
            ) if exc.reason == "precision" else str(exc)
            return self._fail(f"{path}/value", "DECIMAL_PRECISION", description, value)
        if abs(amount) > _LIMIT or (not signed and amount < 0):
            bounds = "-1000000 to 1000000" if signed else "0 to 1000000"
            return self._fail(
                f"{path}/value", "INVALID_PARAMETER_VALUE", f"The value must be from {bounds}.",
                value,
            )
        return amount

    def number(self, text: str, path: str, *, places: int, low: Decimal, high: Decimal) -> Decimal:
        try:
            value = parse_amount(text, "USD", places=places)
        except MoneyError:
            return self._fail(
                path, "INVALID_PARAMETER_VALUE",
                f"The value must be a number with at most {places} decimal places.", text,
            )
        if not low <= value <= high:
            return self._fail(
                path, "INVALID_PARAMETER_VALUE", f"The value must be from {low} to {high}.", text
            )
        return value

    def percent(self, text: str, path: str) -> Decimal:
        return self.number(text, path, places=5, low=Decimal(0), high=_HUNDRED)


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": format_amount(amount, currency)}


def compute(invoice: dict[str, Any], currency: str) -> Decimal:
    """Fill in every computed amount of ``invoice`` in place and return its total.

    Raises
    ------
    TotalsError
        Status 400 listing each amount that is in another currency, has too many decimals for the
        currency, or is out of range.
    """
    read = _Reader(currency)
    q = lambda value: quantize(value, currency)  # noqa: E731
    config = invoice.get("configuration") or {}
    after_discount = config.get("tax_calculated_after_discount", True)
    inclusive = config.get("tax_inclusive", False)

    lines = []
    for i, item in enumerate(invoice.get("items") or []):
        path = f"/items/{i}"
        qty = read.number(
            item["quantity"], f"{path}/quantity", places=5, low=-_LIMIT, high=_LIMIT
        )
        unit = read.money(item["unit_amount"], f"{path}/unit_amount")
        amount = q(qty * unit)
        discount = Decimal(0)
        if item.get("discount"):
            d = item["discount"]
            if "percent" in d:
                discount = q(amount * read.percent(d["percent"], f"{path}/discount/percent")
                             / _HUNDRED)
            elif "amount" in d:
                discount = read.money(d["amount"], f"{path}/discount/amount", signed=False)
            d["amount"] = _money(discount, currency)
        rate = read.percent(item["tax"]["percent"], f"{path}/tax/percent") if item.get(
            "tax") else None
        lines.append((item, amount, discount, rate))

    item_total = sum((amount for _, amount, _, _ in lines), Decimal(0))
    item_discounts = sum((discount for _, _, discount, _ in lines), Decimal(0))
    net_total = item_total - item_discounts

    breakdown = ((invoice.get("amount") or {}).get("breakdown")) or {}
    invoice_discount = Decimal(0)
    inv_disc = (breakdown.get("discount") or {}).get("invoice_discount")
    if inv_disc:
        if "percent" in inv_disc:
            pct = read.percent(inv_disc["percent"], "/amount/breakdown/discount/invoice_discount")
            invoice_discount = q(net_total * pct / _HUNDRED)
        elif "amount" in inv_disc:
            invoice_discount = read.money(
                inv_disc["amount"], "/amount/breakdown/discount/invoice_discount/amount",
                signed=False,
            )

    tax_total = Decimal(0)
    for item, amount, discount, rate in lines:
        if rate is None:
            continue
        base = amount - discount
        if after_discount and net_total:
            base -= invoice_discount * (amount - discount) / net_total
        elif not after_discount:
            base = amount
        tax = q(base - base / (1 + rate / _HUNDRED)) if inclusive else q(base * rate / _HUNDRED)
        item["tax"]["amount"] = _money(tax, currency)
        tax_total += tax

    shipping_total = Decimal(0)
    shipping = breakdown.get("shipping")
    if shipping:
        if shipping.get("amount"):
            shipping_total = read.money(
                shipping["amount"], "/amount/breakdown/shipping/amount", signed=False
            )
        if shipping.get("tax"):
            rate = read.percent(shipping["tax"]["percent"],
                                "/amount/breakdown/shipping/tax/percent")
            ship_tax = q(shipping_total * rate / _HUNDRED)
            shipping["tax"]["amount"] = _money(ship_tax, currency)
            tax_total += ship_tax

    custom_total = Decimal(0)
    custom = breakdown.get("custom")
    if custom and custom.get("amount"):
        custom_total = read.money(custom["amount"], "/amount/breakdown/custom/amount")

    if read.details:
        raise TotalsError(400, read.details[:10])

    total = item_total - item_discounts - invoice_discount + shipping_total + custom_total
    if not inclusive:
        total += tax_total
    if total < 0:
        raise TotalsError(422, [Problem(
            "INVALID_TOTAL_AMOUNT", "The invoice total cannot be negative.", "/amount/value",
            format_amount(total, currency),
        )])

    out: dict[str, Any] = {"item_total": _money(item_total, currency)}
    if item_discounts or inv_disc:
        out["discount"] = {"item_discount": _money(item_discounts, currency)}
        if inv_disc:
            out["discount"]["invoice_discount"] = {**inv_disc,
                                                   "amount": _money(invoice_discount, currency)}
    out["tax_total"] = _money(tax_total, currency)
    if shipping:
        out["shipping"] = {**shipping, "amount": _money(shipping_total, currency)}
    if custom:
        out["custom"] = {**custom, "amount": _money(custom_total, currency)}
    invoice["amount"] = {
        "currency_code": currency,
        "value": format_amount(total, currency),
        "breakdown": out,
    }
    return total
