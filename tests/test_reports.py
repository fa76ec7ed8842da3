"""ppnb.reports: the .xlsx, .html and .pdf reports carry the analysis' exact numbers, are
self-contained, and appear complete or not at all."""

from __future__ import annotations

import datetime as dt
import pickle
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from ppnb.analysis import AnalysisError, aging, cash_forecast, kpis
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.frames import Tables
from ppnb.money import decimals, from_minor
from ppnb.pager import fetch_tables
from ppnb.reports import ReportError, format_money, replacing, report
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2025, 6, 30)
GENERATED = dt.datetime(2025, 7, 1, 8, 30, tzinfo=dt.UTC)


def demo_book(customers: int, invoices: int) -> Iterator[Tables]:
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=invoices, customers=customers, months=6)
            yield fetch_tables(client, progress=False)


@pytest.fixture(scope="module")
def tables() -> Iterator[Tables]:
    """A demo book in USD, EUR, GBP and JPY (no decimals)."""
    yield from demo_book(20, 200)


@pytest.fixture(scope="module")
def small() -> Iterator[Tables]:
    """A demo book in USD and EUR only: the HTML and PDF draw one panel per currency, and
    rendering is what takes the time."""
    yield from demo_book(10, 150)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


def exact(cell: float | int) -> Decimal:
    """A numeric cell back as the exact decimal it was written from."""
    return Decimal(repr(float(cell)))


def test_xlsx_sheets_numbers_formats(tables: Tables, out: Path) -> None:
    path = report(tables, out / "book.xlsx", as_of=AS_OF, source="emulator test",
                  generated_at=GENERATED)
    assert path == out / "book.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Parameters", "Summary", "Detail", "KPIs", "Roll rates",
                               "Forecast", "Charts"]

    params = {row[0]: row[1] for row in book["Parameters"].iter_rows(min_row=2, values_only=True)}
    assert params["As of"] == "2025-06-30"
    assert params["Basis"] == "due_date"
    assert params["Buckets"] == "current, 1-30, 31-60, 61-90, 91+"
    assert params["Source"] == "emulator test"
    assert params["Generated at"] == "2025-07-01 08:30:00 UTC"
    assert params["KPI period"] == "2025-04-02 to 2025-06-30"

    aged = aging(tables, AS_OF)
    labels = aged.labels
    summary = book["Summary"]
    header = [c.value for c in summary[3]]
    assert header[: len(labels) + 2] == ["Currency", *labels, "Total"]
    assert header[len(labels) + 2:2 * len(labels) + 2] == [f"% {label}" for label in labels]
    for offset, total in enumerate(aged.totals.to_dict("records")):
        row = summary[4 + offset]
        currency = total["currency"]
        assert row[0].value == currency
        for col, key in enumerate([*labels, "total"], start=1):
            assert exact(row[col].value) == from_minor(total[key], currency)
            places = decimals(currency)
            assert row[col].number_format == "#,##0" + ("." + "0" * places if places else "") \
                + f' "{currency}"'
        share = row[len(labels) + 2].value
        assert share == pytest.approx(total["pct_current"] / 100, nan_ok=True)

    # the customer table below the totals: every group row, adding up to the totals
    first = 4 + len(aged.totals) + 2
    assert [c.value for c in summary[first]][:3] == ["Customer", "Customer name", "Currency"]
    customers = list(summary.iter_rows(min_row=first + 1, values_only=True))
    assert len(customers) == len(aged.summary)
    for total in aged.totals.to_dict("records"):
        cells = [r[3 + len(labels)] for r in customers if r[2] == total["currency"]]
        assert sum(exact(c) for c in cells) == from_minor(total["total"], total["currency"])
    assert summary.freeze_panes == f"C{first + 1}"
    assert summary.auto_filter.ref.startswith(f"A{first}:")

    detail = book["Detail"]
    rows = list(detail.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(aged.detail)
    names = [c.value for c in detail[1]]
    outstanding, currency_col = names.index("Outstanding"), names.index("Currency")
    for total in aged.totals.to_dict("records"):
        cells = [r[outstanding] for r in rows if r[currency_col] == total["currency"]]
        assert sum(exact(c) for c in cells) == from_minor(total["total"], total["currency"])
    assert isinstance(rows[0][names.index("Due date")], dt.datetime)
    assert detail.freeze_panes == "B2" and detail.auto_filter.ref

    figures = kpis(tables, "2025-04-02", AS_OF)
    kpi_rows = list(book["KPIs"].iter_rows(min_row=2, values_only=True))
    kpi_names = [c.value for c in book["KPIs"][1]]
    assert [r[0] for r in kpi_rows] == list(figures["currency"])
    usd = next(r for r in kpi_rows if r[0] == "USD")
    expected = figures.set_index("currency").loc["USD"]
    assert exact(usd[kpi_names.index("Ending AR")]) == from_minor(int(expected["ending_ar_minor"]),
                                                                  "USD")
    assert usd[kpi_names.index("DSO (simple)")] == pytest.approx(expected["dso_simple"])
    kpi_sheet = book["KPIs"]
    jpy = next(i for i, r in enumerate(kpi_rows, start=2) if r[0] == "JPY")  # no decimals
    sales = kpi_sheet.cell(jpy, kpi_names.index("Credit sales") + 1)
    assert sales.number_format == '#,##0 "JPY"'
    assert sales.value == int(figures.set_index("currency").loc["JPY", "credit_sales_minor"])

    rolls = [r[0] for r in book["Roll rates"].iter_rows(values_only=True) if r[0]]
    assert "USD: amounts" in rolls and "USD: rates" in rolls
    assert "USD: expected collection per bucket" in rolls

    # the cash forecast: the analysis' exact figures, per currency and week
    forecast = cash_forecast(tables, AS_OF)
    sheet = book["Forecast"]
    assert "2025-06-30" in sheet["A1"].value and "80% band" in sheet["A1"].value
    names = [c.value for c in sheet[3]]
    assert names[:7] == ["Currency", "Week", "Start", "End", "Expected", "Low (10%)",
                         "High (90%)"]
    cells = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(cells) == len(forecast) == 13 * forecast["currency"].nunique()
    for row, expected in zip(cells, forecast.to_dict("records"), strict=True):
        currency = expected["currency"]
        assert row[:2] == (currency, expected["week"])
        assert row[2] == expected["start"].to_pydatetime()
        for col, key in ((4, "expected_minor"), (5, "low_minor"), (6, "high_minor"),
                         (7, "cumulative_minor")):
            assert exact(row[col]) == from_minor(expected[key], currency)
    assert sheet.cell(4, 5).number_format.endswith(f'"{cells[0][0]}"')
    assert sheet.freeze_panes == "B4"

    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if re.match(r"xl/charts/chart\d+\.xml", n)]
    # one per currency + the bucket mix, and one forecast chart per currency
    assert len(charts) == len(aged.totals) + 1 + forecast["currency"].nunique()


