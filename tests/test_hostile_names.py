"""Hostile names: whatever a customer or an invoice is called, reports, charts and CSV are
written, and nothing in them runs.

Names here are formula prefixes (``=``, ``+``, ``-``, ``@``, tab, CR), matplotlib's ``$``
mathtext, HTML markup, control characters (ESC, BEL, NUL), right-to-left overrides and
10,000-character names. The property test draws them with Hypothesis and checks every
output; the first test is the reproduction of issue 15's defect 6 (a business called
``Acme $$ Corp`` made the HTML and PDF reports and ``plots.aging_heatmap`` raise).
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import warnings
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from matplotlib.cbook import is_math_text
from matplotlib.figure import Figure
from matplotlib.text import Text
from pypdf import PdfReader
from test_analysis_aging import invoice  # one invoice as the API returns it
from test_plot_images import worklist_frame

from ppnb import plots
from ppnb.analysis import aging, aging_series, cohort_curves, kpi_series, month_ends, roll_rates
from ppnb.frames import Tables, flatten
from ppnb.reports import FORMULA_STARTS, report, write_csv
from ppnb.reports._csv import _NUMBER

AS_OF = dt.date(2025, 6, 30)
ENDS = month_ends("2025-01-01", AS_OF)
ATTACKS = ["Acme $$ Corp", "$\\frac{1}{0}$", '=HYPERLINK("http://evil.example/","x")',
           "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1",
           "\r=1+1", "<script>alert(1)</script>", '<img src=x onerror="alert(1)">',
           "Acme\x1b[2J\x1b[31mRed\x07\x00", "\u202eexe.tab", "_hidden", "&amp; <b>",
           "x" * 10_000]


def book(names: list[str]) -> Tables:
    """Open and paid invoices over six months (JPY, one chart of each kind in a report),
    each customer, number and memo named by ``names``."""
    docs = []
    for k in range(8):
        name = names[k % len(names)]
        issued = dt.date(2025, 1, 10) + dt.timedelta(days=21 * k)
        paid = [((issued + dt.timedelta(days=40)).isoformat(), 1000 * (k + 1))] \
            if k % 3 == 0 else []
        doc = invoice(f"N{k}", 1000 * (k + 1), currency="JPY",
                      status="PAID" if paid else "UNPAID", invoice_date=issued.isoformat(),
                      due_date=(issued + dt.timedelta(days=30)).isoformat(),
                      email=f"c{k % len(names)}@example.com", business=name, payments=paid)
        doc["detail"]["invoice_number"] = f"{name[:40]}-{k}"
        doc["detail"]["memo"] = name
        docs.append(doc)
    return flatten(docs)


def figures(tables: Tables, names: list[str]) -> list[Figure]:
    aged = aging(tables, AS_OF)
    work = worklist_frame()
    work["customer_name"] = [names[k % len(names)] for k in range(len(work))]
    work["number"] = [f"{names[k % len(names)][:30]}-{k}" for k in range(len(work))]
    return [plots.aging_bars(aged), plots.aging_heatmap(aged),
            plots.aging_bars(aging(tables, AS_OF, by="recipient_business")),
            plots.aging_trend(aging_series(tables, ENDS)),
            plots.kpi_trend(kpi_series(tables, ENDS)),
            plots.roll_rate_heatmap(roll_rates(tables, ENDS)),
            plots.cohort_curves(cohort_curves(tables, AS_OF, by="recipient_business"),
                                highlight=2),
            plots.worklist_bars(work)]


class Markup(HTMLParser):
    """The tags and attribute names an HTML page has."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "dl", "dt",
             "dd", "div", "table", "thead", "tbody", "tr", "th", "td", "p", "figure", "img"}


