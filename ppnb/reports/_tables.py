"""The tables every format shares: which columns, shown how, and each customer's invoices."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from ..analysis import Aging
from ..display import cell_text

#: (header, column, kind): kind is one of :data:`ppnb.display.KINDS`: text, money, date,
#: datetime, int, number (one decimal), pct (0–100) or share (0–1).
Column = tuple[str, str, str]

DETAIL_COLUMNS: list[Column] = [
    ("Number", "number", "text"), ("Invoice id", "id", "text"),
    ("Customer", "customer", "text"), ("Customer name", "customer_name", "text"),
    ("Currency", "currency", "text"), ("Invoice date", "invoice_date", "date"),
    ("Due date", "due_date", "date"), ("Total", "total_minor", "money"),
    ("Paid", "paid_minor", "money"), ("Outstanding", "outstanding_minor", "money"),
    ("Days past due", "days_past_due", "int"), ("Bucket", "bucket", "text")]

#: One customer's invoices, under a heading that names the customer.
CUSTOMER_DETAIL_COLUMNS = [c for c in DETAIL_COLUMNS if c[1] not in ("customer",
                                                                       "customer_name")]

KPI_COLUMNS: list[Column] = [
    ("Currency", "currency", "text"), ("Start", "start", "date"), ("End", "end", "date"),
    ("Days", "days", "int"), ("Beginning AR", "beginning_ar_minor", "money"),
    ("Ending AR", "ending_ar_minor", "money"),
    ("Ending current AR", "ending_current_ar_minor", "money"),
    ("Credit sales", "credit_sales_minor", "money"), ("Net sales", "net_sales_minor", "money"),
    ("DSO (simple)", "dso_simple", "number"), ("DSO (count-back)", "dso_countback", "number"),
    ("Best possible DSO", "best_dso", "number"), ("ADD", "add", "number"),
    ("CEI", "cei", "pct"), ("Invoices paid", "paid_invoices", "int"),
    ("Avg days to pay", "avg_days_to_pay", "number"),
    ("Avg days to pay (weighted)", "avg_days_to_pay_weighted", "number"),
    ("Avg days late", "avg_days_late", "number"),
    ("Avg days late (weighted)", "avg_days_late_weighted", "number"),
    ("On time", "on_time_pct", "pct"),
]

#: Kinds shown right-aligned (numbers of any sort).
NUMERIC = {"money", "int", "number", "pct", "share"}


def summary_columns(labels: Sequence[str], keys: Sequence[str], *,
                    shares: bool = True) -> list[Column]:
    """The aging summary's columns: the group keys, currency, one money column per bucket,
    the total, then (with ``shares``) each bucket's percent of the total."""
    return ([(k.replace("_", " ").capitalize(), k, "text") for k in keys]
            + [("Currency", "currency", "text")]
            + [(label, label, "money") for label in labels]
            + [("Total", "total", "money")]
            + ([(f"% {label}", f"pct_{label}", "pct") for label in labels] if shares else []))


def converted_columns(labels: Sequence[str]) -> list[Column]:
    """The converted total's columns: the target currency, the buckets and the total in it,
    and the date of the rates."""
    return ([("Currency", "currency", "text")] + [(label, label, "money") for label in labels]
            + [("Total", "total", "money"), ("Rates of", "rates_date", "date")])


def converted_heading(aged: Aging) -> str:
    """What the converted total is: ``All currencies in USD at rates of 2025-06-30``."""
    assert aged.rates is not None
    return f"All currencies in {aged.rates.label}"


def rates_text(aged: Aging) -> str:
    """The rates of the converted total: ``Rates of 2025-06-30: 1 EUR = 1.08 USD; …``."""
    assert aged.rates is not None
    return f"Rates of {aged.rates.date}: {aged.rates.describe()}"


def group_heading(by: Sequence[str]) -> str:
    """``By customer`` for an aging grouped by customer (whose name rides along), else the
    keys it is grouped by."""
    keys = [k for k in by if not (k == "customer_name" and "customer" in by)]
    return "By " + (", ".join(k.replace("_", " ") for k in keys) or "currency")


def text_rows(frame: pd.DataFrame, columns: Sequence[Column]) -> list[list[str]]:
    """The frame's cells as a person reads them (:func:`ppnb.display.cell_text`)."""
    currency = frame["currency"].tolist() if "currency" in frame.columns else [None] * len(frame)
    values = [frame[name].tolist() for _, name, _ in columns]
    return [[cell_text(column[i], kind, currency[i])
             for column, (_, _, kind) in zip(values, columns, strict=True)]
            for i in range(len(frame))]


def kpi_rows(kpis: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The KPIs turned on their side, one column per currency (a row per figure), so the
    table fits a page however many figures there are: ``(header, rows)``."""
    figures = KPI_COLUMNS[1:]
    per_currency = text_rows(kpis, figures)
    rows = [[header, *(cells[i] for cells in per_currency)]
            for i, (header, _, _) in enumerate(figures)]
    return ["", *(str(c) for c in kpis["currency"])], rows


def customers(detail: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each customer's open invoices: by currency (alphabetical), largest balance first
    within it; a customer owing in several currencies comes once, at its first place.
    Invoices without a customer email are gathered under one heading."""
    if detail.empty:
        return
    detail = detail.assign(customer=detail["customer"].fillna(NO_EMAIL))
    balances = (detail.groupby(["currency", "customer"])["outstanding_minor"].sum()
                .reset_index().sort_values(["currency", "outstanding_minor"],
                                           ascending=[True, False]))
    for customer in dict.fromkeys(balances["customer"]):
        rows = detail[detail["customer"] == customer]
        yield customer_label(rows["customer_name"].iloc[0], customer), rows


NO_EMAIL = "(no customer email)"


def customer_label(name: Any, email: Any) -> str:
    """A customer as ``name (email)``, or the email alone when it has no other name."""
    email = NO_EMAIL if is_missing(email) else str(email)
    return f"{name} ({email})" if not is_missing(name) and str(name) != email else email


def named_groups(groups: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """An aging summary with its customers shown by :func:`customer_label` (a name alone is
    not unique), for the printed formats."""
    if "customer" not in keys:
        return groups
    return groups.assign(customer=[customer_label(n, e) for n, e in zip(
        groups["customer_name"], groups["customer"], strict=True)])


def owed(rows: pd.DataFrame) -> str:
    """A customer's open balance per currency, e.g. ``1,234.50 USD; 80.00 EUR``."""
    sums = rows.groupby("currency")["outstanding_minor"].sum()
    return "; ".join(cell_text(int(m), "money", str(cur)) for cur, m in sums.items())


def is_missing(value: Any) -> bool:
    """Whether a cell has nothing to show (None, NaN, NaT)."""
    return value is None or (not isinstance(value, str) and pd.isna(value))
