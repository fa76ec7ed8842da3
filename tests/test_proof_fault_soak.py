"""Fault soak (issue 8, suite 1): a 20,000-invoice book pulled through injected faults.

The book is written straight through the emulator's service in batched transactions (no
HTTP, so it is quick), with drafts, open, partly paid, paid (recorded and through PayPal),
cancelled and refunded invoices in USD, EUR, GBP and JPY. It is then served on loopback and
pulled twice with :func:`ppnb.pager.fetch_tables`: once fault-free in pages of 100, once in
pages of 20 (a thousand requests, so about a hundred faults) while the emulator fails 10 % of
the API calls (429, 500, 503 and dropped connections) and delays every call.

Both pulls must equal the emulator's own records (its stored documents, flattened), and each
other: the same invoice ids, amounts in minor units, statuses, items, payments (ids, dates,
amounts) and refunds. The test prints ``lost = 0, duplicated = 0`` beside the faults
injected and the client's retries.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pandas as pd
import pytest

from ppnb.client import Client, RetryPolicy
from ppnb.emulator import Clock, Emulator, Invoicing, Merchant, RunningEmulator
from ppnb.frames import Tables, flatten
from ppnb.money import from_minor, to_minor
from ppnb.pager import fetch_tables

INVOICES = 20_000
BATCH = 2_000
TODAY = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
#: Invoices are dated in 2024; payments and refunds happen by its last day.
LAST_DAY = dt.date(2024, 12, 31)
MERCHANT = ("soak-merchant", "soak-secret-0123456789abcdef")
CURRENCIES = ("USD", "USD", "EUR", "GBP", "JPY")
TERMS = ("NET_30", "NET_60", "DUE_ON_RECEIPT", "NET_10")
#: What happens to each invoice after it is created, with its share of the book.
FATES = {"draft": 0.10, "open": 0.25, "partial": 0.07, "partial_twice": 0.03,
         "cancelled": 0.05, "paid": 0.35, "paid_paypal": 0.05, "refunded_part": 0.05,
         "refunded_all": 0.05}
FAULT_RATE = 0.10
FAULT_STATUSES = [429, 500, 503]
#: The faulted pull's page size: PayPal's default, so 20,000 invoices take 1,000 pages.
FAULTED_PAGE_SIZE = 20
#: Keys that identify a row in each table (for sorting before comparing).
KEYS = {"invoices": ["id"], "items": ["invoice_id", "line"],
        "payments": ["invoice_id", "payment_id"], "refunds": ["invoice_id", "refund_id"]}


@dataclass
class Book:
    """What the seeding wrote, as told by the service's answers."""

    invoice_ids: set[str] = field(default_factory=set)
    payment_ids: set[str] = field(default_factory=set)
    refund_ids: set[str] = field(default_factory=set)
    fates: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


@dataclass
class Served:
    """The seeded emulator, served, with what was written into it."""

    running: RunningEmulator
    book: Book
    stored: Tables


def invoice_body(i: int, rng: random.Random) -> dict:
    """A valid invoice: one or two items, some taxed, some discounted, a 2024 date."""
    currency = rng.choice(CURRENCIES)
    items = []
    for k in range(rng.randint(1, 2)):
        minor = rng.randint(100, 250_000)
        item = {"name": f"Service {k}", "quantity": str(rng.randint(1, 4)),
                "unit_amount": {"currency_code": currency,
                                "value": str(from_minor(minor, currency))}}
        if rng.random() < 0.4:
            item["tax"] = {"name": "VAT", "percent": rng.choice(["20", "7.5", "5"])}
        if rng.random() < 0.1:
            item["discount"] = {"percent": "10"}
        items.append(item)
    return {
        "detail": {"currency_code": currency, "invoice_number": f"SOAK-{i:06d}",
                   "invoice_date": (dt.date(2024, 1, 1)
                                    + dt.timedelta(days=rng.randrange(366))).isoformat(),
                   "payment_term": {"term_type": rng.choice(TERMS)},
                   "reference": f"PO-{rng.randint(1, 9999)}"},
        "primary_recipients": [{"billing_info": {
            "email_address": f"customer{rng.randrange(300):03d}@example.com",
            "name": {"given_name": "Ada", "surname": f"Client{rng.randrange(300)}"}}}],
        "items": items,
    }


def pick_fate(rng: random.Random) -> str:
    """One of :data:`FATES`, drawn with its share."""
    return rng.choices(list(FATES), weights=list(FATES.values()))[0]


