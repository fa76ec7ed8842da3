"""The Excel workbook (xlsxwriter)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.colors import to_hex

from .. import plots
from ..analysis import (
    RollRates,
)
from ..money import decimals, from_minor
from ._book import _Book
from ._tables import _KPI_COLUMNS, Column, _detail_columns, _shares, _summary_columns


class _Formats:
    """xlsxwriter formats, one per currency and kind, created once."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.cache: dict[tuple[str, str | None], Any] = {}

    def __call__(self, kind: str, currency: str | None = None) -> Any:
        key = (kind, currency if kind == "money" else None)
        if key not in self.cache:
            spec: dict[str, Any] = {
                "header": {"bold": True, "bg_color": "#DDE4EE", "border": 1,
                           "text_wrap": True, "valign": "top"},
                "title": {"bold": True, "font_size": 13},
                "bold": {"bold": True},
                "date": {"num_format": "yyyy-mm-dd"},
                "int": {"num_format": "#,##0"},
                "days": {"num_format": "#,##0.0"},
                "pct": {"num_format": "0.0%"},
                "text": {},
            }.get(kind, {})
            if kind == "money":
                places = decimals(str(currency))
                spec = {"num_format": "#,##0" + ("." + "0" * places if places else "")
                        + f' "{currency}"'}
            self.cache[key] = self.workbook.add_format(spec)
        return self.cache[key]


def _write_cell(sheet: Any, row: int, col: int, value: Any, kind: str, currency: str | None,
                formats: _Formats) -> None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        sheet.write_blank(row, col, None, formats(kind, currency))
    elif kind == "money":
        sheet.write_number(row, col, float(from_minor(int(value), str(currency))),
                           formats(kind, currency))
    elif kind == "date":
        sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), formats(kind))
    elif kind in ("int", "days", "pct"):
        sheet.write_number(row, col, float(value), formats(kind))
    else:
        sheet.write_string(row, col, str(value))


def _write_frame(sheet: Any, top: int, frame: pd.DataFrame, columns: Sequence[Column],
                 formats: _Formats, *, autofilter: bool = True) -> int:
    """Write a header row at ``top`` and one row per frame row; returns the next free row."""
    for col, (header, _, _) in enumerate(columns):
        sheet.write_string(top, col, header, formats("header"))
    currency = frame["currency"].tolist() if "currency" in frame.columns else [None] * len(frame)
    for i, (values, cur) in enumerate(zip(frame.itertuples(index=False), currency,
                                          strict=True)):
        row = dict(zip(frame.columns, values, strict=True))
        for col, (_, name, kind) in enumerate(columns):
            _write_cell(sheet, top + 1 + i, col, row[name], kind, cur, formats)
    if autofilter:
        sheet.autofilter(top, 0, top + max(len(frame), 1), len(columns) - 1)
    for col, (header, _, kind) in enumerate(columns):
        sheet.set_column(col, col, max(10, min(28, len(header) + 2)) if kind != "text" else 16)
    return top + 2 + len(frame)


def _write_xlsx(book: _Book, path: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    workbook.set_properties({"title": f"Receivables as of {book.as_of}",
                             "created": book.generated_at.replace(tzinfo=None)})
    formats = _Formats(workbook)
    labels = book.labels
    aged = book.aging

    sheet = workbook.add_worksheet("Parameters")
    sheet.write_row(0, 0, ["Parameter", "Value"], formats("header"))
    for row, (name, value) in enumerate(book.parameters(), start=1):
        sheet.write_string(row, 0, name, formats("bold"))
        sheet.write_string(row, 1, value)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 48)
    sheet.freeze_panes(1, 0)

    sheet = workbook.add_worksheet("Summary")
    sheet.write_string(0, 0, f"Receivables aging as of {book.as_of} ({book.basis} basis)",
                       formats("title"))
    sheet.write_string(1, 0, "Totals per currency", formats("bold"))
    totals = _shares(aged.totals, labels)
    total_columns = _summary_columns(book, [])
    _write_frame(sheet, 2, totals, total_columns, formats, autofilter=False)
    top = 2 + len(totals) + 2
    sheet.write_string(top, 0, f"By {', '.join(aged.by) or 'currency'}", formats("bold"))
    keys = [k for k in aged.by if k != "currency"]
    groups = _shares(aged.summary.sort_values(["currency", "total"],
                                              ascending=[True, False]), labels)
    _write_frame(sheet, top + 1, groups, _summary_columns(book, keys), formats)
    sheet.freeze_panes(top + 2, len(keys))

    sheet = workbook.add_worksheet("Detail")
    detail = aged.detail.sort_values(["currency", "customer", "due_date"])
    _write_frame(sheet, 0, detail, _detail_columns(), formats)
    sheet.freeze_panes(1, 1)

    sheet = workbook.add_worksheet("KPIs")
    _write_frame(sheet, 0, book.kpis, _KPI_COLUMNS, formats)
    sheet.freeze_panes(1, 1)

    _write_roll_sheet(workbook.add_worksheet("Roll rates"), book, formats)
    _write_forecast_sheet(workbook, workbook.add_worksheet("Forecast"), book, formats)

    charts = workbook.add_worksheet("Charts")
    _add_charts(workbook, charts, totals, labels, book)
    workbook.close()


