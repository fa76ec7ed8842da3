"""ppnb.reports: the .xlsx, .html and .pdf reports carry the analysis' exact numbers, are
self-contained, and appear complete or not at all."""

from __future__ import annotations

import base64
import datetime as dt
import io
import pickle
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from browser import SCREENSHOTS, loopback_page, screenshot
from openpyxl.utils import get_column_letter
from pypdf import PdfReader
from test_analysis_aging import invoice  # one invoice as the API returns it

from ppnb.analysis import AnalysisError, Rates, aging, cash_forecast, kpis
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.frames import Tables, flatten
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
    assert sheet["A1"].value == ("No cash forecast as of 2025-06-30: "
                                 "ppnb.analysis.predict_payments needs the 'ml' extra "
                                 "(missing: sklearn): pip install 'ppnb[ml]'")


SECTIONS = ["Outstanding by age", "Largest balances", "Outstanding by age over time",
            "Collection KPIs by month", "Roll rates", "Collection curves"]


def test_html_is_self_contained_summary_first(small: Tables, out: Path) -> None:
    tables = small
    path = report(tables, out / "book.html", as_of="2025-06-30", generated_at=GENERATED)
    text = path.read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"',
                        text)
    aged = aging(tables, AS_OF)
    currencies = list(aged.totals["currency"])  # EUR, USD: one chart per section each
    assert [alt for alt, _ in images] == [f"{s}, {c}" for s in SECTIONS for c in currencies]
    for _, data in images:  # vector charts, 10 inches wide: they print at their own size
        svg = base64.b64decode(data).decode()
        assert svg.startswith("<?xml") and 'width="720pt"' in svg
    markup = re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"(https?:)?//\w", markup)  # no external URL of any kind
    assert "<link" not in text and "<script" not in text
    assert "@page{size:A4 landscape" in text and "@media print" in text
    usd = aged.totals.set_index("currency").loc["USD"]
    assert format_money(usd["total"], "USD") in text
    summary, detail = text.index("Summary</h2>"), text.index("Open invoices by customer")
    assert summary < text.index("<h2>By customer</h2>") < detail
    assert "customer_name" not in markup  # the heading reads "By customer"
    for number in aged.detail["number"]:
        assert text.index(f"<td>{number}</td>") > detail


def test_pdf_has_one_page_size_and_the_summary_on_page_one(small: Tables, out: Path) -> None:
    path = report(small, out / "book.pdf", as_of=AS_OF, generated_at=GENERATED)
    reader = PdfReader(path)
    assert reader.metadata.title == "Receivables as of 2025-06-30"
    assert reader.metadata.creation_date.replace(tzinfo=dt.UTC) == GENERATED
    a4 = (841.89, 595.28)  # landscape, in points
    assert {tuple(round(float(v), 2) for v in page.mediabox[2:]) for page in reader.pages} == {a4}
    first = reader.pages[0].extract_text()
    assert "2025-06-30" in first and "due_date" in first
    aged = aging(small, AS_OF)
    assert "Totals per currency" in first and "Collection KPIs" in first
    for total in aged.totals.to_dict("records"):
        assert f"{format_money(total['total'], total['currency'])} {total['currency']}" in first
    text = [page.extract_text() for page in reader.pages]
    assert "Open invoices by customer" in "".join(text[1:])
    assert all(f"page {n}" in page for n, page in enumerate(text, start=1))
    letter = report(small, out / "letter.pdf", as_of=AS_OF, page_size="letter")
    assert {tuple(float(v) for v in page.mediabox[2:]) for page in PdfReader(letter).pages} \
        == {(792.0, 612.0)}
    with pytest.raises(ReportError, match="page_size must be A4 or Letter"):
        report(small, out / "legal.pdf", as_of=AS_OF, page_size="Legal")
    assert not (out / "legal.pdf").exists()


