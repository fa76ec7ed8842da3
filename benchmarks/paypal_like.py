"""Pulls as an analyst does them against PayPal: invoices only, and under PayPal's latency.

Run: ``python -m benchmarks.paypal_like [--invoices 15000] [--concurrency 6]``

The emulator (one uvicorn worker, its own process) serves a realistic book (``benchmarks.pull``:
mostly paid, some open, partly paid, cancelled or refunded). The baseline is the naive analyst
loop: sequential ``GET /v2/invoicing/invoices`` pages of 20 (whole invoices, the list's
default), then ``pd.json_normalize``.

* **Invoices only, over loopback**: :func:`ppnb.fetch_invoices` (concurrent pages of 100 of
  search summaries, no collections downloaded) against the naive loop. Goal ≥ 5×.
* **Under PayPal-like latency** (the emulator's latency injection, 200–300 ms per call):
  :func:`ppnb.fetch_tables` against the naive loop (goal ≥ 20×), and against the floor set by
  the requests themselves: pages ÷ concurrency × mean latency (goal within 1.3×). The naive
  loop would need minutes here, so it is timed on its first pages and scaled linearly to the
  whole book (said in the output).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd

from benchmarks.emulator import CLIENT, free_port, serve
from benchmarks.pull import seed_book
from ppnb.client import Client
from ppnb.emulator import Control
from ppnb.pager import fetch_invoices, fetch_tables

LATENCY_MS = (200, 300)


def naive_list(base: str, headers: dict[str, str], max_pages: int | None = None
               ) -> tuple[int, float]:
    """Sequential list pages of 20, then ``pd.json_normalize``: invoices and seconds."""
    start = time.perf_counter()
    rows: list[dict] = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        page = 1
        while max_pages is None or page <= max_pages:
            items = http.get("/v2/invoicing/invoices",
                             params={"page": page, "page_size": 20}).json()["items"]
            rows += items
            if len(items) < 20:
                break
            page += 1
    pd.json_normalize(rows)
    return len(rows), time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=15_000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--naive-pages", type=int, default=40,
                        help="pages of the naive loop timed under latency (then scaled)")
    args = parser.parse_args(argv)
    n, conc = args.invoices, args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "book.sqlite"
        print(f"seeding a {n:,}-invoice book ...", flush=True)
        seed_book(db, n)
        port = free_port()
        proc = serve(db, port, Path(tmp) / "env")
        base = f"http://127.0.0.1:{port}"
        try:
            client = Client(base, *CLIENT, max_connections=conc + 2)
            headers = {"Authorization": f"Bearer {client.get_token()['access_token']}"}
            naive_rows, naive_s = naive_list(base, headers)
            t0 = time.perf_counter()
            invoices = fetch_invoices(client, concurrency=conc, progress=False)
            only_s = time.perf_counter() - t0

            with Control.from_env_file(Path(tmp) / "env") as control:
                control.set_faults(latency_ms=list(LATENCY_MS), seed=1)
            before = client.stats["requests"]
            t0 = time.perf_counter()
            tables = fetch_tables(client, concurrency=conc, progress=False)
            slow_s = time.perf_counter() - t0
            slow_requests = client.stats["requests"] - before
            sample_rows, sample_s = naive_list(base, headers, args.naive_pages)
        finally:
            proc.terminate()
            proc.wait(10)

    got = len(invoices)
    assert got == len(tables.invoices) == naive_rows, (got, len(tables.invoices), naive_rows)
    naive_rate, only_rate = naive_rows / naive_s, got / only_s
    pages = -(-got // 100)
    mean_latency = sum(LATENCY_MS) / 2000
    floor_s = pages / conc * mean_latency
    naive_slow_s = sample_s * naive_rows / sample_rows  # scaled from the timed pages
    print()
    print(f"invoices-only pull: {got:,} invoices over loopback")
    print(f"{'way':<52}{'seconds':>9}{'inv/s':>10}")
    print(f"{'naive: GET list pages of 20 + json_normalize':<52}{naive_s:>9.1f}"
          f"{naive_rate:>10,.0f}")
    print(f"{'ppnb: fetch_invoices (6 in flight, 100/page, no collections)':<52}"
          f"{only_s:>9.1f}{only_rate:>10,.0f}")
    print(f"fetch_invoices / naive: {only_rate / naive_rate:.1f}x (goal >= 5x)")
    print()
    print(f"under {LATENCY_MS[0]}-{LATENCY_MS[1]} ms per call: {got:,} invoices, "
          f"{len(tables.items):,} items, {len(tables.payments):,} payments, "
          f"{len(tables.refunds):,} refunds")
    print(f"  naive loop: {sample_rows:,} invoices ({args.naive_pages} pages) took "
          f"{sample_s:.1f} s; scaled to {naive_rows:,}: {naive_slow_s:.0f} s")
    print(f"  ppnb fetch_tables: {slow_s:.1f} s in {slow_requests} requests")
    print(f"  floor: {pages} pages / {conc} in flight x {mean_latency * 1000:.0f} ms = "
          f"{floor_s:.1f} s")
    print(f"  fetch_tables vs naive: {naive_slow_s / slow_s:.1f}x (goal >= 20x); "
          f"vs floor: {slow_s / floor_s:.2f}x (goal <= 1.3x)")
    return [
        {"figure": f"invoices-only pull of {got:,} (fetch_invoices), inv/s", "value": only_rate,
         "baseline": "naive: GET list pages of 20 + normalize", "baseline_value": naive_rate,
         "goal": ">= 5x"},
        {"figure": f"fetch_tables under {LATENCY_MS[0]}-{LATENCY_MS[1]} ms latency, s",
         "value": slow_s, "baseline": "naive loop (scaled)", "baseline_value": naive_slow_s,
         "goal": ">= 20x", "lower_is_better": True},
        {"figure": "  its time / floor (pages / concurrency x latency)",
         "value": slow_s / floor_s, "baseline": f"floor {floor_s:.1f} s", "baseline_value": None,
         "goal": "<= 1.3"},
    ]


if __name__ == "__main__":
    main()
