"""Every notebook run as a person runs it: ``ppnb lab``, JupyterLab in Chromium, Run All.

``ppnb lab`` is started for real on a small demo book whose clock starts on a set day; each
working copy is opened in JupyterLab in Debian's headless Chromium (which may reach loopback
only), every cell is run with JupyterLab's own "Run All Cells" command, and the test waits
until the kernel is idle with every code cell executed. It then checks that no cell failed,
that the originals in ``ppnb/notebooks/`` are untouched, and leaves screenshots of each whole
notebook, screen by screen, in ``out/screenshots/`` for people to look at.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import loopback_page, notebook_screenshots
from helpers import free_port, wait_for

from ppnb.lab import NOTEBOOKS

BOOKS = sorted(NOTEBOOKS.glob("*.ipynb"))
DAY = "2027-01-15"

_RUN_STATE = """(name) => {
  if (!window.jupyterapp) return null;
  const panel = Array.from(window.jupyterapp.shell.widgets('main'))
    .find(w => w.context && w.context.path === name);
  if (!panel || !panel.content || !panel.sessionContext.session) return null;
  const kernel = panel.sessionContext.session.kernel;
  const cells = panel.content.model.sharedModel.cells.filter(c => c.cell_type === 'code');
  return {status: kernel ? kernel.status : 'none',
          pending: cells.filter(c => c.execution_count === null).length,
          errors: cells.flatMap(c => c.outputs).filter(o => o.output_type === 'error')
                       .map(o => o.ename + ': ' + o.evalue)};
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``ppnb lab`` on a fresh small book; yields JupyterLab's URL and token."""
    home = tmp_path_factory.mktemp("lab-home")
    (home / "config").mkdir()
    (home / "config" / "jupyter_lab_config.json").write_text(
        json.dumps({"LabApp": {"expose_app_in_browser": True}}))  # window.jupyterapp
    (home / "demo.json").write_text(json.dumps({"invoices": 200, "customers": 30,
                                                "months": 12}))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PPNB_", "PAYPAL_", "JUPYTER", "IPYTHON"))}
    env.update(HOME=str(home), PPNB_SEED=str(home / "demo.json"), PPNB_TODAY=DAY,
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ppnb.lab", "--db", str(home / "book.sqlite"), "--out",
         str(home / "out"), "--port", str(port)],
        env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        [info] = wait_for(lambda: [json.loads(p.read_text()) for p in
                                   (home / "runtime").glob("jpserver-*.json")],
                          "JupyterLab to start", 180, 0.2)
        yield f"http://127.0.0.1:{port}", info["token"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def originals() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in BOOKS}


@pytest.mark.parametrize("path", BOOKS, ids=[path.stem for path in BOOKS])
def test_run_all_in_jupyterlab(lab: tuple[str, str], originals: dict[str, str], path: Path,
                               tmp_path: Path) -> None:
    url, token = lab
    outside: list[tuple[str, str]] = []
    with loopback_page(tmp_path / "chromium", outside) as page:
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{path.name}?token={token}", timeout=180_000)

        def state() -> Any:
            return page.evaluate(_RUN_STATE, path.name) or {"status": "opening"}
        wait_for(lambda: state()["status"] == "idle", "the notebook's kernel", 180, 0.5)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

        def finished() -> Any:
            now = state()
            return now if now.get("pending") == 0 and now["status"] == "idle" else None
        assert wait_for(finished, f"{path.name} to run", 600, 1)["errors"] == []
        assert page.get_by_text("official Jupyter news").count() == 0  # no news prompt
        shots, whole = notebook_screenshots(page, f"notebook-{path.stem}")
        assert whole, f"{len(shots)} screens did not reach the end of {path.name}"
        assert all(shot.stat().st_size > 10_000 for shot in shots)
    assert {kind for kind, _ in outside} <= {"stylesheet", "font"}, outside
    assert hashlib.sha256(path.read_bytes()).hexdigest() == originals[path.name]
