"""``ppnb pull``, ``ppnb aging``, ``ppnb kpis`` and ``ppnb report`` against a real emulator on
loopback, seeded with a small demo book under a frozen clock."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ppnb import cli
from ppnb.analysis import Rates, aging, kpis
from ppnb.client import Client
from ppnb.emulator import Clock, Control, RunningEmulator, start
from ppnb.frames import Tables
from ppnb.pager import fetch_tables
from ppnb.seed import seed_demo
from ppnb.snapshot import sync

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def book() -> Iterator[tuple[RunningEmulator, Tables]]:
    """A seeded emulator and its book as the analysis sees it directly."""
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=200, customers=20, months=6)
            yield running, fetch_tables(client, progress=False)


@pytest.fixture
def url(book: tuple[RunningEmulator, Tables], monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulator's URL, with its credentials in the environment as a user would set them."""
    running, _ = book
    monkeypatch.setenv("PAYPAL_CLIENT_ID", running.credentials.client_id)
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", running.credentials.client_secret)
    monkeypatch.delenv("PPNB_ENV", raising=False)
    return running.base_url


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_aging_json_is_the_documented_shape(url: str, book, capsys) -> None:
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--format", "json",
                         "--url", url)
    assert code == 0, err
    document = json.loads(out)
    expected = aging(book[1], "2025-06-30")
    assert document == expected.to_json()
    assert list(document) == ["as_of", "basis", "buckets", "rows", "totals"]
    assert document["as_of"] == "2025-06-30" and document["basis"] == "due_date"
    labels = ["current", "1-30", "31-60", "61-90", "91+"]
    assert document["buckets"] == labels
    for row in document["rows"]:
        assert list(row) == ["customer", "customer_name", "currency", *labels, "total"]
        assert all(isinstance(row[k], str) for k in [*labels, "total"])
    for total in document["totals"]:
        assert list(total) == ["currency", *labels, "total"]
        rows = [r for r in document["rows"] if r["currency"] == total["currency"]]
        for key in [*labels, "total"]:  # the rows add up exactly to the totals
            assert sum(Decimal(r[key]) for r in rows) == Decimal(total[key])
        assert sum(Decimal(total[k]) for k in labels) == Decimal(total["total"])
        if total["currency"] == "USD":
            assert all(len(total[k].split(".")[1]) == 2 for k in labels)


def test_aging_by_currency_with_other_buckets_and_basis(url: str, book, capsys) -> None:
    code, out, err = run(capsys, "aging", "--as-of", "2025-05-31", "--by", "currency",
                         "--buckets", "15,45", "--basis", "invoice_date", "--format", "json",
                         "--url", url)
    assert code == 0, err
    document = json.loads(out)
    assert document["buckets"] == ["current", "1-15", "16-45", "46+"]
    assert document["basis"] == "invoice_date"
    expected = aging(book[1], "2025-05-31", by="currency", buckets=(15, 45),
                     basis="invoice_date")
    assert document == expected.to_json()
    assert [r["currency"] for r in document["rows"]] == \
        [t["currency"] for t in document["totals"]]


def test_aging_csv_and_table(url: str, book, capsys) -> None:
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--format", "csv",
                         "--url", url)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = aging(book[1], "2025-06-30").to_json()
    assert rows == [{k: "" if v is None else v for k, v in row.items()}
                    for row in expected["rows"]]
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--url", url)
    assert code == 0, err
    assert out.startswith("Receivables aging as of 2025-06-30 (due_date basis)")
    for total in expected["totals"]:
        assert f"\n{total['currency']}\n" in out
        assert f"{Decimal(total['total']):,}" in out  # the TOTAL line
    assert out.count("TOTAL") == len(expected["totals"])


def test_kpis_json_and_table(url: str, book, capsys) -> None:
    code, out, err = run(capsys, "kpis", "--start", "2025-04-01", "--end", "2025-06-30",
                         "--format", "json", "--url", url)
    assert code == 0, err
    document = json.loads(out)
    assert (document["start"], document["end"], document["basis"]) == \
        ("2025-04-01", "2025-06-30", "due_date")
    expected = kpis(book[1], "2025-04-01", "2025-06-30").set_index("currency")
    assert [r["currency"] for r in document["rows"]] == list(expected.index)
    usd = next(r for r in document["rows"] if r["currency"] == "USD")
    assert usd["start"] == "2025-04-01" and usd["days"] == 91
    assert Decimal(usd["ending_ar"]) == Decimal(int(expected.loc["USD", "ending_ar_minor"])) / 100
    assert usd["dso_simple"] == pytest.approx(expected.loc["USD", "dso_simple"], abs=1e-4)
    assert usd["cei"] == pytest.approx(expected.loc["USD", "cei"], abs=1e-4)
    code, out, err = run(capsys, "kpis", "--start", "2025-04-01", "--end", "2025-06-30",
                         "--url", url)
    assert code == 0, err
    assert "dso_countback" in out and "USD" in out


