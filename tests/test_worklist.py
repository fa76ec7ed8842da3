"""ppnb.analysis.worklist: ranked by outstanding × risk within each currency (or across them
with rates), with the bucket, the reminders sent and a reason; and its xlsx sheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ppnb.actions import bulk, reminder_history
from ppnb.analysis import AnalysisError, aging, predict_payments, worklist
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.money import from_minor
from ppnb.pager import fetch_tables
from ppnb.reports import ReportError, write_worklist
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = NOW.date()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A demo book in four currencies; two reminders to one overdue invoice and one to
    another, sent today through ppnb (so they are in the reminder history)."""
    journal = tmp_path_factory.mktemp("jobs")
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=300, customers=25, months=10)
            tables = fetch_tables(client, progress=False)
            overdue = aging(tables, AS_OF).detail.query("days_past_due > 0")["id"]
            twice, once = overdue.iat[0], overdue.iat[1]
            for job in ("first", "second"):
                bulk(client, "remind", [twice] if job == "second" else [twice, once],
                     confirm=True, job_id=job, journal_dir=journal, progress=False)
            yield {"tables": tables, "reminders": reminder_history(journal), "twice": twice,
                   "once": once}


def test_ranked_by_outstanding_times_risk_within_each_currency(book: dict[str, Any]) -> None:
    tables = book["tables"]
    work = worklist(tables, AS_OF, reminders=book["reminders"])
    detail = aging(tables, AS_OF).detail.set_index("id")
    assert sorted(work["invoice_id"]) == sorted(detail.index)
    assert work.attrs["as_of"] == AS_OF
    assert list(work.columns) == [
        "rank", "invoice_id", "number", "customer", "customer_name", "currency",
        "outstanding_minor", "due_date", "days_past_due", "bucket", "reminders_sent",
        "last_reminder", "expected_date", "p_late", "risk", "cost_minor", "reason"]
    assert work["risk"].between(0, 1).all()
    expected = np.rint(work["outstanding_minor"].to_numpy() * work["risk"].to_numpy())
    assert (work["cost_minor"].to_numpy() == expected).all()
    assert work["cost_minor"].dtype == np.int64
    for _, rows in work.groupby("currency", sort=False):
        assert rows["cost_minor"].is_monotonic_decreasing
        assert list(rows["rank"]) == list(range(1, len(rows) + 1))
    assert list(work["currency"]) == sorted(work["currency"])  # one currency after another
    assert (work["bucket"] == work["invoice_id"].map(detail["bucket"])).all()
    # the prediction columns are predict_payments' own
    predicted = predict_payments(tables, AS_OF, reminders=book["reminders"]).set_index(
        "invoice_id")
    mine = work.set_index("invoice_id")
    assert (mine["p_late"] == predicted.loc[mine.index, "p_late"]).all()
    # the reason says how late and how risky, in words
    first = work.iloc[0]
    assert f"{first['risk']:.0%} likely unpaid 30 d after" in first["reason"]
    late = work[work["days_past_due"] > 0].iloc[0]
    assert late["reason"].startswith(f"{late['days_past_due']} d past due")


def test_risk_shrinks_with_more_grace(book: dict[str, Any]) -> None:
    tables = book["tables"]
    near = worklist(tables, AS_OF, grace_days=0).set_index("invoice_id")["risk"]
    far = worklist(tables, AS_OF, grace_days=90).set_index("invoice_id")["risk"]
    assert (far <= near.loc[far.index] + 1e-12).all()
    assert (far < near.loc[far.index]).any()
    for bad in (-1, 181, 1.5, True):
        with pytest.raises(AnalysisError, match="grace_days"):
            worklist(tables, AS_OF, grace_days=bad)


def test_reminders_sent_and_the_last_one(book: dict[str, Any]) -> None:
    tables = book["tables"]
    work = worklist(tables, AS_OF, reminders=book["reminders"]).set_index("invoice_id")
    assert work.loc[book["twice"], "reminders_sent"] == 2
    assert work.loc[book["once"], "reminders_sent"] == 1
    assert work.loc[book["once"], "last_reminder"] == pd.Timestamp(AS_OF)
    assert work["reminders_sent"].sum() == 3
    # a reminder dated after as_of does not exist for it
    later = pd.concat([book["reminders"], pd.DataFrame({
        "invoice_id": [book["once"]], "day": [pd.Timestamp(AS_OF) + pd.Timedelta(days=3)],
        "request_id": ["later"]})], ignore_index=True)
    again = worklist(tables, AS_OF, reminders=later).set_index("invoice_id")
    assert again.loc[book["once"], "reminders_sent"] == 1
    plain = worklist(tables, AS_OF).set_index("invoice_id")
    assert plain["reminders_sent"].sum() == 0 and plain["last_reminder"].isna().all()


def test_one_ranking_across_currencies_needs_rates(book: dict[str, Any]) -> None:
    tables = book["tables"]
    rates = {"USD": "1", "EUR": "1.08", "GBP": "1.27", "JPY": "0.0067"}
    work = worklist(tables, AS_OF, rates=rates)
    assert work["currency"].nunique() > 1
    value = [from_minor(int(m), c) * Decimal(rates[c]) for m, c in zip(
        work["cost_minor"], work["currency"], strict=True)]
    assert value == sorted(value, reverse=True)
    assert list(work["rank"]) == list(range(1, len(work) + 1))
    with pytest.raises(AnalysisError, match="no rate for"):
        worklist(tables, AS_OF, rates={"USD": "1"})


def test_collectors_sheet(book: dict[str, Any], tmp_path: Path) -> None:
    work = worklist(book["tables"], AS_OF, reminders=book["reminders"])
    path = write_worklist(work, tmp_path / "worklist.xlsx")
    sheet = openpyxl.load_workbook(path)["Worklist"]
    assert "2025-06-30" in sheet["A1"].value
    header = [c.value for c in sheet[3]]
    assert header[:6] == ["Rank", "Number", "Customer", "Customer name", "Currency",
                          "Outstanding"]
    assert header[-2:] == ["Contacted", "Notes"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(rows) == len(work)
    cost = header.index("Cost of waiting")
    for row, record in zip(rows, work.to_dict("records"), strict=True):
        assert row[1] == record["number"]
        assert Decimal(repr(float(row[5]))) == from_minor(record["outstanding_minor"],
                                                          record["currency"])
        assert Decimal(repr(float(row[cost]))) == from_minor(record["cost_minor"],
                                                             record["currency"])
    jpy = next(i for i, r in enumerate(rows, start=4) if r[4] == "JPY")
    assert sheet.cell(jpy, 6).number_format == '#,##0 "JPY"'
    assert sheet.freeze_panes == "C4" and sheet.auto_filter.ref.startswith("A3:")
    with pytest.raises(ReportError, match=r"must end in \.xlsx"):
        write_worklist(work, tmp_path / "worklist.csv")
