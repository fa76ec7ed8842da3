"""What stands in front of every route: the Host check and the request limits.

The emulator listens on loopback, but a web page in the user's browser can still reach it:
by a cross-site request, or by DNS rebinding (a name the page controls, re-pointed at
127.0.0.1, so that the browser treats the emulator as the page's own origin). Two checks
keep such requests out before any route runs:

* **Host**: the ``Host`` header must name the served address (``127.0.0.1:PORT``,
  ``localhost:PORT``, ``[::1]:PORT`` or the host it was told to bind); anything else gets
  ``421`` in PayPal's error shape, on PayPal's API as much as on ``/_emulator/``. A rebound
  name never matches.
* **Limits**: request bodies are bounded per path (:data:`BODY_LIMITS`) and must arrive
  within :data:`BODY_READ_TIMEOUT` seconds; ``413`` or ``408`` otherwise, before more than
  the limit is read (:mod:`ppnb._limits_asgi`, shared with the webhook receiver; each
  refusal is logged as one line). Request heads are bounded where the server reads them
  (:data:`HEADER_LIMIT` and a head timeout, ``431`` and ``408``; see
  :func:`~._server.server_config`).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from .._limits_asgi import BODY_TIMEOUT, BodyLimits, bound_bodies, refuse_with
from .._protocol import LOOPBACK_HOSTS
from ._errors import error
from ._ids import IdFactory

#: Largest request body, in bytes, on PayPal's API (PayPal documents none; the largest
#: valid invoice, 100 items with every text at its longest, is well under this).
API_BODY_LIMIT = 2 * 1024 * 1024
#: Largest body of ``POST /v1/oauth2/token`` (a form with ``grant_type``).
TOKEN_BODY_LIMIT = 4 * 1024
#: Largest body anywhere else: ``/_emulator/`` calls and the payer page's forms.
OTHER_BODY_LIMIT = 64 * 1024
#: Seconds a request body may take to arrive, from the first read.
BODY_READ_TIMEOUT = BODY_TIMEOUT
#: Largest request head (request line and headers), in bytes.
HEADER_LIMIT = 32 * 1024
#: The emulator's body limits, per path prefix.
BODY_LIMITS = BodyLimits(
    OTHER_BODY_LIMIT,
    paths=(("/v1/", API_BODY_LIMIT), ("/v2/", API_BODY_LIMIT),
           ("/v1/oauth2/token", TOKEN_BODY_LIMIT)),
    read_timeout=BODY_READ_TIMEOUT,
)

_ISSUES = {400: "MALFORMED_REQUEST", 408: "REQUEST_TIMEOUT", 413: "REQUEST_BODY_TOO_LARGE",
           421: "INVALID_HOST", 431: "REQUEST_HEADERS_TOO_LARGE"}
#: Where each refusal's detail points (field, location); the rest point at the body.
_WHERE = {400: (None, "header"), 421: ("Host", "header"), 431: (None, "header")}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def paypal_refusal(status: int, reason: str) -> tuple[bytes, str]:
    """A refused request's body in PayPal's error shape (name, message, debug_id, details,
    links)."""
    field, location = _WHERE.get(status, ("/", "body"))
    refused = error(status, _ISSUES[status], reason[:1].upper() + reason[1:] + ".", field,
                    location=location)
    return orjson.dumps(refused.as_json(IdFactory.debug_id())), "application/json"


class Hosts:
    """The ``Host`` header values the emulator answers to.

    Until :meth:`serve_at` is told the address (an app used in-process), the loopback names
    on any port; after it, the loopback names and the bound host, on the served port.
    """

    def __init__(self) -> None:
        self._allowed: frozenset[str] | None = None

    def serve_at(self, host: str, port: int, scheme: str = "http") -> None:
        """Answer only to ``host`` (as bound) and the loopback names, on ``port``."""
        names = {_bracket(name) for name in (*LOOPBACK_HOSTS, host)}
        allowed = {f"{name}:{port}" for name in names}
        if _DEFAULT_PORTS.get(scheme) == port:
            allowed |= names
        self._allowed = frozenset(allowed)

    def allows(self, value: str) -> bool:
        """Whether a request with ``Host: value`` is for this emulator."""
        value = value.strip().lower()
        if self._allowed is not None:
            return value in self._allowed
        name = value.rsplit(":", 1)[0] if not value.endswith("]") else value
        return name in {_bracket(h) for h in LOOPBACK_HOSTS}

    def names(self) -> Iterable[str]:
        """The accepted values (for messages), or the loopback names."""
        return sorted(self._allowed or {_bracket(h) for h in LOOPBACK_HOSTS})


def _bracket(host: str) -> str:
    host = host.lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def guard(app: ASGIApp, hosts: Hosts, limits: BodyLimits = BODY_LIMITS) -> ASGIApp:
    """``app`` behind the Host check, then the body limits (see the module notes)."""
    bounded = bound_bodies(app, limits, paypal_refusal)

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if not hosts.allows(host):
                await refuse_with(send, 421, *paypal_refusal(
                    421, f"this emulator answers to {', '.join(hosts.names())}, not "
                    f"Host: {host[:100]!r}"))
                return
        await bounded(scope, receive, send)

    return checked
