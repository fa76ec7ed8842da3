"""A lean httpx transport for servers on loopback (the emulator).

httpx's default transport (httpcore + h11) spends more CPU per request than the emulator
spends answering it; seeding, bulk actions and pulls against the local emulator are bound by
that, not by the server. On loopback there are no proxies, no TLS and no HTTP/2 to negotiate,
so :class:`LoopbackTransport` sends HTTP/1.1 over keep-alive connections from the standard
library's ``http.client`` (C-accelerated parsing), under the same httpx client, auth flow and
retries. PayPal's hosts keep httpx's own transport.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading

import httpx

__all__ = ["LoopbackTransport"]

#: The ways a server hangs up without (all of) an answer.
_DROPPED = (http.client.RemoteDisconnected, http.client.IncompleteRead, BrokenPipeError,
            ConnectionResetError)


class LoopbackTransport(httpx.BaseTransport):
    """Keep-alive HTTP/1.1 to one loopback ``host:port``, thread-safe.

    Parameters
    ----------
    timeout
        Seconds to connect and for each read.
    max_idle
        Idle connections kept for reuse (one per concurrent caller is enough).

    Notes
    -----
    Errors are httpx's, so callers handle them as with any transport: a refused connection
    is :class:`httpx.ConnectError`, a timeout :class:`httpx.ReadTimeout` or
    :class:`httpx.ConnectTimeout`, and a connection closed without a response
    :class:`httpx.RemoteProtocolError`. An idle connection that the server has closed
    meanwhile is noticed before reuse (its socket reads as ready) and replaced, as
    httpcore does; a request is never sent twice by the transport itself.
    """

    def __init__(self, *, timeout: float = 30.0, max_idle: int = 16) -> None:
        self._timeout = timeout
        self._max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"LoopbackTransport speaks http only, not {url}")
        body = request.read()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        target = url.raw_path.decode("ascii")
        conn = self._checkout(url.host, url.port or 80)
        try:
            conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders(body or None)
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _httpx_error(exc, request) from exc
        if response.will_close:
            conn.close()
        else:
            self._checkin(conn)
        return httpx.Response(response.status, headers=response.getheaders(), content=content,
                              request=request, extensions={"http_version": b"HTTP/1.1"})

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _checkout(self, host: str, port: int) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(host, port)
            if (conn.host, conn.port) == (host, port) and _open(conn):
                return conn
            conn.close()

    def _connect(self, host: str, port: int) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(host, port, timeout=self._timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port}: {exc}") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connecting to {host}:{port}: {exc}") from exc
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _checkin(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()


def _open(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection is still usable: nothing to read, not closed."""
    if conn.sock is None:
        return False
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return not poller.poll(0)


def _httpx_error(exc: Exception, request: httpx.Request) -> httpx.HTTPError:
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(f"no answer within the timeout: {exc}", request=request)
    if isinstance(exc, _DROPPED):
        return httpx.RemoteProtocolError(
            f"server disconnected without sending a response ({type(exc).__name__})",
            request=request)
    if isinstance(exc, http.client.HTTPException):
        return httpx.RemoteProtocolError(f"malformed HTTP response: {exc}", request=request)
    return httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request)
