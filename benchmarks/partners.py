"""A partner's merchants synced three ways under PayPal-like latency.

Run: ``python -m benchmarks.partners [--merchants 200] [--invoices 500] [--latency 200,300]``

The emulator (its own process, one uvicorn worker) holds ``merchants`` books of
``invoices`` invoices each, seeded through the service (:func:`ppnb.emulator._fleet
.seed_fleet`), and delays every API call by a uniform 200–300 ms. Every merchant granted the
partner app. Each way pulls every book in full into a fresh folder:

* **sequential**: a plain notebook loop, ``ppnb.sync(partner.acting_for(payer_id=m), ...)``
  one merchant after the other (each pull still fetches its pages concurrently);
* **one Dask worker**: :func:`ppnb.partners.sync` on a ``LocalCluster`` of one worker
  process with ``--threads`` threads (merchants in flight);
* **two Dask workers**: the same with two worker processes.

Printed: seconds, merchants per second, speed-up over the sequential loop, and requests per
merchant (retries included). Cluster start-up is timed apart from the sync.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from distributed import Client as DaskClient
from distributed import LocalCluster

import ppnb.partners as partners
from benchmarks.emulator import free_port
from ppnb.client import Client
from ppnb.emulator import Clock, Emulator
from ppnb.emulator._fleet import Fleet, seed_fleet
from ppnb.snapshot import load, sync

TODAY = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)


def seed(db: Path, merchants: int, invoices: int) -> tuple[Fleet, float]:
    """The fleet's books on disk; returns the fleet and invoices seeded per second."""
    emulator = Emulator(db, clock=Clock(TODAY, frozen=True), seed=1)
    start = time.perf_counter()
    fleet = seed_fleet(emulator, merchants, invoices, seed=2)
    rate = merchants * invoices / (time.perf_counter() - start)
    emulator.close()
    return fleet, rate


def serve_with_latency(db: Path, latency: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """``ppnb emulator serve`` on ``db`` with every API call delayed; returns it and its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", str(port), "--db",
         str(db), "--latency-ms", latency, "--env-file", str(folder / "emulator.env")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the emulator did not start listening within 60 s")


def sequential(partner: Client, ids: list[str], folder: Path, concurrency: int
               ) -> tuple[float, list[int]]:
    """The plain loop; returns seconds and requests per merchant."""
    start = time.perf_counter()
    requests = [sync(partner.acting_for(payer_id=m), folder / m, concurrency=concurrency,
                     page_size=100, progress=False).requests for m in ids]
    return time.perf_counter() - start, requests


def on_dask(partner: Client, ids: list[str], folder: Path, workers: int, threads: int,
            concurrency: int) -> tuple[float, float, pd.DataFrame]:
    """:func:`ppnb.partners.sync` on a fresh LocalCluster; returns start-up and sync seconds
    and the result table."""
    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            DaskClient(cluster) as client:
        client.run(lambda: __import__("ppnb.partners"))  # workers warm, as in a live session
        ready = time.perf_counter()
        result = partners.sync(partner, ids, folder, client=client, concurrency=concurrency,
                               progress=False)
        done = time.perf_counter()
    if not (result["outcome"] == "synced").all():
        raise RuntimeError(f"not every merchant synced:\n{result[result.outcome != 'synced']}")
    return ready - start, done - ready, result


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency", default="200,300", help="MIN,MAX ms per API call")
    parser.add_argument("--threads", type=int, default=8, help="threads per Dask worker")
    parser.add_argument("--concurrency", type=int, default=4, help="pages in flight a merchant")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"seeding {args.merchants} merchants x {args.invoices} invoices through the "
              "service ...", flush=True)
        fleet, seed_rate = seed(root / "fleet.sqlite", args.merchants, args.invoices)
        print(f"  {seed_rate:,.0f} invoices/s", flush=True)
        proc, base = serve_with_latency(root / "fleet.sqlite", args.latency, root)
        try:
            partner = Client(base, fleet.partner.client_id, fleet.partner.client_secret,
                             max_connections=args.concurrency + 2)
            ids = fleet.payer_ids
            print("sequential loop ...", flush=True)
            loop_s, loop_requests = sequential(partner, ids, root / "loop", args.concurrency)
            runs = {}
            for workers in (1, 2):
                print(f"{workers} Dask worker(s) x {args.threads} threads ...", flush=True)
                runs[workers] = on_dask(partner, ids, root / f"dask{workers}", workers,
                                        args.threads, args.concurrency)
            same = all(partners.load(root / "dask2", m).invoices.sort_values("id").equals(
                load(root / "loop" / m).invoices.sort_values("id")) for m in ids)
        finally:
            proc.terminate()
            proc.wait(10)

    n = len(ids)
    print()
    print(f"partners benchmark: {n} merchants x {args.invoices} invoices, "
          f"{args.latency} ms per API call, {args.concurrency} pages in flight a merchant")
    print(f"{'way':<34}{'start s':>8}{'sync s':>9}{'merchants/s':>13}{'speed-up':>10}"
          f"{'requests/merchant':>19}")
    rows = [("sequential loop (ppnb.sync)", 0.0, loop_s, sum(loop_requests) / n)]
    rows += [(f"{w} Dask worker{'s' if w > 1 else ''} x {args.threads} threads", up, secs,
              result["requests"].sum() / n) for w, (up, secs, result) in runs.items()]
    for label, up, secs, per in rows:
        print(f"{label:<34}{up:>8.1f}{secs:>9.1f}{n / secs:>13.2f}{loop_s / secs:>9.1f}x"
              f"{per:>19.1f}")
    print(f"every merchant's invoices equal between the loop and two Dask workers: {same}")
    return [
        {"figure": f"{n} merchants synced, 1 Dask worker x {args.threads} threads, s",
         "value": runs[1][1], "baseline": "sequential ppnb.sync loop", "baseline_value": loop_s,
         "lower_is_better": True},
        {"figure": f"{n} merchants synced, 2 Dask workers x {args.threads} threads, s",
         "value": runs[2][1], "baseline": "sequential ppnb.sync loop", "baseline_value": loop_s,
         "lower_is_better": True},
    ]


if __name__ == "__main__":
    main()
