"""Flattening invoices into DataFrames: ``ppnb.frames.flatten`` against ``pd.json_normalize``.

Run: ``python -m benchmarks.flatten [--invoices 100000] [--repeat 3]``

The invoices are shaped exactly like the emulator's search results with
``fields: ["items", "payments", "refunds"]``: a few hundred real ones are created, sent,
paid, refunded and cancelled through ``Emulator().service`` (the same rules as HTTP), read
back through its search, and then copied with fresh ids and numbers up to ``--invoices``.

The baseline is what a notebook user would write without ppnb: one ``json_normalize`` for
the invoices, plus one ``record_path`` call each for items, payment transactions and refund
transactions (over the invoices that carry them, since ``record_path`` fails on a missing
key). It leaves amounts as strings and dates as text; ``flatten`` also parses every amount
exactly into minor units and every date into datetime64, so the ratio understates the gap.
Each path is timed as the best of ``--repeat`` runs with the garbage collector paused, as
``timeit`` does. Target: flatten at least 5x faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd

from ppnb.emulator import Clock, Emulator
from ppnb.frames import flatten
from ppnb.money import format_amount, from_minor, to_minor

CLIENT = ("bench-merchant", "bench-secret-0123456789abcdef")
FIELDS = {"fields": ["items", "payments", "refunds"]}


def _item(rng: random.Random, currency: str, k: int) -> dict[str, Any]:
    cents = rng.randint(100, 200_000)
    value = str(cents) if currency == "JPY" else f"{cents // 100}.{cents % 100:02d}"
    item: dict[str, Any] = {
        "name": f"Service {k}",
        "quantity": rng.choice(["1", "2", "3", "1.5", "0.25"]),
        "unit_amount": {"currency_code": currency, "value": value},
        "unit_of_measure": rng.choice(["QUANTITY", "HOURS", "AMOUNT"]),
    }
    if rng.random() < 0.6:
        item["tax"] = {"name": "VAT", "percent": rng.choice(["20", "7.5", "0"])}
    if rng.random() < 0.3:
        item["discount"] = {"percent": rng.choice(["5", "10"])}
    if rng.random() < 0.5:
        item["description"] = "Work done as agreed"
    return item


def _body(rng: random.Random, i: int) -> dict[str, Any]:
    currency = rng.choice(["USD", "USD", "EUR", "GBP", "JPY"])
    detail: dict[str, Any] = {
        "currency_code": currency,
        "invoice_number": f"BASE-{i:05d}",
        "payment_term": {"term_type": rng.choice(["NET_30", "NET_60", "DUE_ON_RECEIPT"])},
    }
    if rng.random() < 0.7:
        detail["reference"] = f"PO-{rng.randint(1, 9999)}"
    if rng.random() < 0.3:
        detail["memo"] = "Thank you for your business"
    body: dict[str, Any] = {
        "detail": detail,
        "items": [_item(rng, currency, k) for k in range(rng.randint(1, 4))],
    }
    if rng.random() < 0.95:
        name = ({"given_name": "Ada", "surname": f"Lovelace{rng.randint(1, 200)}"}
                if rng.random() < 0.8 else {"full_name": "Charles Babbage"})
        body["primary_recipients"] = [{"billing_info": {
            "email_address": f"customer{rng.randint(1, 200):03d}@example.com",
            "name": name, "business_name": "Analytical Engines Ltd"}}]
    return body


def _third(money: dict[str, str]) -> dict[str, str]:
    """A third of a money object (at least one minor unit), spelled exactly."""
    currency = money["currency_code"]
    part = max(1, to_minor(money["value"], currency) // 3)
    return {"currency_code": currency,
            "value": format_amount(from_minor(part, currency), currency)}


def real_invoices(count: int = 400, seed: int = 7) -> list[bytes]:
    """Create ``count`` invoices through the emulator's service, through their lifecycles.

    Returns each invoice as the emulator's search serves it (JSON bytes), newest first.
    """
    rng = random.Random(seed)
    clock = Clock(dt.datetime(2024, 1, 2, 9, tzinfo=dt.UTC), frozen=True)
    emulator = Emulator(merchants=[CLIENT], clock=clock, seed=seed)
    service, merchant = emulator.service, emulator.merchant()
    for i in range(count):
        clock.advance(seconds=rng.randint(600, 40_000))
        invoice_id = orjson.loads(service.create_invoice(merchant, _body(rng, i)))["id"]
        fate = rng.random()
        if fate < 0.1:
            continue  # stays a draft
        service.send_invoice(merchant, invoice_id, {})
        clock.advance(seconds=rng.randint(3600, 400_000))
        if fate < 0.2:
            service.cancel_invoice(merchant, invoice_id, {})
        elif fate < 0.45:
            continue  # sent, unpaid
        else:
            if fate < 0.65:  # a part payment, maybe followed by the rest
                due = orjson.loads(service.get_invoice(merchant, invoice_id))["due_amount"]
                service.record_payment(merchant, invoice_id, {
                    "method": "BANK_TRANSFER", "note": "first instalment", "amount": _third(due)})
                if fate < 0.55:
                    continue
                clock.advance(days=rng.randint(1, 20))
            service.record_payment(merchant, invoice_id, {"method": rng.choice(
                ["BANK_TRANSFER", "CASH", "CHECK", "WIRE_TRANSFER"])})
            if fate > 0.9:  # refunded, in full or in part
                clock.advance(days=rng.randint(1, 10))
                refund: dict[str, Any] = {"method": "BANK_TRANSFER"}
                if fate > 0.95:
                    paid = orjson.loads(service.get_invoice(merchant, invoice_id))["payments"]
                    refund["amount"] = _third(paid["paid_amount"])
                service.record_refund(merchant, invoice_id, refund)
    docs: list[bytes] = []
    page = 1
    while True:
        found, _, more = service.search(merchant, FIELDS, page=page, page_size=100)
        docs += found
        if not more:
            break
        page += 1
    emulator.close()
    return docs


def make_invoices(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` distinct invoice dicts, copies of real emulator output with fresh ids and numbers."""
    bases = real_invoices(seed=seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        doc = orjson.loads(bases[i % len(bases)])
        doc["id"] = f"INV2-BNCH-{i // 10**8:04d}-{i // 10**4 % 10**4:04d}-{i % 10**4:04d}"
        doc["detail"]["invoice_number"] = f"B-{i:08d}"
        for key, id_key in (("payments", "payment_id"), ("refunds", "refund_id")):
            for t in (doc.get(key) or {}).get("transactions", ()):
                t[id_key] = f"{t[id_key][:13]}{i:08d}"
        out.append(doc)
    return out


def naive(invoices: list[dict[str, Any]]) -> list[pd.DataFrame]:
    """What a notebook user writes without ppnb: json_normalize plus three record paths."""
    return [
        pd.json_normalize(invoices),
        pd.json_normalize([d for d in invoices if d.get("items")], record_path="items",
                          meta=["id"], record_prefix="item."),
        pd.json_normalize([d for d in invoices if "transactions" in d.get("payments", {})],
                          record_path=["payments", "transactions"], meta=["id"],
                          record_prefix="payment."),
        pd.json_normalize([d for d in invoices if "transactions" in d.get("refunds", {})],
                          record_path=["refunds", "transactions"], meta=["id"],
                          record_prefix="refund."),
    ]


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, object]:
    """The fastest of ``repeat`` timed runs (garbage collection off while timing), and a result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times), result


def main(argv: list[str] | None = None) -> list[dict]:
    """Generate the invoices, time both paths, print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    invoices = make_invoices(args.invoices)
    print(f"generated {len(invoices):,} invoices in {time.perf_counter() - start:.1f} s")

    naive_s, frames = best_of(args.repeat, lambda: naive(invoices))
    ours_s, tables = best_of(args.repeat, lambda: flatten(invoices))
    rows = [len(df) for df in frames]  # type: ignore[union-attr]
    ours = [len(df) for df in tables]  # type: ignore[union-attr]
    if rows != ours:
        raise SystemExit(f"row counts differ: json_normalize {rows}, flatten {ours}")

    print(f"\nrows: {ours[0]:,} invoices, {ours[1]:,} items, {ours[2]:,} payments, "
          f"{ours[3]:,} refunds (best of {args.repeat})\n")
    print(f"| {'path':<48} | {'seconds':>8} | {'invoices/s':>11} |")
    print(f"|{'-' * 50}|{'-' * 9}:|{'-' * 12}:|")
    for label, seconds in (("pd.json_normalize + 3 record_path calls", naive_s),
                           ("ppnb.frames.flatten (typed, exact minor units)", ours_s)):
        print(f"| {label:<48} | {seconds:8.3f} | {len(invoices) / seconds:11,.0f} |")
    print(f"\nflatten is {naive_s / ours_s:.1f}x faster than json_normalize (target >= 5x)")
    return [{"figure": f"flatten {len(invoices):,} invoices into 4 tables, s", "value": ours_s,
             "baseline": "pd.json_normalize", "baseline_value": naive_s, "goal": ">= 5x",
             "lower_is_better": True}]


if __name__ == "__main__":
    main()