def test_pull_writes_parquet_with_all_tables_and_csv(url: str, book, capsys,
                                                     tmp_path: Path) -> None:
    code, _, err = run(capsys, "pull", "--out", str(tmp_path / "book.parquet"),
                       "--all-tables", "--url", url)
    assert code == 0, err
    tables = book[1]
    invoices = pd.read_parquet(tmp_path / "book.parquet")
    assert sorted(invoices["id"]) == sorted(tables.invoices["id"])
    assert invoices["total_minor"].sum() == tables.invoices["total_minor"].sum()
    for name in ("items", "payments", "refunds"):
        frame = pd.read_parquet(tmp_path / f"book.{name}.parquet")
        assert len(frame) == len(getattr(tables, name))
    assert f"pulled {len(tables.invoices)} invoices" in err

    code, _, err = run(capsys, "pull", "--out", str(tmp_path / "open.csv"), "--status",
                       "SENT", "UNPAID", "--currency", "USD", "--url", url)
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "open.csv")
    wanted = tables.invoices[tables.invoices["status"].isin(["SENT", "UNPAID"])
                             & (tables.invoices["currency"] == "USD")]
    assert sorted(frame["id"]) == sorted(wanted["id"]) and len(frame) > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "book.items.parquet", "book.parquet", "book.payments.parquet", "book.refunds.parquet",
        "open.csv"]

    code, out, err = run(capsys, "pull", "--invoice-date", "2025-06-01..", "--url", url)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    dates = tables.invoices["invoice_date"]
    assert len(frame) == int((dates >= "2025-06-01").sum()) > 0


def test_pull_matching_nothing_writes_the_empty_tables_and_says_so(
        url: str, book, capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "pull", "--out", str(tmp_path / "none.parquet"), "--all-tables",
                       "--invoice-number", "NO-SUCH-NUMBER", "--url", url)
    assert code == 0, err
    assert "pulled 0 invoices, 0 items, 0 payments, 0 refunds (nothing matched the filters)" \
        in err
    for name, frame in zip(("none", "none.items", "none.payments", "none.refunds"), book[1],
                           strict=True):
        written = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert written.empty and list(written.columns) == list(frame.columns)


def test_report_writes_the_file(url: str, capsys, tmp_path: Path) -> None:
    target = tmp_path / "book.xlsx"
    code, out, err = run(capsys, "report", "--as-of", "2025-06-30", "--out", str(target),
                         "--url", url)
    assert code == 0, err
    assert out.strip() == f"wrote {target} (as of 2025-06-30)"
    assert target.read_bytes()[:2] == b"PK"  # an xlsx is a zip


def _rates_args(tables: Tables) -> tuple[list[str], Rates]:
    """``--rates`` for every currency of the book into USD, and the Rates they describe."""
    others = sorted(set(tables.invoices["currency"]) - {"USD"})
    assert others, "the demo book has currencies besides USD"
    given = {currency: f"{1 + i / 8}" for i, currency in enumerate(others, start=1)}
    argv = ["--rates", ",".join(f"{c}={r}" for c, r in given.items()),
            "--rates-date", "2025-06-27", "--rates-target", "USD"]
    return argv, Rates("2025-06-27", "USD", given)


def test_aging_and_report_convert_only_with_rates(url: str, book, capsys,
                                                  tmp_path: Path) -> None:
    argv, rates = _rates_args(book[1])
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--format", "json",
                         "--url", url, *argv)
    assert code == 0, err
    document = json.loads(out)
    assert document == aging(book[1], "2025-06-30", rates=rates).to_json()
    assert document["converted"]["currency"] == "USD"
    assert document["converted"]["rates_date"] == "2025-06-27"

    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--url", url, *argv)
    assert code == 0, err
    total = aging(book[1], "2025-06-30", rates=rates).converted_totals["total"].iat[0]
    converted = out.split("\nConverted: ")[1]
    assert converted.startswith(f"USD at rates of 2025-06-27 ({rates.describe()})")
    assert f"{Decimal(int(total)) / 100:,}" in converted

    target = tmp_path / "converted.html"
    code, out, err = run(capsys, "report", "--as-of", "2025-06-30", "--out", str(target),
                         "--url", url, *argv)
    assert code == 0, err
    assert "USD at rates of 2025-06-27" in target.read_text()


