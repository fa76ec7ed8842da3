"""Issue 15, defects 3 (the receiver's side) and 10: what a webhook sender can make the
receiver read, hold and log.

* A 300 MB body, declared or chunked, and 50 MB of headers, streamed at ``ppnb webhooks
  listen``'s server in a subprocess: refused, and the process's peak resident memory
  (``VmHWM`` in ``/proc``) hardly moves.
* A slow body gets ``408`` after the configured time; headers over the bound get ``431``; a
  declared length over the bound gets ``413`` before a byte of the body is sent.
* A client that disconnects mid-body leaves one INFO line, no traceback.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from helpers import Served, free_port, wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from test_webhook_forgery import kept_records

from ppnb import webhooks as W

ROOT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


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
            f"log_path={str(tmp_path / 'events.sqlite')!r})")
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
    assert huge[0] in (400, 431) and huge[2] < 20 * MiB  # h11 stops at MAX_HEADER_BYTES

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
        sock.sendall(head(port, 1000) + b"{")
        began = time.monotonic()
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
