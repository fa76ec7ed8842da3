"""The notebooks on a seeded emulator: in JupyterLab, or executed headless.

``ppnb lab`` is what ``make run`` runs. It serves the embedded emulator over one SQLite file
in this process (seeding the demo book the first time, see :func:`ppnb.connect`), then
either starts JupyterLab on working copies of the notebooks in ``OUT/notebooks`` (the
originals stay clean; reports exported there land in ``out/``), or (``--headless``) executes
every notebook top to bottom with nbclient and writes the executed copies and the reports
they export to ``OUT``. The notebooks are package data (``ppnb/notebooks``, read with
:mod:`importlib.resources`), so an installed wheel has them as a checkout does; when none
are found, ``ppnb lab`` says so and exits 1 instead of running nothing. It needs the
``notebook`` extra (JupyterLab, nbclient): without it, one line names the ``pip install``.

The book is the one the CLI reads too: ``--db``, else ``$PPNB_EMULATOR_DB``, else
``~/.ppnb/emulator.sqlite``, and both say which. Kernels reach
the same book with no configuration: ``PPNB_EMULATOR_DB`` points them at the file this
process serves, and ``ppnb.connect()`` joins the server that holds it. With
``PPNB_ENV=sandbox`` or ``live`` no emulator is started: the kernels' ``connect()`` goes to
PayPal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from ._extras import MissingExtra, require

__all__ = ["NOTEBOOKS", "add_arguments", "book_path", "execute_notebooks", "find_notebooks",
           "main", "run", "run_lab", "run_until_stopped", "serve_book", "working_copy"]

#: The notebooks shipped with ppnb (package data), where :mod:`importlib.resources` finds
#: them: the package's own folder, in a checkout and in an installed wheel alike (ppnb is
#: installed as plain files, never zipped).
NOTEBOOKS = Path(str(resources.files("ppnb") / "notebooks"))


def find_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The notebooks in ``folder`` (default :data:`NOTEBOOKS`), sorted by name; ``[]`` when
    there are none or the folder is missing."""
    return sorted(Path(folder or NOTEBOOKS).glob("*.ipynb"))


def serve_book(db: str | Path, *, today: str | dt.date | None = None) -> str:
    """Serve (and on first use seed) the emulator over ``db``; return its base URL.

    ``PPNB_EMULATOR_DB`` is set to ``db`` for this process and every kernel it starts.
    ``today`` (default ``$PPNB_TODAY``) sets the day the emulator's clock starts on, and so
    the demo book's today and every notebook's ``client.today()``.
    """
    from .connection import embedded_emulator

    path = str(Path(db).resolve())
    os.environ["PPNB_EMULATOR_DB"] = path
    base_url, _, _ = embedded_emulator(path, today=today)
    return base_url


def execute_notebooks(notebooks: Iterable[str | Path], out_dir: str | Path, *,
                      timeout: int = 600) -> list[Path]:
    """Run each notebook top to bottom in a fresh kernel; write the executed copies.

    Kernels run in ``out_dir``, so whatever a notebook exports lands there. The kernels
    inherit this process's environment (so ``PPNB_EMULATOR_DB`` from :func:`serve_book`).

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell fails; the message names the notebook, the cell and the error.
    """
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    # Kernels talk over Unix sockets in a private folder, not loopback TCP: nothing else on
    # the machine can connect to them (and the kernel has nothing to warn about).
    with tempfile.TemporaryDirectory(prefix="ppnb-kernels-") as sockets:
        for source in sorted(Path(n) for n in notebooks):
            book = nbformat.read(source, as_version=4)
            manager = KernelManager(kernel_name="python3", transport="ipc",
                                    ip=str(Path(sockets) / source.stem))
            try:
                NotebookClient(book, km=manager, timeout=timeout,
                               resources={"metadata": {"path": str(out)}}).execute()
            finally:  # a kernel manager we made is ours to stop: nbclient only stops its own
                if manager.has_kernel:
                    manager.shutdown_kernel(now=True)
            target = out / source.name
            nbformat.write(book, target)
            written.append(target)
    return written


def working_copy(folder: str | Path, notebooks: Iterable[str | Path] = ()) -> Path:
    """Copy the notebooks into ``folder``, keeping any copy already there; return ``folder``.

    JupyterLab opens the copies, so running and autosaving them never dirties the originals
    (the repository's, or the installed package's), and what a notebook exports lands beside
    the copies, not in the repository. A copy you edited is never overwritten.
    """
    work = Path(folder)
    work.mkdir(parents=True, exist_ok=True)
    for source in notebooks or find_notebooks():
        target = work / Path(source).name
        if not target.exists():
            shutil.copyfile(source, target)
    return work


