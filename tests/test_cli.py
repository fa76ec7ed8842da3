"""``ppnb emulator serve``: serves, prints where and who, never prints a secret; ``ppnb
--version``; a missing optional extra is one line and exit status 2."""

from __future__ import annotations

import datetime as dt
import json
import os
import selectors
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import free_port

from ppnb.cli import build_parser, main, mask
from ppnb.emulator import Clock, start


def _read_until(proc: subprocess.Popen[bytes], marker: str, timeout: float = 30) -> str:
    """Collect stdout until it contains ``marker`` (bounded by ``timeout``)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    seen, deadline = b"", time.monotonic() + timeout
    while marker.encode() not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and proc.poll() is None, f"server output so far: {seen!r}"
        if selector.select(remaining):
            seen += os.read(fd, 65536)
    return seen.decode()


def test_serve_prints_url_and_masked_credentials(tmp_path: Path) -> None:
    port = free_port()
    secret = "cli-secret-abcdefghijklmnop"
    env_file = tmp_path / "creds.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", str(port),
         "--db", str(tmp_path / "cli.sqlite"), "--merchant", f"cli-merchant:{secret}",
         "--env-file", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        out = _read_until(proc, "set -a")
        assert f"http://127.0.0.1:{port}" in out
        assert "cli-merchant" in out and mask(secret) in out
        assert secret not in out
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert settings["PAYPAL_CLIENT_SECRET"] == secret
        # the socket listens before the banner is printed, so this connects at once
        token = httpx.post(f"http://127.0.0.1:{port}/v1/oauth2/token",
                           auth=("cli-merchant", secret), data={"grant_type": "client_credentials"},
                           timeout=30)
        assert token.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    assert secret.encode() not in (proc.stdout.read() if proc.stdout else b"")


@pytest.mark.parametrize("bad", ["no-colon", ":hunter2-secret", "client:"])
def test_merchant_flag_rejects_malformed_pairs(bad: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "serve", "--merchant", bad])
    err = capsys.readouterr().err
    assert "expected CLIENT_ID:SECRET" in err
    assert "hunter2" not in err  # the secret half is never echoed


def test_mask_never_reveals_short_secrets() -> None:
    assert mask("abc") == "****"
    assert mask("0123456789abcdef") == "****cdef"


def test_simulation_verbs_drive_a_running_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*argv: str) -> tuple[int, dict]:
        code = main(["emulator", *argv])
        return code, json.loads(capsys.readouterr().out)

    clock = Clock(dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC), frozen=True)
    with start(tmp_path / "book.sqlite", clock=clock) as running:
        url = ("--url", running.base_url)
        code, moved = run("clock", *url, "--advance-days", "2")
        assert (code, moved["today"], moved["fired"]) == (0, "2025-01-17", [])
        code, refused = run("clock", *url, "--set", "2025-01-01T00:00:00Z")
        assert code == 1 and refused["details"][0]["field"] == "/set"
        assert run("clock", *url) == (0, {"now": "2025-01-17T09:00:00Z",
                                          "today": "2025-01-17", "frozen": True})
        assert run("snapshot", *url, "empty") == (0, {"saved": "empty"})
        assert run("restore", *url, "empty") == (0, {"restored": "empty"})
        assert run("restore", *url, "missing")[0] == 1
        assert run("reset", *url) == (0, {"reset": True})
        assert run("stats", *url) == (0, {"operations": {}, "max_per_invoice": {}})
    with pytest.raises(SystemExit):
        main(["emulator", "serve", "--latency-ms", "50,5"])
    assert "MIN <= MAX" in capsys.readouterr().err


def test_serve_takes_the_summaries_switch() -> None:
    from ppnb.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["emulator", "serve"]).summaries == "off"
    assert parser.parse_args(["emulator", "serve", "--summaries", "always"]).summaries == "always"
    with pytest.raises(SystemExit):
        parser.parse_args(["emulator", "serve", "--summaries", "sometimes"])


def test_version_prints_the_installed_version() -> None:
    from importlib import metadata

    import ppnb

    done = subprocess.run([sys.executable, "-m", "ppnb.cli", "--version"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"ppnb {ppnb.__version__}\n"
    assert ppnb.__version__ == metadata.version("ppnb") != "0+unknown"


@pytest.mark.parametrize(("argv", "hidden", "line"), [
    (["lab", "--headless"], "papermill",
     "ppnb lab needs the 'notebook' extra (missing: papermill): pip install 'ppnb[notebook]'"),
    (["emulator", "serve", "--port", "0"], "uvicorn",
     "ppnb emulator serve needs the 'emulator' extra (missing: uvicorn): "
     "pip install 'ppnb[emulator]'"),
    (["pull"], "uvicorn",
     "ppnb.connect() with the embedded emulator needs the 'emulator' extra (missing: "
     "uvicorn): pip install 'ppnb[emulator]'"),
    (["dashboard"], "ipywidgets",
     "ppnb dashboard needs the 'notebook' extra (missing: ipywidgets): "
     "pip install 'ppnb[notebook]'"),
])
def test_a_missing_extra_is_one_line_and_exit_2(
        argv: list[str], hidden: str, line: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for name in ("PPNB_ENV", "PPNB_BASE_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PPNB_EMULATOR_DB", str(tmp_path / "book" / "emulator.sqlite"))
    monkeypatch.setitem(sys.modules, hidden, None)  # how Python sees it in a core install
    monkeypatch.delitem(sys.modules, "ppnb.dashboard", raising=False)  # imported afresh
    monkeypatch.chdir(tmp_path)
    assert main([*argv, *(["--out", str(tmp_path / "out")] if argv[0] == "lab" else [])]) == 2
    captured = capsys.readouterr()
    said = captured.err.splitlines()  # before it, a data verb may say which book it reads
    assert said[-1] == f"ppnb: error: {line}" and captured.out == ""
    assert all(s.startswith("ppnb: book: ") for s in said[:-1])
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made, no book, no out
