"""The Excel workbook (xlsxwriter): every table with its amounts in their currency's number
format, and every column as wide as what it shows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.colors import to_hex

from .. import plots
from ..analysis import RollRates
from ..display import cell_text
from ..money import decimals, from_minor
from ._book import Book
from ._tables import (
    DETAIL_COLUMNS,
    KPI_COLUMNS,
    Column,
    converted_columns,
    converted_heading,
    group_heading,
    is_missing,
    summary_columns,
)

_WIDEST = 60  # characters: a longer text column stays this wide (its cells clip, never ###)
_NARROWEST = 8


def _width(text: str) -> float:
    """A column width (Excel's unit: one digit of the default font) that shows ``text``:
    letters and signs run wider than digits, so 10% more, plus the cell's padding."""
    return min(len(text) * 1.1 + 2, _WIDEST)


class Cells:
    """Writes cells with one format per kind and currency, and keeps each column's widest
    text, so :meth:`size_columns` can make every column as wide as what it shows (Excel and
    LibreOffice show ``###`` for a number wider than its column)."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self._formats: dict[tuple[str, str | None], Any] = {}
        self._widths: dict[tuple[str, int], float] = {}
        self._sheets: dict[str, Any] = {}

    def format(self, kind: str, currency: str | None = None) -> Any:
        """The cell format of ``kind`` (a display kind, or header, title, bold)."""
        key = (kind, currency if kind == "money" else None)
        if key not in self._formats:
            spec: dict[str, Any] = {
                "header": {"bold": True, "bg_color": "#DDE4EE", "border": 1,
                           "text_wrap": True, "valign": "top"},
                "title": {"bold": True, "font_size": 13},
                "bold": {"bold": True},
                "date": {"num_format": "yyyy-mm-dd"},
                "datetime": {"num_format": "yyyy-mm-dd hh:mm"},
                "int": {"num_format": "#,##0"},
                "number": {"num_format": "#,##0.0"},
                "pct": {"num_format": "0.0%"},
                "share": {"num_format": "0.0%"},
            }.get(kind, {})
            if kind == "money":
                places = decimals(str(currency))
                spec = {"num_format": "#,##0" + ("." + "0" * places if places else "")
                        + f' "{currency}"'}
            self._formats[key] = self.workbook.add_format(spec)
        return self._formats[key]

    def value(self, sheet: Any, row: int, col: int, value: Any, kind: str,
              currency: str | None = None) -> None:
        """One value as its kind: money exact in its currency's format, a 0–100 percent as a
        fraction under Excel's percent format, a date as a date, text as text (never a
        formula, whatever it starts with)."""
        if is_missing(value):
            sheet.write_blank(row, col, None, self.format(kind, currency))
            return
        if kind == "money":
            sheet.write_number(row, col, float(from_minor(int(value), str(currency))),
                               self.format(kind, currency))
        elif kind in ("date", "datetime"):
            stamp = pd.Timestamp(value)
            stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
            sheet.write_datetime(row, col, stamp.to_pydatetime(), self.format(kind))
        elif kind in ("int", "number", "share"):
            sheet.write_number(row, col, float(value), self.format(kind))
        elif kind == "pct":
            sheet.write_number(row, col, float(value) / 100, self.format(kind))
        else:
            sheet.write_string(row, col, str(value))
        self._fit(sheet, col, cell_text(value, kind, currency))

    def text(self, sheet: Any, row: int, col: int, text: str, style: str | None = None, *,
             fit: bool = True) -> None:
        """A string cell (``style``: header, title or bold); ``fit=False`` for a title that
        may run on over the empty cells beside it."""
        sheet.write_string(row, col, text, self.format(style) if style else None)
        if fit:  # a header wraps between words: its longest word must fit
            self._fit(sheet, col, max(text.split(), key=len, default="")
                      if style == "header" else text)

    def _fit(self, sheet: Any, col: int, text: str) -> None:
        key = (sheet.name, col)
        self._sheets[sheet.name] = sheet
        self._widths[key] = max(self._widths.get(key, _NARROWEST), _width(text))

    def size_columns(self) -> None:
        """Make every column written through these cells as wide as its widest text."""
        for (name, col), width in self._widths.items():
            self._sheets[name].set_column(col, col, width)


def write_frame(sheet: Any, top: int, frame: pd.DataFrame, columns: Sequence[Column],
                cells: Cells, *, autofilter: bool = True) -> int:
    """Write a header row at ``top`` and one row per frame row; returns the next free row."""
    for col, (header, _, _) in enumerate(columns):
        cells.text(sheet, top, col, header, "header")
    currency = frame["currency"].tolist() if "currency" in frame.columns else [None] * len(frame)
    values = [frame[name].tolist() for _, name, _ in columns]
    for i in range(len(frame)):
        for col, (column, (_, _, kind)) in enumerate(zip(values, columns, strict=True)):
            cells.value(sheet, top + 1 + i, col, column[i], kind, currency[i])
    if autofilter:
        sheet.autofilter(top, 0, top + max(len(frame), 1), len(columns) - 1)
    return top + 2 + len(frame)


def write_xlsx(book: Book, path: Path) -> None:
    """The workbook: Parameters, Summary, Detail, KPIs, Roll rates, Forecast and Charts."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    workbook.set_properties({"title": book.title,
                             "created": book.generated_at.replace(tzinfo=None)})
    cells = Cells(workbook)
    labels = book.labels
    aged = book.aging

    sheet = workbook.add_worksheet("Parameters")
    cells.text(sheet, 0, 0, "Parameter", "header")
    cells.text(sheet, 0, 1, "Value", "header")
    for row, (name, value) in enumerate(book.parameters(), start=1):
        cells.text(sheet, row, 0, name, "bold")
        cells.text(sheet, row, 1, value)
    sheet.freeze_panes(1, 0)

    sheet = workbook.add_worksheet("Summary")
    cells.text(sheet, 0, 0, f"Receivables aging as of {book.as_of} ({book.basis} basis)",
               "title", fit=False)
    cells.text(sheet, 1, 0, "Totals per currency", "bold", fit=False)
    write_frame(sheet, 2, aged.totals, summary_columns(labels, []), cells, autofilter=False)
    top = 2 + len(aged.totals) + 2
    if aged.converted_totals is not None:
        cells.text(sheet, top, 0, converted_heading(aged), "bold", fit=False)
        top = write_frame(sheet, top + 1, aged.converted_totals, converted_columns(labels),
                          cells, autofilter=False) + 1
    cells.text(sheet, top, 0, group_heading(aged.by), "bold", fit=False)
    keys = [k for k in aged.by if k != "currency"]
    groups = aged.summary.sort_values(["currency", "total"], ascending=[True, False])
    write_frame(sheet, top + 1, groups, summary_columns(labels, keys), cells)
    sheet.freeze_panes(top + 2, len(keys))

    sheet = workbook.add_worksheet("Detail")
    detail = aged.detail.sort_values(["currency", "customer", "due_date"])
    write_frame(sheet, 0, detail, DETAIL_COLUMNS, cells)
    sheet.freeze_panes(1, 1)

    sheet = workbook.add_worksheet("KPIs")
    write_frame(sheet, 0, book.kpis, KPI_COLUMNS, cells)
    sheet.freeze_panes(1, 1)

    _write_roll_sheet(workbook.add_worksheet("Roll rates"), book, cells)
    _write_forecast_sheet(workbook, workbook.add_worksheet("Forecast"), book, cells)

    charts = workbook.add_worksheet("Charts")
    _add_charts(workbook, charts, aged.totals, labels, book)
    cells.size_columns()
    workbook.close()