def test_converted_total_in_every_format_only_with_rates(tmp_path: Path) -> None:
    tables = huge_book()
    aged = aging(tables, AS_OF, rates=HUGE_RATES)
    [total] = aged.converted_totals.to_dict("records")
    exact = sum(from_minor(int(r["total"]), r["currency"]) * HUGE_RATES.rates[r["currency"]]
                for r in aged.totals.to_dict("records"))
    assert total["total"] == int(exact.quantize(Decimal(1)))  # yen: no decimals
    heading = "All currencies in JPY at rates of 2025-06-27"
    shown_total = f"{format_money(total['total'], 'JPY')} JPY"

    book = openpyxl.load_workbook(report(tables, tmp_path / "r.xlsx", as_of=AS_OF,
                                         rates=HUGE_RATES))
    params = {r[0]: r[1] for r in book["Parameters"].iter_rows(min_row=2, values_only=True)}
    assert params["Rates"] == ("JPY at rates of 2025-06-27: 1 EUR = 169.3 JPY; 1 HUF = 0.42 "
                               "JPY; 1 TWD = 4.93 JPY; 1 USD = 144.52 JPY")
    summary = book["Summary"]
    at = next(c.row for row in summary.iter_rows() for c in row if c.value == heading)
    assert [c.value for c in summary[at + 1]] [:len(aged.labels) + 3] == [
        "Currency", *aged.labels, "Total", "Rates of"]
    row = summary[at + 2]
    assert row[0].value == "JPY"
    for col, key in enumerate([*aged.labels, "total"], start=1):
        assert row[col].value == total[key] and row[col].number_format == '#,##0 "JPY"'
    assert row[len(aged.labels) + 2].value == dt.datetime(2025, 6, 27)

    page = report(tables, tmp_path / "r.html", as_of=AS_OF, rates=HUGE_RATES).read_text()
    after = page[page.index(f"<h3>{heading}</h3>"):]
    assert "Rates of 2025-06-27: 1 EUR = 169.3 JPY" in after and shown_total in after
    first = PdfReader(report(tables, tmp_path / "r.pdf", as_of=AS_OF,
                             rates=HUGE_RATES)).pages[0].extract_text()
    assert heading in first and shown_total in first and "1 USD = 144.52 JPY" in first

    plain = [report(tables, tmp_path / f"plain.{s}", as_of=AS_OF) for s in ("xlsx", "html")]
    cells = [c.value for sheet in openpyxl.load_workbook(plain[0]).worksheets
             for row in sheet.iter_rows() for c in row]
    assert not any("at rates of" in str(v) for v in cells) and "Rates" not in cells
    assert "at rates of" not in plain[1].read_text()


def test_bad_rates_stop_the_report_before_anything_is_written(tables: Tables,
                                                            tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match=r"rates: no rate for EUR, GBP\b"):
        report(tables, tmp_path / "book.xlsx", as_of=AS_OF,
               rates=Rates(AS_OF, "USD", {}))
    with pytest.raises(AnalysisError, match=r"give ppnb\.analysis\.Rates"):
        report(tables, tmp_path / "book.pdf", as_of=AS_OF,
               rates={"EUR": "1.08"})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


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


# --- what an analyst prints: column widths, page layout, the HTML in a browser ----------------


def shown(cell: Any) -> str | None:
    """A numeric or date cell as Excel shows it under its number format (None for text)."""
    value, fmt = cell.value, cell.number_format
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if "hh" in fmt else "%Y-%m-%d")
    if fmt == "0.0%":
        return f"{value * 100:.1f}%"
    match = re.fullmatch(r'#,##0(?:\.(0+))?(?: "(\w+)")?', fmt)
    assert match, f"unexpected number format {fmt!r}"
    places, currency = len(match.group(1) or ""), match.group(2)
    return f"{value:,.{places}f}" + (f" {currency}" if currency else "")


def column_width(sheet: Any, col: int) -> float:
    """A column's width as written (Excel's default 8.43 when none was set)."""
    for dimension in sheet.column_dimensions.values():
        if dimension.min and dimension.min <= col <= dimension.max and dimension.customWidth:
            return dimension.width
    return 8.43


def too_narrow(path: Path) -> list[str]:
    """Every column of the workbook narrower than a number or date it shows (``###``)."""
    found = []
    for sheet in openpyxl.load_workbook(path).worksheets:
        widest: dict[int, str] = {}
        for row in sheet.iter_rows():
            for cell in row:
                text = shown(cell)
                if text and len(text) > len(widest.get(cell.column, "")):
                    widest[cell.column] = text
        found += [f"{sheet.title}!{get_column_letter(col)}: {column_width(sheet, col):.1f} "
                  f"wide for {text!r}" for col, text in widest.items()
                  if column_width(sheet, col) < len(text)]
    return found


def huge_book() -> Tables:
    """Amounts up to 1e12 in their currency, some paid in part, in five currencies (three
    without decimals)."""
    return flatten([
        invoice("H-1", 10**14, invoice_date="2024-11-01", due_date="2024-12-01",
                payments=[("2024-12-20", 12_345_678_901_23)], status="PARTIALLY_PAID"),
        invoice("H-2", 10**12, currency="JPY", invoice_date="2025-03-01",
                due_date="2025-04-01", email="jp@example.com", business="大阪商事株式会社"),
        invoice("H-3", 999_999_999_999_99, currency="EUR", invoice_date="2025-06-01",
                due_date="2025-07-01", email="eu@example.com"),
        invoice("H-4", 1_00, invoice_date="2025-05-01", due_date="2025-05-31",
                email="small@example.com"),
        invoice("H-5", 999_999_999_999, currency="HUF", invoice_date="2025-06-10",
                due_date="2025-07-10", email="hu@example.com"),
        invoice("H-6", 10**12, currency="TWD", invoice_date="2025-01-10",
                due_date="2025-02-10", email="tw@example.com"),
    ])


#: Into yen, the huge book's converted total is about 4e14 JPY: the widest amount it shows.
HUGE_RATES = Rates("2025-06-27", "JPY", {"USD": "144.52", "EUR": "169.3", "HUF": "0.42",
                                         "TWD": "4.93"})


