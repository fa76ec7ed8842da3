"""Issue 15, defect 3 (the emulator's side): request bodies, heads and read time are bounded.

The attacks, replayed over raw loopback sockets against ``ppnb emulator serve`` in its own
process, whose resident memory is read from ``/proc`` while they run:

* a 400 MB unauthenticated ``POST /v1/oauth2/token`` (declared, and streamed chunked) used
  to be read whole before the secret was checked (1.66 GB resident);
* a 200 MB create stalled the server;
* 50 MB of headers were accepted;
* a body sent one byte at a time held its request open for ever, and so did a head.

Now a declared size over the path's limit gets 413 before a byte of the body is read, a
streamed one at the first chunk past it, a head over 32 KiB gets 431, and a body or a head
that does not arrive in time gets 408 (the head's clock restarting for each request on a
keep-alive connection), all in PayPal's error shape. Every loop is bounded in count and
time.
"""

from __future__ import annotations

import base64
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import uvicorn
from helpers import Api, invoice_body, new_merchant, reserve, wait_for
from test_webhook_limits import answer, closes, trickle

from ppnb._limits_asgi import BodyLimits
from ppnb.emulator import Emulator, RunningEmulator, start
from ppnb.emulator._guard import API_BODY_LIMIT, BODY_LIMITS, HEADER_LIMIT, TOKEN_BODY_LIMIT
from ppnb.emulator._server import server_config

MiB = 1 << 20
#: How much the server's resident memory may grow while an attack runs.
RSS_GROWTH_BOUND = 64 * MiB


