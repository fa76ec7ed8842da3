"""Persistence (issue 8, suite 6): SIGKILL the emulator mid-write, restart it, lose nothing.

The emulator runs as its own process (``python -m ppnb.cli emulator serve``) over a SQLite
file. Several threads write to it at once: each creates invoices, sends them and records two
payments (30 %, then the rest), every POST with its own ``PayPal-Request-Id``, and notes each
write the server acknowledged (a 2xx answer, read in full) with what it returned. After a
number of acknowledged writes the process is killed with SIGKILL, whatever it was doing, and
started again on the same file. Then:

* the file passes SQLite's integrity check;
* every acknowledged write is there and intact (GET each invoice: its number, memo, items,
  total, status and each acknowledged payment with its amount);
* nothing is half-written: for every invoice the paid amount is the sum of its payments, the
  amount due and the status follow from it, and the emulator's effect counts agree with the
  document (one creation, one send if sent, one payment effect per payment);
* the writes cut off by the kill were applied at most once, and retried with the same
  ``PayPal-Request-Id`` they are applied exactly once; acknowledged writes sent again replay
  their first answer.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from helpers import invoice_body

from ppnb.emulator import Control, ControlError
from ppnb.money import to_minor

MERCHANT = ("persistence-proof", "persistence-proof-secret-0123456789")
WRITERS = 4
#: Acknowledged writes to wait for before the kill.
KILL_AFTER = 160
#: Invoices per writer at most (each is four writes), so the load is bounded if no kill comes.
PER_WRITER = 200
START_TIMEOUT = 60.0
INVOICES = "/v2/invoicing/invoices"
#: Where each kind of write goes, after the invoice's path (create: to the collection).
PATHS = {"create": "", "send": "/send", "pay1": "/payments", "pay2": "/payments"}
STATUS_BY_PAID = {"none": "UNPAID", "part": "PARTIALLY_PAID", "all": "MARKED_AS_PAID"}


@dataclass(frozen=True)
class Write:
    """One POST: what, and the PayPal-Request-Id that makes it safe to repeat."""

    key: str  # the invoice's number and memo, which identify it in searches
    kind: str  # create, send, pay1, pay2 (see PATHS)
    body: dict[str, Any]

    @property
    def request_id(self) -> str:
        return f"{self.key}-{self.kind}"


@dataclass
class Log:
    """What the writers saw, shared between threads."""

    acknowledged: list[tuple[Write, int, dict[str, Any]]] = field(default_factory=list)
    cut_off: list[Write] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def ack(self, write: Write, status: int, body: dict[str, Any]) -> None:
        with self.lock:
            self.acknowledged.append((write, status, body))
            self.lock.notify_all()


class Served:
    """``ppnb emulator serve`` over ``db`` in a child process, ready when constructed."""

    def __init__(self, db: Path, folder: Path, name: str) -> None:
        self.env_file = env_file = folder / f"{name}.env"
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--db", str(db),
                 "--port", "0", "--env-file", str(env_file), "--merchant",
                 f"{MERCHANT[0]}:{MERCHANT[1]}"],
                stdout=out, stderr=subprocess.STDOUT, cwd=folder)
        try:
            self.base_url = self._wait(env_file)
        except BaseException:
            self.stop()
            raise

    def _wait(self, env_file: Path) -> str:
        """Poll (bounded) until the env file names the URL and the URL answers."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the emulator exited: {self.log.read_text()}")
            if env_file.exists():  # written whole or not at all (then replaced)
                with contextlib.suppress(ControlError), Control.from_env_file(
                        env_file, timeout=5) as control:
                    control.clock()
                    return control.base_url
            time.sleep(0.02)
        raise RuntimeError(f"the emulator did not answer in {START_TIMEOUT} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no checkpoint, whatever it was doing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """End the process if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def writes_for(key: str, currency: str) -> list[Write]:
    """An invoice's life: create, send, pay 30 %, pay the rest."""
    part = "30.00" if currency == "USD" else "3000"
    return [
        Write(key, "create", invoice_body(currency=currency, number=key, memo=key)),
        Write(key, "send", {"send_to_recipient": False}),
        Write(key, "pay1", {"method": "CASH", "note": f"{key}-pay1",
                            "amount": {"currency_code": currency, "value": part}}),
        Write(key, "pay2", {"method": "BANK_TRANSFER", "note": f"{key}-pay2"}),
    ]


def post(http: httpx.Client, write: Write, invoice_id: str | None) -> httpx.Response:
    """Send ``write`` (to invoice ``invoice_id``, unless it creates one)."""
    path = INVOICES if write.kind == "create" else f"{INVOICES}/{invoice_id}{PATHS[write.kind]}"
    return http.post(path, json=write.body, headers={"PayPal-Request-Id": write.request_id,
                                                     "Prefer": "return=representation"})


def writer(base_url: str, token: str, number: int, log: Log, stop: threading.Event) -> None:
    """Write invoice after invoice until told to stop or cut off; log every outcome."""
    with httpx.Client(base_url=base_url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for n in range(PER_WRITER):
            key = f"W{number}-{n:04d}"
            invoice_id = None
            for write in writes_for(key, "JPY" if n % 3 == 2 else "USD"):
                if stop.is_set():
                    return
                try:
                    response = post(http, write, invoice_id)
                except httpx.TransportError:
                    with log.lock:
                        log.cut_off.append(write)
                    return
                if not response.is_success:
                    with log.lock:
                        log.refused.append(f"{write.request_id}: {response.text}")
                    return
                body = response.json()
                invoice_id = body.get("id", invoice_id)
                log.ack(write, response.status_code, {**body, "invoice_id": invoice_id})


def token(base_url: str) -> str:
    """A fresh access token for :data:`MERCHANT`."""
    response = httpx.post(f"{base_url}/v1/oauth2/token", auth=MERCHANT,
                          data={"grant_type": "client_credentials"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def minor(money: dict[str, str]) -> int:
    """A money object in minor units."""
    return to_minor(money["value"], money["currency_code"])


def find(http: httpx.Client, key: str) -> list[dict[str, Any]]:
    """The invoices whose memo is ``key``, with their payments."""
    response = http.post("/v2/invoicing/search-invoices", params={"page_size": 100},
                         json={"memo": key, "fields": ["items", "payments"]})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def check_consistent(invoice: dict[str, Any]) -> None:
    """Paid = sum of payments; due = total - paid; status follows from them."""
    total = minor(invoice["amount"])
    payments = invoice.get("payments", {})
    paid = sum(minor(t["amount"]) for t in payments.get("transactions", []))
    assert paid == (minor(payments["paid_amount"]) if "paid_amount" in payments else 0), invoice
    assert minor(invoice["due_amount"]) == total - paid, invoice
    if invoice["status"] != "DRAFT":
        state = "none" if paid == 0 else "all" if paid == total else "part"
        assert invoice["status"] == STATUS_BY_PAID[state], invoice


@dataclass
class Run:
    """The outcome of loading, killing and restarting the emulator."""

    log: Log
    #: The base URL before the kill (acknowledged answers carry it in their links).
    first_url: str
    served: Served
    integrity: str
    token: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """Load, SIGKILL after :data:`KILL_AFTER` acknowledged writes, restart on the same file."""
    folder = tmp_path_factory.mktemp("persistence")
    db = folder / "book.sqlite"
    log, stop = Log(), threading.Event()
    first = Served(db, folder, "first")
    second = None
    threads: list[threading.Thread] = []
    try:
        bearer = token(first.base_url)
        threads = [threading.Thread(target=writer, args=(first.base_url, bearer, k, log, stop),
                                    daemon=True) for k in range(WRITERS)]
        for thread in threads:
            thread.start()
        with log.lock:
            assert log.lock.wait_for(lambda: len(log.acknowledged) >= KILL_AFTER or not any(
                t.is_alive() for t in threads), timeout=120), "no progress within 120 s"
        first.kill()  # each writer stops at its next failed write, logged as cut off
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a writer is stuck"
        with contextlib.closing(sqlite3.connect(db)) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        second = Served(db, folder, "second")
        yield Run(log, first.base_url, second, integrity, bearer)
    finally:
        stop.set()
        first.stop()
        if second is not None:
            second.stop()


def test_the_kill_cut_every_writer_off(run: Run) -> None:
    log = run.log
    print(f"\npersistence: {len(log.acknowledged)} acknowledged writes before SIGKILL, "
          f"{len(log.cut_off)} cut off; integrity check: {run.integrity}")
    assert not log.refused, log.refused
    assert len(log.acknowledged) >= KILL_AFTER
    assert len(log.cut_off) == WRITERS  # each writer's last write got no answer
    assert run.integrity == "ok"


def test_every_acknowledged_write_survived_intact(run: Run) -> None:
    created = {w.key: body for w, _, body in run.log.acknowledged if w.kind == "create"}
    sent = {w.key for w, _, _ in run.log.acknowledged if w.kind == "send"}
    payments = [(w, body["payment_id"]) for w, _, body in run.log.acknowledged
                if w.kind.startswith("pay")]
    on_file: dict[str, dict[str, dict[str, Any]]] = {}  # payments by id, per invoice
    # The token issued before the kill is still valid: tokens are stored too.
    with httpx.Client(base_url=run.served.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {run.token}"}) as http:
        for key, acked in created.items():
            response = http.get(f"{INVOICES}/{acked['id']}")
            assert response.status_code == 200, (key, response.text)
            invoice = response.json()
            assert invoice["detail"]["invoice_number"] == key
            assert invoice["detail"]["memo"] == key
            assert invoice["items"] == acked["items"]
            assert invoice["amount"] == acked["amount"]
            if key in sent:
                assert invoice["status"] != "DRAFT", key
            check_consistent(invoice)
            on_file[key] = {t["payment_id"]: t for t in
                            invoice.get("payments", {}).get("transactions", [])}
        for write, payment_id in payments:
            payment = on_file[write.key].get(payment_id)
            assert payment is not None, (write.request_id, on_file[write.key])
            assert payment["note"] == write.request_id
            assert payment["amount"] == write.body.get("amount", payment["amount"])
    print(f"\npersistence: {len(run.log.acknowledged)} acknowledged writes checked on "
          f"{len(created)} invoices after the restart")


def test_cut_off_writes_apply_at_most_once_and_retries_exactly_once(run: Run) -> None:
    log = run.log
    ids = {w.key: body["id"] for w, _, body in log.acknowledged if w.kind == "create"}
    with httpx.Client(base_url=run.served.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {run.token}"}) as http:

        def copies(write: Write) -> int:
            """How many times ``write`` is on file (invoices by memo, payments by note)."""
            found = find(http, write.key)
            if write.kind == "create":
                return len(found)
            if write.kind == "send":
                return sum(i["status"] != "DRAFT" for i in found)
            return sum(t.get("note") == write.request_id for i in found
                       for t in i.get("payments", {}).get("transactions", []))

        applied = 0
        for write in log.cut_off:
            before = copies(write)
            assert before <= 1, (write.request_id, before)
            applied += before
            if write.kind == "create":
                response = post(http, write, None)
                ids.setdefault(write.key, response.json().get("id"))
            else:
                response = post(http, write, ids[write.key])
            assert response.is_success, (write.request_id, response.text)
            assert copies(write) == 1, write.request_id
        # Acknowledged writes sent again replay their first answer (its links now at the
        # restarted server's address) and change nothing.
        for write, status, body in log.acknowledged:
            again = post(http, write, body["invoice_id"])
            assert again.status_code == status, (write.request_id, again.text)
            first = orjson.dumps({k: v for k, v in body.items() if k != "invoice_id"})
            assert again.json() == orjson.loads(first.replace(
                run.first_url.encode(), run.served.base_url.encode())), write.request_id
            assert copies(write) == 1, write.request_id
        keys = {w.key for w, _, _ in log.acknowledged} | {w.key for w in log.cut_off}
        listed = http.post("/v2/invoicing/search-invoices", json={},
                           params={"total_required": "true", "page_size": 1}).json()
        assert listed["total_items"] == len(keys)  # no invoice from nowhere, none twice
        for key in sorted(keys):
            (invoice,) = find(http, key)
            check_consistent(invoice)
            with Control.from_env_file(run.served.env_file, timeout=30) as control:
                effects = control.stats(invoice["id"])["invoice"]
            transactions = invoice.get("payments", {}).get("transactions", [])
            assert effects.get("created") == 1, (key, effects)
            assert effects.get("sent", 0) == (invoice["status"] != "DRAFT"), (key, effects)
            assert effects.get("payments", 0) == len(transactions), (key, effects)
    print(f"\npersistence: {len(log.cut_off)} writes cut off by the kill, {applied} of them "
          f"applied before the retry; after retrying with the same PayPal-Request-Id each is "
          f"on file once; {len(log.acknowledged)} acknowledged writes replayed; "
          f"{len(keys)} invoices consistent")