def _write_roll_sheet(sheet: Any, book: Book, cells: Cells) -> None:
    """Per currency: amounts moving between buckets from one month end to the next, the same
    as rates, and the expected collection per bucket."""
    if book.roll is None or book.roll.amounts.empty:
        cells.text(sheet, 0, 0, "Roll rates need at least two month ends of history before "
                   f"{book.as_of}.", fit=False)
        return
    roll = book.roll
    row = 0
    cells.text(sheet, row, 0, "From → to (next month end)", "header")
    sheet.freeze_panes(1, 0)
    row = 2
    for currency in [str(c) for c in roll.amounts.index.get_level_values(0).unique()]:
        amounts = roll.amounts.xs(currency, level=0)
        rates = roll.rates.xs(currency, level=0)
        blocks = [(f"{currency}: amounts", "from \\ to", amounts, "money"),
                  (f"{currency}: rates", "from \\ to", rates, "share")]
        expected = _expected(roll, currency)
        if expected is not None:
            blocks.append((f"{currency}: expected collection per bucket", "bucket", expected,
                           "share"))
        for title, corner, block, kind in blocks:
            row = _write_block(sheet, row, title, corner, block, kind, currency, cells)


_FORECAST_COLUMNS: list[Column] = [
    ("Currency", "currency", "text"), ("Week", "week", "int"), ("Start", "start", "date"),
    ("End", "end", "date"), ("Expected", "expected_minor", "money"),
    ("Low (10%)", "low_minor", "money"), ("High (90%)", "high_minor", "money"),
    ("Cumulative", "cumulative_minor", "money"),
    ("Cumulative low", "cumulative_low_minor", "money"),
    ("Cumulative high", "cumulative_high_minor", "money"),
    ("Open on the as-of date", "open_minor", "money"),
]