@pytest.mark.parametrize(("extra", "code", "message"), [
    (["--rates", "EUR=1.08"], 1, "missing --rates-date, --rates-target"),
    (["--rates-target", "USD"], 1, "missing --rates, --rates-date"),
    (["--rates", "EUR=1.08", "--rates-date", "2025-06-27", "--rates-target", "USD"], 1,
     "rates: no rate for "),  # the book has currencies without a rate
    (["--rates", "EUR=0", "--rates-date", "2025-06-27", "--rates-target", "USD"], 1, "EUR"),
    (["--rates", "EUR:1.08"], 2, "expected CUR=RATE,..."),
    (["--rates", "EUR=1,eur=2"], 2, "EUR is given twice"),
])
def test_incomplete_or_bad_rates_are_refused(extra: list[str], code: int, message: str,
                                             url: str, book, capsys) -> None:
    argv = ["aging", "--as-of", "2025-06-30", "--url", url, *extra]
    if code == 2:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
        return
    done, out, err = run(capsys, *argv)
    assert done == 1 and out == "" and message in err and "Traceback" not in err
    assert err.splitlines()[-1].startswith("ppnb aging: error: ")


def test_report_from_env_file_and_aging_from_snapshot(book, capsys, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    running, tables = book
    for name in ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PPNB_BASE_URL", "PPNB_ENV"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "emulator.env"
    cli.write_env_file(env_file, running.base_url, running.credentials.client_id,
                       running.credentials.client_secret)
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--format", "json",
                         "--env-file", str(env_file))
    assert code == 0, err
    pulled = json.loads(out)
    with Client(running.base_url, running.credentials.client_id,
                running.credentials.client_secret) as client:
        sync(client, tmp_path / "snap", progress=False)
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--format", "json",
                         "--snapshot", str(tmp_path / "snap"))
    assert code == 0, err
    assert json.loads(out) == pulled == aging(tables, "2025-06-30").to_json()


