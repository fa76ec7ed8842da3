"""The demo book: its parameters (package data), its date, its templates, and
:func:`seed_demo`, which plans the whole book and runs it through the API."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ..client import Client
from ._plan import CURRENCIES, TEMPLATES, Customer, money, plan_demo
from ._plan import customers as make_customers
from ._report import SeedError, SeedReport
from ._run import WORKERS, create_or_find, run

__all__ = ["DEMO_DEFAULTS", "DEMO_FILE", "demo_params", "seed_demo"]

#: The notebooks' default book, package data (a wheel carries it): ``ppnb/data/demo.json``.
DEMO_FILE: Traversable = resources.files("ppnb") / "data" / "demo.json"
_NAMES = ("invoices", "customers", "seed", "months")


def _read(source: Traversable | Path, *, whole: bool) -> dict[str, int]:
    """A JSON object of demo parameters (all four when ``whole``), or a SeedError."""
    try:
        loaded = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"cannot read demo parameters from {source}: {exc}") from None
    if not isinstance(loaded, dict) or set(loaded) - set(_NAMES) or not all(
            type(v) is int for v in loaded.values()) or (whole and set(loaded) != set(_NAMES)):
        raise SeedError(f"{source}: expected integers for {', '.join(_NAMES)}")
    return loaded


#: The demo book's parameters as :data:`DEMO_FILE` gives them (2,000 invoices, 120
#: customers, seed 7, 18 months).
DEMO_DEFAULTS: dict[str, int] = _read(DEMO_FILE, whole=True)


def demo_params(path: str | Path | None = None, **overrides: int | None) -> dict[str, int]:
    """The demo book's generator parameters.

    Starts from :data:`DEMO_DEFAULTS` (the package's ``data/demo.json``), then the JSON file
    ``path`` if given (any of ``invoices``, ``customers``, ``seed``, ``months``), then the
    non-None ``overrides``.

    Raises
    ------
    SeedError
        If the file cannot be read or is not a JSON object of known integer parameters.
    """
    params = dict(DEMO_DEFAULTS)
    if path is not None:
        params.update(_read(Path(path), whole=False))
    params.update({k: v for k, v in overrides.items() if v is not None})
    return params


def _book_date(client: Client, customer: Customer, seed: int,
               today: dt.date | None) -> tuple[dt.date, str]:
    """Create invoice 0 of the book, a draft dated today, and read the book's date from it.

    Without ``today``, the draft is created without ``invoice_date``, which the server (the
    emulator, like PayPal) fills in with its current date: no clock endpoint is needed. If
    the draft exists from an earlier run, its date is that run's book date, so the book
    resumes unchanged. Returns the date and ``created`` or ``skipped``.
    """
    detail: dict[str, Any] = {"invoice_number": f"DEMO{seed}-00000",
                              "currency_code": customer.currency,
                              "payment_term": {"term_type": customer.term},
                              "memo": "next month's retainer, to be sent"}
    if today is not None:
        detail["invoice_date"] = today.isoformat()
    unit = Decimal(1500) * CURRENCIES[customer.currency][1]
    doc, created = create_or_find(client, {
        "detail": detail,
        "primary_recipients": [{"billing_info": {"business_name": customer.name,
                                                 "email_address": customer.email}}],
        "items": [{"name": "Retainer", "quantity": "1",
                   "unit_amount": money(unit, customer.currency)}]})
    return dt.date.fromisoformat(doc["detail"]["invoice_date"]), (
        "created" if created else "skipped")


def _ensure_templates(client: Client, seed: int) -> tuple[list[dict[str, Any]], int]:
    """The demo's templates, created through the API unless they already exist."""
    wanted = {f"{name} (demo {seed})": (currency, term, lines)
              for name, currency, term, lines in TEMPLATES}
    existing = {t["name"]: t for t in client.templates.list(page_size=100)["templates"]
                if t["name"] in wanted}
    created = 0
    for name, (currency, term, lines) in wanted.items():
        if name in existing:
            continue
        made = client.templates.create({"name": name, "template_info": {
            "detail": {"currency_code": currency, "payment_term": {"term_type": term},
                       "note": f"{name.split(' (')[0]}: thank you for your business.",
                       "memo": f"from template {name}"},
            "items": [{"name": item, "quantity": str(qty),
                       "unit_amount": {"currency_code": currency, "value": price}}
                      for item, qty, price in lines]}})
        existing[name] = client.templates.get(made["id"])
        created += 1
    return [existing[name] for name in wanted], created


def seed_demo(
    client: Client,
    *,
    invoices: int = DEMO_DEFAULTS["invoices"],
    customers: int = DEMO_DEFAULTS["customers"],
    seed: int = DEMO_DEFAULTS["seed"],
    months: int = DEMO_DEFAULTS["months"],
    today: dt.date | None = None,
    workers: int = WORKERS,
    progress: bool = False,
) -> SeedReport:
    """Build a realistic receivables book through the API.

    Parameters
    ----------
    client
        Where to write (the emulator, or a PayPal sandbox account).
    invoices, customers
        Book size. Invoice ``DEMO{seed}-00000`` is a draft dated the book's date; the others
        are numbered ``DEMO{seed}-00001`` upwards in date order.
    seed
        Seeds ``random.Random``: the same parameters and book date give the same invoice
        numbers, amounts, statuses and payment dates.
    months
        How far back the book reaches from its date.
    today
        The book's date. By default the server's: invoice 0 is a draft created without a
        date, which the server dates today (or, on a later run, the date it got then).
    workers
        Concurrent requests (the client is thread-safe).
    progress
        Show a tqdm bar on stderr.

    Returns
    -------
    SeedReport
        Counts of created / skipped invoices and final statuses.

    Notes
    -----
    Customers have a behaviour (prompt, late, partial, never, disputer), a currency, a
    usual term and a size; customer sizes and invoice amounts are lognormal and customer
    volumes Pareto, so a few customers and invoices dominate. About 4% of invoices stay
    drafts, 2% are scheduled (dated up to 30 days ahead), 4% are cancelled, and some are
    built from three templates created first (``configuration.template_id`` is set and the
    template's memo, note, term and items are used). Payments and refunds are recorded
    with explicit dates; those that would fall after the book's date have not happened yet,
    which leaves open and overdue invoices.
    """
    if invoices < 1 or customers < 1 or months < 1:
        raise SeedError("invoices, customers and months must be at least 1")
    started = time.monotonic()
    params = {"invoices": invoices, "customers": customers, "seed": seed, "months": months}
    report = SeedReport("demo")
    templates, report.templates = _ensure_templates(client, seed)
    rng = random.Random(seed)
    people = make_customers(rng, customers)
    report.as_of, outcome = _book_date(client, people[0], seed, today)
    setattr(report, outcome, getattr(report, outcome) + 1)
    if outcome == "created":
        report.by_status["DRAFT"] += 1
    plans = plan_demo(rng, people, params, report.as_of, templates)
    run(client, plans, report, workers=workers, progress=progress, done=1)
    report.seconds = time.monotonic() - started
    return report
