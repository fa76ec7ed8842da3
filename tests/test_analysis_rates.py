"""Converted totals: ``Rates`` (a date, a target currency, exact rates), the aging's converted
tables, and the converted figure in ``.ppnb.view()``; bad rates refused with a clear error."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_analysis_aging import invoice  # one invoice as the API returns it
from test_display import invoices

import ppnb  # registers the accessor
from ppnb.analysis import AnalysisError, Rates, aging, roll_rates
from ppnb.frames import Tables, flatten
from ppnb.money import from_minor

D = dt.date(2025, 3, 31)
RATES_DAY = dt.date(2025, 3, 28)


def book() -> Tables:
    """The display tests' three invoices and a second EUR one of A's customer."""
    return flatten([*invoices(),
                    invoice("D", 250, currency="EUR", invoice_date="2025-03-25",
                            due_date="2025-04-25", email="a@example.com")])


USD = Rates(RATES_DAY, "USD", {"EUR": "1.0842", "JPY": "0.00667"})


@pytest.mark.parametrize(("target", "rates", "message"), [
    ("USD", {"EUR": 0}, r"0 for EUR is not a positive number"),
    ("USD", {"EUR": "-1.08"}, r"'-1.08' for EUR is not a positive number"),
    ("USD", {"EUR": float("nan")}, r"nan for EUR is not a finite number"),
    ("USD", {"EUR": Decimal("NaN")}, r"for EUR is not a finite number"),
    ("USD", {"EUR": float("inf")}, r"inf for EUR is not a finite number"),
    ("USD", {"EUR": "1,08"}, r"'1,08' for EUR is not a positive number"),
    ("USD", {"EUR": True}, r"True for EUR is not a positive number"),
    ("USD", {"EUR": None}, r"None for EUR is not a positive number"),
    ("USD", {"EURO": "1.08"}, r"'EURO' is not a currency code PayPal supports"),
    ("XYZ", {"EUR": "1.08"}, r"target currency: 'XYZ' is not a currency code"),
    ("USD", {"USD": "1.01"}, r"target currency USD must have rate 1, not 1.01"),
    ("USD", pd.DataFrame({"currency": ["EUR", "EUR"], "rate": [1, 2]}), r"EUR is given twice"),
    ("USD", pd.DataFrame({"code": ["EUR"], "value": [1]}), r"'currency' and 'rate' columns"),
    ("USD", [("EUR", 1)], r"expected Rates, a mapping, a Series or a DataFrame, got list"),
])
def test_bad_rates_are_refused_saying_what_is_wrong(target: str, rates: Any,
                                                   message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        Rates(RATES_DAY, target, rates)


def test_the_rates_date_is_required_and_read_as_a_date() -> None:
    with pytest.raises(AnalysisError, match="rates date: '28/03/2025' is not a date"):
        Rates("28/03/2025", "USD", {"EUR": 1})
    with pytest.raises(AnalysisError, match="rates date: None is not a date"):
        Rates(None, "USD", {"EUR": 1})
    assert Rates("2025-03-28", "USD", {}).date == RATES_DAY
    assert Rates(dt.datetime(2025, 3, 28, 23, 0), "USD", {}).date == RATES_DAY


def test_rates_are_exact_and_say_what_they_are() -> None:
    rates = Rates(RATES_DAY, "USD", pd.Series({"EUR": 1.08, "JPY": "0.00667", "USD": 1}))
    assert rates.rates == {"EUR": Decimal("1.08"), "JPY": Decimal("0.00667"), "USD": 1}
    assert rates.label == "USD at rates of 2025-03-28"
    assert rates.describe() == "1 EUR = 1.08 USD; 1 JPY = 0.00667 USD"
    assert repr(rates) == "Rates(USD at rates of 2025-03-28: EUR: 1.08, JPY: 0.00667)"
    # products are exact and rounded once, after summing: 1.005 + 1.005 = 2.01, not 2.02
    assert Rates(RATES_DAY, "USD", {"EUR": "1.005"}).convert([(100, "EUR"), (100, "EUR")]) \
        == 201
    # into a currency without decimals: 1.00 USD at 150.5 JPY is 151 JPY (150.5 half up)
    assert Rates(RATES_DAY, "JPY", {"USD": "150.5"}).convert([(100, "USD")]) == 151
    with pytest.raises(AnalysisError, match=r"no rate for GBP \(rates of 2025-03-28 into USD"):
        rates.convert([(100, "GBP")])


def test_aging_with_rates_converts_each_group_and_the_totals() -> None:
    aged = aging(book(), D, rates=USD)
    assert aged.rates is USD
    converted = aged.converted.set_index("customer")
    assert list(aged.converted.columns) == ["customer", "customer_name", "currency", *aged.labels,
                                            "total", "rates_date"]
    assert set(converted["currency"]) == {"USD"}
    assert (converted["rates_date"] == pd.Timestamp(RATES_DAY)).all()
    # a@example.com owes 1,316.93 USD and 2.50 EUR: 1316.93 + 2.50 × 1.0842 = 1319.6405
    assert converted.loc["a@example.com", "total"] == 131964
    assert converted.loc["a@example.com", "current"] == 271  # 2.71 (2.7105) USD, not yet due
    assert converted["total"].dtype == np.int64
    [total] = aged.converted_totals.to_dict("records")
    exact = sum(from_minor(int(r["total"]), r["currency"]) * USD.rates[r["currency"]]
                for r in aged.totals.to_dict("records"))
    assert total["total"] == int(exact.quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)
    assert (total["currency"], total["rates_date"]) == ("USD", pd.Timestamp(RATES_DAY))
    # the totals themselves stay per currency, never converted in place
    assert sorted(aged.totals["currency"]) == ["EUR", "JPY", "USD"]
    assert aging(book(), D).converted_totals is None


def test_the_view_shows_the_converted_total_only_with_rates() -> None:
    aged = aging(book(), D, rates=USD)
    side = aged.totals.ppnb.view(side_by_side=True)
    assert list(side.columns) == ["EUR", "JPY", "USD", "USD at rates of 2025-03-28"]
    [total] = aged.converted_totals.to_dict("records")
    shown = side["USD at rates of 2025-03-28"]
    assert shown["total"] == f"{from_minor(total['total'], 'USD'):,} USD"
    assert shown["91+"] == "3,335.00 USD"  # 500,000 JPY × 0.00667
    assert shown["% 91+"] == ""  # shares of a converted figure are not made up
    long = aged.totals.ppnb.view()
    assert long.loc["USD at rates of 2025-03-28", "currency"] == "USD at rates of 2025-03-28"
    assert long.loc["USD at rates of 2025-03-28", "total"] == shown["total"]
    # a view of some currencies converts what it shows
    eur = aged.totals[aged.totals["currency"] == "EUR"].ppnb.view(side_by_side=True)
    assert eur.loc["total", "USD at rates of 2025-03-28"] == "9.22 USD"  # 8.50 × 1.0842 = 9.2157
    # into yen: no decimals
    yen = aging(book(), D, rates=Rates(RATES_DAY, "JPY", {"EUR": "163", "USD": "150"}))
    assert yen.totals.ppnb.view(side_by_side=True).loc["total", "JPY at rates of 2025-03-28"] \
        == "698,925 JPY"  # 500,000 + 8.50 × 163 + 1,316.93 × 150 = 500,000 + 1,385.5 + 197,539.5
    plain = aging(book(), D).totals.ppnb.view(side_by_side=True)
    assert list(plain.columns) == ["EUR", "JPY", "USD"]
    assert not any("at rates of" in str(c) for c in aging(book(), D).totals.ppnb.view()
                   .to_numpy().ravel())


def test_to_json_carries_the_converted_block_only_with_rates() -> None:
    data = aging(book(), D, by="none", rates=USD).to_json()
    converted = data["converted"]
    assert (converted["currency"], converted["rates_date"]) == ("USD", "2025-03-28")
    assert converted["rates"] == {"EUR": "1.0842", "JPY": "0.00667", "USD": "1"}
    assert converted["totals"][0]["total"] == converted["rows"][0]["total"]
    assert "converted" not in aging(book(), D).to_json()


def test_results_that_are_not_dataframes_say_what_they_are() -> None:
    aged = aging(book(), D, rates=USD)
    text = repr(aged)
    assert text.startswith("<Aging as of 2025-03-31, due_date basis")
    assert "4 open invoices in EUR, JPY, USD" in text and "USD at rates of 2025-03-28" in text
    assert "Tables: summary, totals, detail, converted, converted_totals" in text
    assert len(text) < 400  # not a dump of its tables
    rolls = repr(roll_rates(book(), ["2025-01-31", "2025-02-28", "2025-03-31"]))
    assert rolls.startswith("<RollRates from 2025-01-31 to 2025-03-31:")
    assert rolls.endswith("Tables: amounts, rates, expected_collection, transitions>")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["USD", "EUR", "JPY", "HUF", "GBP"]),
                          st.integers(1, 10**14)), min_size=1, max_size=12),
       st.dictionaries(st.sampled_from(["USD", "EUR", "JPY", "HUF", "GBP"]),
                       st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000),
                                   places=4), min_size=5, max_size=5),
       st.sampled_from(["USD", "JPY"]))
def test_converted_total_is_the_exact_sum_rounded_once(
        amounts: list[tuple[str, int]], rates: dict[str, Decimal], target: str) -> None:
    rates = {**rates, target: Decimal(1)}
    docs = [invoice(f"X{k}", minor, currency=currency, invoice_date="2025-01-01",
                    due_date="2025-01-31", email=f"c{k % 3}@example.com")
            for k, (currency, minor) in enumerate(amounts)]
    aged = aging(flatten(docs), D, rates=Rates(RATES_DAY, target, rates))
    exact = sum((from_minor(minor, c) * rates[c] for c, minor in amounts), Decimal(0))
    places = Decimal(1) if target == "JPY" else Decimal("0.01")
    expected = exact.quantize(places, ROUND_HALF_UP).scaleb(0 if target == "JPY" else 2)
    assert aged.converted_totals["total"].iloc[0] == int(expected)
    assert ppnb.display.cell_text(int(expected), "money", target) in \
        aged.totals.ppnb.view(side_by_side=True).loc["total"].tolist()
