"""Issue 8, suite 5: the client secret and the access token never show, wherever ppnb writes.

A merchant app with a distinctive secret (``S3CRET-proof-`` and 32 hex digits) does real work
on an emulator served by the test process; then every place text comes out of ppnb is scanned:
``repr``/``str`` of the objects that hold credentials, exceptions raised by real failures (401,
403, 404, 422, 429, 500, dropped connections, timeouts) and their whole tracebacks, every log
record at DEBUG from ``ppnb``, ``httpx``, ``httpcore`` and ``uvicorn`` (retries and a token
refresh included), the CLI's output (the ``emulator serve`` banner from a real process,
``seed``, ``pull``, ``aging``, ``kpis``, ``report``, ``emulator stats`` and a refused login),
the exported reports (every part of the xlsx, the HTML, the PDF's bytes and text), the outputs
of an executed notebook, bulk journals and the reminder ledger, the webhook event log, and the
emulator's own database file.

What is looked for (:class:`Scanner`): the secret, either half of its hex digits, the
``client_id:secret`` pair and its base64 (the HTTP Basic header), each token the test knows
(whole or its first or last 24 characters), and anything shaped like an emulator token
(``A21AA`` then 40 or more URL-safe characters), which also catches the tokens of the CLI and
the notebook kernel, which the test never sees.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import logging
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pypdf import PdfReader

from ppnb import webhooks
from ppnb.actions import bulk
from ppnb.cli import main
from ppnb.client import Client, PayPalError, RetryPolicy
from ppnb.client._auth import ClientCredentials
from ppnb.emulator import Clock, DeliveryPolicy, RunningEmulator, start
from ppnb.lab import NOTEBOOKS, execute_notebooks
from ppnb.seed import seed_demo

CLIENT_ID = "proof-client"
SECRET = "S3CRET-proof-" + uuid.uuid4().hex
WRONG = "WR0NG-proof-" + uuid.uuid4().hex  # a refused secret must not show either
NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = "2025-06-30"
TOKEN_SHAPE = re.compile(rb"A21AA[A-Za-z0-9_-]{40,}")
#: Loggers whose every record is captured at DEBUG.
LOGGERS = ("ppnb", "httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access")


def no_wait(seconds: float) -> None:
    """A RetryPolicy sleep that does not sleep: the retries, not the waits, matter here."""


class Scanner:
    """What must never appear, and a check that it does not."""

    def __init__(self) -> None:
        self.needles: dict[str, bytes] = {}
        for name, secret in (("secret", SECRET), ("wrong secret", WRONG)):
            digits = secret.rsplit("-", 1)[1]
            basic = f"{CLIENT_ID}:{secret}"
            self.needles |= {name: secret.encode(), f"{name} digits 1-16": digits[:16].encode(),
                             f"{name} digits 17-32": digits[16:].encode(),
                             f"{name} Basic pair": basic.encode(),
                             f"{name} Basic base64": base64.b64encode(basic.encode())}
        self.tokens = 0

    def token(self, token: str) -> None:
        """Also look for ``token`` (whole, or its first or last 24 characters)."""
        self.tokens += 1
        self.needles |= {f"token {self.tokens}": token.encode(),
                         f"token {self.tokens} head": token[:24].encode(),
                         f"token {self.tokens} tail": token[-24:].encode()}

    def leaks(self, data: str | bytes) -> list[str]:
        """The needles found in ``data`` (and ``token-shaped`` for any unknown token)."""
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        found = [name for name, needle in self.needles.items() if needle in raw]
        return found + (["token-shaped"] if TOKEN_SHAPE.search(raw) else [])

    def check(self, what: str, data: str | bytes) -> None:
        assert not self.leaks(data), f"{what} shows {self.leaks(data)}"


def test_the_scanner_finds_what_it_looks_for() -> None:
    """So that a clean scan means something."""
    scan = Scanner()
    scan.token("A21AA" + "x" * 86)
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    for text, name in ((f"id={CLIENT_ID} secret={SECRET}", "secret"),
                       (f"Authorization: Basic {basic}", "secret Basic base64"),
                       (SECRET[-20:], "secret digits 17-32"),
                       (f"Bearer A21AA{'x' * 30}", "token 1 head"),
                       ("Bearer A21AA" + "Q" * 50, "token-shaped")):
        assert name in scan.leaks(text), (text, scan.leaks(text))
    assert scan.leaks(f"masked ****{SECRET[-4:]}, client {CLIENT_ID}") == []


# --- the book ---------------------------------------------------------------------------------


class Served:
    """An ASGI app served by uvicorn on a bound loopback socket, in a thread."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive():
            assert time.monotonic() < deadline, "the receiver did not start"
            self.thread.join(0.01)
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class Book:
    """A seeded emulator, a client, and where its webhook events are logged."""

    running: RunningEmulator
    client: Client
    scan: Scanner
    events: Path

    @property
    def env(self) -> dict[str, str]:
        """What points ``ppnb.connect()`` (and so the CLI and a kernel) at this book."""
        return {"PPNB_ENV": "emulator", "PPNB_BASE_URL": self.running.base_url,
                "PAYPAL_CLIENT_ID": CLIENT_ID, "PAYPAL_CLIENT_SECRET": SECRET}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Book]:
    """An emulator over a SQLite file with the distinctive merchant; a webhook receiver logs
    every event from the start; a small demo book is seeded through the API."""
    home = tmp_path_factory.mktemp("secrets")
    events = home / "events.sqlite"
    policy = DeliveryPolicy(attempts=40, base_delay=0.05, max_delay=0.5, timeout=5)
    with start(home / "emulator.sqlite", merchants=[(CLIENT_ID, SECRET)],
               clock=Clock(NOW, frozen=True), webhook_policy=policy) as running:
        client = Client(running.base_url, CLIENT_ID, SECRET)
        scan = Scanner()
        scan.token(client.get_token()["access_token"])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        hook = webhooks.WebhookAPI(client).create(
            f"http://127.0.0.1:{sock.getsockname()[1]}/hook")
        receiver = Served(webhooks.receiver(events, hook["id"], path="/hook",
                                            allowed_cert_hosts=(running.base_url,),
                                            now=running.emulator.clock.now), sock)
        seed_demo(client, invoices=60, customers=8, months=6, seed=5)
        yield Book(running, client, scan, events)
        receiver.stop()
        client.close()
    running.emulator.close()