def test_xlsx_forecast_sheet_says_why_without_scikit_learn(small: Tables,
                                                          tmp_path: Path) -> None:
    (tmp_path / "book.pkl").write_bytes(pickle.dumps(small))
    code = ("import pickle, sys; sys.modules['sklearn'] = None\n"
            "from ppnb.reports import report\n"
            f"tables = pickle.loads(open({str(tmp_path / 'book.pkl')!r}, 'rb').read())\n"
            f"report(tables, {str(tmp_path / 'book.xlsx')!r}, as_of='2025-06-30')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    sheet = openpyxl.load_workbook(tmp_path / "book.xlsx")["Forecast"]
    assert sheet["A1"].value == ("No cash forecast as of 2025-06-30: payment predictions need "
                                 "scikit-learn: pip install 'ppnb[ml]'")


def test_html_is_self_contained_summary_first(small: Tables, out: Path) -> None:
    tables = small
    path = report(tables, out / "book.html", as_of="2025-06-30", generated_at=GENERATED)
    text = path.read_text(encoding="utf-8")
    assert text.count('src="data:image/png;base64,') == 6
    markup = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"(https?:)?//\w", markup)  # no external URL of any kind
    assert "<link" not in text and "<script" not in text
    aged = aging(tables, AS_OF)
    usd = aged.totals.set_index("currency").loc["USD"]
    assert format_money(usd["total"], "USD") in text
    summary, detail = text.index("<h2>Summary</h2>"), text.index("Open invoices by customer")
    assert summary < detail
    for number in aged.detail["number"]:
        assert text.index(f"<td>{number}</td>") > detail


def test_pdf_has_summary_then_customer_pages(small: Tables, out: Path) -> None:
    path = report(small, out / "book.pdf", as_of=AS_OF, generated_at=GENERATED)
    reader = PdfReader(path)
    assert len(reader.pages) >= 9  # parameters, totals, KPIs, 6 charts, customer detail
    assert reader.metadata.title == "Receivables as of 2025-06-30"
    first = reader.pages[0].extract_text()
    assert "2025-06-30" in first and "due_date" in first
    last = reader.pages[-1].extract_text()
    assert "Open invoices by customer" in last


@pytest.mark.parametrize("name", ["book.docx", "book", "book.xlsx.bak"])
def test_unknown_suffix_is_refused_before_anything_is_written(
        tables: Tables, tmp_path: Path, name: str) -> None:
    with pytest.raises(ReportError, match=r"\.xlsx, \.html, \.pdf"):
        report(tables, tmp_path / name, as_of=AS_OF)
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_and_bad_parameters_write_nothing(tables: Tables,
                                                            tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        report(tables, tmp_path / "nowhere" / "book.xlsx", as_of=AS_OF)
    with pytest.raises(AnalysisError, match="buckets"):
        report(tables, tmp_path / "book.xlsx", as_of=AS_OF, buckets=(60, 30))
    with pytest.raises(ReportError, match="starts"):
        report(tables, tmp_path / "book.xlsx", as_of=AS_OF, kpi_start="2025-06-01",
               kpi_end="2025-05-01")
    with pytest.raises(AnalysisError, match="as_of"):
        report(tables, tmp_path / "book.xlsx", as_of="June")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "book.html"
    target.write_text("previous")
    with pytest.raises(RuntimeError), replacing(target) as temporary:
        temporary.write_text("half a rep")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [target]
    with replacing(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]
