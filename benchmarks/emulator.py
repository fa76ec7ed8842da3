"""Emulator throughput over loopback, against the slow path it replaces.

Run: ``python -m benchmarks.emulator [--invoices 100000]``

Prints, each with its baseline measured in the same run:

* search pages of 100 out of an N-invoice store, served by one uvicorn worker
  (target ≥ 20,000 invoices/s), against a naive search that loads every stored invoice,
  parses, filters, sorts and re-serialises it in Python;
* single-invoice GET and create requests per second (target ≥ 500/s each).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

from ppnb.emulator import Emulator

CLIENT = ("bench-merchant", "bench-secret-0123456789abcdef")
CUSTOMERS = [f"customer{i:03d}@example.com" for i in range(200)]


def body(i: int) -> dict:
    rng = random.Random(i)
    currency = rng.choice(["USD", "USD", "EUR", "GBP", "JPY"])
    cents = rng.randint(100, 500000)
    unit = str(cents // 100) if currency == "JPY" else f"{cents // 100}.{cents % 100:02d}"
    return {
        "detail": {"currency_code": currency, "invoice_number": f"B-{i:07d}",
                   "invoice_date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                   "payment_term": {
                       "term_type": rng.choice(["NET_30", "NET_60", "DUE_ON_RECEIPT"])},
                   "reference": f"PO-{rng.randint(1, 9999)}"},
        "primary_recipients": [{"billing_info": {
            "email_address": rng.choice(CUSTOMERS),
            "name": {"given_name": "Ada", "surname": "Lovelace"},
            "business_name": "Analytical Engines"}}],
        "items": [{"name": f"Item {k}", "quantity": str(rng.randint(1, 5)),
                   "unit_amount": {"currency_code": currency, "value": unit},
                   "tax": {"name": "VAT", "percent": "20"}} for k in range(rng.randint(1, 3))],
    }


def seed(db: Path, n: int) -> float:
    """Create ``n`` invoices through the service (the same rules as HTTP); returns invoices/s."""
    emulator = Emulator(db, merchants=[CLIENT], seed=1)
    service, merchant = emulator.service, emulator.merchant()
    start = time.perf_counter()
    for lo in range(0, n, 5000):
        with service.store.transaction():
            for i in range(lo, min(n, lo + 5000)):
                service.create_invoice(merchant, body(i))
    rate = n / (time.perf_counter() - start)
    emulator.close()
    return rate


def naive_search_rate(db: Path, pages: int) -> float:
    """The path the indexed search replaced: parse every invoice, filter and sort in Python."""
    emulator = Emulator(db, merchants=[CLIENT])
    store, merchant = emulator.store, emulator.merchant()
    start = time.perf_counter()
    served = 0
    for page in range(1, pages + 1):
        docs = [orjson.loads(r[0]) for r in store.all(
            "SELECT doc FROM invoices WHERE merchant = ?", (merchant.payer_id,))]
        docs = [d for d in docs if d["status"] != "CANCELLED"]
        docs.sort(key=lambda d: d["detail"]["metadata"]["create_time"], reverse=True)
        chunk = docs[(page - 1) * 100: page * 100]
        orjson.dumps({"items": chunk, "total_items": len(docs)})
        served += len(chunk)
    rate = served / (time.perf_counter() - start)
    emulator.close()
    return rate


def offset_search_rate(db: Path, pages: int) -> float:
    """The indexed search without the remembered result list: LIMIT/OFFSET per page."""
    emulator = Emulator(db, merchants=[CLIENT])
    store, merchant = emulator.store, emulator.merchant()
    total = store.one("SELECT COUNT(*) FROM invoices")[0]
    rng = random.Random(3)
    start = time.perf_counter()
    served = 0
    for _ in range(pages):
        offset = rng.randrange(0, max(1, total - 100))
        rows = store.all(
            "SELECT summary FROM invoices WHERE seq IN (SELECT seq FROM invoices WHERE "
            "merchant = ? ORDER BY seq DESC LIMIT 100 OFFSET ?) ORDER BY seq DESC",
            (merchant.payer_id, offset))
        store.one("SELECT COUNT(*) FROM invoices WHERE merchant = ?", (merchant.payer_id,))
        b"[" + b",".join(r[0] for r in rows) + b"]"  # the page body, as the server builds it
        served += len(rows)
    rate = served / (time.perf_counter() - start)
    emulator.close()
    return rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Path, port: int, env_file: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", str(port), "--db",
         str(db), "--merchant", f"{CLIENT[0]}:{CLIENT[1]}", "--env-file", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    banner = b""
    while b"set -a" not in banner:  # the socket listens before this line is printed
        chunk = proc.stdout.readline()
        if not chunk:
            raise RuntimeError(f"emulator failed to start: {banner.decode()}")
        banner += chunk
    return proc


def timed(label: str, count: int, fn, threads: int = 1) -> float:
    start = time.perf_counter()
    if threads == 1:
        for i in range(count):
            fn(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, range(count)))
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> list[dict]:
    """Measure, print the table, and return the figures for ``python -m benchmarks``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    n = args.invoices
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        print(f"seeding {n:,} invoices through the service ...", flush=True)
        seed_rate = seed(db, n)
        port = free_port()
        proc = serve(db, port, Path(tmp) / "bench.env")
        base = f"http://127.0.0.1:{port}"
        try:
            token = httpx.post(f"{base}/v1/oauth2/token", auth=CLIENT,
                               data={"grant_type": "client_credentials"}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            local = threading.local()

            def request(method: str, path: str, payload: bytes | None = None) -> tuple[int,
                                                                                       bytes]:
                """One keep-alive request with http.client: a lean load generator."""
                if not hasattr(local, "conn"):
                    local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                sent = {**headers, "Content-Type": "application/json"} if payload else headers
                local.conn.request(method, path, body=payload, headers=sent)
                response = local.conn.getresponse()
                return response.status, response.read()

            pages = min(1000, -(-n // 100))
            order = list(range(1, pages + 1))
            random.Random(7).shuffle(order)

            def search_page(i: int) -> None:
                status, data = request("POST", f"/v2/invoicing/search-invoices?page="
                                       f"{order[i % pages]}&page_size=100", b"{}")
                assert status == 200 and data.count(b'"id":"INV2-') == 100

            search_pages = min(pages, 300)
            search_1 = timed("search", search_pages, search_page) * 100
            search_2 = timed("search", search_pages, search_page, threads=2) * 100
            ids = [d["id"] for d in orjson.loads(request(
                "POST", "/v2/invoicing/search-invoices?page_size=100", b"{}")[1])["items"]]

            def get_one(i: int) -> None:
                status, _ = request("GET", f"/v2/invoicing/invoices/{ids[i % len(ids)]}")
                assert status == 200

            payloads = [orjson.dumps(body(n + 10 + i)) for i in range(2 * args.requests)]

            def create_one(i: int) -> None:
                status, data = request("POST", "/v2/invoicing/invoices", payloads[i])
                assert status == 201, data

            def create_more(i: int) -> None:
                create_one(args.requests + i)

            gets_1 = timed("get", args.requests, get_one)
            gets_2 = timed("get", args.requests, get_one, threads=2)
            creates_1 = timed("create", args.requests, create_one)
            creates_2 = timed("create", args.requests, create_more, threads=2)
        finally:
            proc.terminate()
            proc.wait(10)
        naive = naive_search_rate(db, pages=3 if n >= 50_000 else 10)
        offset = offset_search_rate(db, pages=200)

    cpu = os.cpu_count()
    print()
    print(f"emulator benchmark: {n:,} invoices, one uvicorn worker, loopback, {cpu} cores")
    print(f"{'figure':<48}{'value':>14}{'target':>10}")
    rows = [
        ("seed through the service (invoices/s)", seed_rate, None),
        ("search, page_size 100, 1 client (invoices/s)", search_1, 20_000),
        ("search, page_size 100, 2 clients (invoices/s)", search_2, 20_000),
        ("baseline: naive Python-scan search (invoices/s)", naive, None),
        ("baseline: OFFSET paging, in-process (invoices/s)", offset, None),
        ("GET one invoice, 1 client (req/s)", gets_1, 500),
        ("GET one invoice, 2 clients (req/s)", gets_2, 500),
        ("create invoice, 1 client (req/s)", creates_1, 500),
        ("create invoice, 2 clients (req/s)", creates_2, 500),
    ]
    for label, value, target in rows:
        mark = "" if target is None else ("ok" if value >= target else "MISS")
        print(f"{label:<48}{value:>14,.0f}{(f'{target:,}' if target else ''):>10} {mark}")
    best = max(search_1, search_2)
    print(f"ratio served search / naive scan: {best / naive:,.0f}x; "
          f"/ OFFSET paging (in-process, no HTTP): {best / offset:,.1f}x")
    return [
        {"figure": f"emulator search, pages of 100 ({n:,} stored), inv/s", "value": best,
         "baseline": "naive Python-scan search", "baseline_value": naive, "goal": ">= 20,000"},
        {"figure": "emulator GET one invoice, req/s", "value": max(gets_1, gets_2),
         "baseline": "", "baseline_value": None, "goal": ">= 500"},
        {"figure": "emulator create invoice, req/s", "value": max(creates_1, creates_2),
         "baseline": "", "baseline_value": None, "goal": ">= 500"},
    ]


if __name__ == "__main__":
    main()