def settled(running: RunningEmulator) -> list[dict[str, Any]]:
    """Every webhook delivery, once none is pending (bounded poll)."""
    deadline = time.monotonic() + 60
    while True:
        found = running.emulator.deliveries()
        if found and all(d["status"] != "PENDING" for d in found):
            return found
        assert time.monotonic() < deadline, "webhook deliveries did not settle in 60 s"
        time.sleep(0.05)  # polling the delivery records, bounded by the deadline


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- repr and str -------------------------------------------------------------------------------


def test_repr_and_str_of_everything_holding_credentials(book: Book) -> None:
    client = book.client
    partner = client.acting_for(payer_id="ABCDEFGHJKLMN")
    objects = [client, partner, client._auth, ClientCredentials(CLIENT_ID, SECRET),
               book.running, book.running.emulator, book.running.credentials,
               *book.running.emulator.credentials, client.retry]
    for thing in objects:
        book.scan.check(f"repr({type(thing).__name__})", repr(thing))
        book.scan.check(f"str({type(thing).__name__})", str(thing))
    assert CLIENT_ID in repr(client) and CLIENT_ID in repr(book.running.credentials)


# --- exceptions from real failures, and every log record while they happen -------------------


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of LOGGERS at DEBUG (uvicorn's loggers do not propagate to the root)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield records
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(saved[name])


def failure_text(exc: BaseException) -> str:
    """All a user or a log could see of an exception: str, repr, the whole traceback, the
    chain (even a suppressed context), and an APIError's body."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen), json.dumps(getattr(seen, "body", None), default=str)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def fail_in_every_way(running: RunningEmulator, scan: Scanner, label: str,
                      transport: httpx.BaseTransport | None) -> dict[str, BaseException]:
    """Real work, a token refresh, retries, and one real failure of each kind; returns the
    failures by name."""
    emulator, failures = running.emulator, {}
    quick = RetryPolicy(attempts=3, backoff=0.01, sleep=no_wait)

    def expect(name: str, call: Callable[[], Any]) -> None:
        with pytest.raises(PayPalError) as raised:
            call()
        failures[f"{label} {name}"] = raised.value

    with Client(running.base_url, CLIENT_ID, WRONG, retry=quick,
                transport=transport) as refused:
        expect("401 refused secret", refused.invoices.list)
    with Client(running.base_url, CLIENT_ID, SECRET, retry=quick, timeout=0.5,
                transport=transport) as client:
        scan.token(client.get_token()["access_token"])
        invoice = client.invoices.create({
            "detail": {"currency_code": "USD"},
            "primary_recipients": [{"billing_info": {"email_address": "a@example.com"}}],
            "items": [{"name": "Work", "quantity": "1",
                       "unit_amount": {"currency_code": "USD", "value": "10.00"}}]})
        expect("404", lambda: client.invoices.get("INV2-NONE-NONE-NONE-NONE"))
        expect("422", lambda: client.invoices.cancel(invoice["id"]))
        expect("403", client.acting_for(payer_id="NOBODYGRANTED").invoices.list)
        # The token expires on the server: the client fetches a new one once, and goes on.
        emulator.advance(1)
        fetches = client._auth.fetches
        client.invoices.get(invoice["id"])
        assert client._auth.fetches == fetches + 1
        scan.token(client.get_token()["access_token"])
        # Retries that succeed (mostly), then retries that run out, per kind of fault.
        emulator.faults.configure(rate=0.5, statuses=[429, 500, 503], seed=4,
                                  drop_connections=True)
        for _ in range(10):
            with contextlib.suppress(PayPalError):
                client.invoices.search({}, page_size=5)
        for status in (429, 500, 503):
            emulator.faults.configure(rate=1, statuses=[status])
            expect(str(status), client.invoices.list)
        emulator.faults.configure(rate=1, statuses=[], drop_connections=True)
        expect("dropped connection", client.invoices.list)
        emulator.faults.configure(latency_ms=(800, 800))
        expect("timeout", client.invoices.list)
        emulator.faults.clear()
    return failures


def test_errors_and_logs_from_real_failures(book: Book) -> None:
    # A private emulator: its clock moves (token expiry) and faults are emulator-wide. It is
    # started before the capture, because starting uvicorn resets uvicorn's log handlers.
    with start(merchants=[(CLIENT_ID, SECRET)], clock=Clock(NOW, frozen=True)) as running, \
            captured_logs() as records:
        failures = {**fail_in_every_way(running, book.scan, "ppnb transport", None),
                    **fail_in_every_way(running, book.scan, "httpx transport",
                                        httpx.HTTPTransport())}
    running.emulator.close()
    assert {type(e).__name__ for e in failures.values()} >= {
        "AuthenticationError", "NotFound", "InvalidRequest", "PermissionDenied", "RateLimited",
        "ServerError", "TransportError"}
    for name, exc in failures.items():
        book.scan.check(f"the {name} error", failure_text(exc))
    text = "\n".join(logging.Formatter("%(name)s %(levelname)s %(message)s").format(r)
                     for r in records)
    loggers = {r.name.split(".")[0] for r in records}
    print(f"\n[secrets] {len(failures)} failures and {len(records)} log records "
          f"({', '.join(sorted(loggers))}) scanned for {len(book.scan.needles)} needles")
    assert {"ppnb", "httpx", "httpcore"} <= loggers, loggers  # the capture saw real work
    assert "retrying" in text and "fetched an access token" in text
    book.scan.check("the log", text)


# A client that gives up (a timeout) while its request is read raises starlette's
# ClientDisconnect in the emulator; that is not an emulator error and must not be logged as one.
def test_a_client_giving_up_is_not_an_emulator_error() -> None:
    with start(merchants=[(CLIENT_ID, SECRET)]) as running, \
            Client(running.base_url, CLIENT_ID, SECRET, timeout=0.2,
                   retry=RetryPolicy(attempts=1)) as impatient, \
            Client(running.base_url, CLIENT_ID, SECRET) as patient:
        impatient.get_token()
        patient.get_token()
        running.emulator.faults.configure(latency_ms=(400, 400))
        with captured_logs() as records:
            with pytest.raises(PayPalError):
                impatient.invoices.list()
            # The emulator resumes the abandoned request when its latency is over, before this
            # later request's (the same delay, started later): once this one is answered, the
            # abandoned one has been handled.
            patient.invoices.list()
        running.emulator.faults.clear()
    running.emulator.close()
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []


# --- the CLI --------------------------------------------------------------------------------------


def read_until(proc: subprocess.Popen[bytes], marker: bytes, timeout: float = 60) -> bytes:
    """A process's stdout until ``marker`` appears (bounded by ``timeout``)."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout.fileno(), selectors.EVENT_READ)
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and proc.poll() is None, f"output so far: {seen!r}"
        if selector.select(remaining):
            seen += os.read(proc.stdout.fileno(), 65536)
    return seen


def test_emulator_serve_banner(book: Book, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", "0",
         "--db", str(tmp_path / "served.sqlite"), "--merchant", f"{CLIENT_ID}:{SECRET}",
         "--env-file", str(tmp_path / "served.env")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(
            tmp_path)})
    try:
        banner = read_until(proc, b"set -a")
        url = re.search(rb"emulator at (http://\S+)", banner)
        assert url, banner
        token = httpx.post(url.group(1).decode() + "/v1/oauth2/token",
                           auth=(CLIENT_ID, SECRET), data={"grant_type": "client_credentials"},
                           timeout=30)
        assert token.status_code == 200
        book.scan.token(token.json()["access_token"])
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    assert CLIENT_ID.encode() in banner and f"****{SECRET[-4:]}".encode() in banner
    book.scan.check("the serve banner and everything the server printed", banner + rest)


