"""Issue 8, suite 2: exactly-once bulk reminders, proven on 1,000 open invoices per job.

(a) One bulk job reminds 1,000 invoices while the emulator injects faults (10% of calls get a
429, 500 or 503 or a dropped connection, half of the faulted writes applied before failing,
plus 0-5 ms latency). The client tries each call twice instead of four times, so some calls
fail for good, some of them after being applied; the same job is run again (at most
``MAX_RUNS`` times in all) until nothing failed. (b) Another job, in a child process with the
default retries, is SIGKILLed once its journal shows at least 500 finished calls, then resumed
by fresh processes with the same job id, under the same faults.

Each time the emulator's own records decide: its outbox holds exactly one reminder email per
invoice and its effect counts show 1,000 reminders, none applied twice. The books are seeded
straight through the emulator's service (same rules as HTTP, no requests) and served by the
test process; the figures (time, requests, faults, runs) are printed.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from ppnb.actions import ReminderLedger, bulk
from ppnb.client import Client, RetryPolicy
from ppnb.emulator import Clock, Emulator, RunningEmulator

TODAY = dt.date(2025, 1, 15)
INVOICES = 1_000
#: The job is run at most this many times in all (the first run included).
MAX_RUNS = 5
NOTE = "Payment overdue: proof"
MERCHANT = ("proof-bulk", "proof-bulk-secret-0123456789abcdef")
#: The faults of README "Faults" and issue 8, with a small latency so the file stays fast.
FAULTS: dict[str, Any] = {"rate": 0.1, "statuses": (429, 500, 503), "latency_ms": (0, 5),
                          "drop_connections": True}

CHILD = """
import datetime as dt, json, sys
import pandas as pd
from ppnb.actions import ReminderLedger, bulk
from ppnb.client import Client
base, cid, secret, invoices, journal, job, today, note = sys.argv[1:9]
with Client(base, cid, secret) as client:
    result = bulk(client, "remind", pd.DataFrame(json.load(open(invoices))), confirm=True,
                  job_id=job, journal_dir=journal, concurrency=8, progress=False,
                  today=dt.date.fromisoformat(today), note=note)
    print(json.dumps({"counts": result.attrs["counts"], "stats": dict(client.stats)}))
"""


@dataclass
class Book:
    """A served emulator whose merchant has ``INVOICES`` sent, unpaid invoices."""

    running: RunningEmulator
    invoices: pd.DataFrame  # id, number, status: what a pull would give bulk

    @property
    def ids(self) -> list[str]:
        return list(self.invoices["id"])


def seed(emulator: Emulator, n: int) -> list[str]:
    """``n`` invoices created and sent through the service in one transaction (no HTTP)."""
    service, merchant = emulator.service, emulator.merchant()
    ids = []
    with service.store.transaction():
        for i in range(n):
            invoice = orjson.loads(service.create_invoice(merchant, {
                "detail": {"currency_code": "USD", "invoice_number": f"EO-{i:05d}",
                           "payment_term": {"term_type": "NET_30"}},
                "primary_recipients": [{"billing_info": {
                    "email_address": f"customer{i:05d}@example.com"}}],
                "items": [{"name": "Work", "quantity": "1",
                           "unit_amount": {"currency_code": "USD", "value": "100.00"}}]}))
            service.send_invoice(merchant, invoice["id"], {})
            ids.append(invoice["id"])
    return ids


@pytest.fixture
def book() -> Iterator[Book]:
    """A private emulator (faults and effect counts are emulator-wide), frozen on TODAY."""
    clock = Clock(dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC), frozen=True)
    emulator = Emulator(merchants=[MERCHANT], clock=clock, seed=8)
    ids = seed(emulator, INVOICES)
    with emulator.serve_in_thread() as running:
        yield Book(running, pd.DataFrame({"id": ids, "number": [
            f"EO-{i:05d}" for i in range(INVOICES)], "status": "SENT"}))
        running.emulator.faults.clear()
    emulator.close()


def assert_one_reminder_each(book: Book) -> None:
    """The emulator's outbox and effect counts: exactly one reminder per invoice, 1,000 in
    all, each to its customer (without the job's note: PayPal ignores a reminder's note)."""
    emulator = book.running.emulator
    outbox = emulator.outbox(kind="reminder")
    per_invoice = Counter(mail["invoice_id"] for mail in outbox)
    assert set(per_invoice) == set(book.ids)
    assert set(per_invoice.values()) == {1}, per_invoice.most_common(3)
    assert len(outbox) == INVOICES
    assert {(m["role"], m["note"]) for m in outbox} == {("recipient", None)}  # OBSERVED.md
    numbers = dict(zip(book.invoices["id"], book.invoices["number"], strict=True))
    assert all(m["email"] == f"customer{numbers[m['invoice_id']][3:]}@example.com"
               for m in outbox)
    stats = emulator.stats()
    assert stats["operations"]["reminded"] == INVOICES
    assert stats["max_per_invoice"]["reminded"] == 1


def journal_outcomes(path: Path) -> dict[str, str]:
    """Each invoice's last journalled outcome (complete lines only: a kill may tear one)."""
    outcomes: dict[str, str] = {}
    for line in path.read_bytes().split(b"\n")[:-1]:
        record = orjson.loads(line)
        if record.get("type") == "end":
            outcomes[record["invoice_id"]] = record["outcome"]
    return outcomes


