"""The webhook receiver: an ASGI app that bounds, verifies, deduplicates and logs notifications.

Before anything is verified, a request must fit (:mod:`ppnb._limits_http`,
:mod:`ppnb._limits_asgi`):

* request line and headers at most :data:`MAX_HEADER_BYTES` (else ``431``), arriving within
  10 s of when the server can read them (the server's bound, :func:`server_config`; else
  ``408``); a head that is not HTTP/1.1 is a ``400``;
* a body of at most :data:`MAX_BODY_BYTES` (else ``413``: a larger ``Content-Length`` is
  refused before a byte of the body is read, and a streamed body is counted and cut at the
  first chunk past the limit);
* a body that arrives within ``body_timeout`` seconds (:data:`BODY_TIMEOUT` by default; else
  ``408``).

Refusals are PayPal's error shape (``name``, ``message``, ``debug_id``); a verification
failure is ``400`` and also names the failed check (``error``). Each refusal is one WARNING
line in the ``ppnb.webhooks`` log, and a client that disconnects before its body is read is
one INFO line, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from .._limits_asgi import BODY_TIMEOUT, BodyLimits, bound_bodies, describe
from ._certs import PAYPAL_CERT_HOSTS, CertCache, WebhookVerificationError
from ._log import EventLog
from ._verify import utc, verify

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.types import ASGIApp

__all__ = ["BODY_TIMEOUT", "MAX_BODY_BYTES", "MAX_HEADER_BYTES", "listen", "receiver",
           "server_config"]

#: Largest notification body, in bytes. PayPal's invoice events carry one invoice (a few KB,
#: some tens of KB with many items), so 1 MiB leaves room and bounds what a sender can cost.
MAX_BODY_BYTES = 1024 * 1024
#: Largest request line plus headers, in bytes (PayPal's come to about 1.5 KB).
MAX_HEADER_BYTES = 16 * 1024

log = logging.getLogger("ppnb.webhooks")

_NAMES = {400: "INVALID_REQUEST", 408: "REQUEST_TIMEOUT", 413: "REQUEST_ENTITY_TOO_LARGE",
          431: "REQUEST_HEADER_FIELDS_TOO_LARGE", 500: "INTERNAL_SERVER_ERROR"}


def _error(status: int, message: str, **extra: str) -> dict[str, str]:
    """PayPal's error body (``name``, ``message``, ``debug_id``) plus ``extra``."""
    return {"name": _NAMES[status], "message": message,
            "debug_id": secrets.token_hex(7)[:13], **extra}


