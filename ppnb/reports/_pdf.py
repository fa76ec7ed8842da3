"""The PDF."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from .. import __version__
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

_PAGE = (11.69, 8.27)  # A4 landscape, inches
_ROWS_PER_PAGE = 45
_CELL = 40  # widest cell, in characters (longer text is cut with an ellipsis)


def _table_pages(title: str, header: Sequence[str], rows: Sequence[Sequence[str]],
                 *, footer: str, bold: set[int] | None = None,
                 right: set[int] | None = None) -> Iterator[Figure]:
    """Pages showing a table as aligned monospaced lines, :data:`_ROWS_PER_PAGE` rows at a
    time. Rows whose index is in ``bold`` are section headings; columns in ``right`` are
    right-aligned (numbers). One text object per line keeps long tables quick to render."""
    bold, right = bold or set(), right or set()

    def cut(text: str) -> str:
        return text if len(text) <= _CELL else text[:_CELL - 1] + "…"

    cells = [[cut(c) for c in row] for row in rows]
    body = [row for i, row in enumerate(cells) if i not in bold]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(header)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    pages = max(1, -(-len(cells) // _ROWS_PER_PAGE))
    step = 0.86 / (_ROWS_PER_PAGE + 2)
    for page in range(pages):
        fig = Figure(figsize=_PAGE)
        fig.text(0.04, 0.95, title + (f" (page {page + 1} of {pages})" if pages > 1 else ""),
                 fontsize=13)
        fig.text(0.04, 0.02, footer, fontsize=7, color="0.4")
        fig.text(0.04, 0.91, line(header), family="monospace", fontsize=7, weight="bold")
        chunk = range(page * _ROWS_PER_PAGE, min((page + 1) * _ROWS_PER_PAGE, len(cells)))
        if not cells:
            fig.text(0.04, 0.91 - 2 * step, "(none)", family="monospace", fontsize=7)
        for k, i in enumerate(chunk):
            fig.text(0.04, 0.91 - (k + 1.5) * step,
                     " ".join(rows[i]) if i in bold else line(cells[i]), family="monospace",
                     fontsize=7, weight="bold" if i in bold else "normal")
        yield fig


def _numeric(columns: Sequence[Column]) -> set[int]:
    """Positions of the columns to right-align."""
    return {i for i, (_, _, kind) in enumerate(columns) if kind not in ("text", "date")}


def _write_pdf(book: _Book, path: Path) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    aged = book.aging
    labels = book.labels
    footer = (f"As of {book.as_of}, {book.basis} basis. Source: {book.source or '(not given)'}."
              f" Generated {book.generated_at:%Y-%m-%d %H:%M UTC} by ppnb {__version__}.")
    metadata = {"Title": f"Receivables as of {book.as_of}", "Creator": f"ppnb {__version__}",
                "CreationDate": book.generated_at}
    with PdfPages(path, metadata=metadata) as pdf:
        totals = _shares(aged.totals, labels)
        total_columns = _summary_columns(book, [])
        for fig in _table_pages(f"Receivables as of {book.as_of}", ["Parameter", "Value"],
                                [list(p) for p in book.parameters()], footer=footer):
            pdf.savefig(fig)
        for fig in _table_pages(f"Totals per currency, as of {book.as_of}",
                                [h for h, _, _ in total_columns],
                                _text_rows(totals, total_columns), footer=footer,
                                right=_numeric(total_columns)):
            pdf.savefig(fig)
        figures = _KPI_COLUMNS[1:]  # transposed: one column per currency, named on top
        per_currency = _text_rows(book.kpis, figures)
        kpi_rows = [[header, *(cells[i] for cells in per_currency)]
                    for i, (header, _, _) in enumerate(figures)]
        for fig in _table_pages(
                f"Collection KPIs, {book.kpi_start} to {book.kpi_end}",
                ["", *(str(c) for c in book.kpis["currency"])], kpi_rows, footer=footer,
                right=set(range(1, len(book.kpis) + 1))):
            pdf.savefig(fig)
        for _name, make in book.charts():
            pdf.savefig(make())
        detail_columns = [c for c in _detail_columns() if c[1] not in ("customer",
                                                                         "customer_name")]
        lines: list[list[str]] = []
        headings: set[int] = set()
        for heading, rows_ in _customers(book):
            headings.add(len(lines))
            lines.append([heading, f"  open: {_owed(rows_)}"])
            lines += _text_rows(rows_, detail_columns)
        for fig in _table_pages(f"Open invoices by customer, as of {book.as_of}",
                                [h for h, _, _ in detail_columns], lines, footer=footer,
                                bold=headings, right=_numeric(detail_columns)):
            pdf.savefig(fig)
