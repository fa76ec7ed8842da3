"""The PDF (reportlab): one page size throughout, the summary on page 1, real tables whose
headers repeat on every page, customer headings that never stand alone at a page's foot,
and each chart at its own size."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from .. import __version__
from ..display import visible
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

PAGES = {"A4": landscape(A4), "LETTER": landscape(letter)}
_MARGIN = 12 * mm
_FONT, _BOLD = "DejaVuSans", "DejaVuSans-Bold"
_SIZE, _SMALLEST = 8.0, 6.0  # points: table text, and the least a wide table shrinks to
_CUT = 120  # characters of a cell shown; a longer name ends in an ellipsis
_PAD = 3  # points of padding on each side of a cell
_DPI = 200  # charts are drawn at print resolution
_HEADER = colors.HexColor("#DDE4EE")


def write_pdf(book: Book, path: Path) -> None:
    """Page 1: the title, the parameters, the totals and the KPIs. Then the charts, the
    groups, and each customer's open invoices."""
    _fonts()
    size = PAGES[book.page_size.upper()]
    doc = SimpleDocTemplate(str(path), pagesize=size, leftMargin=_MARGIN,
                            rightMargin=_MARGIN, topMargin=_MARGIN,
                            bottomMargin=_MARGIN + 4 * mm, title=book.title,
                            author=f"ppnb {__version__}", creator=f"ppnb {__version__}",
                            subject=f"Receivables as of {book.as_of}, {book.basis} basis")
    width, height = doc.width, doc.height
    styles = _styles()
    aged, labels = book.aging, book.labels
    story: list[Any] = [Paragraph(_text(book.title), styles["title"]),
                        Paragraph(" · ".join(f"<b>{_text(k)}</b>: {_text(v)}"
                                             for k, v in book.parameters()), styles["body"]),
                        Paragraph("Totals per currency", styles["h2"]),
                        _frame_table(aged.totals, summary_columns(labels, []), width, styles)]
    if aged.converted_totals is not None:
        story += [Paragraph(_text(converted_heading(aged)), styles["h2"]),
                  Paragraph(html.escape(rates_text(aged)), styles["body"]),  # every rate
                  _frame_table(aged.converted_totals, converted_columns(labels), width, styles)]
    header, rows = kpi_rows(book.kpis)
    story += [Paragraph(f"Collection KPIs, {book.kpi_start} to {book.kpi_end}", styles["h2"]),
              _table(header, rows, set(range(1, len(header))), width, styles)]
    section = None
    for chart in book.charts():
        flowables: list[Any] = []
        if chart.section != section:
            section = chart.section
            flowables.append(Paragraph(_text(section), styles["h2"]))
        flowables.append(_image(chart.make(), width, height - 40))
        story.append(KeepTogether(flowables))
    keys = [k for k in aged.by if k not in ("currency", "customer_name")]
    groups = aged.summary.sort_values(["currency", "total"], ascending=[True, False])
    story += [Paragraph(_text(group_heading(aged.by)), styles["h2"]),
              _frame_table(named_groups(groups, keys),
                           summary_columns(labels, keys, shares=False), width, styles),
              Paragraph("Open invoices by customer", styles["h2"])]
    columns = CUSTOMER_DETAIL_COLUMNS
    numeric = {i for i, (_, _, kind) in enumerate(columns) if kind in NUMERIC}
    for heading, rows_ in customers(aged.detail):
        story += [_table([h for h, _, _ in columns], text_rows(rows_, columns), numeric, width,
                         styles, title=f"{heading} · open: {owed(rows_)}"),
                  Spacer(1, 8)]

    def page(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setDateFormatter(lambda *_: book.generated_at.strftime("D:%Y%m%d%H%M%S+00'00'"))
        canvas.setFont(_FONT, 7)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(_MARGIN, _MARGIN / 2, _fit(visible(book.footer()), width - 60, 7))
        canvas.drawRightString(size[0] - _MARGIN, _MARGIN / 2, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(story, onFirstPage=page, onLaterPages=page)


def _fonts() -> None:
    """DejaVu Sans (it ships with matplotlib) for every text: it has glyphs for most scripts,
    where the PDF's built-in Helvetica has Latin-1 only."""
    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT,
                                  boldItalic=_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=_FONT, fontSize=9, leading=12, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=_BOLD, fontSize=16, leading=20,
                                spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=body, fontName=_BOLD, fontSize=12, leading=15,
                             spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "body": body,
    }


def _text(value: Any) -> str:
    """Text from the data as a paragraph's markup: controls visible, long text cut, and
    ``<``, ``>``, ``&`` escaped (reportlab reads paragraphs as markup)."""
    shown = visible(str(value))
    if len(shown) > _CUT:
        shown = shown[:_CUT - 1] + "…"
    return html.escape(shown, quote=False)


def _fit(text: str, width: float, size: float) -> str:
    """``text`` cut with an ellipsis to ``width`` points in the body font."""
    if pdfmetrics.stringWidth(text, _FONT, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", _FONT, size) > width:
        text = text[:max(len(text) - 8, 0)]
    return text + "…"


def _frame_table(frame: pd.DataFrame, columns: Sequence[Column], width: float,
                 styles: dict[str, ParagraphStyle]) -> Table:
    numeric = {i for i, (_, _, kind) in enumerate(columns) if kind in NUMERIC}
    return _table([h for h, _, _ in columns], text_rows(frame, columns), numeric, width, styles)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int],
           width: float, styles: dict[str, ParagraphStyle], *, title: str | None = None
           ) -> Table:
    """A table that fits ``width``: numbers never wrap, text columns share what is left and
    wrap, and a table whose numbers alone are too wide is set smaller. Its header row (and
    ``title``, a first row across all columns) repeats on every page it runs on to, and
    reportlab splits it only after at least one row, so the title never stands alone."""
    size = _SIZE
    widths = _widths(header, rows, numeric, width, size)
    if sum(widths) > width:
        size = max(_SMALLEST, size * width / sum(widths))
        widths = _widths(header, rows, numeric, width, size)
    plain = ParagraphStyle("cell", fontName=_FONT, fontSize=size, leading=size * 1.2)
    right = ParagraphStyle("number", parent=plain, alignment=TA_RIGHT)
    bold = ParagraphStyle("header", parent=plain, fontName=_BOLD)
    cells = [[Paragraph(_text(h), bold) for h in header]]
    cells += [[Paragraph(_text(c), right if i in numeric else plain) for i, c in enumerate(row)]
              for row in rows] or [[Paragraph("(none)", plain), *[""] * (len(header) - 1)]]
    top = 0
    commands: list[tuple[Any, ...]] = []
    if title is not None:
        heading = ParagraphStyle("title", parent=styles["h2"], fontSize=10, leading=13,
                                 spaceBefore=0, spaceAfter=0)
        cells.insert(0, [Paragraph(_text(title), heading), *[""] * (len(header) - 1)])
        commands += [("SPAN", (0, 0), (-1, 0)), ("LINEBELOW", (0, 0), (-1, 0), 0.8,
                                                 colors.HexColor("#888888"))]
        top = 1
    commands += [
        ("BACKGROUND", (0, top), (-1, top), _HEADER),
        ("GRID", (0, top), (-1, -1), 0.25, colors.HexColor("#BBBBBB")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD), ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("ROWBACKGROUNDS", (0, top + 1), (-1, -1), [colors.white, colors.HexColor("#F5F7FA")]),
    ]
    return Table(cells, colWidths=widths, repeatRows=top + 1, hAlign="LEFT", style=commands)