def _write_forecast_sheet(workbook: Any, sheet: Any, book: Book, cells: Cells) -> None:
    """The weekly cash forecast per currency, then a chart of cumulative collections with
    the band for each currency."""
    forecast = book.forecast()
    if isinstance(forecast, str):
        cells.text(sheet, 0, 0, forecast, fit=False)
        return
    cells.text(sheet, 0, 0, f"Cash forecast from the invoices open on {book.as_of}: "
               "expected collections per week, with an 80% band (10th to 90th percentile of "
               "2,000 simulated futures; invoices drawn independently)", "bold", fit=False)
    write_frame(sheet, 2, forecast, _FORECAST_COLUMNS, cells)
    sheet.freeze_panes(3, 1)
    first = 3  # the first data row (0-based) below the header at row 2
    for i, currency in enumerate(dict.fromkeys(forecast["currency"])):
        rows = [j for j, c in enumerate(forecast["currency"]) if c == currency]
        top, bottom = first + rows[0], first + rows[-1]
        chart = workbook.add_chart({"type": "line"})
        for column, name, style in ((7, "expected", {"color": "#1F77B4", "width": 2.25}),
                                    (8, "low (10%)", {"color": "#9ECAE1", "dash_type": "dash"}),
                                    (9, "high (90%)", {"color": "#9ECAE1", "dash_type": "dash"})):
            chart.add_series({"name": f"{currency} {name}",
                              "categories": ["Forecast", top, 3, bottom, 3],
                              "values": ["Forecast", top, column, bottom, column],
                              "line": style})
        chart.set_title({"name": f"{currency}: cumulative collections after {book.as_of}"})
        chart.set_y_axis({"name": currency, "num_format": "#,##0"})
        chart.set_x_axis({"name": "week ending", "num_format": "yyyy-mm-dd"})
        chart.set_size({"width": 620, "height": 300})
        sheet.insert_chart(1 + 16 * i, len(_FORECAST_COLUMNS) + 1, chart)


def _write_block(sheet: Any, row: int, title: str, corner: str, block: pd.DataFrame, kind: str,
                 currency: str, cells: Cells) -> int:
    """A titled table with its index as the first column; returns the row after the gap."""
    cells.text(sheet, row, 0, title, "bold", fit=False)
    row += 1
    cells.text(sheet, row, 0, corner, "header")
    for col, name in enumerate(block.columns, start=1):
        cells.text(sheet, row, col, str(name), "header")
    for state, values in block.iterrows():
        row += 1
        cells.text(sheet, row, 0, str(state), "bold")
        for col, value in enumerate(values, start=1):
            cells.value(sheet, row, col, value, kind, currency)
    return row + 2


def _expected(roll: RollRates, currency: str) -> pd.DataFrame | None:
    """One currency's expected-collection shares (rows: buckets; columns: paid, cancelled)."""
    expected = roll.expected_collection
    if expected.empty or currency not in expected.index.get_level_values(0):
        return None
    return expected.xs(currency, level=0)


def _add_charts(workbook: Any, sheet: Any, totals: pd.DataFrame, labels: Sequence[str],
                book: Book) -> None:
    """Native Excel charts over the Summary sheet's totals block (rows 3.. of Summary)."""
    if totals.empty:
        sheet.write_string(0, 0, f"Nothing outstanding as of {book.as_of}.")
        return
    first_label, last_label = 1, len(labels)  # columns of the buckets in the totals block
    for i, currency in enumerate(totals["currency"]):
        row = 3 + i
        chart = workbook.add_chart({"type": "column"})
        chart.add_series({
            "name": f"{currency} outstanding",
            "categories": ["Summary", 2, first_label, 2, last_label],
            "values": ["Summary", row, first_label, row, last_label],
            "points": [{"fill": {"color": to_hex(c)}}
                       for c in plots.bucket_colors(len(labels))],
            "data_labels": {"value": True, "num_format": "#,##0"},
        })
        chart.set_title({"name": f"{currency} outstanding by age, as of {book.as_of}"})
        chart.set_y_axis({"name": currency, "num_format": "#,##0"})
        chart.set_legend({"none": True})
        chart.set_size({"width": 620, "height": 320})
        sheet.insert_chart(1 + 17 * i, 0, chart)
    share = workbook.add_chart({"type": "column", "subtype": "percent_stacked"})
    pct_first = last_label + 2  # the "% label" columns follow "Total"
    for j, color in enumerate(plots.bucket_colors(len(labels))):
        share.add_series({
            "name": ["Summary", 2, 1 + j],
            "categories": ["Summary", 3, 0, 2 + len(totals), 0],
            "values": ["Summary", 3, pct_first + j, 2 + len(totals), pct_first + j],
            "fill": {"color": to_hex(color)},
        })
    share.set_title({"name": f"Bucket mix per currency, as of {book.as_of}"})
    share.set_size({"width": 620, "height": 320})
    sheet.insert_chart(1, 11, share)
