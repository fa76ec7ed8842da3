"""Every notebook runs top to bottom, headless, on a fresh seeded emulator with no configuration.

The test process serves the emulator over a temporary SQLite file, exactly as ``ppnb lab``
does; each kernel finds it through ``PPNB_EMULATOR_DB`` alone (``ppnb.connect()`` joins the
process that serves the file). Jupyter's and IPython's folders point into a temp dir.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

import ppnb.client._connect as connect_module
from ppnb.lab import NOTEBOOKS, execute_notebooks, serve_book

BOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
DEMO = {"invoices": 300, "customers": 30, "months": 24}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A seeded emulator served by this process, and the environment kernels run in."""
    home = tmp_path_factory.mktemp("home")
    params = home / "demo.json"
    params.write_text(json.dumps(DEMO))
    db = home / "book.sqlite"
    with pytest.MonkeyPatch.context() as env:
        for name in ("PPNB_ENV", "PPNB_BASE_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET"):
            env.delenv(name, raising=False)
        for name, folder in {"HOME": "", "JUPYTER_CONFIG_DIR": "jupyter/config",
                             "JUPYTER_DATA_DIR": "jupyter/data",
                             "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
                             "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "mpl"}.items():
            (home / folder).mkdir(parents=True, exist_ok=True)
            env.setenv(name, str(home / folder))
        env.setenv("PPNB_SEED", str(params))
        serve_book(db)
        running = connect_module._embedded[str(db)]
        yield {"secret": running.credentials.client_secret, "out": str(home / "out")}
        connect_module._embedded.pop(str(db)).stop()
        running.emulator.close()
        connect_module._held.pop(str(db)).close()


def test_the_five_notebooks_are_there() -> None:
    assert [path.stem for path in BOOKS] == ["01_quickstart", "02_aging", "03_collections",
                                             "04_actions", "05_report"]


@pytest.mark.parametrize("path", BOOKS, ids=[path.stem for path in BOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    assert book.cells[0].cell_type == "markdown"  # each opens with what it shows
    stale = [i for i, cell in enumerate(book.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert stale == [], f"{path.name}: cells {stale} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", BOOKS, ids=[path.stem for path in BOOKS])
def test_notebook_runs_headless(book: dict[str, str], path: Path) -> None:
    [executed] = execute_notebooks([path], Path(book["out"]) / path.stem)
    cells = nbformat.read(executed, as_version=4).cells
    outputs = [o for cell in cells if cell.cell_type == "code" for o in cell.outputs]
    assert outputs, "the notebook showed nothing"
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps([cell.get("outputs", []) for cell in cells])
    assert book["secret"] not in text  # the emulator's client secret never reaches a notebook


def test_report_notebook_takes_papermill_parameters(book: dict[str, str]) -> None:
    import papermill

    out = Path(book["out"]) / "papermill"
    out.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(NOTEBOOKS / "05_report.ipynb"), str(out / "05.ipynb"),
                               parameters={"as_of": "2025-06-30", "out": "ar.html"},
                               cwd=str(out), progress_bar=False, kernel_name="python3")
    html = (out / "ar.html").read_text()
    assert "2025-06-30" in html and book["secret"] not in html
    executed = nbformat.read(out / "05.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and 'as_of = "2025-06-30"' in injected[0].source