def _refusal(status: int, reason: str) -> tuple[bytes, str]:
    """A limit's refusal (see :func:`ppnb._limits_asgi.bound_bodies`)."""
    body = _error(status, reason[:1].upper() + reason[1:] + ".")
    return orjson.dumps(body), "application/json"


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def receiver(
    log_path: str | Path,
    webhook_id: str,
    *,
    path: str = "/",
    allowed_cert_hosts: Collection[str] = PAYPAL_CERT_HOSTS,
    tolerance: float = 300,
    now: Callable[[], dt.datetime] | None = None,
    http: httpx.Client | None = None,
    cache: CertCache | None = None,
    accept_simulator: bool = False,
    max_body: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """An ASGI app that receives notifications at ``path`` (POST).

    Each request is bounded (see the module notes), verified (:func:`verify`, with the log
    remembering transmission ids; 400 naming the failed check), then appended to the log at
    ``log_path`` unless its event id is already there (duplicates are acknowledged, not
    stored twice), and only then answered 200. If storing fails the answer is 500, so PayPal
    sends it again. Mount it in your app with ``Mount("/paypal", app=receiver(...))``.

    Parameters
    ----------
    log_path
        The SQLite event log (see :func:`events`).
    webhook_id
        Your webhook's id: part of what PayPal signs.
    now
        Clock for the transmission-time check and ``received_at`` (default: the machine's).
    allowed_cert_hosts, tolerance, http, cache, accept_simulator
        As for :func:`verify`.
    max_body
        Largest body in bytes (default :data:`MAX_BODY_BYTES`).
    body_timeout
        Seconds a body may take to arrive (default :data:`BODY_TIMEOUT`).
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .._limits_http import bound_head

    events = EventLog(log_path)
    clock = now or utc

    async def receive(request: Request) -> JSONResponse:
        raw = await request.body()  # read whole, within bounds, by bound_bodies
        received = clock()
        try:
            event = await run_in_threadpool(
                verify, request.headers, raw, webhook_id, allowed_cert_hosts=allowed_cert_hosts,
                now=received, tolerance=tolerance, http=http, cache=cache,
                accept_simulator=accept_simulator, seen=events)
        except WebhookVerificationError as exc:
            body = _error(400, str(exc), error=exc.check)
            log.warning("%s refused with 400 (%s): %s [transmission %r, debug_id %s]",
                        describe(request.scope), exc.check, _one_line(str(exc)),
                        request.headers.get("paypal-transmission-id", "")[:100],
                        body["debug_id"])
            return JSONResponse(body, 400)
        try:
            new = await run_in_threadpool(
                events.append, event, raw, received_at=received,
                transmission_id=request.headers.get("paypal-transmission-id"))
        except sqlite3.Error as exc:
            body = _error(500, f"the event could not be stored: {exc}", error="storage")
            log.error("%s: event %r not stored, answered 500 so it is sent again: %s "
                      "[debug_id %s]", describe(request.scope), event["id"][:100],
                      _one_line(str(exc)), body["debug_id"])
            return JSONResponse(body, 500)
        return JSONResponse({"event_id": event["id"], "duplicate": not new}, 200)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        events.close()

    limits = BodyLimits(max_body, read_timeout=body_timeout)
    return Starlette(routes=[Route(path, receive, methods=["POST"])], lifespan=lifespan,
                     middleware=[Middleware(bound_head, max_head=MAX_HEADER_BYTES,
                                            refusal=_refusal, logger=log),
                                 Middleware(bound_bodies, limits=limits, refusal=_refusal,
                                            logger=log)])


def listen(
    webhook_id: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_path: str | Path = "webhooks.sqlite",
    path: str = "/",
    allowed_cert_hosts: Collection[str] = PAYPAL_CERT_HOSTS,
    tolerance: float = 300,
    accept_simulator: bool = False,
    max_body: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
    head_timeout: float | None = None,
) -> None:
    """Serve :func:`receiver` with uvicorn until interrupted (``ppnb webhooks listen``).

    The server bounds request heads (:func:`server_config`): ``head_timeout`` seconds for a
    head to arrive (default :data:`ppnb._limits_http.HEAD_TIMEOUT`, 10 s). The other
    parameters are :func:`receiver`'s.

    To receive from the emulator, add its origin to ``allowed_cert_hosts``, e.g.
    ``(*PAYPAL_CERT_HOSTS, "http://127.0.0.1:8765")``.
    """
    import uvicorn

    app = receiver(log_path, webhook_id, path=path, allowed_cert_hosts=allowed_cert_hosts,
                   tolerance=tolerance, accept_simulator=accept_simulator, max_body=max_body,
                   body_timeout=body_timeout)
    server = uvicorn.Server(server_config(app, head_timeout=head_timeout, host=host, port=port,
                                          log_level="info"))
    server.run()
    if not server.started:
        raise SystemExit(3)  # as uvicorn.run exits when the server could not start


def server_config(app: ASGIApp, *, head_timeout: float | None = None, **options: Any
                  ) -> uvicorn.Config:
    """uvicorn's settings for serving the receiver: h11 with heads bounded
    (:func:`ppnb._limits_http.bounded_heads`) at :data:`MAX_HEADER_BYTES` (``431``) and
    ``head_timeout`` seconds (default 10 s; ``408``), refused in PayPal's error shape and
    logged in ``ppnb.webhooks``. uvicorn's default parser (httptools) bounds neither.

    Parameters
    ----------
    app
        What to serve (:func:`receiver`'s app).
    head_timeout
        Seconds a request's head may take to arrive.
    **options
        Passed to ``uvicorn.Config`` (``host``, ``port``, ``log_level``, ...).
    """
    import uvicorn

    from .._limits_http import HEAD_TIMEOUT, bounded_heads

    protocol = bounded_heads(MAX_HEADER_BYTES, _refusal, logger=log,
                             timeout=HEAD_TIMEOUT if head_timeout is None else head_timeout)
    return uvicorn.Config(app, http=protocol, **options)