def _widths(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int],
            width: float, size: float) -> list[float]:
    """Column widths in points: each as wide as its widest cell (a header may wrap between
    words); if they do not fit, the text columns share what the numbers leave."""
    natural = []
    for i, name in enumerate(header):
        words = max((pdfmetrics.stringWidth(w, _BOLD, size) for w in name.split()), default=0)
        cells = max((pdfmetrics.stringWidth(visible(r[i])[:_CUT], _FONT, size) for r in rows),
                    default=0)
        natural.append(max(words, cells) + 2 * _PAD + 1)
    text = [i for i in range(len(header)) if i not in numeric]
    room = width - sum(natural[i] for i in numeric)
    wanted = sum(natural[i] for i in text)
    if text and wanted > room:
        for i in text:  # share the room, a column never narrower than about 8 characters
            natural[i] = max(natural[i] * max(room, 0) / wanted, 8 * size * 0.6 + 2 * _PAD)
    return natural


def _image(fig: Any, width: float, height: float) -> Image:
    """A chart at print resolution and its own size (smaller only if it cannot fit)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    w, h = (v * 72 for v in fig.get_size_inches())
    scale = min(1.0, width / w, height / h)
    buffer.seek(0)
    return Image(buffer, width=w * scale, height=h * scale, hAlign="LEFT")