def run_lab(folder: str | Path, *, port: int = 8888) -> int:
    """Start JupyterLab on ``folder`` on 127.0.0.1 and wait until it stops.

    JupyterLab's news is off: no "get notified about official Jupyter news?" prompt, and no
    request leaves the machine for it (``LabApp.news_url=None``, and ``fetchNews: "false"``
    in the settings kept beside the working copies, ``FOLDER/.jupyterlab-settings``).
    """
    settings = Path(folder).resolve() / ".jupyterlab-settings"
    quiet = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not quiet.exists():
        quiet.parent.mkdir(parents=True, exist_ok=True)
        quiet.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
               "--no-browser", f"--ServerApp.root_dir={Path(folder).resolve()}",
               "--LabApp.news_url=None", f"--LabApp.user_settings_dir={settings}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return run_until_stopped(command)


def run_until_stopped(command: list[str], *, cwd: str | Path | None = None) -> int:
    """Run a server ``command`` as a child until it exits or this process is told to stop.

    Ctrl-C or SIGTERM to this process stops the child too (SIGTERM, then SIGKILL after 30 s),
    so no JupyterLab or Voila is left running, holding its port and kernels, after the
    ``ppnb`` process that started it (and serves its book) is gone. Returns the child's exit
    status, or 0 when it was stopped.
    """
    child = subprocess.Popen(command, cwd=cwd)

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def book_path(db: str | Path | None) -> Path:
    """The book ``ppnb lab``, the CLI and every kernel share: ``db``, else
    ``$PPNB_EMULATOR_DB``, else ``~/.ppnb/emulator.sqlite``."""
    from .connection import DEFAULT_DB

    return Path(db or os.environ.get("PPNB_EMULATOR_DB") or DEFAULT_DB).expanduser()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ppnb lab`` / ``python -m ppnb.lab``."""
    parser.add_argument("--db", default=None,
                        help="the emulator's SQLite file, seeded with the demo book when empty "
                        "(default $PPNB_EMULATOR_DB, else ~/.ppnb/emulator.sqlite: the book "
                        "the CLI reads too)")
    parser.add_argument("--headless", action="store_true",
                        help="execute every notebook with nbclient instead of opening JupyterLab")
    parser.add_argument("--out", default="out", help="where the executed notebooks (headless), "
                        "the working copies JupyterLab opens (OUT/notebooks) and the exported "
                        "reports go (default out/)")
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                        help="start the emulator's clock on this day (default $PPNB_TODAY, "
                        "else the machine's date); a fresh book is seeded as of that day")


def run(args: argparse.Namespace) -> int:
    """Serve (and seed) the book, then JupyterLab, or every notebook executed headless.

    Returns 1, having said why on stderr, when there is no notebook to open or run: that is
    checked before the book is served or seeded.

    Raises
    ------
    ppnb._extras.MissingExtra
        If the ``notebook`` extra (or, for the embedded emulator, ``emulator``) is missing.
    """
    require("notebook", "ppnb lab")
    sources = find_notebooks()
    if not sources:
        print(f"ppnb lab: error: no notebooks to {'run' if args.headless else 'open'}: none "
              f"in {NOTEBOOKS} (ppnb's package data); reinstall ppnb", file=sys.stderr)
        return 1
    target = os.environ.get("PPNB_ENV", "emulator").lower()
    if target == "emulator":
        db = book_path(args.db)
        db.parent.mkdir(parents=True, exist_ok=True)
        print(f"book: the emulator over {db} (seeded with the demo book if empty) ...",
              flush=True)
        base_url = serve_book(db, today=args.today)
        print(f"emulator at {base_url}; payer pages at {base_url}/invoice/p/<id>", flush=True)
    else:  # the kernels' ppnb.connect() goes to PayPal; no local book to serve
        print(f"book: PayPal {target} (PPNB_ENV={target})", flush=True)
    if not args.headless:
        work = working_copy(Path(args.out) / "notebooks", sources)
        print(f"JupyterLab on the working copies in {work} (the originals stay clean)",
              flush=True)
        return run_lab(work, port=args.port)
    for path in execute_notebooks(sources, args.out):
        print(f"executed {path}")
    for path in sorted(Path(args.out).iterdir()):
        if path.suffix in (".xlsx", ".html", ".pdf"):
            print(f"exported {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ppnb.lab [--db FILE] [--headless] [--out DIR] [--port N]``."""
    parser = argparse.ArgumentParser(prog="python -m ppnb.lab",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except MissingExtra as exc:
        print(f"python -m ppnb.lab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
