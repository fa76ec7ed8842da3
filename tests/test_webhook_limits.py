"""Issue 15, defects 3 (the receiver's side) and 10: what a webhook sender can make the
receiver read, hold and log.

* A 300 MB body, declared or chunked, and 50 MB of headers, streamed at ``ppnb webhooks
  listen``'s server in a subprocess: refused, and the process's peak resident memory
  (``VmHWM`` in ``/proc``) hardly moves.
* A slow body gets ``408`` after the configured time; headers over the bound get ``431``; a
  declared length over the bound gets ``413`` before a byte of the body is sent.
* The server's heads (``ppnb._limits_http``): a 50 MB head gets ``431`` in PayPal's shape; a
  head trickled in, on a new connection or the second request of a keep-alive one, gets
  ``408`` after the head timeout and the connection closes; a client within the timeout,
  request after request, is unaffected; a connection that sends nothing is closed unanswered.
* A client that disconnects mid-body leaves one INFO line, no traceback.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import uvicorn
from helpers import Served, free_port, reserve, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from test_webhook_forgery import kept_records

from ppnb import webhooks as W
from ppnb._limits_http import HEAD_TIMEOUT, bounded_heads
from ppnb.webhooks._receiver import server_config

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
#: The head timeout the servers under test get (the default, HEAD_TIMEOUT, is 10 s).
HEAD_SECONDS = 1.0


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    with kept_records() as kept:
        yield kept


def head(port: int, length: int | None = None, extra: bytes = b"") -> bytes:
    """A webhook POST's request line and headers; chunked when ``length`` is None."""
    framing = (b"Transfer-Encoding: chunked\r\n" if length is None
               else b"Content-Length: %d\r\n" % length)
    return (b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            % port + framing + extra + b"\r\n")


