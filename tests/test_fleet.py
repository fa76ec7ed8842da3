"""The emulator's fleet: many merchants' books seeded through the service, a partner granted
by some, revocation, and latency and faults applying to the partner's calls."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator

import orjson
import pytest

from ppnb.client import Client, PermissionDenied, RetryPolicy, ServerError
from ppnb.emulator import Clock, Emulator, RunningEmulator, start
from ppnb.emulator._fleet import Fleet, revoke, seed_fleet

TODAY = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[RunningEmulator, Fleet]]:
    with start(clock=Clock(TODAY, frozen=True), seed=5) as running:
        yield running, seed_fleet(running.emulator, 6, 40, denied=2, seed=3, step=2)
    running.emulator.close()


def _books(emulator: Emulator, fleet: Fleet) -> list[list[tuple[str, str, str, str, str]]]:
    """Per merchant: (number, status, amount, invoice date, created) of every invoice."""
    out = []
    for merchant in fleet.merchants:
        rows = emulator.store.all("SELECT doc FROM invoices WHERE merchant = ? ORDER BY seq",
                                  (merchant.payer_id,))
        docs = [orjson.loads(row[0]) for row in rows]
        out.append([(d["detail"]["invoice_number"], d["status"], d["amount"]["value"],
                     d["detail"]["invoice_date"], d["detail"]["metadata"]["create_time"])
                    for d in docs])
    return out


def test_every_merchant_gets_a_varied_dated_book(served: tuple[RunningEmulator, Fleet]) -> None:
    running, fleet = served
    books = _books(running.emulator, fleet)
    assert [len(book) for book in books] == [40] * 6
    statuses = Counter(status for book in books for _, status, _, _, _ in book)
    assert {"DRAFT", "UNPAID", "PARTIALLY_PAID", "CANCELLED", "MARKED_AS_PAID"} <= set(statuses)
    assert statuses["MARKED_AS_PAID"] > statuses["UNPAID"] > statuses["CANCELLED"]
    dates = {day for book in books for _, _, _, day, _ in book}
    assert min(dates) >= "2024-12-31" and max(dates) <= "2025-06-30" and len(dates) > 50
    assert books[0] != books[1]  # each merchant its own book
    created = [when for book in books for *_, when in book]
    assert len(set(created)) == 240 and created == sorted(created)  # step=2: one by one
    assert running.emulator.now() == TODAY + dt.timedelta(seconds=480)


def test_the_same_seed_gives_the_same_books() -> None:
    made = []
    for _ in range(2):
        emulator = Emulator(clock=Clock(TODAY, frozen=True), seed=9)
        made.append(_books(emulator, seed_fleet(emulator, 3, 25, seed=11)))
        emulator.close()
    assert made[0] == made[1]


def test_the_partner_acts_only_for_merchants_that_granted_it(
        served: tuple[RunningEmulator, Fleet]) -> None:
    running, fleet = served
    assert len(fleet.granted_ids) == 4 and len(fleet.denied_ids) == 2
    assert "client_secret='***'" in repr(fleet.partner)
    with Client(running.base_url, fleet.partner.client_id,
                fleet.partner.client_secret) as partner:
        for payer_id in fleet.granted_ids:
            found = partner.acting_for(payer_id=payer_id).invoices.search(
                {}, page_size=1, total_required=True)
            assert found["total_items"] == 40  # the merchant's whole book
        for payer_id in fleet.denied_ids:
            with pytest.raises(PermissionDenied):
                partner.acting_for(payer_id=payer_id).invoices.list()
        leaving = fleet.granted_ids[0]
        revoke(running.emulator, leaving, fleet.partner.client_id)
        try:
            with pytest.raises(PermissionDenied):
                partner.acting_for(payer_id=leaving).invoices.list()
        finally:
            running.emulator.grant(fleet.own(leaving).client_id, fleet.partner.client_id)
        assert partner.acting_for(payer_id=leaving).invoices.list()["items"]


def test_latency_and_faults_apply_to_the_partner(served: tuple[RunningEmulator, Fleet]) -> None:
    running, fleet = served
    acting = Client(running.base_url, fleet.partner.client_id, fleet.partner.client_secret,
                    retry=RetryPolicy(attempts=1)).acting_for(payer_id=fleet.granted_ids[1])
    acting.invoices.list()  # the token, before the clock on latency starts
    running.emulator.faults.configure(latency_ms=(150, 150))
    try:
        started = time.perf_counter()
        acting.invoices.list()
        assert time.perf_counter() - started >= 0.15
        running.emulator.faults.configure(rate=1.0, statuses=(503,))
        with pytest.raises(ServerError):
            acting.invoices.list()
    finally:
        running.emulator.faults.clear()


def test_bad_fleets_are_refused(served: tuple[RunningEmulator, Fleet]) -> None:
    running, _ = served
    with pytest.raises(ValueError, match="already registered"):
        seed_fleet(running.emulator, 1, 1)  # the fixture's prefix again
    with pytest.raises(ValueError, match="denied <= merchants"):
        seed_fleet(running.emulator, 2, 1, denied=3, prefix="other")
    with pytest.raises(ValueError, match="merchants=-1"):
        seed_fleet(running.emulator, -1, 1, prefix="other")
    with pytest.raises(KeyError, match="no seeded merchant"):
        served[1].own("NOPE")
