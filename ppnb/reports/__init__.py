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
    One file with nothing external: the summary first (totals, KPIs, the charts as inline
    base64 PNGs), then each customer's open invoices.
``.pdf`` (matplotlib's PdfPages, no other dependency)
    The summary pages first (parameters and totals, charts, KPIs), then each customer's
    open invoices.

Amounts are exact: every cell comes from one int64 minor-unit value through
:func:`ppnb.money.from_minor`, never from a float sum (Excel stores numbers as doubles, so a
cell holds the double nearest that exact Decimal). Different currencies are never added.

The file appears complete or not at all: it is written to a hidden temporary file beside
``path`` and renamed over it at the end. An unsupported suffix or a missing directory is
refused before anything is computed or written.

:func:`write_worklist` writes :func:`ppnb.analysis.worklist` as a collector's sheet.
"""

from __future__ import annotations

from ._book import KPI_DAYS
from ._files import ReportError, check_target, replacing
from ._report import FORMATS, report
from ._tables import format_money
from ._worklist import write_worklist

__all__ = ["FORMATS", "KPI_DAYS", "ReportError", "check_target", "format_money", "replacing",
           "report", "write_worklist"]