@dataclass
class CliRuns:
    """What each CLI verb printed, and the folder its files went to."""

    printed: dict[str, str]
    folder: Path


@pytest.fixture(scope="module")
def cli(book: Book, tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    """Run the CLI verbs once, in process, pointed at the book by the environment only."""
    folder = tmp_path_factory.mktemp("cli")
    url = book.running.base_url
    verbs = [
        ["seed", "--dataset", "demo", "--invoices", "15", "--customers", "4", "--seed", "9",
         "--months", "3"],
        ["pull", "--url", url],
        ["pull", "--url", url, "--out", str(folder / "book.csv"), "--all-tables"],
        ["aging", "--url", url, "--as-of", AS_OF],
        ["aging", "--url", url, "--as-of", AS_OF, "--format", "json"],
        ["kpis", "--url", url, "--start", "2025-04-01", "--end", AS_OF],
        *(["report", "--url", url, "--as-of", AS_OF, "--out", str(folder / f"report.{kind}")]
          for kind in ("xlsx", "html", "pdf")),
        ["emulator", "stats", "--url", url],
    ]
    printed = {}
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**book.env, "HOME": str(folder)}.items():
            env.setenv(name, value)
        for argv in [*verbs, ["pull", "--url", url, "--refused"]]:
            refused = argv[-1] == "--refused"
            if refused:  # the same verb with a secret the emulator refuses
                argv = argv[:-1]
                env.setenv("PAYPAL_CLIENT_SECRET", WRONG)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = main(argv)
            assert status == (1 if refused else 0), (argv, err.getvalue()[-500:])
            key = " ".join([*argv[:2], *(["(refused)"] if refused else [])])
            printed[key] = printed.get(key, "") + out.getvalue() + err.getvalue()
    return CliRuns(printed, folder)


