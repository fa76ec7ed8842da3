"""Pulling a book into DataFrames three ways, and what an incremental sync costs.

Run: ``python -m benchmarks.pull [--invoices 100000]``

The emulator (one uvicorn worker, its own process) serves a realistic book: most invoices
paid, some open, some partly paid, cancelled or refunded. Then:

* **naive**: sequential search pages of 20, then ``pd.json_normalize`` into the same four
  tables (PayPal stops at page 1000, so the naive loop walks month windows);
* **ppnb**: :func:`ppnb.fetch_tables` (concurrent pages of 100, fast flattening);
* **floor**: the same pages of 100 fetched as concurrently over the same loopback transport
  as ppnb, only ``orjson.loads``-ed.

Goal: ppnb ≥ 5× the naive loop and within 2× of the floor. Then ``ppnb.sync`` takes a
snapshot, about 1% of the invoices change, and the re-sync's requests are counted against
the full pull's (goal: ≤ 10%).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pandas as pd

from benchmarks.emulator import CLIENT, body, free_port, serve
from ppnb.client import Client
from ppnb.client._transport import LoopbackTransport
from ppnb.emulator import Clock, Emulator
from ppnb.pager import COLLECTIONS, fetch_tables
from ppnb.snapshot import sync

TODAY = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
FIELDS = orjson.dumps({"fields": COLLECTIONS})


def seed_book(db: Path, n: int) -> None:
    """A settled-looking book: 90% paid, 5% open, 2% partly paid, 2% cancelled, 1% refunded."""
    clock = Clock(TODAY, frozen=True)
    emulator = Emulator(db, merchants=[CLIENT], seed=2, clock=clock)
    service, merchant = emulator.service, emulator.merchant()
    rng = random.Random(5)
    for lo in range(0, n, 2000):
        with service.store.transaction():
            for i in range(lo, min(n, lo + 2000)):
                clock.advance(seconds=30)  # invoices are created at distinct times
                invoice = orjson.loads(service.create_invoice(merchant, body(i)))
                fate = rng.random()
                if fate < 0.005:
                    continue  # a draft
                service.send_invoice(merchant, invoice["id"], {"send_to_recipient": False})
                if fate < 0.05:
                    continue  # open
                if fate < 0.07:
                    half = {"currency_code": invoice["amount"]["currency_code"],
                            "value": "1" if invoice["amount"]["currency_code"] == "JPY"
                            else "1.00"}
                    service.record_payment(merchant, invoice["id"],
                                           {"method": "CHECK", "amount": half})
                    continue
                if fate < 0.09:
                    service.cancel_invoice(merchant, invoice["id"], {})
                    continue
                day = invoice["detail"]["invoice_date"]
                service.record_payment(merchant, invoice["id"],
                                       {"method": "BANK_TRANSFER", "payment_date": day})
                if fate < 0.10:
                    service.record_refund(merchant, invoice["id"], {"method": "BANK_TRANSFER"})
    emulator.close()


def naive_pull(base: str, headers: dict[str, str]) -> tuple[int, float]:
    """Sequential pages of 20 (month by month: PayPal stops at page 1000), then the same four
    tables with ``pd.json_normalize``."""
    start = time.perf_counter()
    rows: list[dict] = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for month in range(1, 13):
            first = dt.date(2024, month, 1)
            last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            page = 1
            while True:
                r = http.post(f"/v2/invoicing/search-invoices?page={page}&page_size=20",
                              json={"invoice_date_range": {"start": str(first), "end": str(last)},
                                    "fields": ["items", "payments", "refunds"]})
                items = r.json()["items"]
                rows += items
                if len(items) < 20:
                    break
                page += 1
    pd.json_normalize(rows)
    pd.json_normalize(rows, record_path="items", meta=["id"])
    pd.json_normalize([r for r in rows if "transactions" in r.get("payments", {})],
                      record_path=["payments", "transactions"], meta=["id"])
    pd.json_normalize([r for r in rows if "transactions" in r.get("refunds", {})],
                      record_path=["refunds", "transactions"], meta=["id"])
    return len(rows), time.perf_counter() - start


def floor_pull(base: str, headers: dict[str, str], pages: int, concurrency: int) -> float:
    """The same pages of 100, fetched as concurrently, only parsed."""
    local = threading.local()

    def get(page: int) -> int:
        if not hasattr(local, "c"):
            local.c = httpx.Client(base_url=base, headers=headers, timeout=60,
                                   transport=LoopbackTransport())
        r = local.c.post(f"/v2/invoicing/search-invoices?page={page}&page_size=100",
                         content=FIELDS,
                         headers={"Content-Type": "application/json"})
        return len(orjson.loads(r.content)["items"])

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        total = sum(pool.map(get, range(1, pages + 1)))
    assert total > 0
    return time.perf_counter() - start


def change_one_percent(client: Client, n: int) -> dict[str, int]:
    """About 1% of the book changes: new invoices, payments, cancels, a refund, deletes."""
    rng = random.Random(9)
    wanted = n // 400 + n // 1000
    open_ids: list[str] = []
    for page in range(1, wanted // 100 + 2):
        open_ids += [i["id"] for i in client.invoices.search(
            {"status": ["UNPAID"]}, page=page, page_size=100)["items"]]
    counts = {"created": 0, "paid": 0, "cancelled": 0, "deleted": 0}
    for i in range(n // 200):
        created = client.invoices.create(body(10_000_000 + i))
        counts["created"] += 1
        if rng.random() < 0.5:
            client.invoices.send(created["id"], {"send_to_recipient": False})
        else:
            client.invoices.delete(created["id"])
            counts["deleted"] += 1
    for invoice_id in open_ids[: n // 400]:
        client.invoices.record_payment(invoice_id, {"method": "CASH"})
        counts["paid"] += 1
    for invoice_id in open_ids[n // 400: n // 400 + n // 1000]:
        client.invoices.cancel(invoice_id)
        counts["cancelled"] += 1
    return counts


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args(argv)
    n = args.invoices
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "book.sqlite"
        print(f"seeding a {n:,}-invoice book ...", flush=True)
        t0 = time.perf_counter()
        seed_book(db, n)
        print(f"  seeded in {time.perf_counter() - t0:.0f} s", flush=True)
        port = free_port()
        proc = serve(db, port, Path(tmp) / "env")
        base = f"http://127.0.0.1:{port}"
        try:
            client = Client(base, *CLIENT, max_connections=args.concurrency + 2)
            headers = {"Authorization": f"Bearer {client.get_token()['access_token']}"}
            naive_rows, naive_s = naive_pull(base, headers)
            t0 = time.perf_counter()
            tables = fetch_tables(client, concurrency=args.concurrency, progress=False)
            ppnb_s = time.perf_counter() - t0
            full_requests = client.stats["requests"]
            pages = -(-len(tables.invoices) // 100)
            floor_s = floor_pull(base, headers, pages, args.concurrency)

            snapshot = Path(tmp) / "snapshot"
            first = sync(client, snapshot, concurrency=args.concurrency, progress=False)
            counts = change_one_percent(client, n)
            again = sync(client, snapshot, concurrency=args.concurrency, progress=False)
            check = fetch_tables(client, concurrency=args.concurrency, progress=False)
        finally:
            proc.terminate()
            proc.wait(10)

    got = len(tables.invoices)
    naive_rate, ppnb_rate, floor_rate = naive_rows / naive_s, got / ppnb_s, got / floor_s
    print()
    print(f"pull benchmark: {n:,} invoices served by the emulator over loopback")
    print(f"{'way':<44}{'invoices':>10}{'seconds':>9}{'inv/s':>10}")
    for label, rows, secs in [("naive: pages of 20 + json_normalize", naive_rows, naive_s),
                              ("ppnb: fetch_tables (concurrent, 100/page)", got, ppnb_s),
                              ("floor: same pages, orjson.loads only", got, floor_s)]:
        print(f"{label:<44}{rows:>10,}{secs:>9.1f}{rows / secs:>10,.0f}")
    print(f"ppnb / naive: {ppnb_rate / naive_rate:.1f}x (goal >= 5x); "
          f"floor / ppnb: {floor_rate / ppnb_rate:.2f}x (goal <= 2x)")
    print(f"tables: {got:,} invoices, {len(tables.items):,} items, "
          f"{len(tables.payments):,} payments, {len(tables.refunds):,} refunds; "
          f"full pull used {full_requests:,} requests")
    print(f"sync: first {first.mode} {first.requests:,} requests; after {counts} "
          f"the incremental sync used {again.requests:,} requests = "
          f"{again.requests / first.requests:.1%} of a full pull (goal <= 10%)")
    same = (again.tables.invoices.sort_values("id", ignore_index=True)
            .equals(check.invoices.sort_values("id", ignore_index=True)))
    print(f"merged snapshot equals a fresh full pull: {same}")
    return [
        {"figure": f"pull {got:,} invoices (ppnb.fetch_tables), inv/s", "value": ppnb_rate,
         "baseline": "naive: pages of 20 + json_normalize", "baseline_value": naive_rate,
         "goal": ">= 5x"},
        {"figure": "  the same pages, orjson.loads only (floor), inv/s", "value": floor_rate,
         "baseline": "ppnb.fetch_tables", "baseline_value": ppnb_rate, "goal": "ppnb within 2x"},
        {"figure": "re-sync after ~1% changed, requests", "value": again.requests,
         "baseline": "full pull", "baseline_value": first.requests, "goal": "<= 10%",
         "lower_is_better": True},
    ]


if __name__ == "__main__":
    main()
