"""The emulator as an object (in-process state) and as a running HTTP server."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from .._limits_asgi import BodyLimits
from .._limits_http import HEAD_TIMEOUT, bounded_heads
from . import _control
from ._app import create_app
from ._auth import TOKEN_TTL
from ._book import Merchant
from ._clock import Clock
from ._control import Control
from ._faults import Faults
from ._guard import BODY_LIMITS, HEADER_LIMIT, Hosts, guard, paypal_refusal
from ._ids import IdFactory
from ._payer import payer_routes
from ._service import Invoicing
from ._sim import sim_routes
from ._store import Store
from ._webhooks import DeliveryPolicy

DEFAULT_CLIENT_ID = "ppnb-emulator"


@dataclass(frozen=True)
class Credentials:
    """A merchant app's client id and secret. The secret is masked in repr and str."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***')"

    __str__ = __repr__


class Emulator:
    """PayPal Invoicing v2, emulated: state, rules and an ASGI app over them.

    The same object serves in-process calls (``emulator.service``) and HTTP
    (``emulator.app``, or :meth:`serve_in_thread`), moto-style.

    Parameters
    ----------
    db
        SQLite file path, or ``":memory:"``.
    merchants
        ``(client_id, secret)`` pairs to register. With none, a default merchant
        (``ppnb-emulator``) gets a fresh secret each time the emulator starts.
    clock
        The emulator's clock (default: machine time, movable forward).
    seed
        Makes generated ids repeatable.
    token_ttl
        Access-token lifetime in seconds.
    simulation
        Serve the ``/_emulator/`` endpoints (clock, payer, outbox, stats, reset, snapshots,
        faults, webhook deliveries) and the payer page; off, the emulator serves PayPal's API
        only.
    webhook_policy
        Retry schedule of webhook deliveries (tests shorten it).
    control_token
        The token ``/_emulator/`` calls need (see :mod:`._sim`); default: a fresh random one
        each time the emulator starts (:attr:`control_token`).
    body_limits
        How large request bodies may be and how long they may take to arrive
        (:data:`~._guard.BODY_LIMITS`; tests shorten the time).
    summaries
        How list and search items look. ``False`` (default): list returns whole invoices, and
        search PayPal's summaries with the invoice's times and term type added (and the
        collections ``fields`` asks for). ``True``: as in PayPal's saved responses, summaries
        (no items, no transactions, ``metadata.create_time`` only) unless a search's
        ``fields`` asks for collections. ``"always"``: summaries
        even then, like a server that ignores ``fields``. Changeable while serving
        (:meth:`set_summaries`, ``POST /_emulator/settings``).

    Notes
    -----
    Webhook deliveries are made by a thread that runs while the app is served (it starts and
    stops with the ASGI lifespan); events emitted while nothing serves stay queued.

    Every request passes the Host check and the body limits first (:mod:`._guard`): the app
    answers only to the loopback names and the bound host, on the served port, once
    :meth:`serve_in_thread` (or ``ppnb emulator serve``) has told :attr:`hosts` where it is.
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        *,
        merchants: Iterable[tuple[str, str]] | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        token_ttl: int = TOKEN_TTL,
        simulation: bool = True,
        webhook_policy: DeliveryPolicy | None = None,
        summaries: bool | str = False,
        control_token: str | None = None,
        body_limits: BodyLimits = BODY_LIMITS,
    ) -> None:
        self.store = Store(db)
        self.clock = clock or Clock()
        self.service = Invoicing(self.store, self.clock, seed=seed, token_ttl=token_ttl,
                                 webhook_policy=webhook_policy)
        pairs = list(merchants or [(DEFAULT_CLIENT_ID, IdFactory().secret())])
        self.credentials = [Credentials(cid, secret) for cid, secret in pairs]
        for cred in self.credentials:
            self.service.add_merchant(cred.client_id, cred.client_secret)
        self.set_summaries(summaries)
        self._started = threading.Event()
        self._control_token = control_token or secrets.token_urlsafe(32)
        #: Injected faults (``configure``/``clear``); they only touch PayPal's paths.
        self.faults = Faults()
        #: The Host header values the app answers to (see :meth:`~._guard.Hosts.serve_at`).
        self.hosts = Hosts()
        extra = [*payer_routes(self.service), *sim_routes(self)] if simulation else []
        self.app: ASGIApp = guard(self.faults.wrap(
            create_app(self.service, extra_routes=extra, lifespan=self._lifespan)),
            self.hosts, body_limits)

    @property
    def control_token(self) -> str:
        """The token of the ``/_emulator/`` calls (``Authorization: Bearer``); a secret, kept
        out of every repr."""
        return self._control_token

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.service.webhooks.start()
        self._started.set()
        try:
            yield
        finally:
            self.service.webhooks.stop()

    def merchant(self, client_id: str | None = None) -> Merchant:
        """A registered merchant (the first one by default)."""
        cid = client_id or self.credentials[0].client_id
        found = self.service.merchant_by_client(cid)
        if found is None:
            raise KeyError(f"no merchant with client id {cid!r}")
        return found

    def add_merchant(self, client_id: str, secret: str) -> Merchant:
        """Register another merchant app."""
        merchant = self.service.add_merchant(client_id, secret)
        self.credentials.append(Credentials(client_id, secret))
        return merchant

    def grant(self, merchant_client_id: str, partner_client_id: str) -> None:
        """Let ``partner_client_id`` act for the merchant via ``PayPal-Auth-Assertion``."""
        self.service.grant(self.merchant(merchant_client_id), partner_client_id)

    def invoice(self, invoice_id: str, client_id: str | None = None) -> dict[str, Any]:
        """An invoice as stored (links keep the base-URL placeholder)."""
        return orjson.loads(self.service.get_invoice(self.merchant(client_id), invoice_id))

    def now(self) -> dt.datetime:
        """The emulator's current time."""
        return self.clock.now()

    def set_summaries(self, mode: bool | str) -> str:
        """Choose how list and search items look (see the ``summaries`` parameter); returns
        the mode's name: ``off``, ``on`` or ``always``.

        Raises
        ------
        ValueError
            For anything but ``True``, ``False``, or one of those names.
        """
        self.service.summaries = mode
        return self.service.summaries

    # --- simulation (also served under /_emulator/) ------------------------------------

    def advance(self, days: float) -> list[str]:
        """Move the clock ``days`` forward; returns the ids of scheduled invoices that went
        out."""
        self.clock.advance(days=days)
        return self.service.fire_scheduled()

    def set_clock(self, when: dt.datetime) -> list[str]:
        """Move the clock to ``when`` (never backwards: :class:`ClockError`); returns the ids
        of scheduled invoices that went out."""
        self.clock.set(when)
        return self.service.fire_scheduled()

    def pay(self, invoice_id: str, amount: str | None = None, date: str | None = None
            ) -> dict[str, str]:
        """Pay as the customer would through PayPal (default: all that is due, today)."""
        return self.service.pay_as_customer(invoice_id, amount, date)

    def outbox(self, invoice_id: str | None = None, kind: str | None = None
               ) -> list[dict[str, Any]]:
        """The emails PayPal would have sent (kind: invoice, reminder, cancellation)."""
        return self.service.outbox(invoice_id=invoice_id, kind=kind)

    def stats(self, invoice_id: str | None = None) -> dict[str, Any]:
        """Applied effects per operation; an idempotent replay is not an effect."""
        return self.service.stats(invoice_id=invoice_id)

    def deliveries(self, event_id: str | None = None, status: str | None = None, *,
                   merchant: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries with their attempts (status ``PENDING``, ``SUCCESS``,
        ``FAILED`` after the last attempt, or ``CANCELLED`` with the webhook); with
        ``merchant`` (a payer id), only those to that merchant's webhooks."""
        found = self.service.webhooks.deliveries(event_id=event_id, status=status)
        if merchant is None:
            return found
        mine = {row[0] for row in self.store.all("SELECT id FROM webhooks WHERE merchant = ?",
                                                 (merchant,))}
        return [delivery for delivery in found if delivery["webhook_id"] in mine]

    def reset(self) -> None:
        """Empty every merchant's book (webhook events and deliveries too); merchants, their
        credentials, tokens and webhook subscriptions stay."""
        self.service.reset()

    def save_snapshot(self, name: str) -> None:
        """Save the whole state under ``name`` (letters, digits, ``._-``); at most
        :data:`~._snapshots.MAX_SNAPSHOTS` of them, :data:`~._snapshots.MAX_SNAPSHOT_BYTES`
        in all (:class:`~._snapshots.SnapshotLimit`)."""
        self.store.save_snapshot(name)

    def restore_snapshot(self, name: str) -> None:
        """Roll the whole state back to snapshot ``name`` (``KeyError`` if there is none)."""
        self.store.restore_snapshot(name)
        self.service.forget()
        self.service.webhooks.wake()

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0, *,
                        ssl_certfile: str | Path | None = None,
                        ssl_keyfile: str | Path | None = None) -> RunningEmulator:
        """Serve over HTTP on a loopback port in a background thread (0: any free port).

        With ``ssl_certfile`` (a PEM certificate chain, its key inside or in ``ssl_keyfile``)
        it serves HTTPS, so clients take the same TLS path as to PayPal; tests make the
        certificate with a throwaway CA (``trustme``).
        """
        return RunningEmulator(self, host, port, ssl_certfile=ssl_certfile,
                               ssl_keyfile=ssl_keyfile)

    def close(self) -> None:
        """Stop delivering webhooks and release the database."""
        self.service.webhooks.stop()
        self.store.close()


