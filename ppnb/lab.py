"""The notebooks on a seeded emulator: in JupyterLab, or executed headless.

``ppnb lab`` is what ``make run`` runs. It serves the embedded emulator over one SQLite file
in this process (seeding the demo book the first time, see :func:`ppnb.connect`), then
either starts JupyterLab on the notebooks, or (``--headless``) executes every notebook top to
bottom with nbclient and writes the executed copies and the report they export to an output
folder. Kernels reach the same book with no configuration: ``PPNB_EMULATOR_DB`` points them
at the file this process serves, and ``ppnb.connect()`` joins the server that holds it. With
``PPNB_ENV=sandbox`` or ``live`` no emulator is started: the kernels' ``connect()`` goes to
PayPal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["add_arguments", "execute_notebooks", "main", "run", "run_lab", "serve_book"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def serve_book(db: str | Path, *, today: str | dt.date | None = None) -> str:
    """Serve (and on first use seed) the emulator over ``db``; return its base URL.

    ``PPNB_EMULATOR_DB`` is set to ``db`` for this process and every kernel it starts.
    ``today`` (default ``$PPNB_TODAY``) sets the day the emulator's clock starts on, and so
    the demo book's today and every notebook's ``client.today()``.
    """
    from .client._connect import embedded_emulator

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
    from nbclient import NotebookClient

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(Path(n) for n in notebooks):
        book = nbformat.read(source, as_version=4)
        NotebookClient(book, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(out)}}).execute()
        target = out / source.name
        nbformat.write(book, target)
        written.append(target)
    return written


def run_lab(notebooks: str | Path = NOTEBOOKS, *, port: int = 8888) -> int:
    """Start JupyterLab on ``notebooks`` on 127.0.0.1 and wait until it stops."""
    command = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}",
               "--no-browser", f"--ServerApp.root_dir={Path(notebooks).resolve()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ppnb lab`` / ``python -m ppnb.lab``."""
    parser.add_argument("--db", default="data/emulator.sqlite",
                        help="the emulator's SQLite file (seeded with the demo book when empty)")
    parser.add_argument("--headless", action="store_true",
                        help="execute every notebook with nbclient instead of opening JupyterLab")
    parser.add_argument("--out", default="out", help="headless: where executed notebooks and "
                        "the exported report go (default out/)")
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port")
    parser.add_argument("--today", default=None, metavar="YYYY-MM-DD",
                        help="start the emulator's clock on this day (default $PPNB_TODAY, "
                        "else the machine's date); a fresh book is seeded as of that day")


def run(args: argparse.Namespace) -> int:
    """Serve (and seed) the book, then JupyterLab, or every notebook executed headless."""
    target = os.environ.get("PPNB_ENV", "emulator").lower()
    if target == "emulator":
        Path(args.db).parent.mkdir(parents=True, exist_ok=True)
        print(f"emulator over {args.db} (seeding the demo book if it is empty) ...", flush=True)
        base_url = serve_book(args.db, today=args.today)
        print(f"emulator at {base_url}; payer pages at {base_url}/invoice/p/<id>", flush=True)
    else:  # the kernels' ppnb.connect() goes to PayPal; no local book to serve
        print(f"PPNB_ENV={target}: the notebooks work on PayPal {target}", flush=True)
    if not args.headless:
        return run_lab(port=args.port)
    for path in execute_notebooks(NOTEBOOKS.glob("*.ipynb"), args.out):
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
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
