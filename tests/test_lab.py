"""``ppnb lab``: JupyterLab on working copies over the shared book, without the news prompt.

The command is started for real (a child process on a free loopback port, HOME and Jupyter's
folders in a temp dir) and asked over HTTP what it serves.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import free_port, wait_for

from ppnb.lab import NOTEBOOKS, book_path, find_notebooks, working_copy


def test_working_copies_are_made_once_and_never_overwritten(tmp_path: Path) -> None:
    work = working_copy(tmp_path / "nb")
    names = sorted(p.name for p in work.glob("*.ipynb"))
    assert names == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) and names
    edited = work / names[0]
    edited.write_text("my edits")
    working_copy(tmp_path / "nb")
    assert edited.read_text() == "my edits"


def test_the_book_is_the_one_the_cli_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.delenv("PPNB_EMULATOR_DB", raising=False)
    assert book_path(None).name == "emulator.sqlite" and ".ppnb" in book_path(None).parts
    monkeypatch.setenv("PPNB_EMULATOR_DB", str(tmp_path / "b.sqlite"))
    assert book_path(None) == tmp_path / "b.sqlite"
    assert book_path(tmp_path / "c.sqlite") == tmp_path / "c.sqlite"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[str]]]:
    home = tmp_path / "home"
    runtime = home / "runtime"
    runtime.mkdir(parents=True)
    (home / "demo.json").write_text(json.dumps({"invoices": 40, "customers": 5, "months": 6}))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PPNB_", "PAYPAL_"))},
           "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "IPYTHONDIR": str(home / "ipython"), "PPNB_SEED": str(home / "demo.json")}
    port = free_port()
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "ppnb.lab", "--db", str(tmp_path / "book.sqlite"),
         "--out", str(out), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        wait_for(lambda: list(runtime.glob("jpserver-*.json")), timeout=120,
                 what="JupyterLab to start")
        yield f"http://127.0.0.1:{port}", runtime, out, process
    finally:
        with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_ppnb_lab_serves_working_copies_without_the_news_prompt(
        lab: tuple[str, Path, Path, subprocess.Popen[str]]) -> None:
    url, runtime, out, _ = lab
    [info] = [json.loads(p.read_text()) for p in runtime.glob("jpserver-*.json")]
    assert info["url"].startswith("http://127.0.0.1:")
    page = wait_for(lambda: _lab_page(url, info["token"]), timeout=60,
                    what="JupyterLab to serve /lab")
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page,
                                  re.S).group(1))
    assert config["news"] == {"disabled": True}  # no "receive official Jupyter news?" prompt
    assert Path(config["serverRoot"]).resolve() == (out / "notebooks").resolve()
    copies = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert copies == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def _lab_page(url: str, token: str) -> str | None:
    try:
        response = httpx.get(f"{url}/lab", params={"token": token}, timeout=10)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def test_stopping_ppnb_lab_stops_its_jupyterlab(
        lab: tuple[str, Path, Path, subprocess.Popen[str]]) -> None:
    """SIGTERM to ``ppnb lab`` alone (not its process group) leaves no JupyterLab behind."""
    _, runtime, _, process = lab
    [info] = [json.loads(p.read_text()) for p in runtime.glob("jpserver-*.json")]
    assert info["pid"] != process.pid and _alive(info["pid"])
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    wait_for(lambda: not _alive(info["pid"]), "JupyterLab to stop with ppnb lab", 60)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split(") ")[-1].startswith("Z"))


def test_headless_runs_leave_no_kernel_behind(tmp_path: Path) -> None:
    """execute_notebooks stops each kernel it started (nbclient leaves a given manager's)."""
    import nbformat

    from ppnb.lab import execute_notebooks

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nprint('pid', os.getpid())")])
    nbformat.write(probe, tmp_path / "probe.ipynb")
    [executed] = execute_notebooks([tmp_path / "probe.ipynb"], tmp_path / "out")
    text = nbformat.read(executed, as_version=4).cells[0].outputs[0]["text"]
    pid = int(text.split()[1])
    assert pid != os.getpid()
    wait_for(lambda: not _alive(pid), "the kernel to stop", 30)


def test_the_notebooks_are_package_data_found_by_importlib_resources() -> None:
    from importlib import resources

    import ppnb

    assert Path(str(resources.files("ppnb") / "notebooks")) == NOTEBOOKS
    assert NOTEBOOKS.parent == Path(ppnb.__file__).parent
    assert [p.name for p in find_notebooks()] == [
        "01_quickstart.ipynb", "02_aging.ipynb", "03_collections.ipynb", "04_actions.ipynb",
        "05_report.ipynb", "06_collections.ipynb"]


@pytest.mark.parametrize(("headless", "what"), [(True, "run"), (False, "open")])
def test_no_notebooks_is_an_error_before_anything_is_served(
        headless: bool, what: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    import ppnb.lab
    from ppnb.cli import main

    empty = tmp_path / "notebooks"
    empty.mkdir()
    monkeypatch.setattr(ppnb.lab, "NOTEBOOKS", empty)
    monkeypatch.delenv("PPNB_ENV", raising=False)
    argv = ["lab", "--db", str(tmp_path / "book.sqlite"), "--out", str(tmp_path / "out")]
    assert main([*argv, *(["--headless"] if headless else [])]) == 1
    captured = capsys.readouterr()
    assert captured.err == (f"ppnb lab: error: no notebooks to {what}: none in {empty} "
                            "(ppnb's package data); reinstall ppnb\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks"]  # no book, no out/


def test_the_notebooks_use_the_top_level_names() -> None:
    """``ppnb.bulk``, ``ppnb.report``, ``ppnb.aging``...: never imported from a submodule."""
    import ast

    import nbformat

    import ppnb

    for path in find_notebooks():
        code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                         if cell.cell_type == "code")
        code = "\n".join(line for line in code.splitlines() if not line.startswith("%"))
        imported = {(node.module, alias.name) for node in ast.walk(ast.parse(code))
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert not {name for module, name in imported if name in ppnb.__all__}, path.name
        assert "ppnb.connect()" in code, path.name
