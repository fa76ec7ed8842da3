"""A typed client for the emulator's own endpoints (``/_emulator/``): :class:`Control`.

It moves the clock, plays the customer, reads the outbox, the effect counts and the webhook
deliveries, injects faults, saves and restores snapshots and resets the books of a running
emulator, in this process or another one. It needs httpx only (no web framework), so a
notebook with the core install can drive an emulator served elsewhere.

Every call but reading the clock needs a token (``Authorization: Bearer``):

* the emulator's **control token** (:attr:`Emulator.control_token`, printed masked by ``ppnb
  emulator serve`` and written to its env file and ``.serving.json``, both mode 0600), which
  may do everything and sees every merchant; or
* a **merchant's OAuth token** (from ``/v1/oauth2/token``), which may only read that
  merchant's outbox, effect counts and webhook deliveries (:meth:`Control.as_merchant`).

Where to get one: ``running.control()`` for an emulator started with
:func:`ppnb.emulator.start`; :meth:`Control.for_url` for an emulator this process serves or
joined through ``ppnb.connect()``, or one named by ``PPNB_BASE_URL`` and
``PPNB_CONTROL_TOKEN``; :meth:`Control.from_serving` for the one serving a book file;
:meth:`Control.from_env_file` for the env file ``ppnb emulator serve`` wrote.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote

import httpx
import orjson

from .._errors import PPNBError
from ._control_types import (
    ClockMove,
    ClockState,
    Delivery,
    Email,
    FaultSettings,
    Payment,
    Settings,
    Stats,
)

__all__ = ["ClockMove", "ClockState", "Control", "ControlError", "Delivery", "Email",
           "FaultSettings", "Payment", "Settings", "Stats", "read_env_file"]

#: The header the control token (or a merchant's token) is sent in, as ``Bearer <token>``.
AUTH_HEADER = "Authorization"
#: The environment variable (and env-file key) holding the control token.
TOKEN_VARIABLE = "PPNB_CONTROL_TOKEN"
#: Beside a book ``DB``, the 0600 file ``DB + SERVING_SUFFIX`` in which the process serving
#: it publishes its URL, credentials and control token.
SERVING_SUFFIX = ".serving.json"

_lock = threading.Lock()
_known: dict[str, str] = {}  # base URL -> control token, for emulators this process reached


class ControlError(PPNBError):
    """A ``/_emulator/`` call the emulator refused, or could not be made.

    Attributes
    ----------
    status
        The HTTP status, or None when no answer came.
    body
        The emulator's error body (PayPal's shape: ``name``, ``message``, ``debug_id``,
        ``details``, ``links``), or ``{}``.
    """

    def __init__(self, message: str, status: int | None = None,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


class _HasToken(Protocol):
    base_url: str

    def get_token(self) -> dict[str, Any]: ...


def remember(base_url: str, token: str) -> None:
    """Note the control token of an emulator this process serves or joined."""
    with _lock:
        _known[base_url.rstrip("/")] = token


def forget(base_url: str) -> None:
    """Drop what :func:`remember` noted (the emulator stopped)."""
    with _lock:
        _known.pop(base_url.rstrip("/"), None)


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env file such as ``ppnb emulator serve`` writes (blank
    lines and ``#`` comments skipped).

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    lines = Path(path).read_text().splitlines()
    pairs = (line.partition("=") for line in lines
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, _, value in pairs}


class Control:
    """The ``/_emulator/`` endpoints of one running emulator, typed.

    Parameters
    ----------
    base_url
        The emulator's URL, e.g. ``http://127.0.0.1:8765``.
    token
        The emulator's control token, or a merchant's OAuth access token (a view of that
        merchant's outbox, stats and deliveries only). Never shown in repr or errors.
    timeout
        Seconds per call.
    verify
        TLS verification, as httpx takes it (for an emulator served over HTTPS).

    Raises
    ------
    ControlError
        From every method, when the emulator refuses the call (the error names the status
        and what was wrong) or cannot be reached.

    Examples
    --------
    >>> from ppnb.emulator import Control, start
    >>> with start() as running, running.control() as control:    # doctest: +SKIP
    ...     control.advance(30)["today"]
    """

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 60.0,
                 verify: Any = True) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {AUTH_HEADER: f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url + "/_emulator", timeout=timeout,
                                  verify=verify, headers=headers)

    # --- where a token comes from -------------------------------------------------------

    @classmethod
    def for_url(cls, base_url: str, *, env_file: str | Path | None = None,
                **options: Any) -> Control:
        """The control client of the emulator at ``base_url``, with its control token from:
        this process (an emulator it serves, or joined through ``ppnb.connect()``); else
        ``$PPNB_CONTROL_TOKEN`` when ``$PPNB_BASE_URL`` is that URL; else ``env_file`` when
        its ``PPNB_BASE_URL`` is. The token is never sent to another URL.

        Raises
        ------
        ControlError
            If none of them has the token for ``base_url``.
        """
        url = base_url.rstrip("/")
        with _lock:
            token = _known.get(url)
        sources = [os.environ] + ([_env_or_empty(env_file)] if env_file else [])
        for source in sources:
            if token is None and (source.get("PPNB_BASE_URL") or "").rstrip("/") == url:
                token = source.get(TOKEN_VARIABLE) or None
        if token is None:
            where = f", nor in {env_file}" if env_file else ""
            raise ControlError(
                f"no control token for the emulator at {url}: it is not served or joined by "
                f"this process, not in ${TOKEN_VARIABLE} with $PPNB_BASE_URL{where}. "
                "'ppnb emulator serve' writes both to its env file")
        return cls(url, token, **options)

    @classmethod
    def from_serving(cls, db: str | Path, **options: Any) -> Control:
        """The control client of the process serving the book ``db`` (from the 0600
        ``DB.serving.json`` it publishes, see :func:`ppnb.connect`).

        Raises
        ------
        ControlError
            If no process publishes that book, or its file has no control token.
        """
        path = Path(db).with_name(Path(db).name + SERVING_SUFFIX)
        try:
            info = orjson.loads(path.read_bytes())
            return cls(info["base_url"], info["control_token"], **options)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ControlError(f"no emulator publishes {path} with a control token: "
                               f"{type(exc).__name__}") from None

    @classmethod
    def from_env_file(cls, path: str | Path, **options: Any) -> Control:
        """The control client named by an env file ``ppnb emulator serve`` wrote
        (``PPNB_BASE_URL`` and ``PPNB_CONTROL_TOKEN``).

        Raises
        ------
        ControlError
            If the file cannot be read or lacks either.
        """
        try:
            settings = read_env_file(path)
        except OSError as exc:
            raise ControlError(f"cannot read {path}: {exc.strerror}") from None
        if not settings.get("PPNB_BASE_URL") or not settings.get(TOKEN_VARIABLE):
            raise ControlError(f"{path} does not name an emulator and its control token "
                               f"(PPNB_BASE_URL, {TOKEN_VARIABLE})")
        return cls(settings["PPNB_BASE_URL"], settings[TOKEN_VARIABLE], **options)

    @classmethod
    def as_merchant(cls, client: _HasToken, **options: Any) -> Control:
        """A merchant's view: ``client`` (a :class:`ppnb.Client`, or anything with
        ``base_url`` and ``get_token()``) fetches a fresh OAuth token, with which only that
        merchant's :meth:`outbox`, :meth:`stats` and :meth:`deliveries` (and the clock) can
        be read."""
        return cls(client.base_url, client.get_token()["access_token"], **options)

    # --- plumbing ---------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"Control(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Control:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, body: Any = None,
                params: dict[str, Any] | None = None) -> Any:
        """One call to ``/_emulator{path}``, its JSON answer decoded: what the typed methods
        use, open for a call they do not make (a test of the emulator's validation, say).
        A ``POST`` or ``DELETE`` sends ``body`` as JSON (``{}`` when None); ``params`` that
        are None are left out."""
        content = None
        headers = {}
        if method != "GET":
            content = orjson.dumps({} if body is None else body)
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, content=content, headers=headers,
                                          params=query)
        except httpx.TransportError as exc:
            raise ControlError(f"cannot reach the emulator at {self.base_url}: "
                               f"{type(exc).__name__}: {exc}") from None
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = {}
        if response.is_success:
            return answer
        error = answer if isinstance(answer, dict) else {}
        issues = "; ".join(str(d.get("description", "")) for d in error.get("details", [])
                           if isinstance(d, dict))
        raise ControlError(f"{method} /_emulator{path}: {response.status_code} "
                           f"{error.get('name', response.reason_phrase)}"
                           + (f": {issues}" if issues else ""), response.status_code, error)

    # --- the clock --------------------------------------------------------------------

    def clock(self) -> ClockState:
        """The emulator's time (needs no token)."""
        return self.request("GET", "/clock")

    def set_clock(self, when: dt.datetime | str) -> ClockMove:
        """Move the clock to ``when`` (an aware datetime, or ISO 8601; UTC when it names no
        zone): never backwards, within 2000-01-01..2099-12-31 UTC. Scheduled invoices whose
        sending time comes go out."""
        text = when.isoformat() if isinstance(when, dt.datetime) else when
        return self.request("POST", "/clock", {"set": text})

    def advance(self, days: float) -> ClockMove:
        """Move the clock ``days`` forward (a finite number ≥ 0, staying within 2099)."""
        return self.request("POST", "/clock", {"advance_days": days})

    # --- the customer and the outbox ----------------------------------------------------

    def pay(self, invoice_id: str, amount: str | None = None, date: str | None = None
            ) -> Payment:
        """The customer pays through PayPal: all that is due (or ``amount``, e.g.
        ``"10.00"``), today (or on ``date``, ``YYYY-MM-DD``)."""
        body = {k: v for k, v in (("amount", amount), ("date", date)) if v is not None}
        return self.request("POST", f"/invoices/{quote(invoice_id, safe='')}/pay", body)

    def outbox(self, invoice_id: str | None = None, kind: str | None = None) -> list[Email]:
        """The emails PayPal would have sent, oldest first (a merchant's token: its own)."""
        return self.request("GET", "/outbox", params={"invoice_id": invoice_id,
                                                    "kind": kind})["emails"]

    def stats(self, invoice_id: str | None = None) -> Stats:
        """Applied effects per operation; an idempotent replay is not an effect (a
        merchant's token: its own)."""
        return self.request("GET", "/stats", params={"invoice_id": invoice_id})

    def deliveries(self, event_id: str | None = None, status: str | None = None
                   ) -> list[Delivery]:
        """Webhook deliveries and their attempts (a merchant's token: its own)."""
        return self.request("GET", "/webhooks/deliveries",
                          params={"event_id": event_id, "status": status})["deliveries"]

    # --- faults, settings, snapshots, reset --------------------------------------------

    def faults(self) -> FaultSettings:
        """The fault settings and the faults injected since."""
        return self.request("GET", "/faults")

    def set_faults(self, **settings: Any) -> FaultSettings:
        """Replace the fault settings (``rate``, ``statuses``, ``latency_ms``,
        ``drop_connections``, ``seed``, ``retry_after``; omitted ones take their defaults)."""
        return self.request("POST", "/faults", settings)

    def clear_faults(self) -> FaultSettings:
        """No faults, no latency."""
        return self.request("DELETE", "/faults")

    def settings(self) -> Settings:
        """How list and search items look."""
        return self.request("GET", "/settings")

    def set_summaries(self, mode: bool | Literal["off", "on", "always"]) -> Settings:
        """Choose how list and search items look: ``True``, ``False`` or a mode's name."""
        return self.request("POST", "/settings", {"summaries": mode})

    def snapshots(self) -> list[str]:
        """The names of the saved snapshots."""
        return self.request("GET", "/snapshots")["snapshots"]

    def snapshot(self, name: str) -> dict[str, str]:
        """Save the whole state as ``name`` (replacing an older one); ``{"saved": name}``."""
        return self.request("POST", f"/snapshots/{quote(name, safe='')}")

    def restore(self, name: str) -> dict[str, str]:
        """Put the state saved as ``name`` back; ``{"restored": name}``."""
        return self.request("POST", f"/snapshots/{quote(name, safe='')}/restore")

    def delete_snapshot(self, name: str) -> dict[str, str]:
        """Delete the snapshot ``name``; ``{"deleted": name}``."""
        return self.request("DELETE", f"/snapshots/{quote(name, safe='')}")

    def reset(self) -> dict[str, bool]:
        """Empty every merchant's book (merchants, tokens and webhooks stay);
        ``{"reset": True}``."""
        return self.request("POST", "/reset")


def _env_or_empty(path: str | Path) -> dict[str, str]:
    try:
        return read_env_file(path)
    except OSError:
        return {}
