"""The loopback transport: keep-alive reuse, stale connections, and httpx's error types.

Misbehaving servers are tiny raw-socket servers on 127.0.0.1; the happy paths run against
the real emulator.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import Api, invoice_body

from ppnb.client import Client, RetryPolicy, TransportError
from ppnb.client._transport import LoopbackTransport
from ppnb.emulator import RunningEmulator

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RawServer:
    """Accepts connections on loopback and hands each to ``serve(conn)``; counts them."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.done = threading.Semaphore(0)  # released each time serve() has finished
        self._serve = serve
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                self._serve(conn)
            self.done.release()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(serve: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(serve))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_requests_reuse_one_keep_alive_connection(server: RunningEmulator, api: Api) -> None:
    transport = LoopbackTransport()
    with httpx.Client(base_url=server.base_url, transport=transport,
                      headers={"Authorization": f"Bearer {api.fetch_token()}"}) as http:
        created = http.post("/v2/invoicing/invoices", json=invoice_body(),
                            headers={"Prefer": "return=representation"}).json()
        first = transport._idle[0]
        for _ in range(20):
            assert http.get(f"/v2/invoicing/invoices/{created['id']}").json()["id"] == \
                created["id"]
        assert transport._idle == [first]


def test_a_connection_the_server_closed_while_idle_is_replaced(raw: Callable) -> None:
    def answer_once_then_hang_up(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(OK)  # keep-alive by HTTP/1.1 default, then closed: an idle timeout

    server = raw(answer_once_then_hang_up)
    with httpx.Client(base_url=server.url, transport=LoopbackTransport()) as http:
        assert http.get("/a").json() == {}
        server.done.acquire(timeout=10)  # the server has closed that connection
        assert http.get("/b").json() == {}
    assert server.accepted == 2


def test_a_connection_closed_without_an_answer_is_a_remote_protocol_error(
        raw: Callable) -> None:
    server = raw(read_request)  # reads the request, answers nothing, hangs up
    with httpx.Client(base_url=server.url, transport=LoopbackTransport()) as http, \
            pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        http.post("/v2/invoicing/invoices", json={})
    waits: list[float] = []
    with Client(server.url, "id", "secret", retry=RetryPolicy(attempts=3, sleep=waits.append)
                ) as client, pytest.raises(TransportError, match="after 3 tries"):
        client.invoices.list()
    assert len(waits) == 2 and server.accepted == 4  # each try on a fresh connection


def test_refused_and_silent_servers_raise_httpx_errors(raw: Callable) -> None:
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    with httpx.Client(transport=LoopbackTransport()) as http, \
            pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
        http.get(f"http://127.0.0.1:{port}/")

    release = threading.Event()
    server = raw(lambda conn: (read_request(conn), release.wait(10)))
    with httpx.Client(transport=LoopbackTransport(timeout=0.2)) as http, \
            pytest.raises(httpx.ReadTimeout):
        http.get(server.url + "/")
    release.set()


def test_the_client_uses_it_for_loopback_only(server: RunningEmulator, api: Api) -> None:
    with Client(server.base_url, api.client_id, api.secret) as local:
        assert isinstance(local._http._transport, LoopbackTransport)
        with ThreadPoolExecutor(8) as pool:  # concurrent callers each get a connection
            made = list(pool.map(lambda i: local.invoices.create(invoice_body(memo=str(i))),
                                 range(40)))
        assert sorted(int(d["detail"]["memo"]) for d in
                      (local.invoices.get(m["id"]) for m in made)) == list(range(40))
        assert 1 <= len(local._http._transport._idle) <= 8
    with Client("https://api-m.sandbox.paypal.com", "id", "secret") as remote:
        assert not isinstance(remote._http._transport, LoopbackTransport)