@dataclass
class Server:
    """``ppnb emulator serve`` in a child process."""

    process: subprocess.Popen[bytes]
    port: int
    token: str  # a merchant's access token

    def rss(self) -> int:
        """The server process's resident memory, in bytes (``/proc``)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    process = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", "0", "--db",
         ":memory:", "--merchant", "limits-app:env:LIMITS_SECRET", "--env-file",
         str(folder / "env")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "LIMITS_SECRET": "limits-secret-0123456789"})
    try:
        assert process.stdout is not None
        banner, deadline = b"", time.monotonic() + 60
        while b"set -a" not in banner and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, banner
            banner += line
        found = re.search(rb"127\.0\.0\.1:(\d+)", banner)
        assert found, banner
        port = int(found.group(1))
        api = Api(f"http://127.0.0.1:{port}", "limits-app", "limits-secret-0123456789")
        yield Server(process, port, api.token)
        api.http.close()
    finally:
        process.terminate()
        process.wait(30)


@dataclass
class Outcome:
    status: int | None
    body: bytes
    sent: int  # body bytes the client got to send
    peak_rss: int


def attack(server: Server, head: str, chunk: bytes, chunks: int, *,
           chunked: bool = False, timeout: float = 60) -> Outcome:
    """Send ``head``, then up to ``chunks`` chunks while the server keeps reading and has
    not answered; then read the answer. Bounded in chunks and in time."""
    piece = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") if chunked else chunk
    sent, peak = 0, server.rss()
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        for number in range(chunks):
            ready, _, _ = select.select([sock], [], [], 0.2 if number == 0 else 0)
            if ready or time.monotonic() > deadline:
                break  # the server answered (or the test's time is up)
            try:
                sock.sendall(piece)
            except OSError:  # it closed the connection: it will not read more
                break
            sent += len(chunk)
            peak = max(peak, server.rss())
        answer = b""
        try:
            while time.monotonic() < deadline:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
                if b"\r\n\r\n" in answer and _complete(answer):
                    break
        except OSError:
            pass  # a reset after the answer was read
    peak = max(peak, server.rss())
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return Outcome(status, answer.partition(b"\r\n\r\n")[2], sent, peak)


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    found = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    return found is not None and len(body) >= int(found.group(1))


def request_head(server: Server, method: str, path: str, *headers: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *headers]
    return "\r\n".join(lines) + "\r\n\r\n"


def paypal_error(outcome: Outcome, status: int) -> dict:
    assert outcome.status == status, outcome
    body = orjson.loads(outcome.body)
    assert {"name", "message", "debug_id", "links", "details"} <= set(body), body
    return body


BASIC = "Authorization: Basic " + base64.b64encode(b"nobody:wrong").decode()


def test_a_400_mb_token_request_is_refused_before_its_body_is_read(server: Server) -> None:
    before = server.rss()
    outcome = attack(server, request_head(
        server, "POST", "/v1/oauth2/token", BASIC, "Content-Length: 400000000",
        "Content-Type: application/x-www-form-urlencoded"), b"a" * MiB, 400)
    body = paypal_error(outcome, 413)
    assert body["name"] == "REQUEST_ENTITY_TOO_LARGE"
    assert body["details"][0]["issue"] == "REQUEST_BODY_TOO_LARGE"
    assert str(TOKEN_BODY_LIMIT) in body["details"][0]["description"]
    assert outcome.sent == 0  # answered on the headers alone
    assert outcome.peak_rss - before < RSS_GROWTH_BOUND


def test_a_400_mb_token_body_streamed_in_chunks_is_cut_off(server: Server) -> None:
    before = server.rss()
    outcome = attack(server, request_head(
        server, "POST", "/v1/oauth2/token", BASIC, "Transfer-Encoding: chunked",
        "Content-Type: application/x-www-form-urlencoded"), b"a" * MiB, 400, chunked=True)
    assert paypal_error(outcome, 413)["name"] == "REQUEST_ENTITY_TOO_LARGE"
    # What got through is the socket buffers' worth, not the 400 MB.
    assert outcome.sent < 64 * MiB, outcome.sent
    assert outcome.peak_rss - before < RSS_GROWTH_BOUND


def test_a_200_mb_create_is_refused_and_the_server_keeps_serving(server: Server) -> None:
    before = server.rss()
    auth = f"Authorization: Bearer {server.token}"
    declared = attack(server, request_head(
        server, "POST", "/v2/invoicing/invoices", auth, "Content-Type: application/json",
        "Content-Length: 200000000"), b" " * MiB, 200)
    assert paypal_error(declared, 413)["details"][0]["description"].endswith(
        f"over the limit of {API_BODY_LIMIT} bytes.")
    assert declared.sent == 0
    streamed = attack(server, request_head(
        server, "POST", "/v2/invoicing/invoices", auth, "Content-Type: application/json",
        "Transfer-Encoding: chunked"), b" " * MiB, 200, chunked=True)
    paypal_error(streamed, 413)
    assert streamed.sent < 64 * MiB
    assert max(declared.peak_rss, streamed.peak_rss) - before < RSS_GROWTH_BOUND
    nothing = attack(server, request_head(server, "GET", "/v2/invoicing/invoices?page_size=1",
                                          auth), b"", 0)
    assert nothing.status == 200 and orjson.loads(nothing.body)["items"] == []


def test_headers_over_the_limit_are_refused_by_the_parser(server: Server) -> None:
    """50 MB of headers were accepted (httptools has no limit); h11 stops at 32 KiB."""
    before = server.rss()
    head = (f"GET /v2/invoicing/invoices HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "X-Padding: ")
    outcome = attack(server, head, b"a" * (64 * 1024), 800)  # up to 50 MB of one header
    body = paypal_error(outcome, 431)
    assert body["name"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert body["details"][0]["issue"] == "REQUEST_HEADERS_TOO_LARGE"
    assert body["details"][0]["description"] == (
        f"The request head is over the limit of {HEADER_LIMIT} bytes.")
    assert outcome.sent < 8 * MiB
    assert outcome.peak_rss - before < RSS_GROWTH_BOUND
    assert HEADER_LIMIT == 32 * 1024


@pytest.fixture(scope="module")
def impatient() -> Iterator[RunningEmulator]:
    """An emulator in this process that waits one second for a body."""
    limits = BodyLimits(BODY_LIMITS.default, BODY_LIMITS.paths, read_timeout=1.0)
    with start(body_limits=limits) as running:
        yield running
    running.emulator.close()


def test_a_body_that_trickles_in_gets_408(impatient: RunningEmulator) -> None:
    port = int(impatient.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /v1/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"{BASIC}\r\nContent-Length: 100\r\n\r\ngrant_".encode())
        started = time.monotonic()
        ready, _, _ = select.select([sock], [], [], 15)  # the deadline is 1 s
        assert ready, "no answer to a stalled body"
        answer = sock.recv(65536)
    waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    body = orjson.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["name"] == "REQUEST_TIMEOUT" and body["debug_id"] and body["links"]
    assert b"connection: close" in answer.lower()
    assert 0.5 < waited < 10


def test_the_largest_valid_invoice_still_fits(impatient: RunningEmulator) -> None:
    """100 items, every text at its longest and outside ASCII: well under the API limit."""
    api = Api(impatient.base_url, *new_merchant(impatient.emulator))
    items = [{"name": "é" * 200, "description": "€" * 1000, "quantity": "1",
              "unit_amount": {"currency_code": "EUR", "value": "1.00"}} for _ in range(100)]
    body = invoice_body(currency="EUR", items=items, note="ü" * 4000, terms_and_conditions=(
        "ß" * 4000))
    size = len(orjson.dumps(body))
    assert 300_000 < size < API_BODY_LIMIT
    created = api.create(currency="EUR", items=items, note="ü" * 4000,
                         terms_and_conditions="ß" * 4000)
    assert len(created["items"]) == 100
    api.http.close()


# --- request heads that take too long (ppnb._limits_http through server_config) ---------

#: The head timeout of the emulator under test (the default, HEAD_TIMEOUT, is 10 s).
HEAD_SECONDS = 1.0


@pytest.fixture(scope="module")
def head_timed() -> Iterator[int]:
    """An emulator served in this process by its own ``server_config``, waiting
    HEAD_SECONDS for a head; its port."""
    emulator = Emulator()
    sock = reserve()
    server = uvicorn.Server(server_config(emulator.app, head_timeout=HEAD_SECONDS,
                                          lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), "the emulator")
    assert server.started
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)
    emulator.close()


def clock_request(port: int) -> bytes:
    return f"GET /_emulator/clock HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def test_a_head_trickled_in_gets_408_in_paypals_shape(head_timed: int) -> None:
    status, body, took, closed = trickle(head_timed)  # a byte every 0.1 s, never done
    assert status == 408 and closed
    assert {"name", "message", "debug_id", "details", "links"} <= set(body)
    assert body["name"] == "REQUEST_TIMEOUT"
    assert body["details"][0]["description"].startswith(
        f"The request head did not arrive within {HEAD_SECONDS:g} seconds (")
    assert HEAD_SECONDS * 0.9 <= took < HEAD_SECONDS + 5


def test_keep_alive_requests_within_the_head_timeout_are_served(head_timed: int) -> None:
    request = clock_request(head_timed)
    with socket.create_connection(("127.0.0.1", head_timed), timeout=10) as sock:
        began = time.monotonic()
        for _ in range(3):  # each after a pause, its head in two parts: 1.5 timeouts in all
            assert not select.select([sock], [], [], HEAD_SECONDS * 0.3)[0]
            sock.sendall(request[:10])
            assert not select.select([sock], [], [], HEAD_SECONDS * 0.2)[0]
            sock.sendall(request[10:])
            status, body = answer(sock, time.monotonic() + 10)
            assert status == 200 and "today" in orjson.loads(body)
        assert time.monotonic() - began > HEAD_SECONDS * 1.5


def test_a_stalled_second_head_on_a_keep_alive_connection_gets_408(head_timed: int) -> None:
    with socket.create_connection(("127.0.0.1", head_timed), timeout=10) as sock:
        sock.sendall(clock_request(head_timed))
        assert answer(sock, time.monotonic() + 10)[0] == 200
        answered = time.monotonic()
        sock.sendall(clock_request(head_timed)[:-2])  # all but the blank line
        status, body = answer(sock, answered + 10)
        took = time.monotonic() - answered
        assert closes(sock, time.monotonic() + 5)
    assert status == 408 and orjson.loads(body)["name"] == "REQUEST_TIMEOUT"
    assert HEAD_SECONDS * 0.9 <= took < HEAD_SECONDS + 5


def test_a_head_that_is_not_http_gets_400_in_paypals_shape(head_timed: int) -> None:
    with socket.create_connection(("127.0.0.1", head_timed), timeout=10) as sock:
        sock.sendall(b"HELLO THERE\r\n\r\n")
        status, body = answer(sock, time.monotonic() + 10)
    refusal = orjson.loads(body)
    assert status == 400 and refusal["name"] == "INVALID_REQUEST"
    assert refusal["details"][0]["issue"] == "MALFORMED_REQUEST"
    assert refusal["details"][0]["description"].startswith(
        "The request is not valid HTTP/1.1: ")