def check_outputs(names: list[str], folder: Path) -> None:
    tables = book(names)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        for fig in figures(tables, names):
            texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
            assert not [t for t in texts if is_math_text(t)]  # no $…$ read as mathtext
            fig.savefig(io.BytesIO(), format="png", dpi=20)
            svg = io.BytesIO()
            fig.savefig(svg, format="svg")
            ElementTree.fromstring(svg.getvalue())  # well-formed: nothing broke the XML
        paths = [report(tables, folder / f"r{suffix}", as_of=AS_OF) for suffix in
                 (".xlsx", ".html", ".pdf")]
    for path in paths:
        assert path.stat().st_size > 1000
    workbook = openpyxl.load_workbook(paths[0])
    cells = [c for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # not one formula
    open_names = {str(n) for n in aging(tables, AS_OF).detail["customer_name"]}
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {n for n in open_names if n.isprintable()} <= texts  # whole, as text
    markup = paths[1].read_bytes().decode("utf-8")  # as written: a CR stays a CR
    assert all(html.escape(n) in markup for n in open_names)
    page = Markup()
    page.feed(markup)
    assert page.tags <= PAGE_TAGS  # markup in a name is text, not an element
    assert not {a for a in page.attributes if a.startswith("on")}
    pdf = PdfReader(paths[2])
    assert len({tuple(p.mediabox) for p in pdf.pages}) == 1 and len(pdf.pages) > 1
    written = io.StringIO(newline="")
    write_csv(tables.invoices, written)
    rows = list(csv.DictReader(io.StringIO(written.getvalue(), newline="")))
    shown = [row["recipient_business"] for row in rows]
    # a name that is a plain number ("-0", "+1") stays a number, as it should (OWASP)
    assert not [s for s in shown if s.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(s)]
    unquoted = [s.removeprefix("'") if s.startswith("'") and s[1:].startswith(FORMULA_STARTS)
                and not _NUMBER.fullmatch(s[1:]) else s for s in shown]
    assert unquoted == list(tables.invoices["recipient_business"])


def test_a_dollar_in_a_name_draws_and_reports(tmp_path: Path) -> None:
    """Issue 15, defect 6: ``Acme $$ Corp`` raised ValueError in the charts and reports."""
    tables = book(["Acme $$ Corp", "Beta $x^2$ Ltd"])
    aged = aging(tables, AS_OF)
    fig = plots.aging_heatmap(aged)
    fig.savefig(io.BytesIO(), format="png")
    drawn = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert drawn and all(not is_math_text(t) for t in drawn)
    assert r"Acme \$\$ Corp" in drawn  # escaped: drawn as the two dollar signs it has
    for suffix in (".html", ".pdf"):
        assert report(tables, tmp_path / f"r{suffix}", as_of=AS_OF).stat().st_size > 1000
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "r.pdf").pages)
    assert "Acme $$ Corp" in text


NAMES = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(min_size=1, max_size=40),
    st.builds(lambda start, rest: start + rest,
              st.sampled_from([*FORMULA_STARTS, "$", "<", "&", "\x1b", "\u202e"]),
              st.text(max_size=20)),
    st.builds(lambda char, count: char * count,
              st.characters(blacklist_categories=("Cs",)), st.integers(2_000, 10_000)),
)


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=1, max_size=3))
@example(names=ATTACKS[:5]).via("issue 15: formulas and $")
@example(names=ATTACKS[5:10]).via("issue 15: control characters and markup")
@example(names=ATTACKS[10:]).via("issue 15: bidi, underscores, entities, 10,000 characters")
@example(names=["-0", "+1", "שלום עולם", "مرحبا"]).via("numbers stay numbers; right-to-left")
def test_hostile_names_never_break_or_run(names: list[str], tmp_path: Path) -> None:
    check_outputs(names, tmp_path)


def test_the_checks_see_a_formula_and_a_script(tmp_path: Path) -> None:
    """The checks above can fail: a raw formula cell and a script element are caught."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(tmp_path / "f.xlsx"))
    workbook.add_worksheet().write("A1", "=1+1")  # xlsxwriter's write() makes a formula
    workbook.close()
    cell = openpyxl.load_workbook(tmp_path / "f.xlsx").active["A1"]
    assert cell.data_type == "f"
    page = Markup()
    page.feed("<p><script>alert(1)</script><img src=x onerror=alert(1)></p>")
    assert not page.tags <= PAGE_TAGS and "onerror" in page.attributes
    raw = pd.DataFrame({"name": ["=1+1"]}).to_csv(index=False)
    assert raw.splitlines()[1].startswith(FORMULA_STARTS)