def server_config(app: ASGIApp, *, head_timeout: float = HEAD_TIMEOUT, **options: Any
                  ) -> uvicorn.Config:
    """uvicorn's settings for the emulator: quiet, and h11 with request heads bounded
    (:func:`ppnb._limits_http.bounded_heads`): :data:`~._guard.HEADER_LIMIT` bytes (431) and
    ``head_timeout`` seconds (408), refused in PayPal's error shape."""
    return uvicorn.Config(app, http=bounded_heads(HEADER_LIMIT, paypal_refusal,
                                                  timeout=head_timeout),
                          log_level="warning", access_log=False, **options)


class RunningEmulator:
    """An :class:`Emulator` served by uvicorn in a daemon thread.

    Use as a context manager, or call :meth:`stop`. With ``ssl_certfile`` it serves HTTPS.
    """

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, *,
                 ssl_certfile: str | Path | None = None,
                 ssl_keyfile: str | Path | None = None) -> None:
        self.emulator = emulator
        self.scheme = "https" if ssl_certfile else "http"
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        emulator.hosts.serve_at(self.host, self.port, self.scheme)
        emulator.service.webhooks.base_url = self.base_url
        config = server_config(
            emulator.app, lifespan="on", timeout_graceful_shutdown=2,
            ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"ppnb-emulator-{self.port}",
        )
        emulator._started.clear()
        self._thread.start()
        if not emulator._started.wait(timeout=30):
            raise RuntimeError("the emulator did not start within 30 s")
        deadline = time.monotonic() + 30
        while not self._server.started and self._thread.is_alive() and (
            time.monotonic() < deadline
        ):
            self._thread.join(0.01)  # lifespan ran; uvicorn flags "started" right after
        if not self._server.started:
            raise RuntimeError("the emulator's server thread stopped while starting")
        _control.remember(self.base_url, emulator.control_token)

    @property
    def base_url(self) -> str:
        """Where the API is served, e.g. ``http://127.0.0.1:8765`` (``https://`` with TLS)."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def credentials(self) -> Credentials:
        """The first merchant's app credentials."""
        return self.emulator.credentials[0]

    def control(self, **options: Any) -> Control:
        """A :class:`~._control.Control` of this emulator, with its control token (options
        as :class:`~._control.Control` takes them, e.g. ``verify`` over HTTPS)."""
        return Control(self.base_url, self.emulator.control_token, **options)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        _control.forget(self.base_url)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningEmulator(base_url={self.base_url!r}, credentials={self.credentials!r})"


def start(
    db: str | Path = ":memory:",
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> RunningEmulator:
    """Start an emulator in a background thread and return it running.

    ``running.base_url`` and ``running.credentials`` are what a client needs. Options are
    those of :class:`Emulator`, plus ``ssl_certfile`` and ``ssl_keyfile`` to serve HTTPS
    (see :meth:`Emulator.serve_in_thread`).
    """
    tls = {key: options.pop(key) for key in ("ssl_certfile", "ssl_keyfile") if key in options}
    return Emulator(db, **options).serve_in_thread(host, port, **tls)
