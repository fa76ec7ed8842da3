"""The HTML page: one self-contained file that fits the screen and prints on the report's
page size."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ._book import Book
from ._tables import (
    CUSTOMER_DETAIL_COLUMNS,
    NUMERIC,
    Column,
    converted_columns,
    converted_heading,
    customers,
    group_heading,
    kpi_rows,
    named_groups,
    owed,
    rates_text,
    summary_columns,
    text_rows,
)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;padding:0 1em;
color:#222;max-width:11in}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
.table{overflow-x:auto;max-width:100%;margin:.6em 0 1.2em}
table{border-collapse:collapse;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left;
overflow-wrap:break-word}
th{background:#dde4ee}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
figure{margin:.5em 0 1.5em}
figure img{display:block;width:100%;max-width:10in;height:auto}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
dd{margin:0;overflow-wrap:anywhere}
@media print{
body{margin:0;padding:0;max-width:none;font-size:10pt}
h2{break-before:page}h2.first{break-before:auto}
h2,h3,p.owed{break-after:avoid}
figure,tr,dl{break-inside:avoid}
thead{display:table-header-group}
.table{overflow:visible}
table{font-size:8pt}
td{overflow-wrap:anywhere}
}
""".strip()


def _svg(fig: Figure) -> str:
    """The figure as a data URI of an SVG image: sharp at any zoom and in print, at its own
    size (10 inches wide), with nothing external."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """A table (every cell escaped) in a box that scrolls sideways on a narrow screen."""
    def cell(tag: str, text: str, i: int) -> str:
        kind = ' class="n"' if i in numeric else ""
        return f"<{tag}{kind}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", h, i) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>"
                   for row in rows)
    return (f'<div class="table"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _frame_table(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    numeric = {i for i, (_, _, kind) in enumerate(columns) if kind in NUMERIC}
    return _table([h for h, _, _ in columns], text_rows(frame, columns), numeric)


def write_html(book: Book, path: Path) -> None:
    """Parameters and the summary first (totals, KPIs, the charts, the groups), then each
    customer's open invoices."""
    aged, labels = book.aging, book.labels
    page = f"{book.page_size} landscape"
    parts = [f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{html.escape(book.title)}</title>"
             f"<style>@page{{size:{page};margin:12mm}}\n{_CSS}</style></head><body>",
             f"<h1>{html.escape(book.title)}</h1><dl>"]
    parts += [f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
              for k, v in book.parameters()]
    parts.append('</dl><h2 class="first">Summary</h2><h3>Totals per currency</h3>')
    parts.append(_frame_table(aged.totals, summary_columns(labels, [])))
    if aged.converted_totals is not None:
        parts.append(f"<h3>{html.escape(converted_heading(aged))}</h3>"
                     f'<p class="owed">{html.escape(rates_text(aged))}</p>')
        parts.append(_frame_table(aged.converted_totals, converted_columns(labels)))
    parts.append(f"<h3>Collection KPIs, {book.kpi_start} to {book.kpi_end}</h3>")
    header, rows = kpi_rows(book.kpis)
    parts.append(_table(header, rows, set(range(1, len(header)))))
    parts.append("<h2>Charts</h2>")
    section = None
    for chart in book.charts():
        if chart.section != section:
            section = chart.section
            parts.append(f"<h3>{html.escape(section)}</h3>")
        name = f"{chart.section}, {chart.currency}" if chart.currency else chart.section
        parts.append(f'<figure><img alt="{html.escape(name)}" src="{_svg(chart.make())}">'
                     "</figure>")
    keys = [k for k in aged.by if k not in ("currency", "customer_name")]
    groups = aged.summary.sort_values(["currency", "total"], ascending=[True, False])
    parts.append(f"<h2>{html.escape(group_heading(aged.by))}</h2>")
    parts.append(_frame_table(named_groups(groups, keys),
                              summary_columns(labels, keys, shares=False)))
    parts.append("<h2>Open invoices by customer</h2>")
    for heading, rows_ in customers(aged.detail):
        parts.append(f"<h3>{html.escape(heading)}</h3>"
                     f'<p class="owed">Open: {html.escape(owed(rows_))}</p>')
        parts.append(_frame_table(rows_, CUSTOMER_DETAIL_COLUMNS))
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")