def answer(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """The status and body of the response on ``sock`` (read until it closes or the body is
    whole, by ``deadline``)."""
    data = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:  # the server closed with our bytes unread; what came stays
            break
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
        header, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in header.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        if length is not None and len(body) >= length:
            break
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    return int(data[9:12]), data.partition(b"\r\n\r\n")[2]


def stream(port: int, start: bytes, pieces: Iterator[bytes]) -> tuple[int, bytes, int]:
    """Send ``start`` then ``pieces`` until the server answers or stops reading; return the
    status, the body and how many bytes of ``pieces`` went out."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(start)
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:
                break  # an answer (or a close) is waiting
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(piece)
        status, body = answer(sock, time.monotonic() + 10)
    return status, body, sent


def peak_rss(pid: int) -> int:
    """The process's peak resident set, in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``ppnb.webhooks.listen`` serving in a subprocess of its own, on a loopback port."""
    port = free_port()
    code = (f"from ppnb.webhooks import listen; listen('WH-1', port={port}, path='/hook', "
            f"log_path={str(tmp_path / 'events.sqlite')!r}, head_timeout={HEAD_SECONDS})")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def up() -> bool:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_for(up, "the receiver subprocess")
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_a_300_mb_body_or_50_mb_of_headers_barely_move_the_receivers_memory(
        listening: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, port = listening
    block = b"x" * MiB
    # warm up: a small request goes through every layer once (400: no PayPal headers)
    status, body, _ = stream(port, head(port, 2), iter([b"{}"]))
    assert status == 400 and orjson.loads(body)["error"] == "headers"
    before = peak_rss(proc.pid)

    declared = stream(port, head(port, 300 * MiB), (block for _ in range(300)))
    assert declared[0] == 413
    refusal = orjson.loads(declared[1])
    assert refusal["name"] == "REQUEST_ENTITY_TOO_LARGE" and refusal["debug_id"]
    assert str(W.MAX_BODY_BYTES) in refusal["message"]

    chunked = stream(port, head(port), (b"%x\r\n" % len(block) + block + b"\r\n"
                                        for _ in range(300)))
    assert chunked[0] == 413 and orjson.loads(chunked[1])["name"] == (
        "REQUEST_ENTITY_TOO_LARGE")
    assert chunked[2] < 100 * MiB  # cut off long before the end

    huge = stream(port, b"POST /hook HTTP/1.1\r\nHost: x\r\nX-Padding: ",
                  (b"a" * MiB for _ in range(50)))
    assert huge[0] == 431 and huge[2] < 20 * MiB  # h11 stops at MAX_HEADER_BYTES
    refusal = orjson.loads(huge[1])
    assert refusal["name"] == "REQUEST_HEADER_FIELDS_TOO_LARGE" and refusal["debug_id"]
    assert refusal["message"] == (
        f"The request head is over the limit of {W.MAX_HEADER_BYTES} bytes.")

    grown = peak_rss(proc.pid) - before
    assert grown < 32 * MiB, f"the receiver's peak memory grew by {grown / MiB:.0f} MiB"
    assert proc.poll() is None


# --- in-process: the limits one by one ---------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    app = W.receiver(tmp_path / "events.sqlite", "WH-1", path="/hook", max_body=4096,
                     body_timeout=0.5)
    listener = Served(app)
    yield listener
    listener.stop()


def port_of(served: Served) -> int:
    return int(served.url.rsplit(":", 1)[1])


def test_a_slow_body_gets_408_after_the_timeout(
        served: Served, records: list[logging.LogRecord]) -> None:
    port = port_of(served)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()  # before the head goes: the server's wait starts after it
        sock.sendall(head(port, 1000) + b"{")
        deadline = began + 10
        # one byte every 0.1 s (the wait for an answer paces it): never done in 0.5 s
        while time.monotonic() < deadline and not select.select([sock], [], [], 0.1)[0]:
            sock.sendall(b" ")
        status, body = answer(sock, deadline)
        took = time.monotonic() - began
    assert status == 408 and 0.5 <= took < 10
    refusal = orjson.loads(body)
    assert refusal["name"] == "REQUEST_TIMEOUT" and refusal["debug_id"]
    assert "0.5 seconds" in refusal["message"]
    [line] = [r for r in records if r.name == "ppnb.webhooks"]
    assert line.levelno == logging.WARNING and "408" in line.getMessage()
    assert all(r.exc_info is None for r in records)


def test_a_body_in_time_and_in_bounds_reaches_the_verifier(served: Served) -> None:
    port = port_of(served)
    status, body, _ = stream(port, head(port, 4096), iter([b" " * 4094 + b"{}"]))
    assert status == 400 and orjson.loads(body)["error"] == "headers"  # verified, not refused
    status, body, _ = stream(port, head(port), iter([b"1000\r\n" + b" " * 4096 + b"\r\n",
                                                     b"1\r\n \r\n0\r\n\r\n"]))
    assert status == 413  # 4097 bytes, counted as they came


def test_a_declared_length_over_the_bound_is_refused_before_the_body_is_sent(
        served: Served) -> None:
    port = port_of(served)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head(port, 4097))  # and not one byte of body
        status, body = answer(sock, time.monotonic() + 10)
    assert status == 413
    assert orjson.loads(body)["message"] == (
        "The request body (4097 bytes) is over the limit of 4096 bytes.")


def test_headers_over_the_bound_get_431(served: Served, records: list[logging.LogRecord]
                                        ) -> None:
    port = port_of(served)
    padding = b"X-Padding: " + b"a" * W.MAX_HEADER_BYTES + b"\r\n"
    status, body, _ = stream(port, head(port, 2, padding), iter([b"{}"]))
    assert status == 431
    assert orjson.loads(body)["name"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    assert len([r for r in records if r.name == "ppnb.webhooks"]) == 1


# --- the server's heads: size, time, syntax (ppnb._limits_http) ---------------------------------


class Uvicorn:
    """uvicorn serving ``config`` on a fresh loopback port, in a thread."""

    def __init__(self, config: uvicorn.Config) -> None:
        sock = reserve()
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), "the server")
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[int]:
    """The receiver served as ``listen`` serves it, with a head timeout of HEAD_SECONDS; its
    port."""
    app = W.receiver(tmp_path / "events.sqlite", "WH-1", path="/hook")
    server = Uvicorn(server_config(app, head_timeout=HEAD_SECONDS, log_level="warning",
                                   lifespan="on"))
    yield server.port
    server.stop()


