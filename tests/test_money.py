"""Money is exact: unit tests of ppnb.money and Hypothesis properties of the emulator's math.

The reference arithmetic here uses :class:`fractions.Fraction` and integer minor units, so it
shares no code (and no Decimal context) with the emulator it checks.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from helpers import Api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppnb.money import (
    CURRENCY_DECIMALS,
    MoneyError,
    format_amount,
    from_minor,
    parse_amount,
    to_minor,
)


def test_parse_amount_is_exact_and_respects_currency_decimals() -> None:
    assert parse_amount("10.50", "USD") == Decimal("10.50")
    assert parse_amount("1500", "JPY") == Decimal(1500)
    assert parse_amount("1.00", "JPY") == Decimal(1)  # trailing zeros are not precision
    for bad, currency, reason in [("1.5", "JPY", "precision"), ("0.001", "USD", "precision"),
                                  ("1e3", "USD", "syntax"), ("", "USD", "syntax"),
                                  ("1", "XYZ", "currency"), ("--1", "USD", "syntax"),
                                  ("\uff11\uff10", "USD", "syntax"), ("\u0663", "JPY", "syntax"),
                                  ("10\n", "USD", "syntax"), (" 10", "USD", "syntax")]:
        with pytest.raises(MoneyError) as caught:
            parse_amount(bad, currency)
        assert caught.value.reason == reason


def test_minor_units_round_trip() -> None:
    assert to_minor("10.05", "USD") == 1005
    assert to_minor("1500", "JPY") == 1500
    assert from_minor(1005, "USD") == Decimal("10.05")
    assert format_amount(Decimal("3"), "EUR") == "3.00"
    assert format_amount(Decimal("2.5"), "JPY") == "3"  # half-up
    with pytest.raises(MoneyError):
        to_minor(Decimal("0.001"), "USD")


def test_jpy_huf_twd_are_whole_unit_currencies() -> None:
    assert {c for c, d in CURRENCY_DECIMALS.items() if d == 0} == {"JPY", "HUF", "TWD"}


# --- the emulator's invoice arithmetic -------------------------------------------------------


def _half_up(value: Fraction, places: int) -> Fraction:
    """Round to ``places`` decimals, halves away from zero (PayPal's rounding)."""
    scale = 10**places
    scaled = value * scale
    sign = -1 if scaled < 0 else 1
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return Fraction(sign * whole, scale)


def _text(value: Fraction, places: int) -> str:
    scaled = value * 10**places
    assert scaled.denominator == 1
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    return sign + (digits[:-places] + "." + digits[-places:] if places else digits)


def reference_total(invoice: dict[str, Any], places: int) -> Fraction:
    """Total of an invoice per the documented rules, in exact rationals."""
    lines = []
    for item in invoice["items"]:
        amount = _half_up(Fraction(item["quantity"]) * Fraction(item["unit_amount"]["value"]),
                          places)
        discount = Fraction(0)
        if "discount" in item:
            discount = _half_up(amount * Fraction(item["discount"]["percent"]) / 100, places)
        rate = Fraction(item["tax"]["percent"]) if "tax" in item else None
        lines.append((amount, discount, rate))
    net = sum((a - d for a, d, _ in lines), Fraction(0))
    breakdown = invoice.get("amount", {}).get("breakdown", {})
    invoice_discount = Fraction(0)
    if "discount" in breakdown:
        invoice_discount = _half_up(
            net * Fraction(breakdown["discount"]["invoice_discount"]["percent"]) / 100, places)
    tax = Fraction(0)
    for amount, discount, rate in lines:
        if rate is not None:
            base = amount - discount
            if net:
                base -= invoice_discount * (amount - discount) / net
            tax += _half_up(base * rate / 100, places)
    shipping = Fraction(breakdown["shipping"]["amount"]["value"]) if "shipping" in breakdown \
        else Fraction(0)
    custom = Fraction(breakdown["custom"]["amount"]["value"]) if "custom" in breakdown \
        else Fraction(0)
    return net - invoice_discount + tax + shipping + custom


def _money(currency: str, places: int, low: int, high: int) -> st.SearchStrategy[dict]:
    return st.integers(low, high).map(
        lambda minor: {"currency_code": currency, "value": _text(Fraction(minor, 10**places),
                                                                  places)})


@st.composite
def invoices(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    currency = draw(st.sampled_from(["USD", "EUR", "GBP", "JPY", "HUF"]))
    places = CURRENCY_DECIMALS[currency]
    percent = st.integers(0, 100_000).map(lambda n: _text(Fraction(n, 1000), 3))
    items = []
    for _ in range(draw(st.integers(1, 6))):
        item: dict[str, Any] = {
            "name": "thing",
            "quantity": _text(Fraction(draw(st.integers(1, 10**7)), 10**5), 5),
            "unit_amount": draw(_money(currency, places, 0, 5 * 10**(places + 4))),
        }
        if draw(st.booleans()):
            item["tax"] = {"name": "VAT", "percent": draw(percent)}
        if draw(st.booleans()):
            item["discount"] = {"percent": draw(percent)}
        items.append(item)
    invoice: dict[str, Any] = {"detail": {"currency_code": currency}, "items": items}
    breakdown: dict[str, Any] = {}
    if draw(st.booleans()):
        breakdown["discount"] = {"invoice_discount": {"percent": draw(percent)}}
    if draw(st.booleans()):
        breakdown["shipping"] = {"amount": draw(_money(currency, places, 0, 10**(places + 3)))}
    if draw(st.booleans()):
        breakdown["custom"] = {"label": "Handling",
                               "amount": draw(_money(currency, places, 0, 10**(places + 2)))}
    if breakdown:
        invoice["amount"] = {"breakdown": breakdown}
    return currency, invoice


def _all_money(value: Any) -> list[dict[str, str]]:
    if isinstance(value, dict):
        found = [value] if set(value) == {"currency_code", "value"} else []
        return found + [m for v in value.values() for m in _all_money(v)]
    if isinstance(value, list):
        return [m for v in value for m in _all_money(v)]
    return []


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=invoices())
def test_server_totals_match_exact_reference(api: Api, case: tuple[str, dict]) -> None:
    currency, body = case
    places = CURRENCY_DECIMALS[currency]
    response = api.post("/v2/invoicing/invoices", body)
    if response.status_code == 422:  # only a negative total may be refused
        assert response.json()["details"][0]["issue"] == "INVALID_TOTAL_AMOUNT"
        assert reference_total(body, places) < 0
        return
    assert response.status_code == 201, response.text
    invoice = response.json()
    expected = reference_total(body, places)
    assert invoice["amount"]["value"] == _text(expected, places)
    assert invoice["due_amount"]["value"] == _text(expected, places)
    # every amount the server writes has exactly the currency's decimals
    for money in _all_money(invoice):
        assert money["currency_code"] == currency
        assert ("." in money["value"]) == (places > 0)
        if places:
            assert len(money["value"].split(".")[1]) == places
    # the breakdown adds up to the total; discounts are reported negative, as PayPal does
    b = invoice["amount"]["breakdown"]
    discounts = [Fraction(b.get("discount", {}).get("item_discount", {}).get("value", "0")),
                 Fraction(b.get("discount", {}).get("invoice_discount", {}).get("amount", {})
                          .get("value", "0"))]
    assert all(d <= 0 for d in discounts)
    parts = Fraction(b["item_total"]["value"]) + Fraction(b["tax_total"]["value"])
    parts += sum(discounts)
    parts += Fraction(b.get("shipping", {}).get("amount", {}).get("value", "0"))
    parts += Fraction(b.get("custom", {}).get("amount", {}).get("value", "0"))
    assert parts == expected


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 9_999), min_size=1, max_size=5, unique=True),
       currency=st.sampled_from(["USD", "JPY"]))
def test_partial_payments_sum_exactly(api: Api, cuts: list[int], currency: str) -> None:
    places = CURRENCY_DECIMALS[currency]
    unit = "100.00" if places else "10000"
    invoice = api.sent(currency=currency, items=[
        {"name": "x", "quantity": "1", "unit_amount": {"currency_code": currency, "value": unit}}])
    total_minor = to_minor(invoice["amount"]["value"], currency)
    bounds = [0, *sorted(c * total_minor // 10_000 for c in cuts), total_minor]
    parts = [b - a for a, b in itertools.pairwise(bounds) if b > a]
    paid = 0
    for part in parts:
        response = api.pay(invoice["id"], format_amount(from_minor(part, currency), currency),
                           currency)
        assert response.status_code == 200, response.text
        paid += part
        state = api.invoice(invoice["id"])
        assert to_minor(state["payments"]["paid_amount"]["value"], currency) == paid
        assert to_minor(state["due_amount"]["value"], currency) == total_minor - paid
    assert state["status"] == "MARKED_AS_PAID"
