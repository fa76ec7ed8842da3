"""One dashboard page over the book: ``ppnb dashboard`` serves it with Voila on loopback.

The page is one widget, :class:`Dashboard`: pickers for the as-of date, currency, customer
and aging basis; the aging totals, summary and detail shown as money; the charts; the KPIs
for the report period; the customer view; and buttons that prepare the xlsx, HTML and PDF
report of exactly what is on screen, each offered as a download link. Its logic sits in plain
methods (:meth:`Dashboard.refresh`, :meth:`Dashboard.selection`,
:meth:`Dashboard.report_file`) that tests call directly; the widgets only wire them up.

``ppnb dashboard`` (or ``python -m ppnb.dashboard``) serves the same book as ``ppnb lab``
(:func:`ppnb.lab.book_path`), writes a one-cell notebook that shows the dashboard into
``OUT/dashboard/``, and runs Voila on it at http://127.0.0.1:8866.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._extras import require

require("notebook", "ppnb dashboard")  # ipywidgets and Voila: one line if they are missing

import ipywidgets as widgets  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402

from . import analysis, plots  # noqa: E402
from .analysis import KPI_DAYS, as_date  # noqa: E402
from .frames import Tables  # noqa: E402
from .reports import report  # noqa: E402

__all__ = ["ALL", "Dashboard", "add_arguments", "main", "run_dashboard", "write_notebook"]

#: The picker choice that keeps every currency or customer.
ALL = "(all)"
_STYLE = ("<style>.ppnb-dashboard td { text-align: right; white-space: nowrap; } "
          ".ppnb-dashboard th { white-space: nowrap; } "
          ".ppnb-dashboard table { border-collapse: collapse; font-size: 13px; }</style>")
_MIME = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ".html": "text/html", ".pdf": "application/pdf"}


class Dashboard(widgets.VBox):
    """The receivables of ``tables`` as of a date, filtered and exported from one page.

    Parameters
    ----------
    tables
        The whole book (every invoice: the KPIs need the paid ones too).
    as_of
        The first as-of date shown (the book's today: ``client.today()``).
    source
        Where the book came from, printed in the reports.
    """

    def __init__(self, tables: Tables, as_of: Any, *, source: str = "") -> None:
        self._tables, self._source = tables, source
        invoices = tables.invoices
        self._as_of = widgets.DatePicker(description="As of", value=as_date(
            as_of, "as_of"))
        self._currency = widgets.Dropdown(description="Currency", options=[
            ALL, *sorted(invoices["currency"].dropna().unique())])
        self._customer = widgets.Dropdown(description="Customer", options=[
            ALL, *sorted(invoices["recipient_email"].dropna().unique())])
        self._basis = widgets.ToggleButtons(description="Age from", options=[
            ("due date", "due_date"), ("invoice date", "invoice_date")])
        self._status = widgets.HTML()
        self._sections = {name: widgets.HTML() for name in
                          ("totals", "summary", "detail", "kpis", "customers", "charts")}
        self._link = widgets.HTML()
        buttons = [widgets.Button(description=f"Prepare {suffix[1:]}", icon="download")
                   for suffix in _MIME]
        for button, suffix in zip(buttons, _MIME, strict=True):
            button.on_click(lambda _b, s=suffix: self.offer(s))
        for picker in (self._as_of, self._currency, self._customer, self._basis):
            picker.observe(lambda _change: self.refresh(), names="value")
        tabs = widgets.Tab(children=[self._sections[k] for k in
                                     ("summary", "detail", "kpis", "customers", "charts")])
        for i, title in enumerate(("Summary", "Detail", "KPIs", "Customers", "Charts")):
            tabs.set_title(i, title)
        super().__init__([
            widgets.HTML(_STYLE), widgets.HBox([self._as_of, self._currency, self._customer]),
            self._basis,
            self._status, self._sections["totals"], tabs,
            widgets.HBox([*buttons, self._link])])
        self.add_class("ppnb-dashboard")
        self.refresh()

    @classmethod
    def connect(cls, client: Any = None) -> Dashboard:
        """A dashboard over the whole book ``client`` reaches (default ``ppnb.connect()``)."""
        from .connection import connect
        from .pager import fetch_tables

        client = client or connect()
        return cls(fetch_tables(client, progress=False), client.today(),
                   source=str(client.base_url))

    # --- logic (plain methods; the widgets call these) -------------------------------------

    @property
    def value(self) -> dict[str, Any]:
        """What is picked: ``as_of``, ``currency``, ``customer`` (``ALL`` for every one) and
        ``basis``."""
        return {"as_of": self._as_of.value, "currency": self._currency.value,
                "customer": self._customer.value, "basis": self._basis.value}

    def set(self, **picks: Any) -> None:
        """Pick ``as_of``, ``currency``, ``customer`` or ``basis`` (refreshes the page)."""
        fields = {"as_of": self._as_of, "currency": self._currency,
                  "customer": self._customer, "basis": self._basis}
        unknown = set(picks) - set(fields)
        if unknown:
            raise TypeError(f"unknown picks {sorted(unknown)}; use {sorted(fields)}")
        for name, value in picks.items():
            fields[name].value = as_date(value, "as_of") if name == "as_of" else value

    def selection(self) -> Tables:
        """The book narrowed to the picked currency and customer (children follow)."""
        invoices = self._tables.invoices
        keep = pd.Series(True, index=invoices.index)
        if self._currency.value != ALL:
            keep &= invoices["currency"] == self._currency.value
        if self._customer.value != ALL:
            keep &= invoices["recipient_email"] == self._customer.value
        return self._tables.subset(invoices.loc[keep, "id"])

    def refresh(self) -> None:
        """Recompute every section for the current picks."""
        picked = self.value
        if picked["as_of"] is None:
            self._status.value = "<b>Pick an as-of date.</b>"
            return
        as_of, book = picked["as_of"], self.selection()
        aged = analysis.aging(book, as_of, basis=picked["basis"])
        start = as_of - dt.timedelta(days=KPI_DAYS - 1)
        self._status.value = (
            f"<span class='ppnb-as-of'>As of {as_of.isoformat()}</span> · "
            f"{len(aged.detail):,} open invoices · KPIs {start.isoformat()} to "
            f"{as_of.isoformat()} · aged from the {picked['basis'].replace('_', ' ')}")
        self._sections["totals"].value = _table(
            aged.totals.ppnb.view(side_by_side=True) if len(aged.totals) else aged.totals,
            "ppnb-totals")
        self._sections["summary"].value = _table(
            aged.summary.sort_values("total", ascending=False).ppnb.view(), "ppnb-summary")
        self._sections["detail"].value = _table(
            aged.detail.sort_values("days_past_due", ascending=False).ppnb.view(),
            "ppnb-detail")
        kpis = analysis.kpis(book, start, as_of, basis=picked["basis"])
        self._sections["kpis"].value = _table(
            kpis.ppnb.view(side_by_side=True) if len(kpis) else kpis, "ppnb-kpis")
        self._sections["customers"].value = _table(
            analysis.customer_view(book, as_of).sort_values("open_minor", ascending=False)
            .ppnb.view(), "ppnb-customers")
        self._sections["charts"].value = "".join(
            _svg(figure) for figure in (plots.aging_bars(aged), plots.aging_heatmap(aged)))
        self._link.value = ""

    def report_file(self, suffix: str, folder: str | Path) -> Path:
        """Write the report of what is picked into ``folder`` (``.xlsx``, ``.html``, ``.pdf``)."""
        if suffix not in _MIME:
            raise ValueError(f"a report is {', '.join(_MIME)}, not {suffix!r}")
        picked = self.value
        name = f"ar-{picked['as_of'].isoformat()}{suffix}"
        return report(self.selection(), Path(folder) / name, as_of=picked["as_of"],
                      basis=picked["basis"], source=self._source)

    def offer(self, suffix: str) -> str:
        """Prepare the report and show it as a download link; returns the link's HTML."""
        with tempfile.TemporaryDirectory(prefix="ppnb-dashboard-") as folder:
            path = self.report_file(suffix, folder)
            data = base64.b64encode(path.read_bytes()).decode("ascii")
        self._link.value = (f'<a class="ppnb-download" download="{html.escape(path.name)}" '
                            f'href="data:{_MIME[suffix]};base64,{data}">'
                            f"Download {html.escape(path.name)}</a>")
        return self._link.value


def _table(frame: pd.DataFrame, css: str) -> str:
    if frame.empty:
        return f"<p class='{css}'>Nothing open.</p>"
    # a plain row number says nothing; row labels (a side-by-side view's figures) stay, and a
    # wide table scrolls inside its own box instead of running off the page
    table = frame.to_html(classes=css, border=0, escape=True,
                          index=not pd.api.types.is_integer_dtype(frame.index))
    return f"<div style='overflow-x: auto; max-width: 100%'>{table}</div>"


def _svg(figure: Any) -> str:
    """A figure as inline SVG (sharp at any zoom and in print), then released."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


# --- serving ------------------------------------------------------------------------------------


def write_notebook(folder: str | Path) -> Path:
    """The one-cell notebook Voila serves: it shows ``Dashboard.connect()``."""
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from ppnb.dashboard import Dashboard\n\nDashboard.connect()")])
    target = Path(folder) / "dashboard.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(book, target)
    return target


def run_dashboard(db: str | Path | None = None, *, out: str | Path = "out",
                  port: int = 8866, today: str | None = None) -> int:
    """Serve the book (see ``ppnb lab``) and the dashboard on 127.0.0.1:``port`` until stopped."""
    from .lab import book_path, run_until_stopped, serve_book

    if os.environ.get("PPNB_ENV", "emulator").lower() == "emulator":
        path = book_path(db)
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"book: the emulator over {path}", flush=True)
        serve_book(path, today=today)
    notebook = write_notebook(Path(out) / "dashboard")
    print(f"dashboard at http://127.0.0.1:{port}/", flush=True)
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser",
               f"--port={port}", "--Voila.ip=127.0.0.1",
               "--VoilaConfiguration.show_tracebacks=True", "--VoilaExecutor.timeout=600"]
    return run_until_stopped(command, cwd=notebook.parent)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ppnb dashboard``."""
    parser.add_argument("--db", default=None, help="the emulator's SQLite file (default: the "
                        "book ppnb lab and the CLI use)")
    parser.add_argument("--out", default="out", help="where the dashboard's notebook goes")
    parser.add_argument("--port", type=int, default=8866, help="the dashboard's port")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                        help="start a fresh emulator's clock on this day")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ppnb.dashboard [--db FILE] [--out DIR] [--port N] [--today DATE]``."""
    parser = argparse.ArgumentParser(prog="python -m ppnb.dashboard",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_dashboard(args.db, out=args.out, port=args.port, today=args.today)


if __name__ == "__main__":
    sys.exit(main())