def closes(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closes ``sock`` (after what was read already) by ``deadline``."""
    while time.monotonic() < deadline:
        if not select.select([sock], [], [], 0.05)[0]:
            continue
        try:
            return sock.recv(65536) == b""
        except ConnectionResetError:
            return True
    return False


def trickle(port: int) -> tuple[int, dict, float, bool]:
    """Send a head that never ends, one byte every 0.1 s until the server answers (10 s at
    most); return the status, the JSON body, the seconds it took, and whether the server then
    closed the connection."""
    slow = b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: " % port + b"a" * 1000
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()
        deadline, sent = began + 10, 0
        while time.monotonic() < deadline and not select.select([sock], [], [], 0.1)[0]:
            sock.sendall(slow[sent:sent + 1])
            sent += 1
        status, body = answer(sock, deadline)
        took = time.monotonic() - began
        closed = closes(sock, time.monotonic() + 5)
    return status, orjson.loads(body), took, closed


def assert_timed_out(status: int, refusal: dict, took: float, closed: bool) -> None:
    assert status == 408, (status, refusal)
    assert refusal["name"] == "REQUEST_TIMEOUT" and refusal["debug_id"]
    assert refusal["message"].startswith(
        f"The request head did not arrive within {HEAD_SECONDS:g} seconds (")
    assert HEAD_SECONDS * 0.9 <= took < HEAD_SECONDS + 5, took
    assert closed, "the connection stayed open after the 408"


def test_a_head_trickled_in_gets_408_and_the_connection_closes(
        strict: int, records: list[logging.LogRecord]) -> None:
    assert_timed_out(*trickle(strict))
    [line] = [r for r in records if r.name == "ppnb.webhooks"]
    assert line.levelno == logging.WARNING and "refused with 408" in line.getMessage()


def test_listen_times_out_a_trickled_head(
        listening: tuple[subprocess.Popen[bytes], int]) -> None:
    assert_timed_out(*trickle(listening[1]))  # listen(head_timeout=HEAD_SECONDS)


def test_listen_exits_3_when_its_server_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code = (f"from ppnb.webhooks import listen; listen('WH-1', "
                f"port={taken.getsockname()[1]}, log_path={str(tmp_path / 'e.sqlite')!r})")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                              timeout=60)
    assert done.returncode == 3, done.stderr.decode()
    assert b"address already in use" in done.stderr


def test_a_keep_alive_client_within_the_timeout_is_unaffected(strict: int) -> None:
    """Three requests on one connection, each after a pause and with its head in two parts,
    together longer than the head timeout: the clock starts again for each request."""
    request = head(strict, 2) + b"{}"
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        began = time.monotonic()
        for _ in range(3):
            # nothing comes from the server meanwhile: no 408, no close
            assert not select.select([sock], [], [], HEAD_SECONDS * 0.3)[0]
            sock.sendall(request[:20])
            assert not select.select([sock], [], [], HEAD_SECONDS * 0.2)[0]
            sock.sendall(request[20:])
            status, body = answer(sock, time.monotonic() + 10)
            assert status == 400 and orjson.loads(body)["error"] == "headers"  # verified
        assert time.monotonic() - began > HEAD_SECONDS * 1.5


def test_a_second_head_that_stalls_on_a_keep_alive_connection_gets_408(strict: int) -> None:
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        sock.sendall(head(strict, 2) + b"{}")
        assert answer(sock, time.monotonic() + 10)[0] == 400
        answered = time.monotonic()
        partial = b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % strict
        sock.sendall(partial)  # and no more
        status, body = answer(sock, answered + 10)
        took = time.monotonic() - answered
        closed = closes(sock, time.monotonic() + 5)
    refusal = orjson.loads(body)
    assert_timed_out(status, refusal, took, closed)
    assert refusal["message"].endswith(f" seconds ({len(partial)} bytes came).")


def test_a_connection_that_sends_nothing_is_closed_unanswered(
        strict: int, records: list[logging.LogRecord]) -> None:
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        began = time.monotonic()
        assert closes(sock, began + 10)  # recv gave b"": no answer came first
        took = time.monotonic() - began
    assert HEAD_SECONDS * 0.9 <= took < HEAD_SECONDS + 5
    assert not [r for r in records if r.name == "ppnb.webhooks"]


def test_a_head_that_is_not_http_gets_400_in_paypals_shape(strict: int) -> None:
    """uvicorn's own answer is a plain-text "Invalid HTTP request received."."""
    with socket.create_connection(("127.0.0.1", strict), timeout=10) as sock:
        sock.sendall(b"HELLO THERE\r\n\r\n")
        status, body = answer(sock, time.monotonic() + 10)
        assert closes(sock, time.monotonic() + 5)
    refusal = orjson.loads(body)
    assert status == 400 and refusal["name"] == "INVALID_REQUEST" and refusal["debug_id"]
    assert refusal["message"].startswith("The request is not valid HTTP/1.1: ")


def test_a_whole_head_over_the_bound_in_one_read_gets_431_before_the_app() -> None:
    """h11 bounds only a head still incomplete; one that came whole is measured before the
    app runs, whatever the app."""
    called: list[str] = []

    async def anything(request: Request) -> Response:
        called.append(request.url.path)
        return Response("ok")

    def render(status: int, reason: str) -> tuple[bytes, str]:
        return orjson.dumps({"status": status, "reason": reason}), "application/json"

    app = Starlette(routes=[Route("/", anything)])
    server = Uvicorn(uvicorn.Config(app, http=bounded_heads(1024, render),
                                    log_level="warning"))
    try:
        for padding, expected in ((800, 200), (1500, 431)):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n"
                             % (b"a" * padding))
                status, body = answer(sock, time.monotonic() + 10)
            assert status == expected, body
    finally:
        server.stop()
    assert called == ["/"]  # the 431 never reached the app
    assert orjson.loads(body) == {"status": 431, "reason": (
        "the request head (1519 bytes of target and headers) is over the limit of 1024 bytes")}