@pytest.mark.parametrize(("argv", "message"), [
    (["aging", "--as-of", "2025-13-01"], "expected a date YYYY-MM-DD"),
    (["aging", "--as-of", "2025-06-30", "--buckets", "60,30"], "strictly increasing"),
    (["aging", "--as-of", "2025-06-30", "--buckets", "30,x"], "not whole numbers"),
    (["aging", "--as-of", "2025-06-30", "--basis", "paid_date"], "invalid choice"),
    (["report", "--out", "r.pdf", "--page-size", "legal"], "invalid choice"),
    (["report", "--as-of", "2025-06-30"], "--out"),
    (["pull", "--invoice-date", "2025-01-01"], "START..END"),
])
def test_bad_arguments_exit_2_with_usage(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_user_errors_exit_1_with_one_line(url: str, book, capsys, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    secret = book[0].credentials.client_secret
    outputs = []
    for argv, message in [
        (["aging", "--as-of", "2025-06-30", "--by", "colour", "--url", url], "colour"),
        (["kpis", "--start", "2025-06-30", "--end", "2025-04-01", "--url", url],
         "before --start"),
        (["report", "--as-of", "2025-06-30", "--out", str(tmp_path / "r.docx"), "--url", url],
         ".xlsx, .html, .pdf"),
        (["report", "--as-of", "2025-06-30", "--out", str(tmp_path / "no" / "r.pdf"),
          "--url", url], "does not exist"),
        (["pull", "--out", str(tmp_path / "book.json"), "--url", url], ".parquet, .csv"),
        (["pull", "--all-tables", "--url", url], "--all-tables needs --out"),
        (["aging", "--as-of", "2025-06-30", "--snapshot", str(tmp_path / "none")],
         "no snapshot"),
        (["aging", "--as-of", "2025-06-30", "--env-file", str(tmp_path / "missing.env")],
         "cannot read --env-file"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 1, argv
        error = [line for line in err.splitlines() if not line.startswith("ppnb: book: ")]
        assert len(error) == 1 and out == "", err  # one line, after which book it read
        assert error[0].startswith(f"ppnb {argv[0]}: error: ") and message in err, err
        outputs.append(err)
    assert list(tmp_path.iterdir()) == []
    # a wrong secret: PayPal's 401, reported without the secret
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", "wrong-" + secret)
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--url", url)
    assert code == 1 and "401" in err and "Traceback" not in err
    outputs.append(out + err)
    # a URL without credentials is refused rather than silently using another emulator
    monkeypatch.delenv("PAYPAL_CLIENT_ID")
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--url", url)
    assert code == 1 and "needs credentials" in err
    assert not any(secret in text for text in [*outputs, err])


# --- the book's today, and which book -------------------------------------------------------


def test_as_of_is_the_books_today_unless_given(url: str, book, capsys,
                                               tmp_path: Path) -> None:
    code, out, err = run(capsys, "aging", "--format", "json", "--url", url)
    assert code == 0, err
    assert json.loads(out) == aging(book[1], "2025-06-30").to_json()  # the emulator's today
    assert err == f"ppnb: book: the API at {url}\n"  # said on stderr; stdout is data only
    code, out, err = run(capsys, "kpis", "--format", "json", "--url", url)
    assert code == 0, err
    document = json.loads(out)
    assert (document["start"], document["end"]) == ("2025-04-02", "2025-06-30")  # 90 days
    code, out, _ = run(capsys, "kpis", "--as-of", "2025-05-31", "--format", "json",
                       "--url", url)
    assert json.loads(out)["end"] == "2025-05-31"
    target = tmp_path / "today.pdf"
    code, out, err = run(capsys, "report", "--out", str(target), "--page-size", "letter",
                         "--url", url)
    assert code == 0, err
    assert out == f"wrote {target} (as of 2025-06-30)\n"
    from pypdf import PdfReader

    assert float(PdfReader(target).pages[0].mediabox[2]) == 792.0  # Letter, landscape


def test_a_snapshot_needs_an_as_of(book, capsys, tmp_path: Path) -> None:
    running, _ = book
    with Client(running.base_url, running.credentials.client_id,
                running.credentials.client_secret) as client:
        sync(client, tmp_path / "snap", progress=False)
    code, out, err = run(capsys, "aging", "--snapshot", str(tmp_path / "snap"))
    assert code == 1 and out == ""
    assert err == "ppnb aging: error: a snapshot has no clock of its own: give --as-of DATE\n"


def test_the_default_book_is_the_one_ppnb_lab_serves(tmp_path: Path) -> None:
    """No --url: the embedded emulator over ppnb.lab.book_path() (~/.ppnb/emulator.sqlite
    here, under a fresh HOME), seeded on first use with its talk on stderr, as of its
    clock's day; stdout is only the JSON."""
    (tmp_path / "demo.json").write_text(json.dumps({"invoices": 30, "customers": 4,
                                                    "months": 3}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PPNB_", "PAYPAL_"))}
    env.update(HOME=str(tmp_path), PPNB_TODAY="2025-06-30",
               PPNB_SEED=str(tmp_path / "demo.json"))
    code = ("import json, sys; from ppnb.lab import book_path; print(book_path(None))")
    expected = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=True).stdout.strip()
    assert expected == str(tmp_path / ".ppnb" / "emulator.sqlite")
    done = subprocess.run([sys.executable, "-m", "ppnb.cli", "aging", "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["as_of"] == "2025-06-30" and document["totals"]
    assert done.stderr.startswith(f"ppnb: book: the emulator over {expected} (the book "
                                  "ppnb lab serves")
    assert "seeding the demo book" in done.stderr
    assert (tmp_path / ".ppnb" / "emulator.sqlite").exists()


def test_dashboard_is_a_verb(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["dashboard", "--db", "x.sqlite", "--port", "8899"])
    assert (args.db, args.port, args.out, args.today) == ("x.sqlite", 8899, "out", None)
    from browser import isolated_env, voila_server

    env = isolated_env(tmp_path, PPNB_SEED="none")
    with voila_server(["ppnb.cli", "dashboard", "--db", str(tmp_path / "book.sqlite"),
                       "--out", str(tmp_path / "out"), "--today", "2025-06-30"], env,
                      tmp_path) as served:
        page = httpx.get(served, timeout=300)
        # the book it serves is the --db file, its clock on --today
        with Control.from_serving(tmp_path / "book.sqlite", timeout=30) as control:
            clock = control.clock()
    assert page.status_code == 200 and "<title>dashboard</title>" in page.text
    assert clock["today"] == "2025-06-30"
    assert (tmp_path / "out" / "dashboard" / "dashboard.ipynb").exists()


# --- hostile names: formulas in CSV, control characters in the terminal ---------------------


HOSTILE = ['=HYPERLINK("http://evil.example/","click")', "+1+cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1",
           "Acme\x1b[2J\x1b[31mRed\x07 \u202eevil.exe", "Acme $$ Corp"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def hostile() -> Iterator[RunningEmulator]:
    """An emulator whose open invoices name their customers (and items) like attacks."""
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            for k, name in enumerate(HOSTILE):
                invoice = client.invoices.create({
                    "detail": {"currency_code": "USD", "invoice_date": "2025-05-01",
                               "payment_term": {"due_date": "2025-05-31"}, "memo": name},
                    "primary_recipients": [{"billing_info": {
                        "email_address": f"c{k}@example.com", "business_name": name}}],
                    "items": [{"name": name, "quantity": "1",
                               "unit_amount": {"currency_code": "USD", "value": "10.00"}}]})
                client.invoices.send(invoice["id"])
        yield running


@pytest.fixture
def hostile_url(hostile: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PAYPAL_CLIENT_ID", hostile.credentials.client_id)
    monkeypatch.setenv("PAYPAL_CLIENT_SECRET", hostile.credentials.client_secret)
    return hostile.base_url


def formula_cells(text: str) -> list[str]:
    """CSV cells a spreadsheet would run: starting like a formula and not a plain number."""
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row
            if cell.startswith(FORMULA) and not re.fullmatch(r"[+-]?\d+(\.\d+)?", cell)]


def test_csv_exports_neutralise_formulas(hostile_url: str, capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "pull", "--url", hostile_url)
    assert code == 0, err
    assert formula_cells(out) == []
    names = set(pd.read_csv(io.StringIO(out))["recipient_business"])
    assert names == {"'" + n if n.startswith(FORMULA) else n for n in HOSTILE}
    code, _, err = run(capsys, "pull", "--out", str(tmp_path / "book.csv"), "--all-tables",
                       "--url", hostile_url)
    assert code == 0, err
    for name in ("book.csv", "book.items.csv", "book.payments.csv", "book.refunds.csv"):
        assert formula_cells((tmp_path / name).read_text()) == [], name
    items = pd.read_csv(tmp_path / "book.items.csv")
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in set(items["name"])
    code, out, err = run(capsys, "aging", "--format", "csv", "--by", "recipient_business",
                         "--url", hostile_url)
    assert code == 0, err
    assert formula_cells(out) == [] and "'=HYPERLINK(" in out


def test_neutralising_keeps_numbers_numbers() -> None:
    from ppnb.reports import csv_safe, write_csv

    frame = pd.DataFrame({"name": ["=1+1", "-12.50", "-", "+44 20 7946 0000", "ok", None],
                          "amount_minor": [-1250, 5, -3, 0, 7, 8],
                          "total": ["-12.50", "1e3", "-0.5", "+2", "3.", "-1+2"]})
    shown = csv_safe(frame)
    assert shown["name"].tolist()[:5] == ["'=1+1", "-12.50", "'-", "'+44 20 7946 0000", "ok"]
    assert pd.isna(shown["name"].iloc[5])
    assert shown["amount_minor"].tolist() == [-1250, 5, -3, 0, 7, 8]  # still integers
    assert shown["total"].tolist() == ["-12.50", "1e3", "-0.5", "+2", "3.", "'-1+2"]
    assert frame["name"].iloc[0] == "=1+1"  # the frame itself is untouched
    written = io.StringIO(newline="")
    write_csv(frame.assign(name=frame["name"].replace("ok", "'\r=1+1")), written)
    cells = list(csv.reader(io.StringIO(written.getvalue(), newline="")))
    assert [row[0] for row in cells] == ["name", "'=1+1", "-12.50", "'-", "'+44 20 7946 0000",
                                         "'\r=1+1", ""]  # the CR stays inside its cell
    assert [row[1] for row in cells[1:]] == ["-1250", "5", "-3", "0", "7", "8"]


def test_aging_table_shows_control_characters_as_escapes(hostile_url: str, capsys) -> None:
    code, out, err = run(capsys, "aging", "--as-of", "2025-06-30", "--url", hostile_url)
    assert code == 0, err
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", out)
    assert "Acme\\x1b[2J\\x1b[31mRed\\x07 \\u202eevil.exe" in out
    assert "\\t=1+1" in out and "\\r=1+1" in out


def test_report_with_a_dollar_in_a_name(hostile_url: str, capsys, tmp_path: Path) -> None:
    """Issue 15, defect 6: ``ppnb report`` raised ValueError for a business called
    ``Acme $$ Corp`` (matplotlib read ``$…$`` as mathtext)."""
    for suffix in (".html", ".pdf"):
        target = tmp_path / f"report{suffix}"
        code, _, err = run(capsys, "report", "--as-of", "2025-06-30", "--out", str(target),
                           "--url", hostile_url)
        assert code == 0, err
        assert target.stat().st_size > 1000
    assert "Acme $$ Corp" in (tmp_path / "report.html").read_text(encoding="utf-8")
