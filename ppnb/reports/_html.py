"""The self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ._book import _Book
from ._tables import (
    _KPI_COLUMNS,
    Column,
    _customers,
    _detail_columns,
    _owed,
    _shares,
    _summary_columns,
    _text_rows,
)

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222;
max-width:1100px}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em}th{background:#dde4ee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.5em 0 1.5em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}
""".strip()


def _png(fig: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _html_table(frame: pd.DataFrame, columns: Sequence[Column]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _, _ in columns)
    body = []
    for cells in _text_rows(frame, columns):
        tds = "".join(
            f'<td class="n">{html.escape(c)}</td>' if kind not in ("text", "date")
            else f"<td>{html.escape(c)}</td>"
            for c, (_, _, kind) in zip(cells, columns, strict=True))
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _write_html(book: _Book, path: Path) -> None:
    title = f"Receivables as of {book.as_of}"
    aged = book.aging
    labels = book.labels
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><dl>"]
    parts += [f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
              for k, v in book.parameters()]
    parts.append("</dl><h2>Summary</h2><h3>Totals per currency</h3>")
    parts.append(_html_table(_shares(aged.totals, labels), _summary_columns(book, [])))
    parts.append("<h3>Collection KPIs</h3>")
    parts.append(_html_table(book.kpis, _KPI_COLUMNS))
    for name, make in book.charts():
        fig = make()
        encoded = base64.b64encode(_png(fig)).decode("ascii")
        parts.append(f"<h3>{html.escape(name)}</h3>"
                     f'<img alt="{html.escape(name)}" src="data:image/png;base64,{encoded}">')
    keys = [k for k in aged.by if k != "currency"]
    parts.append(f"<h3>By {html.escape(', '.join(aged.by) or 'currency')}</h3>")
    groups = _shares(aged.summary.sort_values(["currency", "total"], ascending=[True, False]),
                     labels)
    parts.append(_html_table(groups, _summary_columns(book, keys)))
    parts.append("<h2>Open invoices by customer</h2>")
    columns = [c for c in _detail_columns() if c[1] not in ("customer", "customer_name")]
    for heading, rows in _customers(book):
        parts.append(f"<h3>{html.escape(heading)}</h3><p>Open: {html.escape(_owed(rows))}</p>")
        parts.append(_html_table(rows, columns))
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
