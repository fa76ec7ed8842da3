"""Running plans through the API: create or find each invoice, then send, pay, refund or
cancel what is still to do, on a thread pool; and seeding from a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from .._progress import progress_bar
from ..client import Client, InvalidRequest
from ._report import Plan, SeedError, SeedReport

__all__ = ["WORKERS", "create_or_find", "run", "seed_elsewhere"]

WORKERS = 16  # the Client's default connection pool


def create_or_find(client: Client, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create the invoice, or find the one that already has its number.

    Returns the invoice and whether this call created it.
    """
    try:
        return client.invoices.create(body), True
    except InvalidRequest as exc:
        if "DUPLICATE_INVOICE_NUMBER" not in exc.issues:
            raise
    return _find(client, body["detail"]["invoice_number"]), False


def _execute(client: Client, plan: Plan, existing: dict[str, Any] | None) -> str:
    """Carry out a plan, finishing the invoice with the same number if one exists.

    Returns ``created``, ``resumed`` (existed half-done and was finished) or ``skipped``
    (existed with nothing left to do).
    """
    created = existing is None
    if existing is None:
        existing, created = create_or_find(client, plan.body)
    invoice_id, status = existing["id"], existing["status"]
    steps: list[Callable[[], Any]] = []
    if status == "DRAFT" and plan.send is not None:
        steps.append(lambda: client.invoices.send(invoice_id, plan.send))
    if status != "DRAFT" or plan.send is not None:
        paid = len((existing.get("payments") or {}).get("transactions", []))
        refunded = len((existing.get("refunds") or {}).get("transactions", []))
        steps += [lambda p=p: client.invoices.record_payment(invoice_id, p)
                  for p in plan.payments[paid:]]
        steps += [lambda r=r: client.invoices.record_refund(invoice_id, r)
                  for r in plan.refunds[refunded:]]
        if plan.cancel and status != "CANCELLED":
            steps.append(lambda: client.invoices.cancel(invoice_id, {"send_to_recipient": False}))
    for step in steps:
        step()
    if created:
        return "created"
    return "resumed" if steps else "skipped"


def _find(client: Client, number: str) -> dict[str, Any]:
    """The merchant's invoice with this number, with its payments and refunds."""
    found = client.invoices.search({"invoice_number": number,
                                    "fields": ["items", "payments", "refunds"]})["items"]
    if not found:
        raise SeedError(f"invoice number {number} is taken but cannot be found by search")
    return found[0]


def _book(client: Client, plans: list[Plan]) -> dict[str, dict[str, Any]]:
    """The merchant's invoices dated within the plans' dates, by number (a paged search).

    One search page of 100 answers for 100 invoices, so checking what already exists, and
    reading final statuses, costs about 1% of one request per invoice.
    """
    from ..pager import fetch_raw  # pandas is only loaded when seeding

    dates = [p.body["detail"]["invoice_date"] for p in plans]
    return {doc["detail"]["invoice_number"]: doc
            for doc in fetch_raw(client, invoice_date=(min(dates), max(dates)), progress=False)}


def run(client: Client, plans: list[Plan], report: SeedReport, *, workers: int,
        progress: bool, done: int = 0) -> None:
    """Execute plans on a thread pool; count outcomes and final statuses into ``report``.

    ``done`` invoices were handled before (the demo's invoice 0): the progress counts them
    too, so it ends at the number of invoices the report counts.
    """
    before = _book(client, plans)
    # a quiet bar where someone watches; whole lines in a log (a seed says how far it got)
    shown = progress_bar(show=None, log=True, total=done + len(plans),
                         desc=f"seed {report.dataset}", unit="invoices", initial=done) \
        if progress else None
    outcomes: dict[str, str] = {}

    def one(plan: Plan) -> None:
        outcomes[plan.number] = _execute(client, plan, before.get(plan.number))

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ppnb-seed") as pool:
            for future in as_completed([pool.submit(one, plan) for plan in plans]):
                future.result()
                if shown is not None:  # counted here, in one thread: the count is exact
                    shown.update()
    finally:
        if shown is not None:
            shown.close()
    counts = Counter(outcomes.values())
    report.created += counts["created"]
    report.skipped += counts["skipped"]
    report.resumed += counts["resumed"]
    if counts["created"] or counts["resumed"]:
        after = _book(client, plans)
        report.by_status.update(after[number]["status"] for number, outcome in outcomes.items()
                                if outcome != "skipped")


def seed_elsewhere(base_url: str, client_id: str, client_secret: str, argv: list[str]) -> None:
    """Run ``ppnb seed ARGV`` in a child process against ``base_url``.

    For an emulator served by a thread of this process: the child's requests are made on
    the other core instead of sharing one interpreter lock with the server, which makes
    seeding about twice as fast. The credentials go through the child's environment, never
    its command line. The child's progress lines (it writes to a pipe: no bar, see
    :mod:`._progress`) are relayed to this process's stderr and its summary printed here.

    Raises
    ------
    SeedError
        If the child fails; its error message is included.
    """
    env = {**os.environ, "PPNB_ENV": "emulator", "PPNB_BASE_URL": base_url,
           "PAYPAL_CLIENT_ID": client_id, "PAYPAL_CLIENT_SECRET": client_secret}
    child = subprocess.Popen([sys.executable, "-m", "ppnb.cli", "seed", *argv], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr, stdout = child.stderr, child.stdout  # both pipes, as asked
    errors = b""
    for chunk in iter(lambda: stderr.read1(4096), b""):  # type: ignore[union-attr]
        sys.stderr.write(chunk.decode(errors="replace"))
        errors = (errors + chunk)[-2000:]
    output = stdout.read().decode(errors="replace")  # type: ignore[union-attr]
    if child.wait() != 0:
        last = errors.decode(errors="replace").strip().splitlines()
        raise SeedError(f"seeding failed: {last[-1] if last else 'no message'}")
    print(output, end="", flush=True)