def test_xlsx_columns_are_as_wide_as_their_amounts(tables: Tables, tmp_path: Path) -> None:
    demo = report(tables, tmp_path / "demo.xlsx", as_of=AS_OF)
    assert too_narrow(demo) == []
    huge = report(huge_book(), tmp_path / "huge.xlsx", as_of=AS_OF, rates=HUGE_RATES)
    assert too_narrow(huge) == []
    workbook = openpyxl.load_workbook(huge)
    values = {shown(c) for row in workbook["Detail"].iter_rows() for c in row}
    assert {"1,000,000,000,000.00 USD", "1,000,000,000,000 JPY", "999,999,999,999.99 EUR",
            "999,999,999,999 HUF", "1,000,000,000,000 TWD"} <= values
    summary = [c for row in workbook["Summary"].iter_rows() for c in row]
    assert "By customer" in [c.value for c in summary]
    widest = max((shown(c) or "" for c in summary), key=len)
    assert widest.endswith(" JPY") and len(widest) >= len("400,000,000,000,000 JPY")


def test_the_width_check_sees_a_narrow_column(tmp_path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(tmp_path / "narrow.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_number(0, 0, 1e12, workbook.add_format({"num_format": '#,##0.00 "USD"'}))
    sheet.set_column(0, 0, 10.7)  # the width the issue saw
    workbook.close()
    assert too_narrow(tmp_path / "narrow.xlsx") == [
        "Sheet1!A: 11.4 wide for '1,000,000,000,000.00 USD'"]


def long_customer_book() -> Tables:
    """One customer with 130 open invoices (three pages of them) among a few small ones."""
    docs = [invoice(f"L-{k:03d}", 1000 + k, invoice_date="2025-01-15", due_date="2025-02-14",
                    email="long@example.com", business="Longtable & Sons <Ltd>")
            for k in range(130)]
    docs += [invoice(f"S-{k}-{j}", 5000 * (k + 1), currency=("USD", "EUR")[k % 2],
                     invoice_date="2025-05-01", due_date="2025-05-31",
                     email=f"small{k}@example.com", business=f"Small Shop {k}")
             for k in range(12) for j in range(k % 4 + 1)]
    return flatten(docs)


def test_pdf_tables_repeat_their_headers_and_keep_titles_with_rows(tmp_path: Path) -> None:
    path = report(long_customer_book(), tmp_path / "long.pdf", as_of=AS_OF)
    pages = [page.extract_text().splitlines() for page in PdfReader(path).pages]
    start = next(i for i, lines in enumerate(pages) if "Open invoices by customer" in lines)
    titles, continued = 0, 0
    for lines in pages[start:]:
        rows = [i for i, line in enumerate(lines) if re.match(r"[LS]-\d", line)]
        heads = [i for i, line in enumerate(lines) if " · open: " in line]
        assert rows and heads and heads[0] < rows[0]  # a page of rows starts with a title
        for title in heads:  # ... then the header, then at least one invoice row
            assert lines[title + 1] == "Number", lines[title:title + 3]
            assert any(row > title for row in rows), "a title alone at the page's foot"
        titles += len(heads)
        continued += sum("Longtable & Sons <Ltd> (long@example.com) · open: " in lines[h]
                         for h in heads)  # its markup shown as text, not read as markup
    assert continued >= 3  # the long customer's title and header on each of its pages
    assert titles >= 13


def test_pdf_pages_rendered_for_people_to_look_at(tables: Tables, tmp_path: Path) -> None:
    path = report(tables, tmp_path / "book.pdf", as_of=AS_OF, generated_at=GENERATED)
    count = len(PdfReader(path).pages)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("report-page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(tmp_path / "page")],
                   check=True, timeout=300)
    for rendered in sorted(tmp_path.glob("page-*.png")):
        number = int(rendered.stem.rsplit("-", 1)[1])
        rendered.replace(SCREENSHOTS / f"report-page-{number}.png")
    shots = sorted(SCREENSHOTS.glob("report-page-*.png"))
    assert len(shots) == count and all(p.read_bytes()[:4] == b"\x89PNG" for p in shots)


def test_html_fits_the_window_and_prints_on_a4(small: Tables, tmp_path: Path) -> None:
    path = report(small, tmp_path / "book.html", as_of=AS_OF, generated_at=GENERATED)
    outside: list[tuple[str, str]] = []
    with loopback_page(tmp_path, outside) as page:
        page.set_viewport_size({"width": 800, "height": 900})
        page.set_content(path.read_text(encoding="utf-8"), wait_until="load")
        # a narrow window: the page never scrolls sideways (a wide table scrolls in its box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 800
        loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth)")
        assert loaded
        screenshot(page, "report-html")
        # printed: A4 landscape less 12 mm margins is 273 mm, 1032 CSS pixels
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 1032, "height": 700})
        right = page.evaluate("Math.max(...[...document.body.querySelectorAll('*')]"
                              ".map(e => e.getBoundingClientRect().right))")
        assert right <= 1032
        printed = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    assert outside == []
    assert {tuple(round(float(v)) for v in p.mediabox[2:]) for p in printed.pages} == {(842, 595)}
    assert len(printed.pages) >= 8
