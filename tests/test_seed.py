"""ppnb.seed and ``ppnb seed``: demo and IBM books built through the API, over loopback HTTP.

Every emulator here has a frozen clock, so a seed's book is the same on every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import SHARED

import ppnb
from ppnb import _progress as shared_progress
from ppnb import cli
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.pager import fetch_raw
from ppnb.seed import (
    DEMO_DEFAULTS,
    DEMO_FILE,
    IBM_COLUMNS,
    SeedError,
    demo_params,
    seed_demo,
    seed_ibm,
)

NOW = dt.datetime(2025, 6, 15, 9, 0, tzinfo=dt.UTC)
IBM_CSV = SHARED / "datasets" / "ibm-accounts-receivable.csv"
DEMO = {"invoices": 400, "customers": 40, "months": 12}


@pytest.fixture
def fresh() -> Iterator[Callable[[], Client]]:
    """Make clients on fresh emulators whose clock stands at ``NOW``."""
    opened = []

    def make() -> Client:
        running = start(clock=Clock(NOW, frozen=True))
        cred = running.credentials
        client = Client(running.base_url, cred.client_id, cred.client_secret)
        opened.append((running, client))
        return client

    yield make
    for running, client in opened:
        client.close()
        running.stop()


def everything(client: Client) -> list[dict]:
    return fetch_raw(client, progress=False)


def fingerprint(client: Client) -> set[tuple]:
    return {(d["detail"]["invoice_number"], d["status"], d["amount"]["value"],
             d["detail"]["currency_code"], d["detail"]["invoice_date"],
             tuple(t["payment_date"] for t in d.get("payments", {}).get("transactions", [])),
             tuple(t["refund_date"] for t in d.get("refunds", {}).get("transactions", [])))
            for d in everything(client)}


@pytest.fixture(scope="module")
def demo_book() -> Iterator[tuple[Client, list[dict]]]:
    running = start(clock=Clock(NOW, frozen=True))
    client = Client(running.base_url, running.credentials.client_id,
                    running.credentials.client_secret)
    report = seed_demo(client, seed=3, **DEMO)
    assert report.created == DEMO["invoices"] and report.as_of == NOW.date()
    yield client, everything(client)
    client.close()
    running.stop()


# --- the demo book ----------------------------------------------------------------------------


def test_demo_same_seed_same_book_other_seed_other_book(
        demo_book: tuple[Client, list[dict]], fresh: Callable[[], Client]) -> None:
    first = fingerprint(demo_book[0])
    again = fresh()
    seed_demo(again, seed=3, **DEMO)
    assert fingerprint(again) == first
    other = fresh()
    seed_demo(other, seed=4, **DEMO)
    assert {(n[1:]) for n in fingerprint(other)} != {n[1:] for n in first}


def test_demo_book_has_every_promised_shape(demo_book: tuple[Client, list[dict]]) -> None:
    _, book = demo_book
    assert len(book) == DEMO["invoices"]
    currencies = {d["detail"]["currency_code"] for d in book}
    assert {"USD", "EUR", "GBP", "JPY"} <= currencies
    assert all("." not in d["amount"]["value"] for d in book
               if d["detail"]["currency_code"] == "JPY")
    assert all(len(d["amount"]["value"].split(".")[1]) == 2 for d in book
               if d["detail"]["currency_code"] != "JPY")
    assert {d["detail"]["payment_term"]["term_type"] for d in book} == {
        "DUE_ON_RECEIPT", "NET_10", "NET_15", "NET_30", "NET_45", "NET_60", "NET_90"}
    statuses = {d["status"] for d in book}
    assert {"DRAFT", "SCHEDULED", "CANCELLED", "MARKED_AS_PAID", "PARTIALLY_PAID",
            "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED", "SENT", "UNPAID"} <= statuses
    today = NOW.date().isoformat()
    scheduled = [d for d in book if d["status"] == "SCHEDULED"]
    assert all(d["detail"]["invoice_date"] > today for d in scheduled)
    overdue = [d for d in book if d["status"] in ("SENT", "UNPAID")
               and d["detail"]["payment_term"]["due_date"] < today]
    assert len(overdue) > 10
    dates = [t["payment_date"] for d in book
             for t in d.get("payments", {}).get("transactions", [])]
    assert dates and max(dates) <= today
    assert min(d["detail"]["invoice_date"] for d in book) >= "2024-06-01"
    templated = [d for d in book if d.get("configuration", {}).get("template_id")]
    assert len(templated) > 5
    assert all(d["detail"]["memo"].startswith("from template ") for d in templated)
    totals = sorted(float(d["amount"]["value"]) for d in book
                    if d["detail"]["currency_code"] == "USD")
    assert totals[-1] > 10 * totals[len(totals) // 2]  # a long tail


def test_demo_second_run_skips_everything(demo_book: tuple[Client, list[dict]]) -> None:
    client, book = demo_book
    report = seed_demo(client, seed=3, **DEMO)
    assert (report.created, report.skipped, report.resumed) == (0, DEMO["invoices"], 0)
    assert report.templates == 0 and report.as_of == NOW.date()
    assert len(everything(client)) == len(book)


def test_demo_finishes_an_interrupted_run(fresh: Callable[[], Client]) -> None:
    client = fresh()
    seed_demo(client, seed=5, invoices=60, customers=10, months=6)
    expected = fingerprint(client)
    target = client.invoices.search({"status": ["MARKED_AS_PAID"]}, page_size=1)["items"][0]
    number = target["detail"]["invoice_number"]
    # Simulate a run that stopped right after creating this invoice: only a draft exists.
    doc = next(d for d in everything(client) if d["detail"]["invoice_number"] == number)
    body = {k: doc[k] for k in ("detail", "items", "primary_recipients")}
    body["detail"] = {k: v for k, v in doc["detail"].items() if k != "metadata"}
    fresh_again = fresh()
    fresh_again.invoices.create(body)
    report = seed_demo(fresh_again, seed=5, invoices=60, customers=10, months=6)
    assert (report.created, report.resumed) == (59, 1)
    assert fingerprint(fresh_again) == expected


def test_demo_params_from_package_data_file_and_overrides(tmp_path: Path) -> None:
    packaged = Path(ppnb.__file__).parent / "data" / "demo.json"  # package data: in a wheel
    assert Path(str(DEMO_FILE)) == packaged
    assert demo_params() == DEMO_DEFAULTS == json.loads(packaged.read_text()) == {
        "invoices": 2000, "customers": 120, "seed": 7, "months": 18}
    path = tmp_path / "p.json"
    path.write_text('{"invoices": 10}')
    assert demo_params(path, seed=9) == {**DEMO_DEFAULTS, "invoices": 10, "seed": 9}
    path.write_text('{"invoices": "many"}')
    with pytest.raises(SeedError, match="expected integers"):
        demo_params(path)
    with pytest.raises(SeedError, match=r"cannot read demo parameters from .*nope\.json"):
        demo_params(tmp_path / "nope.json")


# --- the IBM sample ---------------------------------------------------------------------------


def ibm_rows() -> list[dict[str, str]]:
    with IBM_CSV.open(newline="") as handle:
        return list(csv.DictReader(handle))


def us_date(text: str) -> str:
    return dt.datetime.strptime(text, "%m/%d/%Y").date().isoformat()


def test_ibm_load_then_reload(fresh: Callable[[], Client]) -> None:
    client = fresh()
    report = seed_ibm(client, IBM_CSV)
    assert (report.created, report.skipped) == (2466, 0)
    assert report.by_status == {"MARKED_AS_PAID": 2466}
    book = {d["detail"]["invoice_number"]: d for d in everything(client)}
    rows = ibm_rows()
    assert len(book) == len(rows) == 2466
    assert any(r["invoiceNumber"].startswith("0") for r in rows)
    for row in rows:
        doc = book[row["invoiceNumber"]]
        assert doc["status"] == "MARKED_AS_PAID"
        assert doc["detail"]["invoice_date"] == us_date(row["InvoiceDate"])
        assert doc["detail"]["payment_term"] == {"term_type": "NET_30",
                                                 "due_date": us_date(row["DueDate"])}
        assert doc["detail"]["reference"] == row["countryCode"]
        assert doc["detail"].get("memo") == ("disputed" if row["Disputed"] == "Yes" else None)
        assert doc["amount"] == {"currency_code": "USD", "value": row["InvoiceAmount"]} or (
            float(doc["amount"]["value"]) == float(row["InvoiceAmount"]))
        info = doc["primary_recipients"][0]["billing_info"]
        assert info == {"business_name": row["customerID"],
                        "email_address": row["customerID"].lower() + "@example.com"}
        [payment] = doc["payments"]["transactions"]
        assert payment["payment_date"] == us_date(row["SettledDate"])
        assert payment["method"] == "BANK_TRANSFER"
    again = seed_ibm(client, IBM_CSV)
    assert (again.created, again.skipped, again.resumed) == (0, 2466, 0)
    assert "created 0, skipped 2466 already present" in again.summary()


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, IBM_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize(("change", "message"), [
    ({"DueDate": "2/2/2013"}, r"line 4 \(invoiceNumber 0000000003\): DueDate 2/2/2013 is not "
                              r"InvoiceDate 1/2/2013 \+ 30 days"),
    ({"InvoiceDate": "2013-01-02"}, r"line 4 .*InvoiceDate '2013-01-02' is not a month/day"),
    ({"InvoiceAmount": "12.345"}, r"line 4 .*InvoiceAmount: 12.345 has more than 2"),
    ({"InvoiceAmount": "lots"}, r"line 4 .*InvoiceAmount: 'lots' is not a decimal"),
    ({"invoiceNumber": "0000000001"}, r"line 4 .*repeats line 2"),
])
def test_ibm_bad_row_writes_nothing(fresh: Callable[[], Client], tmp_path: Path,
                                    change: dict[str, str], message: str) -> None:
    good = {"countryCode": "391", "customerID": "0379-NEVHP", "PaperlessDate": "4/6/2013",
            "InvoiceDate": "1/2/2013", "DueDate": "2/1/2013", "InvoiceAmount": "55.94",
            "Disputed": "No", "SettledDate": "1/15/2013", "PaperlessBill": "Paper",
            "DaysToSettle": "13", "DaysLate": "0"}
    rows = [{**good, "invoiceNumber": f"{i:010d}"} for i in (1, 2, 3, 4)]
    rows[2].update(change)
    client = fresh()
    with pytest.raises(SeedError, match=message):
        seed_ibm(client, write_csv(tmp_path / "bad.csv", rows))
    assert everything(client) == []


def test_ibm_missing_file_or_columns(fresh: Callable[[], Client], tmp_path: Path) -> None:
    client = fresh()
    with pytest.raises(SeedError, match=r"cannot read .*nope\.csv"):
        seed_ibm(client, tmp_path / "nope.csv")
    (tmp_path / "cols.csv").write_text("invoiceNumber,InvoiceDate\n1,1/2/2013\n")
    with pytest.raises(SeedError, match=r"lacks column.*countryCode"):
        seed_ibm(client, tmp_path / "cols.csv")


# --- the command line -------------------------------------------------------------------------


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


def test_cli_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PPNB_ENV", "PPNB_BASE_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PPNB_EMULATOR_DB", str(tmp_path / "book.sqlite"))
    code, out, err = run_cli(["seed", "--dataset", "demo", "--invoices", "40",
                              "--customers", "8", "--seed", "2", "--months", "3"])
    assert code == 0, err
    assert out.startswith("demo: created 40, skipped 0 already present (")
    assert "\r" not in err  # stderr is no terminal here: never a redrawn bar
    code, out, _ = run_cli(["seed", "--dataset", "demo", "--invoices", "40",
                            "--customers", "8", "--seed", "2", "--months", "3"])
    assert code == 0 and out.startswith("demo: created 0, skipped 40 already present")
    code, out, err = run_cli(["seed", "--dataset", "ibm"])
    assert code == 1 and "needs --csv PATH" in err
    code, out, err = run_cli(["seed", "--dataset", "ibm", "--csv", str(tmp_path / "x.csv")])
    assert code == 1 and "cannot read" in err
    secret = json.loads((tmp_path / "book.sqlite.serving.json").read_text())["client_secret"]
    assert secret not in out + err


# --- quiet progress ---------------------------------------------------------------------------


def test_progress_in_a_log_is_lines_that_end_at_the_true_count(
        fresh: Callable[[], Client], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_progress, "DELAY", 0.0)  # show even a fast seed,
    monkeypatch.setattr(shared_progress, "LOG_INTERVAL", 0.0)  # and a line per invoice
    err = io.StringIO()
    with redirect_stderr(err):
        report = seed_demo(fresh(), seed=6, invoices=30, customers=5, months=3, progress=True)
    assert report.created == 30
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue() and len(lines) == 30  # invoice 0 was counted before
    counts = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert counts == [*range(2, 31), 30] and all("/30 invoices" in line for line in lines)
    assert lines[-1].startswith("seed demo: 30/30 invoices, done in ")


def test_a_seed_run_with_stderr_to_a_file_writes_no_carriage_returns(
        tmp_path: Path) -> None:
    """The real thing: ``ppnb seed`` as a process whose stderr is a file (a log, CI), loading
    the IBM sample (2,466 invoices, several seconds: long enough to be shown)."""
    running = start(clock=Clock(NOW, frozen=True))
    try:
        cred = running.credentials
        env = {**os.environ, "PPNB_ENV": "emulator", "PPNB_BASE_URL": running.base_url,
               "PAYPAL_CLIENT_ID": cred.client_id, "PAYPAL_CLIENT_SECRET": cred.client_secret}
        with (tmp_path / "err.log").open("wb") as log:
            done = subprocess.run([sys.executable, "-m", "ppnb.cli", "seed", "--dataset", "ibm",
                                   "--csv", str(IBM_CSV)], env=env, stdout=subprocess.PIPE,
                                  stderr=log, timeout=600, check=False)
    finally:
        running.stop()
    written = (tmp_path / "err.log").read_bytes()
    assert done.returncode == 0, written[-2000:]
    assert done.stdout.decode().startswith("ibm: created 2466, skipped 0 already present")
    assert b"\r" not in written and b"\x1b" not in written
    lines = written.decode().splitlines()
    assert lines and lines[-1].startswith("seed ibm: 2,466/2,466 invoices, done in "), lines
    assert len(lines) <= 2 + 600 / shared_progress.LOG_INTERVAL  # a line a minute at most


def test_progress_on_a_terminal_is_the_quiet_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    from tqdm.std import tqdm

    main, side = os.openpty()
    with os.fdopen(side, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        bar = shared_progress.progress_bar(show=None, log=True, total=10, desc="seed demo",
                                           unit="invoices", initial=1)
        assert isinstance(bar, tqdm) and (bar.n, bar.total) == (1, 10)
        assert bar.delay == shared_progress.DELAY
        for _ in range(9):
            bar.update()
        bar.close()
        terminal.flush()
        ready, _, _ = select.select([main], [], [], 0.2)
    os.close(main)
    assert ready == []  # a sub-second run drew nothing
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(shared_progress.progress_bar(show=None, log=True, total=10, desc="x",
                                                 unit="invoices"), shared_progress.LineProgress)


def test_line_progress_waits_then_writes_now_and_then(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_progress, "LOG_INTERVAL", 10.0)
    now = [100.0]
    out = io.StringIO()
    line = shared_progress.LineProgress(50, "seed ibm", "invoices", out, clock=lambda: now[0])
    for second in range(1, 26):  # two invoices a second for 25 seconds
        now[0] = 100.0 + second
        line.update(2)
    line.close()
    assert out.getvalue().splitlines() == [
        "seed ibm: 20/50 invoices, after 10 s", "seed ibm: 40/50 invoices, after 20 s",
        "seed ibm: 50/50 invoices, done in 25 s"]
    quick = io.StringIO()
    fast = shared_progress.LineProgress(5, "seed demo", "invoices", quick, clock=lambda: 100.0)
    fast.update(5)
    fast.close()
    assert quick.getvalue() == ""  # under a second: nothing at all
