"""Fault injection: make the emulator fail the way a busy PayPal does.

A :class:`Faults` object wraps the emulator's ASGI app. Once configured, it fails a share of
the PayPal API calls (``/v1/...``, ``/v2/...``) with a 429/5xx error body or a dropped
connection, and can slow every API call down. Half of the faulted writes are applied before
they fail, so a client only gets exactly-once effects by retrying with the same
``PayPal-Request-Id``. The emulator's own routes (``/_emulator/...``, the payer page) are
never faulted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import _ENVELOPES
from ._ids import IdFactory

#: Statuses a fault may answer with (what PayPal's clients are expected to retry).
FAULT_STATUSES = (429, 500, 502, 503, 504)
#: Longest configurable latency, in milliseconds.
MAX_LATENCY_MS = 60_000

_API_PREFIXES = ("/v1/", "/v2/")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DROP = "dropped"
_ENVELOPE = {
    **{status: _ENVELOPES[status] for status in (429, 500, 503)},
    502: ("BAD_GATEWAY", "Bad gateway."),
    504: ("GATEWAY_TIMEOUT", "Gateway timeout."),
}
_COUNTERS = (*map(str, FAULT_STATUSES), _DROP, "applied_then_failed", "latency")
_KEYS = ("rate", "statuses", "latency_ms", "drop_connections", "seed", "retry_after")


@dataclass(frozen=True)
class _Settings:
    rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 503)
    latency_ms: tuple[int, int] = (0, 0)
    drop_connections: bool = False
    seed: int = 0
    retry_after: int | None = None


@dataclass(frozen=True)
class _Plan:
    """What to do to one request: wait, then maybe fail (before or after applying it)."""

    delay: float
    outcome: int | str | None  # a status, _DROP, or None for no fault
    after: bool
    retry_after: int | None = None  # seconds for a 429's Retry-After header, if any


class _Dropped(Exception):
    """Raised to make the server close a connection without answering."""


class _QuietDrops(logging.Filter):
    """Keep uvicorn from logging a deliberate drop as an application error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _Dropped))


_QUIET_DROPS = _QuietDrops()