def test_head_bounds_must_be_positive() -> None:
    def render(status: int, reason: str) -> tuple[bytes, str]:
        raise AssertionError("not rendered")

    with pytest.raises(ValueError, match="must be > 0"):
        bounded_heads(0, render)
    with pytest.raises(ValueError, match="must be > 0"):
        bounded_heads(1024, render, timeout=0)
    assert bounded_heads(1024, render).head_timeout == HEAD_TIMEOUT == 10.0


# --- defect 10: a client that goes away --------------------------------------------------------


def disconnect_midway(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head(port, 1000) + b'{"id": "WH-')


def test_a_client_that_disconnects_leaves_one_line_and_no_traceback(
        served: Served, records: list[logging.LogRecord]) -> None:
    port = port_of(served)
    disconnect_midway(port)
    wait_for(lambda: [r for r in records if r.name == "ppnb.webhooks"], "the log line")
    # a later request's line shows the first request's handling has ended
    assert stream(port, head(port, 2), iter([b"{}"]))[0] == 400
    wait_for(lambda: len([r for r in records if r.name == "ppnb.webhooks"]) == 2, "line two")
    first = records[0]
    assert first.name == "ppnb.webhooks" and first.levelno == logging.INFO
    assert "disconnected after 11 body bytes" in first.getMessage()
    assert "\n" not in first.getMessage()
    assert all(r.exc_info is None for r in records)
    assert not [r for r in records if r.name == "uvicorn.error"]


def test_the_traceback_check_sees_a_client_disconnect_traceback(
        records: list[logging.LogRecord]) -> None:
    """Without the limits in front, Starlette raises ClientDisconnect and uvicorn logs its
    traceback: the check above would see it."""
    async def bare(request: Request) -> Response:
        await request.body()
        return Response()

    listener = Served(Starlette(routes=[Route("/hook", bare, methods=["POST"])]))
    disconnect_midway(port_of(listener))
    [error] = wait_for(lambda: [r for r in records if r.name == "uvicorn.error"], "traceback")
    assert error.levelno == logging.ERROR and error.exc_info is not None
    assert error.exc_info[0].__name__ == "ClientDisconnect"
    listener.stop()
