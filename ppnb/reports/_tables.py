"""The tables the formats share: columns, cell text, customers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from ..money import from_minor
from ._book import _Book


def format_money(minor: int, currency: str) -> str:
    """``123456`` USD → ``"1,234.56"``: an exact amount with thousands separators."""
    return f"{from_minor(int(minor), currency):,}"



# (header, column, kind): kind is text, date, money, int, days (1 decimal), pct (0-1 share)
Column = tuple[str, str, str]


def _detail_columns() -> list[Column]:
    return [("Number", "number", "text"), ("Invoice id", "id", "text"),
            ("Customer", "customer", "text"), ("Customer name", "customer_name", "text"),
            ("Currency", "currency", "text"), ("Invoice date", "invoice_date", "date"),
            ("Due date", "due_date", "date"), ("Total", "total_minor", "money"),
            ("Paid", "paid_minor", "money"), ("Outstanding", "outstanding_minor", "money"),
            ("Days past due", "days_past_due", "int"), ("Bucket", "bucket", "text")]


def _summary_columns(book: _Book, keys: Sequence[str]) -> list[Column]:
    labels = book.labels
    return ([(k.replace("_", " ").capitalize(), k, "text") for k in keys]
            + [("Currency", "currency", "text")]
            + [(label, label, "money") for label in labels]
            + [("Total", "total", "money")]
            + [(f"% {label}", f"pct_{label}", "pct") for label in labels])


_KPI_COLUMNS: list[Column] = [
    ("Currency", "currency", "text"), ("Start", "start", "date"), ("End", "end", "date"),
    ("Days", "days", "int"), ("Beginning AR", "beginning_ar_minor", "money"),
    ("Ending AR", "ending_ar_minor", "money"),
    ("Ending current AR", "ending_current_ar_minor", "money"),
    ("Credit sales", "credit_sales_minor", "money"), ("Net sales", "net_sales_minor", "money"),
    ("DSO (simple)", "dso_simple", "days"), ("DSO (count-back)", "dso_countback", "days"),
    ("Best possible DSO", "best_dso", "days"), ("ADD", "add", "days"),
    ("CEI %", "cei", "days"), ("Invoices paid", "paid_invoices", "int"),
    ("Avg days to pay", "avg_days_to_pay", "days"),
    ("Avg days to pay (weighted)", "avg_days_to_pay_weighted", "days"),
    ("Avg days late", "avg_days_late", "days"),
    ("Avg days late (weighted)", "avg_days_late_weighted", "days"),
    ("On time %", "on_time_pct", "days"),
]


def _shares(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """The analysis' ``pct_`` columns (percent) as fractions, the form Excel's ``0.0%``
    format and :func:`_cell_text` expect."""
    return frame.assign(**{f"pct_{label}": frame[f"pct_{label}"] / 100 for label in labels})


def _cell_text(value: Any, kind: str, currency: str | None) -> str:
    """One table cell as text for the HTML and PDF reports."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "money":
        return format_money(int(value), str(currency))
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if kind == "int":
        return f"{int(value):,}"
    if kind == "days":
        return f"{float(value):,.1f}"
    if kind == "pct":
        return f"{float(value):.1%}"
    return str(value)


def _text_rows(frame: pd.DataFrame, columns: Sequence[Column]) -> list[list[str]]:
    currency = frame["currency"] if "currency" in frame.columns else [None] * len(frame)
    return [[_cell_text(row[name], kind, cur) for _, name, kind in columns]
            for (_, row), cur in zip(frame.iterrows(), currency, strict=True)]


def _customers(book: _Book) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each customer's open invoices: by currency (alphabetical), largest balance first
    within it; a customer owing in several currencies comes once, at its first place.
    Invoices without a customer email are gathered under one heading."""
    detail = book.aging.detail
    if detail.empty:
        return
    detail = detail.assign(customer=detail["customer"].fillna("(no customer email)"))
    balances = (detail.groupby(["currency", "customer"])["outstanding_minor"].sum()
                .reset_index().sort_values(["currency", "outstanding_minor"],
                                           ascending=[True, False]))
    for customer in dict.fromkeys(balances["customer"]):
        rows = detail[detail["customer"] == customer]
        name = rows["customer_name"].iloc[0]
        heading = f"{name} ({customer})" if not pd.isna(name) and name != customer \
            else str(customer)
        yield heading, rows


def _owed(rows: pd.DataFrame) -> str:
    """A customer's open balance per currency, e.g. ``USD 1,234.50; EUR 80.00``."""
    sums = rows.groupby("currency")["outstanding_minor"].sum()
    return "; ".join(f"{cur} {format_money(int(m), str(cur))}" for cur, m in sums.items())
