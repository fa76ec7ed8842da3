"""ppnb.analysis.predict_payments: no leakage (a book seen later predicts the past exactly as
the book did then), censoring done right, determinism, the columns' meaning, and a clear
error without scikit-learn."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ppnb.actions import bulk, reminder_history
from ppnb.analysis import (
    AnalysisError,
    aging,
    cash_forecast,
    disputed,
    predict_payments,
    worklist,
)
from ppnb.client import Client
from ppnb.emulator import Clock, RunningEmulator, start
from ppnb.frames import Tables
from ppnb.pager import fetch_tables
from ppnb.seed import seed_demo

THEN = dt.datetime(2025, 4, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = THEN.date()


def copy(tables: Tables) -> Tables:
    """The same book as new objects (so nothing fitted for ``tables`` is reused)."""
    return Tables(*(frame.copy() for frame in tables))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A demo book seen on AS_OF (with reminders sent that day), then 40 days of life after
    it: payments (full and partial), cancellations, new invoices, more reminders."""
    journal = tmp_path_factory.mktemp("jobs")
    with start(clock=Clock(THEN, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=300, customers=30, months=12)
            then = fetch_tables(client, progress=False)
            overdue = aging(then, AS_OF).detail.query("days_past_due > 20")
            bulk(client, "remind", overdue, confirm=True, journal_dir=journal, progress=False,
                 note="then")
            reminders_then = reminder_history(journal)
            then = fetch_tables(client, progress=False)
            yield {"running": running, "client": client, "then": then, "journal": journal,
                   "reminders_then": reminders_then}


def live_on(running: RunningEmulator, client: Client, tables: Tables, journal: Path) -> None:
    """Forty days after AS_OF: customers pay (some in part), the merchant cancels, bills
    new work and sends reminders."""
    rng = random.Random(4)
    open_ = tables.invoices[tables.invoices["status"].isin(["SENT", "UNPAID",
                                                             "PARTIALLY_PAID"])]
    for week in range(6):
        running.emulator.advance(7)
        day = running.emulator.clock.today().isoformat()
        for invoice in open_.sample(frac=0.15, random_state=week).itertuples():
            current = client.invoices.get(invoice.id)
            if current["status"] not in ("SENT", "UNPAID", "PARTIALLY_PAID"):
                continue
            if rng.random() < 0.7:
                running.emulator.pay(invoice.id, date=day)
            elif current["status"] != "PARTIALLY_PAID":
                client.invoices.cancel(invoice.id, {"send_to_recipient": False})
        made = client.invoices.create({
            "detail": {"currency_code": "EUR", "payment_term": {"term_type": "NET_30"}},
            "primary_recipients": [{"billing_info": {"email_address": f"w{week}@example.com"}}],
            "items": [{"name": "Work", "quantity": "3",
                       "unit_amount": {"currency_code": "EUR", "value": "120.00"}}]})
        client.invoices.send(made["id"])
        partly = open_.iloc[week]
        if client.invoices.get(partly["id"])["status"] in ("SENT", "UNPAID"):
            client.invoices.record_payment(partly["id"], {
                "method": "BANK_TRANSFER", "payment_date": day,
                "amount": {"currency_code": partly["currency"],
                           "value": "1" if partly["currency"] == "JPY" else "1.00"}})
    later = aging(fetch_tables(client, progress=False),
                  running.emulator.clock.today()).detail
    bulk(client, "remind", later.head(30), confirm=True, journal_dir=journal, progress=False,
         note="later")


def test_the_book_seen_later_predicts_as_of_exactly_as_it_did_then(
        history: dict[str, Any]) -> None:
    """No leakage: payments, cancellations, invoices and reminders after AS_OF change
    nothing about what is predicted for AS_OF."""
    running, client, then = history["running"], history["client"], history["then"]
    predicted = predict_payments(then, AS_OF, reminders=history["reminders_then"])
    forecast = cash_forecast(then, AS_OF, reminders=history["reminders_then"])
    worked = worklist(then, AS_OF, reminders=history["reminders_then"])

    live_on(running, client, then, history["journal"])
    now = fetch_tables(client, progress=False)
    reminders_now = reminder_history(history["journal"])
    # the later book really differs: new payments, cancellations, invoices and reminders
    assert (now.payments["payment_date"] > pd.Timestamp(AS_OF)).sum() >= 10
    assert len(set(now.invoices["id"]) - set(then.invoices["id"])) == 6
    assert (now.invoices["cancelled"].dt.date > AS_OF).any()
    assert len(reminders_now) > len(history["reminders_then"])
    paid_since = set(predicted["invoice_id"]) - set(aging(now, client.today()).detail["id"])
    assert len(paid_since) >= 5

    pd.testing.assert_frame_equal(predict_payments(now, AS_OF, reminders=reminders_now),
                                  predicted)
    pd.testing.assert_frame_equal(cash_forecast(now, AS_OF, reminders=reminders_now),
                                  forecast)
    pd.testing.assert_frame_equal(worklist(now, AS_OF, reminders=reminders_now), worked)
    # and the order the API returns invoices in does not matter
    shuffled = Tables(now.invoices.sample(frac=1, random_state=3), now.items,
                      now.payments.sample(frac=1, random_state=4), now.refunds)
    pd.testing.assert_frame_equal(
        predict_payments(shuffled, AS_OF, reminders=reminders_now).reset_index(drop=True),
        predicted)


def test_columns_mean_what_they_say(history: dict[str, Any]) -> None:
    then = copy(history["then"])
    predicted = predict_payments(then, AS_OF, reminders=history["reminders_then"])
    detail = aging(then, AS_OF).detail.set_index("id")
    assert list(predicted.columns[:1]) == ["invoice_id"]
    assert {"expected_date", "low", "high", "p_late", "p_unpaid_90", "why"} <= set(
        predicted.columns)
    assert sorted(predicted["invoice_id"]) == sorted(detail.index)  # one row per open invoice
    got = predicted.set_index("invoice_id")
    assert (got["outstanding_minor"] == detail.loc[got.index, "outstanding_minor"]).all()
    assert (got["days_past_due"] == detail.loc[got.index, "days_past_due"]).all()
    # quantiles in order; NaT when that much probability lies beyond the horizon (the demo
    # book's customers who never pay leave many invoices open for good)
    dated = predicted.dropna(subset=["low", "expected_date"])
    assert len(dated) >= 5
    assert (dated["low"] <= dated["expected_date"]).all()
    both = predicted.dropna(subset=["expected_date", "high"])
    assert (both["expected_date"] <= both["high"]).all()
    assert (predicted["high"].isna() | predicted["expected_date"].notna()).all()
    assert (predicted["expected_date"].isna() | predicted["low"].notna()).all()
    assert (predicted["low"].dropna() > pd.Timestamp(AS_OF)).all()  # nothing in the past
    for column in ("p_late", "p_unpaid_90"):
        assert predicted[column].between(0, 1).all()
    assert (predicted["p_unpaid_90"] <= predicted["p_late"] + 1e-12).all()
    past_due = predicted["days_past_due"] > 0
    assert (predicted.loc[past_due, "p_late"] == 1).all()
    assert (predicted.loc[predicted["days_past_due"] > 90, "p_unpaid_90"] == 1).all()
    assert predicted["why"].str.len().gt(0).all()
    assert predicted["why"].str.contains(r"\(\+\d+ d\)|\(-\d+ d\)").any()
    # not yet due, more likely paid on time than late: expected by the due date
    likely = predicted[(predicted["days_past_due"] < 0) & (predicted["p_late"] < 0.5)]
    assert len(likely) and (likely["expected_date"] <= likely["due_date"]).all()


def test_deterministic(history: dict[str, Any]) -> None:
    first = predict_payments(copy(history["then"]), AS_OF, explain=False)
    second = predict_payments(copy(history["then"]), AS_OF, explain=False)
    pd.testing.assert_frame_equal(first, second)


def test_dispute_flag_is_read_from_the_memo_and_optional(history: dict[str, Any]) -> None:
    then = copy(history["then"])
    flagged = then.invoices.copy()
    flagged["memo"] = flagged["memo"].astype(object)
    flagged.loc[flagged.index[::3], "memo"] = "Disputed by the customer"
    flagged.loc[flagged.index[1], "memo"] = "DISPUTE: wrong hours"
    flagged.loc[flagged.index[2], "memo"] = None
    assert disputed(flagged).tolist() == [i % 3 == 0 or i == 1 for i in range(len(flagged))]
    book = Tables(flagged, then.items, then.payments, then.refunds)
    without = predict_payments(book, AS_OF, dispute=False)
    assert not without["why"].str.contains("disputed").any()
    assert without["invoice_id"].tolist() == predict_payments(book, AS_OF, explain=False)[
        "invoice_id"].tolist()


def test_open_invoices_are_censored_not_unpaid_for_ever(tmp_path: Path) -> None:
    """Every customer pays exactly 20 days after the invoice date; on the day the book is
    seen, the invoices younger than that are open. A model that counted them as never paid
    would see a fifth of the book unpaid; this one predicts day 20 for each."""
    with start(clock=Clock(THEN, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            def one(age: int) -> None:
                issued = AS_OF - dt.timedelta(days=age)
                made = client.invoices.create({
                    "detail": {"currency_code": "USD", "invoice_date": issued.isoformat(),
                               "payment_term": {"term_type": "NET_30"}},
                    "primary_recipients": [{"billing_info": {
                        "email_address": f"c{age % 7}@example.com"}}],
                    "items": [{"name": "Work", "quantity": "1",
                               "unit_amount": {"currency_code": "USD", "value": "100.00"}}]})
                client.invoices.send(made["id"], {"send_to_recipient": False})
                if age >= 20:
                    client.invoices.record_payment(made["id"], {
                        "method": "BANK_TRANSFER",
                        "payment_date": (issued + dt.timedelta(days=20)).isoformat()})

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(one, range(100)))
            tables = fetch_tables(client, progress=False)
    predicted = predict_payments(tables, AS_OF)
    assert len(predicted) == 20
    age = (pd.Timestamp(AS_OF) - tables.invoices.set_index("id").loc[
        predicted["invoice_id"], "invoice_date"]).dt.days.to_numpy()
    expected = (predicted["expected_date"] - pd.Timestamp(AS_OF)).dt.days.to_numpy() + age
    assert np.abs(expected - 20).max() <= 1
    assert (predicted["p_unpaid_90"] < 0.01).all()
    assert (predicted["p_late"] < 0.05).all()


def test_too_little_history_is_a_clear_error(tmp_path: Path) -> None:
    with start(clock=Clock(THEN, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=12, customers=3, months=2)
            tables = fetch_tables(client, progress=False)
    with pytest.raises(AnalysisError, match=r"too little history .* 20 needed"):
        predict_payments(tables, AS_OF)
    with pytest.raises(AnalysisError, match="as_of"):
        predict_payments(tables, "soon")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)


def test_import_stays_light_and_missing_sklearn_names_the_extra() -> None:
    light = run_python("import sys, ppnb.analysis, ppnb.dunning\n"
                       "print(any(m.split('.')[0] == 'sklearn' for m in sys.modules))")
    assert light.stdout.strip() == "False", light.stderr
    missing = run_python(
        "import sys; sys.modules['sklearn'] = None\n"
        "from ppnb.analysis._predict import _learner\n"
        "try:\n    _learner()\nexcept ImportError as exc:\n    print(exc)\n")
    assert missing.stdout.strip() == ("ppnb.analysis.predict_payments needs the 'ml' extra "
                                      "(missing: sklearn): pip install 'ppnb[ml]'")