def test_cli_output(book: Book, cli: CliRuns) -> None:
    assert "401" in cli.printed["pull --url (refused)"]
    assert all(cli.printed.values()), [k for k, v in cli.printed.items() if not v]
    for verb, text in cli.printed.items():
        book.scan.check(f"ppnb {verb} output", text)
    written = files_under(cli.folder)
    assert {p.name for p in written} >= {"book.csv", "book.items.csv", "report.pdf"}
    for path in written:
        book.scan.check(f"the written file {path.name}", path.read_bytes())


# --- exported reports ---------------------------------------------------------------------------


def test_exported_reports(book: Book, cli: CliRuns) -> None:
    """The three reports ``ppnb report`` wrote: every xlsx part, the HTML, the PDF's bytes and
    its extracted text (its streams are compressed)."""
    for kind in ("xlsx", "html", "pdf"):
        path = cli.folder / f"report.{kind}"
        book.scan.check(f"the {kind} report's bytes", path.read_bytes())
    with zipfile.ZipFile(cli.folder / "report.xlsx") as workbook:
        parts = workbook.namelist()
        assert any(p.startswith("xl/worksheets/") for p in parts)
        for part in parts:
            book.scan.check(f"xlsx part {part}", workbook.read(part))
    reader = PdfReader(cli.folder / "report.pdf")
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    assert AS_OF in text, text[:300]  # the text layer was read
    book.scan.check("the pdf's text", text + json.dumps(dict(reader.metadata or {}),
                                                         default=str))


