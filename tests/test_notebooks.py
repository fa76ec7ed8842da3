"""Every notebook runs top to bottom, headless, on a fresh seeded emulator, on chosen days.

The test process serves the emulator over a temporary SQLite file, exactly as ``ppnb lab``
does; each kernel finds it through ``PPNB_EMULATOR_DB`` alone (``ppnb.connect()`` joins the
process that serves file). Jupyter's and IPython's folders point into a temp dir.

No run depends on the day the suite runs. Each book lives on a day the test sets: the
emulator's clock starts on it (so the demo book is generated back from it and
``client.today()`` answers it), and the kernels run under libfaketime set to the same day, so
even a stray wall-clock read in a notebook sees the test's day, not the machine's. The days
are the ones that broke notebooks before: New Year's Day and the middle of January (an empty
"month ends since 1 January"), 29 February (``date.replace(year=…)``), a month end and a
quarter end (the last period end is today itself).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import ppnb.connection as connect_module
from ppnb.lab import NOTEBOOKS, execute_notebooks, serve_book

BOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
DEMO = {"invoices": 300, "customers": 30, "months": 24}
DAYS = ["2027-01-01", "2027-01-15", "2028-02-29", "2027-04-30", "2027-09-30"]
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)


def kernel_clock(day: str) -> dict[str, str]:
    """The environment that puts a kernel's wall clock on ``day`` (09:00 UTC, running).

    ``make test`` installs Debian's ``faketime``; without it this test cannot prove what it
    claims, so it fails rather than silently running on the machine's day.
    """
    assert LIBFAKETIME is not None, "libfaketime is missing: apt-get install faketime"
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"@{day} 09:00:00",
            "TZ": "UTC"}


@pytest.fixture(scope="module", params=DAYS)
def book(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A demo book seeded on the day ``request.param``, served by this process."""
    day = request.param
    home = tmp_path_factory.mktemp(f"home-{day}")
    params = home / "demo.json"
    params.write_text(json.dumps(DEMO))
    db = home / "book.sqlite"
    with pytest.MonkeyPatch.context() as env:
        for name in ("PPNB_ENV", "PPNB_BASE_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET",
                     "PPNB_TODAY"):
            env.delenv(name, raising=False)
        for name, folder in {"HOME": "", "JUPYTER_CONFIG_DIR": "jupyter/config",
                             "JUPYTER_DATA_DIR": "jupyter/data",
                             "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
                             "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "mpl"}.items():
            (home / folder).mkdir(parents=True, exist_ok=True)
            env.setenv(name, str(home / folder))
        env.setenv("PPNB_SEED", str(params))
        for name, value in kernel_clock(day).items():  # the seeder and every kernel
            env.setenv(name, value)
        serve_book(db, today=day)
        running = connect_module._embedded[str(db)]
        assert running.emulator.clock.today() == dt.date.fromisoformat(day)
        yield {"day": day, "secret": running.credentials.client_secret,
               "out": str(home / "out")}
        connect_module._embedded.pop(str(db)).stop()
        running.emulator.close()
        connect_module._held.pop(str(db)).close()


def test_the_six_notebooks_are_there() -> None:
    assert [path.stem for path in BOOKS] == ["01_quickstart", "02_aging", "03_collections",
                                             "04_actions", "05_report", "06_collections"]


@pytest.mark.parametrize("path", BOOKS, ids=[path.stem for path in BOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    assert book.cells[0].cell_type == "markdown"  # each opens with what it shows
    stale = [i for i, cell in enumerate(book.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert stale == [], f"{path.name}: cells {stale} carry outputs; clear them before committing"


def check_aging(book: dict[str, str], text: str) -> None:
    """02 compares with the last quarter end strictly before the book's day."""
    day = pd.Timestamp(book["day"])
    quarter_end = (day.to_period("Q") - 1).end_time.date()
    assert quarter_end < day.date() and (day.date() - quarter_end).days <= 92
    assert f"as of {quarter_end}" in text


def check_report(book: dict[str, str], text: str) -> None:
    """05 with no parameters reports as of the book's today, and says so in the file."""
    import openpyxl

    assert f"as of {book['day']}" in text
    folder = Path(book["out"]) / "05_report"
    assert {p.name for p in folder.glob("report.*")} == {"report.xlsx", "report.html",
                                                         "report.pdf"}
    sheet = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)["Parameters"]
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True)}
    assert values["As of"] == book["day"]
    assert f"as of {book['day']}".lower() in (folder / "report.html").read_text().lower()


CHECKS = {"02_aging": check_aging, "05_report": check_report}


def run(book: dict[str, str], path: Path) -> str:
    """Execute ``path`` on ``book``; all its outputs as text, checked for errors and secrets."""
    [executed] = execute_notebooks([path], Path(book["out"]) / path.stem)
    cells = nbformat.read(executed, as_version=4).cells
    outputs = [o for cell in cells if cell.cell_type == "code" for o in cell.outputs]
    assert outputs, "the notebook showed nothing"
    assert not [o for o in outputs if o.output_type == "error"]
    # no warnings, progress spam or log lines on the run (issue 16: quiet output)
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
    text = json.dumps([cell.get("outputs", []) for cell in cells])
    assert book["secret"] not in text  # the emulator's client secret never reaches a notebook
    return text


@pytest.mark.parametrize("path", BOOKS, ids=[path.stem for path in BOOKS])
def test_notebook_runs_headless(book: dict[str, str], path: Path) -> None:
    text = run(book, path)
    if path.stem in CHECKS:
        CHECKS[path.stem](book, text)


def test_the_kernels_live_on_the_books_day(book: dict[str, str], tmp_path: Path) -> None:
    """A kernel's wall clock and the book's ``client.today()`` are both the test's day."""
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import datetime as dt, ppnb\n"
        "print('wall', dt.date.today(), 'book', ppnb.connect().today())")])
    nbformat.write(probe, tmp_path / "probe.ipynb")
    assert f"wall {book['day']} book {book['day']}" in run(book, tmp_path / "probe.ipynb")


@pytest.mark.parametrize("book", [DAYS[1]], indirect=True)
def test_report_notebook_takes_papermill_parameters(book: dict[str, str]) -> None:
    import papermill

    quarter_end = "2026-12-31"  # the last quarter end before this book's day, 2027-01-15
    out = Path(book["out"]) / "papermill"
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(NOTEBOOKS / "05_report.ipynb"), str(out / "05.ipynb"),
                               parameters={"as_of": quarter_end, "out": "ar.html"},
                               cwd=str(out), progress_bar=False, kernel_name="python3")
    html = (out / "ar.html").read_text()
    assert quarter_end in html and book["secret"] not in html
    executed = nbformat.read(out / "05.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and f'as_of = "{quarter_end}"' in injected[0].source


def test_libfaketime_really_moves_a_childs_clock() -> None:
    """The kernels' clock is only as good as libfaketime: check it moves a child's date."""
    import subprocess
    import sys

    env = {**os.environ, **kernel_clock("2028-02-29")}
    shown = subprocess.run([sys.executable, "-c", "import datetime; print(datetime.date.today())"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert shown == "2028-02-29"
