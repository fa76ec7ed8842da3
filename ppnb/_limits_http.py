"""Bounds on a request's head: its size and the time it takes to arrive.

A server sees a request's body only after its head (request line and headers), and an ASGI
app sees nothing before the whole head is parsed. So what :mod:`ppnb._limits_asgi` does for
bodies, the server must do for heads. :func:`bounded_heads` makes a uvicorn HTTP protocol
(``uvicorn.Config(app, http=bounded_heads(...))``), h11's parser with these bounds:

* **Size.** h11 keeps at most ``max_head`` bytes of a head that is not yet complete, so an
  endless header costs that much memory and no more; a complete head over ``max_head`` bytes
  of target and headers (it may arrive in one read) is refused by :func:`bound_head` before
  the app runs. Either way the answer is ``431``.
* **Time.** From the moment the server can read a request (the connection is open, or the
  previous response on a keep-alive connection is complete) its whole head must arrive within
  ``timeout`` seconds, however slowly the bytes trickle in; the clock starts again for each
  request. A head that started but did not finish gets ``408``; a connection that sent no
  byte of a request is closed without an answer, as uvicorn's keep-alive timeout does.
* **Syntax.** A head that is not HTTP/1.1 (or has a transfer coding h11 does not support)
  gets ``400`` naming what is wrong, instead of uvicorn's plain text.

Every refusal is rendered by the caller's :data:`~ppnb._limits_asgi.Refusal` (PayPal's error
shape in ppnb), carries ``Connection: close``, closes the connection and is one WARNING line
in the caller's log.

Part of the base layer: only uvicorn, h11, the standard library and
:mod:`ppnb._limits_asgi`, so the emulator and the webhook receiver share it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from ._limits_asgi import App, Receive, Refusal, Scope, Send, describe, refuse_with

__all__ = ["HEAD_TIMEOUT", "BoundedHeads", "bound_head", "bounded_heads"]

#: Default seconds a request's head may take to arrive, from when the server can read it.
HEAD_TIMEOUT = 10.0

log = logging.getLogger("ppnb.limits")


def bounded_heads(max_head: int, refusal: Refusal, *, timeout: float = HEAD_TIMEOUT,
                  logger: logging.Logger | None = None) -> type[BoundedHeads]:
    """The uvicorn HTTP protocol class that bounds heads (see the module notes).

    Parameters
    ----------
    max_head
        Largest request head, in bytes (``431`` past it).
    refusal
        Renders the body of a ``400``, ``408`` or ``431``.
    timeout
        Seconds a head may take to arrive (``408`` past it).
    logger
        Where refusals are logged, one WARNING line each (default ``ppnb.limits``).

    Raises
    ------
    ValueError
        For a ``max_head`` or ``timeout`` that is not positive.
    """
    if max_head <= 0 or not timeout > 0:
        raise ValueError(f"max_head ({max_head}) and timeout ({timeout}) must be > 0")
    return type("BoundedHeads", (BoundedHeads,), {
        "max_head": max_head, "head_timeout": timeout, "refusal": staticmethod(refusal),
        "limits_log": logger or log})


class BoundedHeads(H11Protocol):
    """uvicorn's h11 protocol with a bounded head size and head time; made by
    :func:`bounded_heads`, which sets the class attributes."""

    max_head: ClassVar[int]
    head_timeout: ClassVar[float]
    refusal: ClassVar[Refusal]
    limits_log: ClassVar[logging.Logger]

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.max_head)
        self.app = bound_head(self.app, self.max_head, self.refusal, logger=self.limits_log)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._time_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        self._time_head()

    def send_400_response(self, msg: str) -> None:
        """Answer a head h11 refused; uvicorn calls this while handling h11's error, whose
        status hint tells an oversized head (431) from a malformed one (400)."""
        error = sys.exception()
        if getattr(error, "error_status_hint", None) == 431:
            self._refuse(431, f"the request head is over the limit of {self.max_head} bytes")
        else:
            self._refuse(400, f"the request is not valid HTTP/1.1: {error or msg}")

    def _time_head(self) -> None:
        """Start the head clock when the server waits for a head (unless it runs already:
        trickling bytes do not restart it); stop it once the head is in."""
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self.head_timeout, self._head_late)
        else:
            self._stop_head_timer()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        came = len(self.conn.trailing_data[0])
        if came:
            self._refuse(408, f"the request head did not arrive within {self.head_timeout:g} "
                         f"seconds ({came} bytes came)")
        else:
            self.timeout_keep_alive_handler()  # no request started: close, answer nothing

    def _refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` in the caller's shape, log it and close the connection (also
        when the answer cannot be written, e.g. a response is already under way)."""
        source = f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown client"
        self.limits_log.warning("a request head from %s refused with %d: %s", source, status,
                                reason)
        try:
            if self.conn.our_state is h11.IDLE:
                body, content_type = self.refusal(status, reason)
                headers = [(b"content-type", content_type.encode("latin-1")),
                           (b"content-length", str(len(body)).encode()),
                           (b"connection", b"close")]
                for event in (h11.Response(status_code=status, headers=headers,
                                           reason=STATUS_PHRASES[status]),
                              h11.Data(data=body), h11.EndOfMessage()):
                    self.transport.write(self.conn.send(event))
        finally:
            self.transport.close()


def bound_head(app: App, max_head: int, refusal: Refusal, *,
               logger: logging.Logger | None = None) -> App:
    """``app`` behind a head size check: ``431`` (rendered by ``refusal``, logged as one
    WARNING line) for a request whose target and headers come to more than ``max_head``
    bytes. The exact check for heads the parser took whole; :class:`BoundedHeads` applies
    it, and an app mounted in a server of its own can apply it too."""
    logger = logger or log

    async def bounded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or scope["path"].encode()) + len(
                scope.get("query_string", b"")) + sum(
                len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > max_head:
                reason = (f"the request head ({size} bytes of target and headers) is over "
                          f"the limit of {max_head} bytes")
                logger.warning("%s refused with 431: %s", describe(scope), reason)
                await refuse_with(send, 431, *refusal(431, reason))
                return
        await app(scope, receive, send)

    return bounded
