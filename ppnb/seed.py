"""Seed data built through the Invoicing API: a generated demo book and the IBM sample.

Everything here goes through :class:`ppnb.Client` over HTTP (create, send, record payment,
refund, cancel, templates), so seeding exercises the same paths a user's code does and works
against the emulator, PayPal sandbox or live alike.

* :func:`seed_demo` builds a realistic receivables book from a few parameters: customers who
  pay promptly, late, in parts, never, or dispute and get refunded; USD, EUR, GBP and JPY;
  long-tailed amounts; every net term; drafts, scheduled, cancelled and template invoices.
  The whole book is planned from ``random.Random(seed)`` before the first request, so the
  same parameters always give the same invoice numbers, amounts, statuses and dates.
* :func:`seed_ibm` loads the IBM accounts-receivable sample CSV, every row checked before
  anything is written.

Both skip invoices whose number already exists (numbers are unique per merchant) and finish
one that an interrupted run left half-done (created but not sent or paid), so running a seed
twice never duplicates anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .client import Client, InvalidRequest
from .money import MoneyError, decimals, format_amount, parse_amount

__all__ = [
    "DEMO_DEFAULTS",
    "IBM_COLUMNS",
    "SeedError",
    "SeedReport",
    "demo_params",
    "seed_demo",
    "seed_elsewhere",
    "seed_ibm",
]

#: The notebooks' default book; ``data/demo.json`` in a source checkout mirrors/overrides it.
DEMO_DEFAULTS: dict[str, int] = {"invoices": 2000, "customers": 120, "seed": 7, "months": 18}
DEMO_FILE = Path(__file__).resolve().parents[1] / "data" / "demo.json"
#: The columns the IBM accounts-receivable sample must have.
IBM_COLUMNS = ("countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate",
               "DueDate", "InvoiceAmount", "Disputed", "SettledDate", "PaperlessBill",
               "DaysToSettle", "DaysLate")
WORKERS = 16  # the Client's default connection pool

TERMS = {"DUE_ON_RECEIPT": 0, "NET_10": 10, "NET_15": 15, "NET_30": 30, "NET_45": 45,
         "NET_60": 60, "NET_90": 90}
_TERM_WEIGHTS = (8, 6, 10, 40, 14, 14, 8)
_CURRENCIES = {"USD": (50, Decimal(1)), "EUR": (22, Decimal("0.92")),
               "GBP": (16, Decimal("0.79")), "JPY": (12, Decimal(150))}
_BEHAVIOURS = {"prompt": 40, "late": 25, "partial": 15, "never": 7, "disputer": 13}
_CATALOG = (("Consulting", "HOURS", 95), ("Implementation", "HOURS", 140),
            ("Training day", "QUANTITY", 1200), ("Support plan", "QUANTITY", 450),
            ("Software licence", "QUANTITY", 300), ("Hardware", "QUANTITY", 800),
            ("Travel expenses", "AMOUNT", 250), ("Design work", "HOURS", 110))
_TEMPLATES = (("Monthly retainer", "USD", "NET_30", (("Retainer", 1, "4000.00"),)),
              ("Support renewal", "EUR", "NET_45",
               (("Support plan", 12, "380.00"), ("Onboarding", 1, "900.00"))),
              ("Workshop", "GBP", "NET_15", (("Workshop day", 2, "1500.00"),)))
_WORDS = ("Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
          "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer", "Quartz",
          "Riverside", "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith")
_KINDS = ("Analytics", "Bakery", "Builders", "Clinic", "Foods", "Logistics", "Media",
          "Motors", "Partners", "Robotics", "Studio", "Systems", "Textiles", "Travel")
_SUFFIXES = ("Ltd", "GmbH", "Inc", "LLC", "SA", "KK", "BV", "plc")


class SeedError(ValueError):
    """Seed input that cannot be loaded; nothing has been written when it is raised.

    Attributes
    ----------
    line
        The CSV line number (the header is line 1), if the problem is in a row.
    invoice_number
        The row's invoice number, if known.
    """

    def __init__(self, message: str, *, line: int | None = None,
                 invoice_number: str | None = None) -> None:
        where = "" if line is None else f"line {line}" + (
            f" (invoiceNumber {invoice_number})" if invoice_number else "") + ": "
        super().__init__(where + message)
        self.line = line
        self.invoice_number = invoice_number


@dataclass
class SeedReport:
    """What a seed run did.

    Attributes
    ----------
    dataset
        ``"demo"`` or ``"ibm"``.
    created
        Invoices created by this run.
    skipped
        Invoices whose number already existed and that needed nothing more.
    resumed
        Invoices that existed half-done (e.g. created but not sent) and were finished.
    by_status
        Final status of every invoice this run created or resumed.
    templates
        Templates created by this run.
    as_of
        The date the book is built up to (demo), or None.
    seconds
        Wall-clock duration.
    """

    dataset: str
    created: int = 0
    skipped: int = 0
    resumed: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    templates: int = 0
    as_of: dt.date | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for humans, e.g. ``demo: created 2000, skipped 0 ... in 3.1 s``."""
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items()))
        text = f"{self.dataset}: created {self.created}, skipped {self.skipped} already present"
        if self.resumed:
            text += f", resumed {self.resumed}"
        if statuses:
            text += f" ({statuses})"
        return text + f" in {self.seconds:.1f} s"