class Faults:
    """Configurable, seeded fault injection for the emulator's API routes (thread-safe).

    Each API request first waits a latency drawn uniformly from ``latency_ms``; then, with
    probability ``rate``, it is faulted: answered with one of ``statuses`` (a PayPal-shaped
    error body) or, with ``drop_connections``, cut off without any response. A 429 carries
    no ``Retry-After`` header, as PayPal's (it documents none; OBSERVED.md), unless
    ``retry_after`` asks for one. A faulted read never reaches the app. A faulted write (POST,
    PUT, PATCH, DELETE) reaches it or not, at random: either nothing happens, or the write
    is fully applied and only its response is replaced by the fault — the case that makes
    clients without idempotent retries create duplicates.

    Decisions come from one RNG seeded by ``seed``, so the same sequence of requests meets
    the same faults. With no faults configured (the default) requests pass straight through.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = _Settings()
        self._rng = random.Random()
        self._injected = dict.fromkeys(_COUNTERS, 0)
        self.clear()

    # --- configuration ---------------------------------------------------------------------

    def configure(
        self,
        *,
        rate: float = 0.0,
        statuses: Sequence[int] = (429, 500, 503),
        latency_ms: tuple[int, int] = (0, 0),
        drop_connections: bool = False,
        seed: int | None = None,
        retry_after: int | None = None,
    ) -> dict[str, Any]:
        """Replace the fault settings, reseed and reset the counters.

        Parameters
        ----------
        rate
            Probability in [0, 1] that an API request is faulted.
        statuses
            Statuses a faulted request may get, from 429, 500, 502, 503 and 504. May be
            empty only with ``drop_connections``.
        latency_ms
            ``(min, max)`` milliseconds every API request waits, 0 ≤ min ≤ max ≤ 60000.
        drop_connections
            Whether a faulted request may also be answered by closing the connection.
        seed
            Seeds the fault sequence; None picks one (reported by :meth:`settings`, so a
            run can be replayed).
        retry_after
            Seconds a faulted 429 asks the client to wait (a ``Retry-After`` header, 0 to
            3600); None (the default, as PayPal) sends no such header.

        Returns
        -------
        dict
            :meth:`settings`.

        Raises
        ------
        ValueError
            A setting is out of range or of the wrong type; the message names it.
        """
        settings = _validate(rate, statuses, latency_ms, drop_connections, seed, retry_after)
        with self._lock:
            self._settings = settings
            self._rng = random.Random(settings.seed)
            self._injected = dict.fromkeys(_COUNTERS, 0)
        return self.settings()

    def configure_from_json(self, body: Any) -> dict[str, Any]:
        """:meth:`configure` from a decoded JSON object (omitted keys take their defaults).

        Example: ``{"rate": 0.1, "statuses": [429, 503], "latency_ms": [5, 50],
        "drop_connections": true, "seed": 42, "retry_after": 1}``.

        Raises
        ------
        ValueError
            ``body`` is not an object, has an unknown key, or a value is invalid; the
            message names the field.
        """
        if not isinstance(body, dict):
            raise ValueError("body: expected a JSON object of fault settings")
        unknown = sorted(set(body) - set(_KEYS))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown setting (known: {', '.join(_KEYS)})")
        options = dict(body)
        if "statuses" in options:
            options["statuses"] = _sequence("statuses", options["statuses"])
        if "latency_ms" in options:
            bounds = _sequence("latency_ms", options["latency_ms"])
            if len(bounds) != 2:
                raise ValueError("latency_ms: expected [min, max] in milliseconds")
            options["latency_ms"] = (bounds[0], bounds[1])
        return self.configure(**options)

    def clear(self) -> dict[str, Any]:
        """Back to no faults and no latency; counters reset. Returns :meth:`settings`."""
        return self.configure()

    def settings(self) -> dict[str, Any]:
        """The current settings and how many faults of each kind were injected since.

        ``injected`` counts by status (``"429"`` ...), ``dropped`` connections,
        ``applied_then_failed`` writes (applied, then answered with a fault) and
        ``latency`` (requests that were delayed).
        """
        with self._lock:
            s = self._settings
            return {
                "rate": s.rate,
                "statuses": list(s.statuses),
                "latency_ms": list(s.latency_ms),
                "drop_connections": s.drop_connections,
                "seed": s.seed,
                "retry_after": s.retry_after,
                "injected": dict(self._injected),
            }

    # --- the middleware --------------------------------------------------------------------

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind fault injection (a pure ASGI middleware)."""
        logging.getLogger("uvicorn.error").addFilter(_QUIET_DROPS)

        async def faulty(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope["path"].startswith(_API_PREFIXES):
                await app(scope, receive, send)
                return
            plan = self._plan(scope["method"])
            if plan.delay:
                await asyncio.sleep(plan.delay)
            if plan.outcome is None:
                await app(scope, receive, send)
                return
            if plan.after:
                await app(scope, receive, _discard)
            else:
                await _drain(receive)
            if plan.outcome == _DROP:
                await _drop(send)
            else:
                assert isinstance(plan.outcome, int)
                await _fail(send, plan.outcome, plan.retry_after)

        return faulty

    def _plan(self, method: str) -> _Plan:
        with self._lock:
            s, rng = self._settings, self._rng
            low, high = s.latency_ms
            delay = rng.uniform(low, high) / 1000 if high else 0.0
            outcome: int | str | None = None
            after = False
            if s.rate and rng.random() < s.rate:
                outcome = rng.choice([*s.statuses, *([_DROP] if s.drop_connections else [])])
                after = method in _WRITES and rng.random() < 0.5
                self._injected[str(outcome)] += 1
                self._injected["applied_then_failed"] += after
            self._injected["latency"] += delay > 0
            return _Plan(delay, outcome, after, s.retry_after)


def _validate(rate: Any, statuses: Any, latency_ms: Any, drop_connections: Any,
              seed: Any, retry_after: Any) -> _Settings:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(f"rate: expected a number from 0 to 1, got {rate!r}")
    codes = _sequence("statuses", statuses)
    for code in codes:
        if isinstance(code, bool) or code not in FAULT_STATUSES:
            raise ValueError(f"statuses: {code!r} is not one of {list(FAULT_STATUSES)}")
    if not isinstance(drop_connections, bool):
        raise ValueError(f"drop_connections: expected true or false, got {drop_connections!r}")
    if not codes and not drop_connections:
        raise ValueError("statuses: empty, and drop_connections is off: nothing to inject")
    bounds = _sequence("latency_ms", latency_ms)
    if (len(bounds) != 2 or any(isinstance(b, bool) or not isinstance(b, int) for b in bounds)
            or not 0 <= bounds[0] <= bounds[1] <= MAX_LATENCY_MS):
        raise ValueError(f"latency_ms: expected [min, max] integers with 0 <= min <= max <= "
                         f"{MAX_LATENCY_MS}, got {latency_ms!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed: expected an integer or null, got {seed!r}")
    if retry_after is not None and (isinstance(retry_after, bool) or not isinstance(
            retry_after, int) or not 0 <= retry_after <= 3600):
        raise ValueError(f"retry_after: expected whole seconds from 0 to 3600 or null, got "
                         f"{retry_after!r}")
    return _Settings(float(rate), tuple(dict.fromkeys(codes)), (bounds[0], bounds[1]),
                     drop_connections, secrets.randbits(32) if seed is None else seed,
                     retry_after)


def _sequence(name: str, value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(f"{name}: expected a list, got {value!r}")
    return list(value)


async def _discard(message: Message) -> None:
    """The ``send`` of an applied-then-failed write: its real response is thrown away."""


async def _drain(receive: Receive) -> None:
    """Read the request body the app will not, so the connection stays usable."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _fail(send: Send, status: int, retry_after: int | None) -> None:
    """Answer with PayPal's error body for ``status`` (a 429 with ``Retry-After`` only when
    the settings ask for one)."""
    name, message = _ENVELOPE[status]
    debug_id = IdFactory.debug_id()
    body = orjson.dumps({"name": name, "message": message, "debug_id": debug_id, "links": []})
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()),
               (b"paypal-debug-id", debug_id.encode())]
    if status == 429 and retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Close the connection without a byte of response.

    An ASGI app cannot close its connection directly, and uvicorn answers an app that fails
    before starting a response with a 500. So start a response with a header value uvicorn
    refuses to write: it marks the response started, raises before writing anything, and on
    the :class:`_Dropped` that follows closes the socket (its log record is filtered out).
    The client sees "server disconnected without sending a response". A server that wrote
    the header anyway would still close mid-response, which the client sees alike.
    """
    with contextlib.suppress(Exception):  # the refusal we asked for: nothing was written
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"x-ppnb-fault", b"dropped\r\n")]})
    raise _Dropped
