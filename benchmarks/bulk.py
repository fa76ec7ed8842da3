"""1,000 bulk reminders: ppnb's exactly-once job against a plain loop of remind calls.

Run: ``python -m benchmarks.bulk [--invoices 1000]``

The emulator (its own process, one uvicorn worker) holds N sent, unpaid invoices. Then:

* **loop**: ``client.invoices.remind(id)`` for each invoice, one after another: what a
  notebook cell would do without ppnb (no plan, no journal, no resume);
* **ppnb**: ``ppnb.bulk(client, "remind", table, confirm=True)`` on the invoices table from
  ``fetch_invoices``: a plan from its statuses, 8 calls in flight, two fsync'd journal lines
  per call, request ids derived from the job.

Both remind every invoice once (the loop on the first day, ppnb after the emulator's clock has
moved one day, so PayPal's two-per-day limit never interferes). Printed: seconds, requests
and reminders the emulator counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import orjson

from benchmarks.emulator import CLIENT, body, free_port, serve
from ppnb.actions import bulk
from ppnb.client import Client
from ppnb.emulator import Clock, Control, Emulator
from ppnb.pager import fetch_invoices

TODAY = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def seed_open(db: Path, n: int) -> None:
    """N sent, unpaid invoices, written through the service in one transaction."""
    emulator = Emulator(db, merchants=[CLIENT], seed=4, clock=Clock(TODAY, frozen=True))
    service, merchant = emulator.service, emulator.merchant()
    with service.store.transaction():
        for i in range(n):
            invoice = orjson.loads(service.create_invoice(merchant, body(i)))
            service.send_invoice(merchant, invoice["id"], {"send_to_recipient": True})
    emulator.close()


def reminders(control: Control) -> int:
    """Reminders the emulator has applied (its stats endpoint)."""
    return control.stats()["operations"].get("reminded", 0)


def run(invoices: int = 1000) -> list[dict]:
    """Measure both ways; return the figures (also printed)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "book.sqlite"
        seed_open(db, invoices)
        port = free_port()
        proc = serve(db, port, Path(tmp) / "env")
        base = f"http://127.0.0.1:{port}"
        control = Control.from_env_file(Path(tmp) / "env")  # the control token is in it
        try:
            client = Client(base, *CLIENT)
            table = fetch_invoices(client, progress=False)  # id, status, ... as analysts have
            ids = list(table["id"])
            before = client.stats["requests"]
            start = time.perf_counter()
            for invoice_id in ids:
                client.invoices.remind(invoice_id)
            loop_s = time.perf_counter() - start
            loop_requests = client.stats["requests"] - before
            loop_reminded = reminders(control)

            control.advance(1)
            before = client.stats["requests"]
            start = time.perf_counter()
            result = bulk(client, "remind", table, confirm=True, progress=False,
                          journal_dir=Path(tmp) / "jobs", today=(TODAY + dt.timedelta(1)).date())
            ppnb_s = time.perf_counter() - start
            ppnb_requests = client.stats["requests"] - before
            ppnb_reminded = reminders(control) - loop_reminded
            ok = int((result["outcome"] == "ok").sum())
            client.close()
        finally:
            control.close()
            proc.terminate()
            proc.wait(10)
    print(f"bulk benchmark: {len(ids):,} sent invoices, emulator in its own process")
    print(f"{'way':<48}{'seconds':>9}{'requests':>10}{'reminded':>10}")
    print(f"{'loop: client.invoices.remind, one by one':<48}{loop_s:>9.1f}{loop_requests:>10,}"
          f"{loop_reminded:>10,}")
    print(f"{'ppnb.bulk: plan, 8 in flight, journal':<48}{ppnb_s:>9.1f}{ppnb_requests:>10,}"
          f"{ppnb_reminded:>10,}")
    print(f"ppnb.bulk ok: {ok:,}; speed-up over the loop: {loop_s / ppnb_s:.1f}x")
    return [{"figure": f"{len(ids):,} bulk reminders (ppnb.bulk)", "value": ppnb_s, "unit": "s",
             "baseline": "one-by-one remind loop", "baseline_value": loop_s,
             "goal": "", "lower_is_better": True,
             "note": f"{ppnb_requests:,} requests (loop {loop_requests:,}); "
                     f"{ppnb_reminded:,} reminders applied"}]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    return run(parser.parse_args(argv).invoices)


if __name__ == "__main__":
    main()