def _write_roll_sheet(sheet: Any, book: _Book, formats: _Formats) -> None:
    """Per currency: amounts moving between buckets from one month end to the next, the same
    as rates, and the expected collection per bucket."""
    if book.roll is None or book.roll.amounts.empty:
        sheet.write_string(0, 0, "Roll rates need at least two month ends of history before "
                                 f"{book.as_of}.")
        return
    roll = book.roll
    row = 0
    sheet.write_string(row, 0, "From → to (next month end)", formats("header"))
    sheet.freeze_panes(1, 0)
    row = 2
    for currency in [str(c) for c in roll.amounts.index.get_level_values(0).unique()]:
        amounts = roll.amounts.xs(currency, level=0)
        rates = roll.rates.xs(currency, level=0)
        blocks = [(f"{currency}: amounts", "from \\ to", amounts, "money"),
                  (f"{currency}: rates", "from \\ to", rates, "pct")]
        expected = _expected(roll, currency)
        if expected is not None:
            blocks.append((f"{currency}: expected collection per bucket", "bucket", expected,
                           "pct"))
        for title, corner, block, kind in blocks:
            row = _write_block(sheet, row, title, corner, block, kind, currency, formats)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 12, 14)


_FORECAST_COLUMNS: list[Column] = [
    ("Currency", "currency", "text"), ("Week", "week", "int"), ("Start", "start", "date"),
    ("End", "end", "date"), ("Expected", "expected_minor", "money"),
    ("Low (10%)", "low_minor", "money"), ("High (90%)", "high_minor", "money"),
    ("Cumulative", "cumulative_minor", "money"),
    ("Cumulative low", "cumulative_low_minor", "money"),
    ("Cumulative high", "cumulative_high_minor", "money"),
    ("Open on the as-of date", "open_minor", "money"),
]


def _write_forecast_sheet(workbook: Any, sheet: Any, book: _Book, formats: _Formats) -> None:
    """The weekly cash forecast per currency, then a chart of cumulative collections with
    the band for each currency."""
    forecast = book.forecast()
    if isinstance(forecast, str):
        sheet.write_string(0, 0, forecast)
        return
    sheet.write_string(0, 0, f"Cash forecast from the invoices open on {book.as_of}: "
                       "expected collections per week, with an 80% band (10th to 90th "
                       "percentile of 2,000 simulated futures; invoices drawn independently)",
                       formats("bold"))
    _write_frame(sheet, 2, forecast, _FORECAST_COLUMNS, formats)
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
                 currency: str, formats: _Formats) -> int:
    """A titled table with its index as the first column; returns the row after the gap."""
    sheet.write_string(row, 0, title, formats("bold"))
    row += 1
    sheet.write_string(row, 0, corner, formats("header"))
    for col, name in enumerate(block.columns, start=1):
        sheet.write_string(row, col, str(name), formats("header"))
    for state, values in block.iterrows():
        row += 1
        sheet.write_string(row, 0, str(state), formats("bold"))
        for col, value in enumerate(values, start=1):
            _write_cell(sheet, row, col, value, kind, currency, formats)
    return row + 2


def _expected(roll: RollRates, currency: str) -> pd.DataFrame | None:
    """One currency's expected-collection shares (rows: buckets; columns: paid, cancelled)."""
    expected = roll.expected_collection
    if expected.empty or currency not in expected.index.get_level_values(0):
        return None
    return expected.xs(currency, level=0)


def _add_charts(workbook: Any, sheet: Any, totals: pd.DataFrame, labels: Sequence[str],
                book: _Book) -> None:
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
