"""report(): one call for every format."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis import DEFAULT_BUCKETS, KPI_DAYS, Rates, as_date
from ..frames import Tables
from ._book import PAGE_SIZES, collect
from ._files import ReportError, check_target, replacing
from ._html import write_html
from ._pdf import write_pdf
from ._xlsx import write_xlsx

#: Suffixes :func:`report` writes.
FORMATS = (".xlsx", ".html", ".pdf")

DateLike = dt.date | dt.datetime | str


def report(
    tables: Tables,
    path: str | os.PathLike[str],
    *,
    as_of: DateLike,
    basis: str = "due_date",
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    kpi_start: DateLike | None = None,
    kpi_end: DateLike | None = None,
    source: str = "",
    generated_at: dt.datetime | None = None,
    page_size: str = "A4",
    rates: Rates | None = None,
) -> Path:
    """Write a receivables report as of a date: ``.xlsx``, ``.html`` or ``.pdf`` by suffix.

    Parameters
    ----------
    tables
        The book (``ppnb.fetch_tables(client)`` or ``ppnb.load(path)``): every invoice,
        paid or not, so the KPIs and roll rates see the whole history.
    path
        Where to write; the suffix picks the format (see the module docstring). An existing
        file is replaced only once the new one is complete.
    as_of
        The date the balances are rebuilt on (required: a report says which day it
        describes, so it is never taken from a clock).
    basis, buckets
        As in ``ppnb.aging``: age from the ``due_date`` (default) or the ``invoice_date``,
        with bucket edges in days (default 30, 60, 90).
    kpi_start, kpi_end
        The KPI period, inclusive; by default the :data:`ppnb.analysis.KPI_DAYS` days
        ending on ``as_of``.
    source
        Where the tables came from, printed in the parameters (e.g. a URL or a snapshot
        path; never put credentials here).
    generated_at
        Printed as the generation time; default: the machine's current UTC time (metadata
        only, nothing is computed from it).
    page_size
        ``"A4"`` (default) or ``"Letter"``: every page of the PDF, landscape, and the page
        the HTML asks for when printed.
    rates
        Optional :class:`ppnb.analysis.Rates` (date, target currency, rates): the totals
        per currency are then followed by one converted total, labelled with the target
        and the rates' date, and the rates are listed in the parameters. Without rates no
        figure adds currencies.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ReportError
        For a suffix other than ``.xlsx``, ``.html``, ``.pdf``, a directory that does not
        exist, a KPI period that ends before it starts, or another page size; raised
        before anything is written.
    ppnb.analysis.AnalysisError
        For a malformed date, basis or buckets, or rates that are not :class:`Rates` or
        lack a currency of the book (also a ``ValueError``); raised before anything is
        written.
    """
    target = check_target(path, FORMATS, "a report")
    paper = next((p for p in PAGE_SIZES if p.lower() == str(page_size).lower()), None)
    if paper is None:
        raise ReportError(f"page_size must be {' or '.join(PAGE_SIZES)}, not {page_size!r}")
    day = as_date(as_of, "as_of")
    end = as_date(kpi_end, "kpi_end") if kpi_end is not None else day
    start = as_date(kpi_start, "kpi_start") if kpi_start is not None else \
        end - dt.timedelta(days=KPI_DAYS - 1)
    if start > end:
        raise ReportError(f"the KPI period starts ({start}) after it ends ({end})")
    stamp = generated_at or dt.datetime.now(dt.UTC)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC)
    book = collect(tables, as_of=day, basis=basis, buckets=buckets, kpi_start=start,
                   kpi_end=end, source=source, generated_at=stamp, page_size=paper,
                   rates=rates)
    writer = {".xlsx": write_xlsx, ".html": write_html, ".pdf": write_pdf}
    with replacing(target) as temporary:
        writer[target.suffix.lower()](book, temporary)
    return target
