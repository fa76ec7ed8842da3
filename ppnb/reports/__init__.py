"""Exported receivables reports: an Excel workbook, a self-contained HTML page or a PDF.

:func:`report` computes the as-of aging, the collection KPIs, the roll rates and the cohort
curves from the tables (with :mod:`ppnb.analysis`; it never calls the API) and writes them
in the format its path's suffix names:

``.xlsx`` (xlsxwriter)
    Sheets *Parameters* (as-of, basis, buckets, KPI period, source, generated at),
    *Summary* (per-currency totals and percentages, then one row per customer × currency),
    *Detail* (one row per open invoice), *KPIs*, *Roll rates*, *Forecast* (the weekly cash
    forecast of :func:`ppnb.analysis.cash_forecast` with its 80% band, and a native chart
    of cumulative collections per currency; it needs scikit-learn, and says so without it)
    and *Charts* (native Excel charts: each currency's outstanding per bucket, and the
    bucket mix of every currency as a 100 % stacked column). Amounts carry their currency's
    number format and decimals (JPY none); every header row is frozen and every table has an
    autofilter.
``.html``
    One file with nothing external: the summary first (parameters, totals, KPIs turned on
    their side, the charts as SVG images), then the groups and each customer's open
    invoices. It fits the window (a wide table scrolls inside its own box) and prints on
    the report's page size, landscape, with table headers repeated and no heading left at a
    page's foot.
``.pdf`` (reportlab)
    Every page the same size (``page_size``: A4 or Letter, landscape). Page 1 carries the
    title, the parameters, the totals per currency and the KPIs; then each chart, one per
    currency at its own size (text 9 pt or more); then the groups and each customer's open
    invoices as real tables whose header row (and customer heading) repeats on every page
    they run on to. Text from the data is drawn in DejaVu Sans, with control characters
    shown as escapes.

Amounts are exact: every cell comes from one int64 minor-unit value through
:func:`ppnb.money.from_minor`, never from a float sum (Excel stores numbers as doubles, so a
cell holds the double nearest that exact Decimal). Different currencies are never added.

The file appears complete or not at all: it is written to a hidden temporary file beside
``path`` and renamed over it at the end. An unsupported suffix, page size or a missing
directory is refused before anything is computed or written.

:func:`report`, :func:`write_worklist` and the constants about them load on first use and need
the ``reports`` extra (``pip install 'ppnb[reports]'``; a missing one is a one-line
:class:`ppnb._extras.MissingExtra`); :func:`write_csv`, :func:`csv_safe` and the file helpers
need only the core install.

Names in the data are only ever data: HTML escapes them, xlsx stores them as strings (never
formulas), the PDF escapes its markup, and :func:`write_csv` writes CSV whose text cannot
run as a formula (:func:`csv_safe`, and every line break quoted).

:func:`write_worklist` writes :func:`ppnb.analysis.worklist` as a collector's sheet.
"""

from __future__ import annotations

from typing import Any

from .._extras import require
from ..display import format_money
from ._csv import FORMULA_STARTS, csv_safe, neutralise, write_csv
from ._files import ReportError, check_target, replacing

#: The names that write reports, loaded on first use: they need the ``reports`` extra
#: (matplotlib, xlsxwriter, reportlab), which CSV and the file helpers above do not.
_WRITERS = ("FORMATS", "PAGE_SIZES", "report", "write_worklist")


def __getattr__(name: str) -> Any:
    """Load a report writer on first use, or say in one line which extra it needs
    (:class:`ppnb._extras.MissingExtra`)."""
    if name not in _WRITERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require("reports", "ppnb.reports")
    from . import _book, _report, _worklist

    found = {"FORMATS": _report.FORMATS, "PAGE_SIZES": _book.PAGE_SIZES, "report": _report.report,
             "write_worklist": _worklist.write_worklist}
    globals().update(found)
    return found[name]


__all__ = ["FORMATS", "FORMULA_STARTS", "PAGE_SIZES", "ReportError",
           "check_target", "csv_safe", "format_money", "neutralise", "replacing", "report",
           "write_csv", "write_worklist"]
