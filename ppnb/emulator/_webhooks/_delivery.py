"""The delivery worker: one background thread that posts queued events to webhook URLs.

It runs in the serving process (:meth:`Deliveries.start`), never on the request path: it is
woken when a delivery is queued, posts the event, and retries non-2xx answers and connection
errors with exponential backoff (:class:`DeliveryPolicy`) up to a bounded number of attempts.
Every attempt is recorded (time, transmission id, HTTP status or error). The queue is in
SQLite, so pending deliveries resume after a restart. Backoff is measured in real seconds (it
is about the network); event and transmission times come from the emulator's clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .._ids import IdFactory
from .._store import Store
from ._common import Site

#: The user agent of PayPal's webhook deliveries (``PayPal/AUHD-…``, OBSERVED.md).
USER_AGENT = "PayPal/AUHD-214.0-58843294"
log = logging.getLogger("ppnb.emulator")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are retried.

    Attempt *n* (1-based) that fails is followed by attempt *n + 1* after
    ``min(max_delay, base_delay * 2 ** (n - 1))`` seconds, until ``attempts`` have been made.

    Parameters
    ----------
    attempts
        Attempts per delivery, the first included.
    base_delay
        Seconds before the first retry.
    max_delay
        Cap on one wait.
    timeout
        Seconds an attempt may take (connect and read).
    """

    attempts: int = 10
    base_delay: float = 2.0
    max_delay: float = 900.0
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or self.timeout <= 0:
            raise ValueError(f"{self}: attempts ≥ 1, delays ≥ 0 and timeout > 0 please")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


class Deliveries:
    """The delivery queue (in the store) and the thread that works it.

    Parameters
    ----------
    store
        The emulator's database.
    site
        Where the emulator is served; nothing is delivered until it is known.
    policy
        Retry schedule.
    sign
        The PayPal headers of one transmission: ``sign(webhook_id, body)``.
    """

    def __init__(self, store: Store, site: Site, policy: DeliveryPolicy,
                 sign: Callable[[str, bytes], dict[str, str]]) -> None:
        self.store = store
        self.site = site
        self.policy = policy
        self._sign = sign
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        site.on_known(self.wake)

    def queue(self, event_id: str, hooks: list[tuple[str, str]]) -> None:
        """Queue ``event_id`` for each ``(webhook id, url)`` (inside the caller's
        transaction, if any)."""
        with self.store.transaction():
            for webhook_id, url in hooks:
                self.store.execute(
                    "INSERT INTO deliveries (event_id, webhook_id, url, status, next_at) "
                    "VALUES (?, ?, ?, 'PENDING', 0)", (event_id, webhook_id, url))
        # The store's lock is held until the outer transaction ends, so the delivery thread
        # woken here reads the queue only after the commit (or finds nothing after a rollback).
        self._wake.set()

    def list(self, *, event_id: str | None = None, status: str | None = None,
             webhook_id: str | None = None) -> list[dict[str, Any]]:
        """Deliveries, oldest first, with every attempt made so far."""
        where, params = ["1"], []
        for column, value in (("d.event_id", event_id), ("d.status", status),
                              ("d.webhook_id", webhook_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self.store.all(
            "SELECT d.seq, d.event_id, e.event_type, d.webhook_id, d.url, d.status, d.next_at "
            f"FROM deliveries d JOIN events e ON e.id = d.event_id WHERE {' AND '.join(where)} "
            "ORDER BY d.seq", tuple(params))
        attempts: dict[int, list[dict[str, Any]]] = {}
        if rows:
            marks = ", ".join("?" * len(rows))
            for seq, number, when, tid, status_code, err in self.store.all(
                    "SELECT delivery, number, time, transmission_id, http_status, error FROM "
                    f"delivery_attempts WHERE delivery IN ({marks}) ORDER BY delivery, number",
                    tuple(r[0] for r in rows)):
                attempts.setdefault(seq, []).append({
                    "number": number, "time": when, "transmission_id": tid,
                    "http_status": status_code, "error": err})
        return [{"id": seq, "event_id": eid, "event_type": etype, "webhook_id": wid,
                 "url": url, "status": state, "attempts": attempts.get(seq, []),
                 "next_attempt_in": (round(max(0.0, next_at - time.time()), 3)
                                     if state == "PENDING" else None)}
                for seq, eid, etype, wid, url, state, next_at in rows]

    def wake(self) -> None:
        """Look at the queue now (after a restore, or when the served URL becomes known)."""
        self._wake.set()

    def start(self) -> None:
        """Run the delivery thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ppnb-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the delivery thread after its current attempt; pending deliveries stay
        queued."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.policy.timeout + 5)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=self.policy.timeout, trust_env=False) as http:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    wait = self._deliver_due(http)
                except Exception:  # never let one bad row kill the thread; try again later
                    log.exception("webhook delivery failed")
                    wait = self.policy.base_delay or 1.0
                self._wake.wait(wait)

    def _deliver_due(self, http: httpx.Client) -> float | None:
        """Attempt every delivery that is due; returns seconds until the next one (or None)."""
        if self.site.base_url is None:
            return None  # nothing can be signed with a cert URL yet; the site wakes us
        while not self._stop.is_set():
            rows = self.store.all(
                "SELECT d.seq, d.webhook_id, d.url, d.attempts, e.body FROM deliveries d "
                "JOIN events e ON e.id = d.event_id WHERE d.status = 'PENDING' "
                "AND d.next_at <= ? ORDER BY d.next_at, d.seq LIMIT 50", (time.time(),))
            if not rows:
                break
            for row in rows:
                if self._stop.is_set():
                    return None
                self._attempt(http, *row)
        upcoming = self.store.one("SELECT MIN(next_at) FROM deliveries WHERE status = 'PENDING'")
        return None if upcoming[0] is None else max(0.0, upcoming[0] - time.time())

    def _attempt(self, http: httpx.Client, seq: int, webhook_id: str, url: str, made: int,
                 stored: bytes) -> None:
        body = self.site.rebase(stored)
        headers = self._sign(webhook_id, body)
        status: int | None = None
        problem: str | None = None
        try:
            response = http.post(url, content=body, headers={
                **headers, "Content-Type": "application/json",
                "correlation-id": IdFactory.debug_id(), "User-Agent": USER_AGENT})
            status = response.status_code
            if not 200 <= status < 300:
                problem = f"HTTP {status}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        number = made + 1
        state = "SUCCESS" if problem is None else (
            "FAILED" if number >= self.policy.attempts else "PENDING")
        with self.store.transaction():
            if self.store.one("SELECT 1 FROM deliveries WHERE seq = ?", (seq,)) is None:
                return  # reset or restored away while the attempt was under way
            self.store.execute(
                "INSERT INTO delivery_attempts VALUES (?, ?, ?, ?, ?, ?)",
                (seq, number, headers["PAYPAL-TRANSMISSION-TIME"],
                 headers["PAYPAL-TRANSMISSION-ID"], status, problem))
            self.store.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_at = ? WHERE seq = ?",
                (state, number, time.time() + self.policy.delay(number), seq))