# --- an executed notebook -----------------------------------------------------------------------


def test_executed_notebook_outputs(book: Book, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in book.env.items():
        monkeypatch.setenv(name, value)
    for name, folder in {"HOME": "", "JUPYTER_CONFIG_DIR": "jupyter/config",
                         "JUPYTER_DATA_DIR": "jupyter/data",
                         "JUPYTER_RUNTIME_DIR": "jupyter/runtime", "IPYTHONDIR": "ipython",
                         "MPLCONFIGDIR": "mpl"}.items():
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(tmp_path / folder))
    [executed] = execute_notebooks([NOTEBOOKS / "01_quickstart.ipynb"], tmp_path / "out")
    notebook = json.loads(executed.read_text())
    outputs = [o for cell in notebook["cells"] for o in cell.get("outputs", [])]
    assert outputs and not [o for o in outputs if o["output_type"] == "error"]
    assert CLIENT_ID in json.dumps(outputs)  # the client's repr is shown, by its id only
    for n, output in enumerate(outputs):
        book.scan.check(f"notebook output {n}", json.dumps(output))
    book.scan.check("the executed notebook file", executed.read_bytes())


# --- journals, the webhook log, the emulator's database -------------------------------------------


def test_bulk_journals_and_reminder_ledger(book: Book, tmp_path: Path) -> None:
    sent = book.client.invoices.search({"status": ["SENT", "UNPAID"]}, page_size=10)["items"]
    assert sent
    result = bulk(book.client, "remind", [i["id"] for i in sent], confirm=True,
                  journal_dir=tmp_path, progress=False, today=NOW.date(), note="Please pay")
    assert result.attrs["counts"].get("ok", 0) == len(sent)
    files = files_under(tmp_path)
    assert any(p.suffix == ".jsonl" and p.parent == tmp_path for p in files)
    assert any(p.parent.name == "reminders" for p in files)
    for path in files:
        book.scan.check(f"journal file {path.relative_to(tmp_path)}", path.read_bytes())


def test_webhook_event_log(book: Book) -> None:
    deliveries = settled(book.running)
    assert deliveries and all(d["status"] == "SUCCESS" for d in deliveries)
    logged = webhooks.events(book.events)
    assert len(logged) == len(deliveries)
    book.scan.check("the event log as a table",
                    logged.to_json(date_format="iso", default_handler=str))
    for path in book.events.parent.glob(book.events.name + "*"):
        book.scan.check(f"the event log file {path.name}", path.read_bytes())


def test_the_emulators_database_keeps_only_hashes(book: Book) -> None:
    """Not PayPal's surface, but a file a user keeps: it stores digests, never the secret or
    a token in clear."""
    db = Path(book.running.emulator.store.path)
    parts = [p for p in db.parent.glob(db.name + "*") if p.is_file()]
    assert db in parts
    for path in parts:
        book.scan.check(f"the emulator database file {path.name}", path.read_bytes())