def injected(book: Book) -> dict[str, int]:
    """Faults the emulator injected, by kind (only the kinds that occurred)."""
    counts = book.running.emulator.faults.settings()["injected"]
    return {kind: n for kind, n in counts.items() if n and kind != "latency"}


def test_a_thousand_reminders_under_faults_each_applied_once(book: Book, tmp_path: Path) -> None:
    running = book.running
    running.emulator.faults.configure(**FAULTS, seed=2)
    # Two tries per call instead of the default four, so that about 1% of the calls fail for
    # good and the job has to be re-run: what ended "failed" may still have been applied.
    retry = RetryPolicy(attempts=2)
    counts: list[dict[str, int]] = []
    started = time.perf_counter()
    with Client(running.base_url, *MERCHANT, retry=retry) as client:
        while len(counts) < MAX_RUNS and (not counts or counts[-1].get("failed")):
            result = bulk(client, "remind", book.invoices, confirm=True, job_id="proof-a",
                          journal_dir=tmp_path, concurrency=8, progress=False, today=TODAY,
                          note=NOTE)
            counts.append(result.attrs["counts"])
            if len(counts) == 1:
                failed = list(result.loc[result["outcome"] == "failed", "invoice_id"])
                applied_anyway = sum(running.emulator.stats(invoice_id=i)["invoice"].get(
                    "reminded", 0) for i in failed)
        elapsed = time.perf_counter() - started
        stats = dict(client.stats)
    faults = injected(book)
    print(f"\n[exactly-once a] {INVOICES} reminders under faults in {elapsed:.1f} s: "
          f"{len(counts)} runs {counts} ({len(counts) - 1} re-run(s); {applied_anyway} of the "
          f"{len(failed)} calls that failed in run 1 had been applied and were replayed); "
          f"requests {stats['requests']} (retries {stats.get('retries', 0)}, transport errors "
          f"{stats.get('transport_errors', 0)}); faults injected {faults}")
    assert len(counts) >= 2 and failed, counts  # re-runs were needed (P(none) ~ 4e-5)
    assert not counts[-1].get("failed"), counts
    assert sum(c.get("ok", 0) for c in counts) == INVOICES  # each invoice ok in exactly one run
    assert set(journal_outcomes(tmp_path / "proof-a.jsonl").values()) == {"ok"}
    assert_one_reminder_each(book)
    # The proof ran under real faults: writes answered with errors after being applied, and
    # connections dropped; the client retried.
    assert faults.get("applied_then_failed", 0) > 0 and faults.get("dropped", 0) > 0, faults
    assert stats.get("retries", 0) > 0