@dataclass
class _Plan:
    """One invoice and everything that happens to it, decided before any request."""

    body: dict[str, Any]
    send: dict[str, Any] | None = None  # the send notification; None leaves a draft
    payments: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    cancel: bool = False

    @property
    def number(self) -> str:
        return self.body["detail"]["invoice_number"]


# --- running plans ------------------------------------------------------------------------


def _create_or_find(client: Client, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create the invoice, or find the one that already has its number.

    Returns the invoice and whether this call created it.
    """
    try:
        return client.invoices.create(body), True
    except InvalidRequest as exc:
        if "DUPLICATE_INVOICE_NUMBER" not in exc.issues:
            raise
    return _find(client, body["detail"]["invoice_number"]), False


def _execute(client: Client, plan: _Plan, existing: dict[str, Any] | None) -> str:
    """Carry out a plan, finishing the invoice with the same number if one exists.

    Returns ``created``, ``resumed`` (existed half-done and was finished) or ``skipped``
    (existed with nothing left to do).
    """
    created = existing is None
    if existing is None:
        existing, created = _create_or_find(client, plan.body)
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


def _book(client: Client, plans: list[_Plan]) -> dict[str, dict[str, Any]]:
    """The merchant's invoices dated within the plans' dates, by number (a paged search).

    One search page of 100 answers for 100 invoices, so checking what already exists, and
    reading final statuses, costs about 1% of one request per invoice.
    """
    from .pager import fetch_raw  # pandas is only loaded when seeding

    dates = [p.body["detail"]["invoice_date"] for p in plans]
    return {doc["detail"]["invoice_number"]: doc
            for doc in fetch_raw(client, invoice_date=(min(dates), max(dates)), progress=False)}


def _run(client: Client, plans: list[_Plan], report: SeedReport, *, workers: int,
         progress: bool) -> None:
    """Execute plans on a thread pool; count outcomes and final statuses into ``report``."""
    before = _book(client, plans)
    bar = _bar(len(plans), report.dataset) if progress else None
    outcomes: dict[str, str] = {}

    def one(plan: _Plan) -> None:
        outcomes[plan.number] = _execute(client, plan, before.get(plan.number))
        if bar is not None:
            bar.update()

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ppnb-seed") as pool:
            for future in [pool.submit(one, plan) for plan in plans]:
                future.result()
    finally:
        if bar is not None:
            bar.close()
    counts = Counter(outcomes.values())
    report.created += counts["created"]
    report.skipped += counts["skipped"]
    report.resumed += counts["resumed"]
    if counts["created"] or counts["resumed"]:
        after = _book(client, plans)
        report.by_status.update(after[number]["status"] for number, outcome in outcomes.items()
                                if outcome != "skipped")


def _bar(total: int, label: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=f"seed {label}", unit="inv")


# --- the demo book ------------------------------------------------------------------------


def demo_params(path: str | Path | None = None, **overrides: int | None) -> dict[str, int]:
    """The demo book's generator parameters.

    Starts from :data:`DEMO_DEFAULTS`, then the JSON file (``path``, else ``data/demo.json``
    of a source checkout when present), then the non-None ``overrides``.

    Raises
    ------
    SeedError
        If the file is not a JSON object of known integer parameters.
    """
    params = dict(DEMO_DEFAULTS)
    source = Path(path) if path is not None else DEMO_FILE
    if path is not None or source.exists():
        try:
            loaded = json.loads(source.read_text())
        except (OSError, ValueError) as exc:
            raise SeedError(f"cannot read demo parameters from {source}: {exc}") from None
        if not isinstance(loaded, dict) or set(loaded) - set(params) or not all(
                type(v) is int for v in loaded.values()):
            raise SeedError(f"{source}: expected integers for {', '.join(params)}")
        params.update(loaded)
    params.update({k: v for k, v in overrides.items() if v is not None})
    return params


@dataclass(frozen=True)
class _Customer:
    name: str
    email: str
    behaviour: str
    currency: str
    term: str
    scale: float  # median invoice size in USD


def _customers(rng: random.Random, count: int) -> list[_Customer]:
    made = []
    for i in range(count):
        name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)} {rng.choice(_SUFFIXES)}"
        slug = name.split()[0].lower() + name.split()[1].lower()
        made.append(_Customer(
            name=name, email=f"ap-{i + 1:04d}@{slug}.example.com",
            behaviour=rng.choices(list(_BEHAVIOURS), list(_BEHAVIOURS.values()))[0],
            currency=rng.choices(list(_CURRENCIES), [w for w, _ in _CURRENCIES.values()])[0],
            term=rng.choices(list(TERMS), _TERM_WEIGHTS)[0],
            scale=rng.lognormvariate(math.log(900), 0.8),
        ))
    return made


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": format_amount(value, currency)}


def _items(rng: random.Random, target_usd: float, currency: str) -> list[dict[str, Any]]:
    """One to four catalogue lines adding up to roughly ``target_usd``."""
    rate = _CURRENCIES[currency][1]
    lines = rng.choices(_CATALOG, k=rng.choices((1, 2, 3, 4), (45, 30, 15, 10))[0])
    shares = [rng.random() + 0.2 for _ in lines]
    items = []
    for (name, unit, price), share in zip(lines, shares, strict=True):
        amount = target_usd * share / sum(shares)
        quantity = max(1, min(200, round(amount / price)))
        unit_amount = max(Decimal(1), Decimal(str(round(amount / quantity, 2))) * rate)
        items.append({"name": name, "quantity": str(quantity), "unit_of_measure": unit,
                      "unit_amount": _money(unit_amount, currency)})
    return items


def _total(items: list[dict[str, Any]], currency: str) -> Decimal:
    return sum((Decimal(i["quantity"]) * parse_amount(i["unit_amount"]["value"], currency)
                for i in items), Decimal(0))


def _fraction(amount: Decimal, share: float, currency: str) -> Decimal:
    """A part of ``amount``, at least one minor unit and less than the whole."""
    step = Decimal(1).scaleb(-decimals(currency))
    part = Decimal(format_amount(amount * Decimal(str(round(share, 3))), currency))
    return min(max(part, step), amount - step)


def _plan_demo(rng: random.Random, customers: list[_Customer], params: dict[str, int],
               as_of: dt.date, templates: list[dict[str, Any]]) -> list[_Plan]:
    """Plan invoices 1 to N-1 of the demo book, deterministic in ``rng`` and ``as_of``."""
    weights = [rng.paretovariate(1.2) for _ in customers]  # a few customers dominate
    span = max(1, round(params["months"] * 30.4375))
    offsets = sorted(rng.randint(-span, 0) for _ in range(params["invoices"] - 1))
    return [_plan_invoice(rng, rng.choices(customers, weights)[0],
                          f"DEMO{params['seed']}-{index:05d}", as_of, offset, templates)
            for index, offset in enumerate(offsets, start=1)]


def _plan_invoice(rng: random.Random, customer: _Customer, number: str, as_of: dt.date,
                  offset: int, templates: list[dict[str, Any]]) -> _Plan:
    currency = customer.currency
    term = customer.term if rng.random() < 0.8 else rng.choice(list(TERMS))
    fate = rng.choices(("normal", "draft", "scheduled", "cancelled"), (90, 4, 2, 4))[0]
    if fate == "draft":
        offset = -rng.randint(0, 20)
    elif fate == "scheduled":
        offset = rng.randint(1, 30)
    invoice_date = as_of + dt.timedelta(days=offset)
    template = next((t for t in templates if t["template_info"]["detail"]["currency_code"]
                     == currency), None) if rng.random() < 0.12 else None
    detail: dict[str, Any] = {"invoice_number": number, "currency_code": currency,
                              "invoice_date": invoice_date.isoformat(),
                              "payment_term": {"term_type": term}}
    target = min(rng.lognormvariate(math.log(customer.scale), 1.1), 60_000 if currency != "JPY"
                 else 6_000)
    items = _items(rng, target, currency)
    body: dict[str, Any] = {"detail": detail, "items": items}
    if template is not None:
        info = template["template_info"]
        detail.update({k: v for k, v in info["detail"].items() if k in ("note", "memo")})
        detail["payment_term"] = dict(info["detail"]["payment_term"])
        body["items"] = items = [dict(i) for i in info["items"]]
        body["configuration"] = {"template_id": template["id"]}
    body["primary_recipients"] = [{"billing_info": {
        "business_name": customer.name, "email_address": customer.email}}]
    plan = _Plan(body)
    if fate == "draft":
        return plan
    plan.send = {"send_to_recipient": rng.random() < 0.7}
    if fate in ("scheduled", "cancelled"):
        plan.cancel = fate == "cancelled"
        return plan
    total = _total(items, currency)
    due = invoice_date + dt.timedelta(days=TERMS[detail["payment_term"]["term_type"]])
    _plan_payments(rng, plan, customer.behaviour, invoice_date, due, total, currency)
    plan.payments = [p for p in plan.payments if p["payment_date"] <= as_of.isoformat()]
    plan.refunds = [r for r in plan.refunds if r["refund_date"] <= as_of.isoformat()]
    return plan


def _plan_payments(rng: random.Random, plan: _Plan, behaviour: str, invoice_date: dt.date,
                   due: dt.date, total: Decimal, currency: str) -> None:
    """Payments (and refunds) as the customer's behaviour dictates; dates may be future."""
    terms_days = (due - invoice_date).days

    def pay(day: dt.date, amount: Decimal | None = None) -> None:
        payment: dict[str, Any] = {"method": rng.choice(("BANK_TRANSFER", "BANK_TRANSFER",
                                                         "WIRE_TRANSFER", "CHECK")),
                                   "payment_date": day.isoformat()}
        if amount is not None:  # none: the emulator takes the whole amount due
            payment["amount"] = _money(amount, currency)
        plan.payments.append(payment)

    if behaviour == "prompt" or (behaviour == "disputer" and rng.random() < 0.6):
        pay(invoice_date + dt.timedelta(days=rng.randint(0, max(terms_days, 3))))
    elif behaviour == "late":
        pay(due + dt.timedelta(days=round(rng.lognormvariate(math.log(20), 0.7))))
    elif behaviour == "partial":
        first = _fraction(total, rng.uniform(0.25, 0.7), currency)
        day = due + dt.timedelta(days=rng.randint(-5, 15))
        pay(day, first)
        if rng.random() < 0.5:
            pay(day + dt.timedelta(days=rng.randint(15, 60)))
    elif behaviour == "disputer":
        day = invoice_date + dt.timedelta(days=rng.randint(0, terms_days + 10))
        pay(day)
        refund = total if rng.random() < 0.5 else _fraction(total, rng.uniform(0.1, 0.5),
                                                            currency)
        plan.refunds.append({"method": "BANK_TRANSFER", "amount": _money(refund, currency),
                             "refund_date": (day + dt.timedelta(days=rng.randint(5, 40)))
                             .isoformat()})


def _book_date(client: Client, customer: _Customer, seed: int,
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
    unit = Decimal(1500) * _CURRENCIES[customer.currency][1]
    doc, created = _create_or_find(client, {
        "detail": detail,
        "primary_recipients": [{"billing_info": {"business_name": customer.name,
                                                 "email_address": customer.email}}],
        "items": [{"name": "Retainer", "quantity": "1",
                   "unit_amount": _money(unit, customer.currency)}]})
    return dt.date.fromisoformat(doc["detail"]["invoice_date"]), (
        "created" if created else "skipped")


def _ensure_templates(client: Client, seed: int) -> tuple[list[dict[str, Any]], int]:
    """The demo's templates, created through the API unless they already exist."""
    wanted = {f"{name} (demo {seed})": (currency, term, lines)
              for name, currency, term, lines in _TEMPLATES}
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
    people = _customers(rng, customers)
    report.as_of, outcome = _book_date(client, people[0], seed, today)
    setattr(report, outcome, getattr(report, outcome) + 1)
    if outcome == "created":
        report.by_status["DRAFT"] += 1
    plans = _plan_demo(rng, people, params, report.as_of, templates)
    _run(client, plans, report, workers=workers, progress=progress)
    report.seconds = time.monotonic() - started
    return report


def seed_elsewhere(base_url: str, client_id: str, client_secret: str, argv: list[str]) -> None:
    """Run ``ppnb seed ARGV`` in a child process against ``base_url``.

    For an emulator served by a thread of this process: the child's requests are made on
    the other core instead of sharing one interpreter lock with the server, which makes
    seeding about twice as fast. The credentials go through the child's environment, never
    its command line. The child's progress bar is relayed to this process's stderr and its
    summary printed here.

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


# --- the IBM sample -----------------------------------------------------------------------


def _date(text: str, column: str, line: int, number: str) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        raise SeedError(f"{column} {text!r} is not a month/day/year date", line=line,
                        invoice_number=number) from None


def _ibm_plans(csv_path: str | Path) -> list[_Plan]:
    """Read and check every row of the IBM sample; raise before anything is written."""
    path = Path(csv_path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    plans: list[_Plan] = []
    seen: dict[str, int] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in IBM_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SeedError(f"{path} lacks column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            number = (row["invoiceNumber"] or "").strip()
            if not number or len(number) > 25:
                raise SeedError("invoiceNumber must have 1 to 25 characters", line=line,
                                invoice_number=number)
            if number in seen:
                raise SeedError(f"invoiceNumber repeats line {seen[number]}", line=line,
                                invoice_number=number)
            seen[number] = line
            issued = _date(row["InvoiceDate"], "InvoiceDate", line, number)
            due = _date(row["DueDate"], "DueDate", line, number)
            settled = _date(row["SettledDate"], "SettledDate", line, number)
            if due != issued + dt.timedelta(days=30):
                raise SeedError(f"DueDate {row['DueDate']} is not InvoiceDate "
                                f"{row['InvoiceDate']} + 30 days", line=line,
                                invoice_number=number)
            try:
                amount = parse_amount(row["InvoiceAmount"].strip(), "USD")
            except MoneyError as exc:
                raise SeedError(f"InvoiceAmount: {exc}", line=line,
                                invoice_number=number) from None
            if amount <= 0:
                raise SeedError(f"InvoiceAmount {row['InvoiceAmount']} is not positive",
                                line=line, invoice_number=number)
            if row["Disputed"] not in ("Yes", "No"):
                raise SeedError(f"Disputed {row['Disputed']!r} is not Yes or No", line=line,
                                invoice_number=number)
            customer = row["customerID"].strip()
            if not customer:
                raise SeedError("customerID is empty", line=line, invoice_number=number)
            value = format_amount(amount, "USD")
            detail = {"invoice_number": number, "currency_code": "USD",
                      "invoice_date": issued.isoformat(), "payment_term": {"term_type": "NET_30"},
                      "reference": row["countryCode"].strip()}
            if row["Disputed"] == "Yes":
                detail["memo"] = "disputed"
            plans.append(_Plan(
                body={"detail": detail,
                      "primary_recipients": [{"billing_info": {
                          "business_name": customer,
                          "email_address": customer.lower() + "@example.com"}}],
                      "items": [{"name": "Invoice amount", "quantity": "1",
                                 "unit_amount": {"currency_code": "USD", "value": value}}]},
                send={"send_to_recipient": False},
                payments=[{"method": "BANK_TRANSFER", "payment_date": settled.isoformat(),
                           "amount": {"currency_code": "USD", "value": value}}],
            ))
    if not plans:
        raise SeedError(f"{path} has no rows")
    return plans


def seed_ibm(client: Client, csv_path: str | Path, *, workers: int = WORKERS,
             progress: bool = False) -> SeedReport:
    """Load the IBM accounts-receivable sample through the API.

    Each row becomes a USD invoice numbered exactly as ``invoiceNumber`` (leading zeros
    kept), dated ``InvoiceDate`` on NET_30 terms, for ``customerID`` (business name; email
    ``<customerid>@example.com``), with ``countryCode`` as reference and memo
    ``"disputed"`` for disputed rows. It is sent without emailing the customer and paid in
    full by bank transfer on ``SettledDate``, leaving it MARKED_AS_PAID.

    Parameters
    ----------
    client
        Where to write.
    csv_path
        The sample's CSV (dates month/day/year).
    workers
        Concurrent requests.
    progress
        Show a tqdm bar on stderr.

    Returns
    -------
    SeedReport
        ``created``; ``skipped`` for numbers already present (a second load creates none).

    Raises
    ------
    SeedError
        For a missing file, missing columns, or a bad row (bad date or amount, a repeated
        number, ``DueDate`` not 30 days after ``InvoiceDate``), naming the line and number.
        Every row is checked before the first request, so nothing is half-written.
    """
    started = time.monotonic()
    plans = _ibm_plans(csv_path)
    report = SeedReport("ibm")
    _run(client, plans, report, workers=workers, progress=progress)
    report.seconds = time.monotonic() - started
    return report

