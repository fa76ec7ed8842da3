"""The package as users install it: built, then installed in fresh venvs outside the checkout.

``make test-wheel`` (part of ``make test``) runs this with the project's venv Python:

1. ``python -m build`` makes a wheel and an sdist; both must carry the notebooks and the demo
   parameters (package data).
2. A venv with the core install only (``pip install ppnb-….whl``): the client, pager, tables
   and analysis import without any extra's module; ``ppnb --version`` answers; ``ppnb lab``
   and ``ppnb.connect()`` (which would start the emulator) fail with one line naming
   ``pip install 'ppnb[…]'``.
3. A venv with ``ppnb[all]``: ``ppnb lab --headless --out DIR`` executes every notebook and
   writes the xlsx, HTML and PDF report; ``ppnb lab`` starts JupyterLab on working copies of
   the notebooks and lists them over its API, then stops cleanly on SIGTERM.

Everything runs in a temporary folder with its own HOME, on loopback only; every wait is
bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "ppnb" / "notebooks").glob("*.ipynb"))
DATA = ["ppnb/data/demo.json"]
DAY = "2027-01-15"  # the book's today in the runs below: the check never reads the machine's


def run(command: list[str], *, cwd: Path, env: dict[str, str], expect: int | None = 0,
        timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail the check (with its output) unless it exits with ``expect``."""
    print("$", " ".join(command), flush=True)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if expect is not None and done.returncode != expect:
        sys.exit(f"exit {done.returncode} (expected {expect}) from {command}\n"
                 f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}")
    return done


def build(tmp: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """Build the wheel and the sdist; check both carry the package data."""
    dist = tmp / "dist"
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=tmp, env=env)
    wheel, = dist.glob("ppnb-*.whl")
    sdist, = dist.glob("ppnb-*.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    with tarfile.open(sdist) as t:
        snames = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    wanted = [f"ppnb/notebooks/{n}" for n in NOTEBOOKS] + DATA
    for label, have in (("wheel", names), ("sdist", snames)):
        missing = [w for w in wanted if w not in have]
        if missing:
            sys.exit(f"the {label} lacks package data: {missing}")
    print(f"built {wheel.name} and {sdist.name}, each with {len(NOTEBOOKS)} notebooks and "
          f"the demo parameters", flush=True)
    return wheel, sdist


def venv(where: Path, requirement: str, env: dict[str, str]) -> Path:
    """A fresh venv at ``where`` with ``requirement`` installed; return its bin folder."""
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", str(where)], cwd=where.parent, env=env)
    bin_ = where / "bin"
    run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", requirement],
        cwd=where.parent, env=env)
    return bin_


def check_core(bin_: Path, tmp: Path, env: dict[str, str]) -> None:
    """Core install: the data layers work without extras; the rest says which extra."""
    probe = (
        "import sys, ppnb, ppnb.client, ppnb.pager, ppnb.frames, ppnb.analysis, ppnb.snapshot\n"
        "heavy = sorted(m for m in ('starlette', 'uvicorn', 'matplotlib', 'jupyterlab', "
        "'ipywidgets', 'dask', 'sklearn') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(ppnb.__version__)\n")
    version = run([str(bin_ / "python"), "-c", probe], cwd=tmp, env=env).stdout.strip()
    said = run([str(bin_ / "ppnb"), "--version"], cwd=tmp, env=env).stdout
    if version not in said:
        sys.exit(f"ppnb --version said {said!r}; ppnb.__version__ is {version!r}")
    for command in ([str(bin_ / "ppnb"), "lab", "--headless", "--out", str(tmp / "core-out")],
                    [str(bin_ / "python"), "-c", "import ppnb; ppnb.connect()"]):
        done = run(command, cwd=tmp, env=env, expect=None)
        last = (done.stderr.strip().splitlines() or [""])[-1]
        if done.returncode == 0 or "pip install 'ppnb[" not in last:
            sys.exit(f"{command} without extras: exit {done.returncode}, last line {last!r}")
        print(f"core only, {command[-1]!r}: {last}", flush=True)


def check_headless(bin_: Path, tmp: Path, env: dict[str, str]) -> None:
    """``ppnb lab --headless`` runs every notebook and writes the reports."""
    out = tmp / "headless"
    run([str(bin_ / "ppnb"), "lab", "--headless", "--out", str(out), "--db",
         str(tmp / "headless.sqlite"), "--today", DAY], cwd=tmp, env=env)
    executed = sorted(p.name for p in out.glob("*.ipynb"))
    if executed != NOTEBOOKS:
        sys.exit(f"headless run executed {executed}, expected {NOTEBOOKS}")
    reports = sorted(p.suffix for p in out.iterdir() if p.suffix in (".xlsx", ".html", ".pdf"))
    if not {".xlsx", ".html", ".pdf"} <= set(reports):
        sys.exit(f"headless run wrote reports {reports}")
    print(f"headless: executed {len(executed)} notebooks; reports {reports}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_lab(bin_: Path, tmp: Path, env: dict[str, str]) -> None:
    """``ppnb lab`` serves JupyterLab on working copies of the notebooks; SIGTERM stops it."""
    port, out = free_port(), tmp / "lab"
    log = (tmp / "lab.log").open("w+")
    lab = subprocess.Popen([str(bin_ / "ppnb"), "lab", "--out", str(out), "--port", str(port),
                            "--db", str(tmp / "lab.sqlite"), "--today", DAY],
                           cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, listed = time.monotonic() + 300, None
        while listed is None and time.monotonic() < deadline and lab.poll() is None:
            log.seek(0)
            token = re.search(r"token=([0-9a-f]+)", log.read())
            if token:
                url = f"http://127.0.0.1:{port}/api/contents?token={token.group(1)}"
                try:
                    with urllib.request.urlopen(url, timeout=5) as answer:
                        listed = sorted(i["name"] for i in json.load(answer)["content"]
                                        if i["name"].endswith(".ipynb"))
                except OSError:
                    pass
            if listed is None:
                time.sleep(0.5)  # polling a starting server, bounded by the deadline
        log.seek(0)
        if listed != NOTEBOOKS:
            sys.exit(f"ppnb lab listed {listed}, expected {NOTEBOOKS}\n{log.read()[-4000:]}")
        print(f"ppnb lab: JupyterLab lists the {len(listed)} working copies", flush=True)
    finally:
        lab.send_signal(signal.SIGTERM)
        code = lab.wait(timeout=60)
    if code != 0:
        sys.exit(f"ppnb lab exited {code} on SIGTERM")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ppnb-wheel-") as name:
        tmp = Path(name)
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PPNB_EMULATOR_DB", "PPNB_ENV")
               and not k.startswith(("PAYPAL_", "JUPYTER"))}
        env.update(HOME=str(tmp / "home"), PIP_DISABLE_PIP_VERSION_CHECK="1")
        (tmp / "home").mkdir()
        started = time.monotonic()
        wheel, _ = build(tmp, env)
        check_core(venv(tmp / "core", str(wheel), env), tmp, env)
        full = venv(tmp / "all", f"ppnb[all] @ {wheel.as_uri()}", env)
        check_headless(full, tmp, env)
        check_lab(full, tmp, env)
        print(f"wheel check passed in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