def test_a_job_killed_halfway_resumes_with_one_reminder_each(book: Book, tmp_path: Path) -> None:
    running = book.running
    invoices = tmp_path / "invoices.json"
    invoices.write_bytes(orjson.dumps(book.invoices.to_dict("records")))
    journal = tmp_path / "jobs" / "proof-b.jsonl"
    argv = [sys.executable, "-c", CHILD, running.base_url, *MERCHANT, str(invoices),
            str(journal.parent), "proof-b", TODAY.isoformat(), NOTE]
    env = {**os.environ, "HOME": str(tmp_path)}
    running.emulator.faults.configure(**FAULTS, seed=3)
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finished = ends_so_far(journal, child, at_least=INVOICES // 2)
    assert child.poll() is None, "the job finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    killed_after = time.perf_counter() - started
    at_kill = journal_outcomes(journal)
    done = sum(outcome == "ok" for outcome in at_kill.values())
    applied = running.emulator.stats()["operations"].get("reminded", 0)
    assert INVOICES // 2 <= finished <= len(at_kill) < INVOICES
    assert applied >= done  # calls in flight at the kill may be applied but never journalled

    runs = []
    while len(runs) < MAX_RUNS - 1 and (not runs or runs[-1]["counts"].get("failed")):
        again = subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        assert again.returncode == 0, again.stderr.decode()[-2000:]
        runs.append(orjson.loads(again.stdout.splitlines()[-1]))
    elapsed = time.perf_counter() - started
    faults = injected(book)
    print(f"\n[exactly-once b] killed after {killed_after:.1f} s with {len(at_kill)} calls "
          f"journalled ({done} ok, {applied} applied by the emulator); resumed in {len(runs)} "
          f"run(s) {[r['counts'] for r in runs]}; requests after the kill "
          f"{sum(r['stats']['requests'] for r in runs)}; total {elapsed:.1f} s; faults "
          f"injected {faults}")
    first = runs[0]["counts"]
    assert first.get("skipped", 0) == done  # what ended ok before the kill is not redone
    assert first.get("ok", 0) + first.get("failed", 0) == INVOICES - done
    assert not runs[-1]["counts"].get("failed"), runs
    assert done + sum(r["counts"].get("ok", 0) for r in runs) == INVOICES
    assert set(journal_outcomes(journal).values()) == {"ok"}
    assert_one_reminder_each(book)


def ends_so_far(journal: Path, child: subprocess.Popen[bytes], *, at_least: int) -> int:
    """Follow the journal until it shows ``at_least`` finished calls (or the child exits);
    bounded by a deadline. Reads only what was appended since the last look."""
    seen, offset, tail = 0, 0, b""
    deadline = time.monotonic() + 120
    while seen < at_least and child.poll() is None:
        assert time.monotonic() < deadline, f"only {seen} calls finished in 120 s"
        if journal.exists():
            with journal.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            offset += len(chunk)
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            seen += sum(b'"type":"end"' in line for line in lines)
        time.sleep(0.002)  # polling interval of the journal follower, not a synchronisation
    return seen


# Another process may die in the middle of a ledger line; the reminders and
# MAX_REMINDERS_PER_DAY markers written after it must still count (they once did not).
def test_a_torn_reminder_ledger_line_hides_nothing_after_it(tmp_path: Path) -> None:
    ledger = ReminderLedger(tmp_path)
    ledger.record("INV2-A", TODAY, "request-a")
    with (tmp_path / "reminders" / f"{TODAY}.jsonl").open("ab") as day:
        day.write(b'{"invoice_id":"INV2-B","requ')  # a crash in the middle of a write
    ledger.record("INV2-C", TODAY, "request-c")
    ledger.mark_full("INV2-D", TODAY)
    assert ledger.counts(TODAY) == {"INV2-A": 1, "INV2-C": 1, "INV2-D": 2}
