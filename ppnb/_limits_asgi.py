"""Bounds on what an HTTP request may make a server read: body size and body time.

:func:`bound_bodies` wraps an ASGI app. Before the app runs, it refuses a ``Content-Length``
over the path's limit (:class:`BodyLimits`) without reading a byte of the body; otherwise it
reads the body itself, counting the bytes as they stream in and stopping at the first chunk
past the limit, all within a deadline however slowly the bytes come. Only a body read whole
and within bounds reaches the app, which then reads it from memory as usual. Refusals are
``413`` (too large, declared or counted) and ``408`` (too slow); the caller says what their
body looks like (``refusal``), and every refusal carries ``Connection: close`` so the server
stops reading the rest. A client that
disconnects before its body is read is logged as one line, not a traceback, and the app never
sees the request.

Request heads are bounded where they are parsed: an ASGI app sees headers only once the server
has read them all, so the server must be given its own limit, in size and in time: see
:mod:`ppnb._limits_http` (an h11 protocol for uvicorn that answers 431 and 408 in the
caller's error shape; uvicorn's httptools parser bounds neither).

Part of the base layer: only the standard library and Starlette's stack (anyio), so the
emulator and the webhook receiver share it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio

__all__ = ["BODY_TIMEOUT", "BodyLimits", "Refusal", "bound_bodies", "describe", "refuse_with"]

#: Default seconds a request's whole body may take to arrive, from the first read.
BODY_TIMEOUT = 10.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Renders a refusal: ``(status, reason) -> (body, content type)``; ``reason`` is a lower-case
#: phrase without a final full stop ("the request body is over the limit of 4096 bytes").
Refusal = Callable[[int, str], tuple[bytes, str]]

log = logging.getLogger("ppnb.limits")


@dataclass(frozen=True)
class BodyLimits:
    """Largest request body per path, and how long a body may take.

    Parameters
    ----------
    default
        Largest body, in bytes, on a path no prefix of ``paths`` matches.
    paths
        ``(path prefix, largest body)`` pairs; the longest matching prefix wins.
    read_timeout
        Seconds the whole body may take to arrive.
    """

    default: int
    paths: tuple[tuple[str, int], ...] = ()
    read_timeout: float = BODY_TIMEOUT

    def __post_init__(self) -> None:
        if self.default < 0 or any(limit < 0 for _, limit in self.paths) or (
                self.read_timeout <= 0):
            raise ValueError(f"{self}: limits ≥ 0 and read_timeout > 0 please")

    def limit_for(self, path: str) -> int:
        """The largest body accepted on ``path``."""
        matches = [(len(prefix), limit) for prefix, limit in self.paths
                   if path.startswith(prefix)]
        return max(matches)[1] if matches else self.default


def bound_bodies(app: App, limits: BodyLimits, refusal: Refusal, *,
                 logger: logging.Logger | None = None) -> App:
    """``app`` behind the body limits (see the module notes).

    Parameters
    ----------
    app
        The ASGI app to protect.
    limits
        Body size per path and read time.
    refusal
        Renders the body of a ``413`` or ``408``.
    logger
        Where refusals (WARNING) and abandoned requests (INFO) are logged, one line each
        (default ``ppnb.limits``).
    """
    logger = logger or log

    async def refuse(scope: Scope, send: Send, status: int, reason: str) -> None:
        logger.warning("%s refused with %d: %s", describe(scope), status, reason)
        await refuse_with(send, status, *refusal(status, reason))

    async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limit = limits.limit_for(scope["path"])
        for name, value in scope["headers"]:
            # the server frames the body (it refuses a malformed length); whatever it
            # declares, the bytes are counted below
            if name.lower() == b"content-length" and value.strip().isdigit() and (
                    int(value) > limit):
                await refuse(scope, send, 413, f"the request body ({int(value)} bytes) is "
                             f"over the limit of {limit} bytes")
                return
        chunks: list[bytes] = []
        size, state = 0, "reading"
        with anyio.move_on_after(limits.read_timeout):
            while state == "reading":
                message = await receive()
                if message["type"] == "http.disconnect":
                    state = "gone"
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    state = "large"
                    break
                chunks.append(chunk)
                if not message.get("more_body", False):
                    state = "read"
        if state == "gone":
            logger.info("%s: the client disconnected after %d body bytes; request dropped",
                        describe(scope), size)
        elif state == "large":
            await refuse(scope, send, 413, f"the request body is over the limit of {limit} "
                         "bytes")
        elif state == "reading":
            await refuse(scope, send, 408, f"the request body did not arrive within "
                         f"{limits.read_timeout:g} seconds ({size} bytes came)")
        else:
            await app(scope, _replay(b"".join(chunks), receive), send)

    return bounded


async def refuse_with(send: Send, status: int, body: bytes, content_type: str) -> None:
    """Answer ``status`` with ``body`` and close the connection (the rest of the request is
    never read)."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def describe(scope: Scope) -> str:
    """``POST '/hook' from 127.0.0.1:5000``, for one log line (the path without its query,
    which may carry data)."""
    client = scope.get("client")
    source = f"{client[0]}:{client[1]}" if client else "an unknown client"
    return f"{scope.get('method', '?')} {scope['path']!r} from {source}"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then whatever the server says next
    (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
