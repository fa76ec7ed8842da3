"""A bulk reminder killed (SIGKILL) mid-run, then run again: one reminder per invoice.

The emulator is served by the test process; the bulk job runs in a child process that is
killed once its journal shows progress, then the same job runs again in a fresh process.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from helpers import new_merchant

from ppnb.client import Client
from ppnb.emulator import Clock, start

JOB = """
import datetime as dt, json, sys
from ppnb.actions import bulk
from ppnb.client import Client
base, cid, secret, ids, journal = sys.argv[1:6]
with Client(base, cid, secret) as client:
    result = bulk(client, "remind", json.load(open(ids)), confirm=True, job_id="kill-me",
                  journal_dir=journal, concurrency=4, progress=False,
                  today=dt.date(2025, 1, 15), note="Payment overdue")
print(json.dumps(result.attrs["counts"]))
"""


def ends(journal: Path) -> int:
    """Calls the journal shows as finished (complete lines only)."""
    if not journal.exists():
        return 0
    return sum(1 for line in journal.read_bytes().split(b"\n")[:-1] if b'"type":"end"' in line)


def test_killed_bulk_remind_resumes_with_exactly_one_reminder_each(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2025, 1, 15, 9, 0, tzinfo=dt.UTC), frozen=True)
    with start(clock=clock) as running:
        creds = new_merchant(running.emulator)
        with Client(running.base_url, *creds) as client:
            ids = []
            for n in range(60):
                invoice = client.invoices.create({
                    "detail": {"currency_code": "USD"},
                    "primary_recipients": [{"billing_info": {
                        "email_address": f"c{n}@example.com"}}],
                    "items": [{"name": "Work", "quantity": "1",
                               "unit_amount": {"currency_code": "USD", "value": "10.00"}}]})
                client.invoices.send(invoice["id"])
                ids.append(invoice["id"])
        (tmp_path / "ids.json").write_bytes(orjson.dumps(ids))
        journal_dir = tmp_path / "jobs"
        journal = journal_dir / "kill-me.jsonl"
        argv = [sys.executable, "-c", JOB, running.base_url, *creds,
                str(tmp_path / "ids.json"), str(journal_dir)]
        env = {**os.environ, "HOME": str(tmp_path)}
        # Slow calls so that the kill lands mid-run; no faults, only latency.
        running.emulator.faults.configure(rate=0, latency_ms=[30, 60], seed=3)
        child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while ends(journal) < 10 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # polling the journal, bounded by the deadline
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        finished = ends(journal)
        applied = len(running.emulator.outbox(kind="reminder"))
        assert 10 <= finished < 60, finished
        assert applied >= finished  # some calls may have been applied but never journalled
        running.emulator.faults.clear()

        again = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
        assert again.returncode == 0, again.stderr.decode()
        counts = orjson.loads(again.stdout.splitlines()[-1])
        assert counts == {"ok": 60 - finished, "skipped": finished}

        outbox = running.emulator.outbox(kind="reminder")
        per_invoice = {i: 0 for i in ids}
        for mail in outbox:
            per_invoice[mail["invoice_id"]] += 1
        assert set(per_invoice.values()) == {1}
        assert {m["requested_note"] for m in outbox} == {"Payment overdue"}  # as asked
        stats = running.emulator.stats()
        assert stats["operations"]["reminded"] == 60
        assert stats["max_per_invoice"]["reminded"] == 1
    running.emulator.close()
