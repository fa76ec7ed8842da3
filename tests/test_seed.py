"""ppnb.seed and ``ppnb seed``: demo and IBM books built through the API, over loopback HTTP.

Every emulator here has a frozen clock, so a seed's book is the same on every run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import SHARED

from ppnb import cli
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.pager import fetch_raw
from ppnb.seed import IBM_COLUMNS, SeedError, demo_params, seed_demo, seed_ibm

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


def test_demo_params_from_file_and_overrides(tmp_path: Path) -> None:
    repo_file = Path(__file__).resolve().parents[1] / "data" / "demo.json"
    assert demo_params() == json.loads(repo_file.read_text())
    path = tmp_path / "p.json"
    path.write_text('{"invoices": 10}')
    assert demo_params(path, seed=9)["invoices"] == 10
    assert demo_params(path, seed=9)["seed"] == 9
    path.write_text('{"invoices": "many"}')
    with pytest.raises(SeedError, match="expected integers"):
        demo_params(path)


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
    assert "seed demo" in err  # the progress bar
    code, out, _ = run_cli(["seed", "--dataset", "demo", "--invoices", "40",
                            "--customers", "8", "--seed", "2", "--months", "3"])
    assert code == 0 and out.startswith("demo: created 0, skipped 40 already present")
    code, out, err = run_cli(["seed", "--dataset", "ibm"])
    assert code == 1 and "needs --csv PATH" in err
    code, out, err = run_cli(["seed", "--dataset", "ibm", "--csv", str(tmp_path / "x.csv")])
    assert code == 1 and "cannot read" in err
    secret = json.loads((tmp_path / "book.sqlite.serving.json").read_text())["client_secret"]
    assert secret not in out + err
