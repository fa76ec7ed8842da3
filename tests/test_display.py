"""``.ppnb.view()``: exact tables shown as money, percentages and dates a person reads."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ppnb  # registers the accessor
from ppnb.analysis import aging, kpis, roll_rates
from ppnb.display import cell_text, declare
from ppnb.frames import Tables, flatten

sys.path.insert(0, str(Path(__file__).parent))
from test_analysis_aging import invoice  # one invoice as the API returns it


def test_money_takes_its_rows_currency_and_its_decimals() -> None:
    frame = pd.DataFrame({"currency": ["USD", "JPY", "EUR", "USD"],
                          "open_minor": [2836207, 4947658, -5, 0],
                          "open": [28362.07, 4947658.0, -0.05, 0.0]})
    view = frame.ppnb.view()
    assert list(view.columns) == ["currency", "open"]  # the float twin is not shown twice
    assert view["open"].tolist() == ["28,362.07 USD", "4,947,658 JPY", "-0.05 EUR", "0.00 USD"]
    assert frame["open_minor"].tolist()[0] == 2836207  # the frame itself stays exact


def test_percentages_dates_and_numbers_read_as_such() -> None:
    frame = pd.DataFrame({
        "currency": ["USD"], "pct_current": [58.091926], "on_time_share": [0.709677],
        "due_date": pd.to_datetime(["2025-01-15"]), "oldest_days_past_due": [431.0],
        "created": pd.to_datetime(["2025-01-15T09:30:00Z"]), "open_invoices": [12345],
        "risk": ["high"], "missing": [np.nan]})
    row = frame.ppnb.view().iloc[0].to_dict()
    assert row == {"currency": "USD", "% current": "58.1 %", "on_time_share": "71.0 %",
                   "due_date": "2025-01-15", "oldest_days_past_due": "431.0",
                   "created": "2025-01-15 09:30 UTC", "open_invoices": "12,345",
                   "risk": "high", "missing": ""}


def test_declared_kinds_win_and_bad_ones_are_refused() -> None:
    frame = declare(pd.DataFrame({"currency": ["GBP"], "total": [150], "cei": [98.96]}),
                    total="money", cei="pct")
    assert frame.sort_values("total").head(1).ppnb.view().iloc[0].tolist() == [
        "GBP", "1.50 GBP", "99.0 %"]  # the declaration survives sorting and slicing
    with pytest.raises(ValueError, match="unknown display kinds"):
        declare(frame, total="dollars")


def invoices() -> list[dict]:
    """Three invoices in USD, JPY and EUR (one partly paid), as the API returns them."""
    return [
        invoice("A", 131693, invoice_date="2025-03-01", due_date="2025-03-20"),
        invoice("B", 500000, currency="JPY", invoice_date="2024-12-01", due_date="2024-12-15",
                email="b@example.com"),
        invoice("C", 1000, currency="EUR", invoice_date="2025-01-10", due_date="2025-02-10",
                payments=[("2025-02-01", 400)], status="PARTIALLY_PAID",
                email="c@example.com"),
    ]


def book() -> Tables:
    return flatten(invoices())


def test_aging_totals_stand_side_by_side_never_added() -> None:
    aged = aging(book(), dt.date(2025, 3, 31))
    side = aged.totals.ppnb.view(side_by_side=True)
    assert list(side.columns) == ["EUR", "JPY", "USD"]
    assert side.loc["total"].tolist() == ["6.00 EUR", "500,000 JPY", "1,316.93 USD"]
    assert side.loc["1-30", "USD"] == "1,316.93 USD" and side.loc["91+", "JPY"] == "500,000 JPY"
    assert side.loc["% 1-30", "USD"] == "100.0 %"
    summary = aged.summary.sort_values("total").ppnb.view()
    assert "6.00 EUR" in summary["total"].tolist()
    with pytest.raises(ValueError, match="one row per currency"):
        aged.summary.assign(currency="USD").ppnb.view(side_by_side=True)


def test_kpis_and_roll_rates_show_money_and_shares() -> None:
    tables = book()
    kpi = kpis(tables, "2025-01-01", "2025-03-31").set_index("currency")
    shown = kpis(tables, "2025-01-01", "2025-03-31").ppnb.view().set_index("currency")
    assert shown.loc["USD", "ending_ar"] == "1,316.93 USD"
    assert shown.loc["USD", "start"] == "2025-01-01"
    assert shown.loc["EUR", "cei"] == f"{kpi.loc['EUR', 'cei']:.1f} %"
    rolls = roll_rates(tables, ["2025-01-31", "2025-02-28", "2025-03-31"])
    rates = rolls.rates.ppnb.view()
    assert all(cell.endswith(" %") or cell == "" for cell in rates.to_numpy().ravel())
    amounts = rolls.amounts.ppnb.view()
    assert any(cell.endswith(" EUR") for cell in amounts.to_numpy().ravel())


def test_cell_text_for_money_without_a_currency_says_minor_units() -> None:
    assert cell_text(123456, "money", None) == "123,456 (minor units)"
    assert ppnb.display.format_money(123456, "USD") == "1,234.56"


def test_visible_shows_what_would_act_instead_of_showing() -> None:
    from ppnb.display import visible

    assert visible("Acme\x1b[31mRed\x07\u202eevil\ttab\nline\r\x00\u2066x\u2069") == (
        "Acme\\x1b[31mRed\\x07\\u202eevil\\ttab\\nline\\r\\x00\\u2066x\\u2069")
    assert visible("a\u200bb\x9b1m\ufeff") == "a\\u200bb\\x9b1m\\ufeff"  # zero-width, C1
    kept = "Zürich 東京 مرحبا שלום 👩‍💻 café"  # any script, and a joined emoji, are kept
    assert visible(kept) == kept