def money(minor: int, currency: str) -> dict[str, str]:
    """A money object of ``minor`` units."""
    return {"currency_code": currency, "value": str(from_minor(minor, currency))}


def settle(service: Invoicing, merchant: Merchant, doc: dict, fate: str, rng: random.Random,
           book: Book) -> None:
    """Take a created invoice to its ``fate``: send, pay (in part), cancel or refund it."""
    if fate == "draft":
        return
    invoice_id, currency = doc["id"], doc["detail"]["currency_code"]
    service.send_invoice(merchant, invoice_id, {"send_to_recipient": False})
    total = to_minor(doc["amount"]["value"], currency)
    day = dt.date.fromisoformat(doc["detail"]["invoice_date"])
    paid_on = min(day + dt.timedelta(days=rng.randrange(40)), LAST_DAY).isoformat()

    def pay(minor: int | None, paypal: bool = False, on: str = paid_on) -> None:
        body: dict = {"method": "PAYPAL" if paypal else "BANK_TRANSFER", "payment_date": on}
        if minor is not None:
            body["amount"] = money(minor, currency)
        book.payment_ids.add(service.record_payment(merchant, invoice_id, body,
                                                    paypal=paypal)["payment_id"])

    if fate == "cancelled":
        service.cancel_invoice(merchant, invoice_id, {"send_to_recipient": False})
    elif fate.startswith("partial"):
        pay(max(1, total // 3))
        if fate == "partial_twice":
            pay(max(1, total // 4), on=LAST_DAY.isoformat())
    elif fate != "open":
        pay(None, paypal=fate == "paid_paypal")
        if fate.startswith("refunded"):
            refund: dict = {"method": "BANK_TRANSFER", "refund_date": LAST_DAY.isoformat()}
            if fate == "refunded_part":
                refund["amount"] = money(max(1, total // 2), currency)
            book.refund_ids.add(service.record_refund(merchant, invoice_id,
                                                      refund)["refund_id"])


def seed(emulator: Emulator, clock: Clock, n: int) -> Book:
    """Write ``n`` invoices through the service, ``BATCH`` per transaction."""
    service, merchant = emulator.service, emulator.merchant()
    rng = random.Random(20_000)
    book = Book()
    started, cpu = time.perf_counter(), time.process_time()
    for low in range(0, n, BATCH):
        with service.store.transaction():
            for i in range(low, min(n, low + BATCH)):
                clock.advance(seconds=30)  # distinct creation times, newest first in search
                doc = orjson.loads(service.create_invoice(merchant, invoice_body(i, rng)))
                book.invoice_ids.add(doc["id"])
                fate = pick_fate(rng)
                book.fates[fate] += 1
                settle(service, merchant, doc, fate, rng, book)
    book.seconds = time.perf_counter() - started
    book.cpu_seconds = time.process_time() - cpu
    return book


def stored_tables(emulator: Emulator) -> Tables:
    """The emulator's own record of the book, flattened (no HTTP involved)."""
    docs = emulator.store.all("SELECT doc FROM invoices WHERE merchant = ?",
                              (emulator.merchant().payer_id,))
    return flatten(orjson.loads(doc) for (doc,) in docs)


def ordered(tables: Tables) -> dict[str, pd.DataFrame]:
    """Each table sorted by its key, so that two pulls compare row by row."""
    return {name: getattr(tables, name).sort_values(key, ignore_index=True)
            for name, key in KEYS.items()}


def assert_same(got: Tables, expected: Tables, what: str) -> None:
    """The four tables are equal, value for value and dtype for dtype."""
    left, right = ordered(got), ordered(expected)
    for name in KEYS:
        try:
            pd.testing.assert_frame_equal(left[name], right[name])
        except AssertionError as exc:
            raise AssertionError(f"{what}: table {name} differs: {exc}") from None


def lost_and_duplicated(tables: Tables, book: Book) -> tuple[int, int]:
    """Seeded rows missing from ``tables``; rows present more than once."""
    sets = [(tables.invoices["id"], book.invoice_ids),
            (tables.payments["payment_id"], book.payment_ids),
            (tables.refunds["refund_id"], book.refund_ids)]
    lost = sum(len(seeded - set(column)) for column, seeded in sets)
    duplicated = sum(len(column) - column.nunique() for column, _ in sets)
    return lost, duplicated


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """20,000 invoices seeded in memory at a frozen 2025-01-01, then served on loopback."""
    clock = Clock(TODAY, frozen=True)
    emulator = Emulator(":memory:", merchants=[MERCHANT], seed=20, clock=clock)
    book = seed(emulator, clock, INVOICES)
    running = emulator.serve_in_thread()
    try:
        yield Served(running, book, stored_tables(emulator))
    finally:
        running.stop()
        emulator.close()


@pytest.fixture(scope="module")
def clean_pull(served: Served) -> Tables:
    """The fault-free pull."""
    served.running.emulator.faults.clear()
    started = time.perf_counter()
    with Client(served.running.base_url, *MERCHANT) as client:
        tables = fetch_tables(client, progress=False)
        requests = client.stats["requests"]
    print(f"\nfault-free pull of {len(tables.invoices):,} invoices in pages of 100: "
          f"{time.perf_counter() - started:.1f} s, {requests} requests")
    return tables


def test_seeded_book_is_the_intended_mix(served: Served) -> None:
    book, stored = served.book, served.stored
    print(f"\nseeded {len(book.invoice_ids):,} invoices in {book.seconds:.1f} s "
          f"({book.cpu_seconds:.1f} s CPU) "
          f"({len(book.payment_ids):,} payments, {len(book.refund_ids):,} refunds): "
          f"{dict(book.fates)}")
    assert len(book.invoice_ids) == INVOICES
    assert set(stored.invoices["id"]) == book.invoice_ids
    assert set(stored.payments["payment_id"]) == book.payment_ids
    assert set(stored.refunds["refund_id"]) == book.refund_ids
    statuses = set(stored.invoices["status"])
    assert {"DRAFT", "UNPAID", "PARTIALLY_PAID", "MARKED_AS_PAID", "PAID", "CANCELLED",
            "PARTIALLY_REFUNDED", "MARKED_AS_REFUNDED"} <= statuses, statuses
    assert set(stored.invoices["currency"]) == set(CURRENCIES)
    assert set(stored.payments["type"]) == {"EXTERNAL", "PAYPAL"}


def test_fault_free_pull_equals_the_emulators_records(served: Served,
                                                      clean_pull: Tables) -> None:
    assert lost_and_duplicated(clean_pull, served.book) == (0, 0)
    assert_same(clean_pull, served.stored, "fault-free pull vs the emulator's records")


def test_pull_through_faults_equals_the_fault_free_pull(served: Served,
                                                        clean_pull: Tables) -> None:
    waits: list[float] = []
    faults = served.running.emulator.faults
    faults.configure(rate=FAULT_RATE, statuses=FAULT_STATUSES, latency_ms=(0, 3),
                     drop_connections=True, seed=8)
    try:
        started = time.perf_counter()
        # A recording sleep: the faults, not the waits, are under test (a 429's Retry-After
        # of 1 s would otherwise dominate the run).
        retry = RetryPolicy(attempts=12, backoff=0.01, sleep=waits.append)
        with Client(served.running.base_url, *MERCHANT, retry=retry) as client:
            faulted = fetch_tables(client, page_size=FAULTED_PAGE_SIZE, progress=False)
            stats = dict(client.stats)
        seconds = time.perf_counter() - started
    finally:
        injected = faults.settings()["injected"]
        faults.clear()
    lost, duplicated = lost_and_duplicated(faulted, served.book)
    failed = sum(injected[str(status)] for status in FAULT_STATUSES) + injected["dropped"]
    print(f"\nfaulted pull of {len(faulted.invoices):,} invoices in pages of "
          f"{FAULTED_PAGE_SIZE}: {seconds:.1f} s; "
          f"lost = {lost}, duplicated = {duplicated}; injected {injected}; "
          f"client {stats['requests']} requests, {stats['retries']} retries, "
          f"{stats.get('transport_errors', 0)} transport errors, "
          f"{len(waits)} backoff waits (not slept)")
    assert (lost, duplicated) == (0, 0)
    assert_same(faulted, clean_pull, "faulted pull vs fault-free pull")
    # The faults really happened, at about the configured rate, of every kind.
    assert all(injected[str(status)] > 0 for status in FAULT_STATUSES), injected
    assert injected["dropped"] > 0, injected
    assert failed == stats["retries"], (failed, stats)
    assert 0.05 < failed / stats["requests"] < 0.15, (failed, stats)
