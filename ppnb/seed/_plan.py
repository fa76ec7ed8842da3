"""The demo book's plan, drawn from one ``random.Random`` before any request: customers with
a behaviour, currency, usual term and size, then every invoice and what happens to it."""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .._protocol import TERM_DAYS
from ..money import decimals, format_amount, parse_amount
from ._report import Plan

__all__ = ["CURRENCIES", "TEMPLATES", "TERMS", "Customer", "customers", "money", "plan_demo"]

#: The payment terms the demo book uses, with their days (PayPal's, from the base layer).
TERMS = TERM_DAYS
_TERM_WEIGHTS = (8, 6, 10, 40, 14, 14, 8)
CURRENCIES = {"USD": (50, Decimal(1)), "EUR": (22, Decimal("0.92")),
               "GBP": (16, Decimal("0.79")), "JPY": (12, Decimal(150))}
_BEHAVIOURS = {"prompt": 40, "late": 25, "partial": 15, "never": 7, "disputer": 13}
_CATALOG = (("Consulting", "HOURS", 95), ("Implementation", "HOURS", 140),
            ("Training day", "QUANTITY", 1200), ("Support plan", "QUANTITY", 450),
            ("Software licence", "QUANTITY", 300), ("Hardware", "QUANTITY", 800),
            ("Travel expenses", "AMOUNT", 250), ("Design work", "HOURS", 110))
TEMPLATES = (("Monthly retainer", "USD", "NET_30", (("Retainer", 1, "4000.00"),)),
              ("Support renewal", "EUR", "NET_45",
               (("Support plan", 12, "380.00"), ("Onboarding", 1, "900.00"))),
              ("Workshop", "GBP", "NET_15", (("Workshop day", 2, "1500.00"),)))
_WORDS = ("Acme", "Blue", "Cedar", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
          "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pioneer", "Quartz",
          "Riverside", "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith")
_KINDS = ("Analytics", "Bakery", "Builders", "Clinic", "Foods", "Logistics", "Media",
          "Motors", "Partners", "Robotics", "Studio", "Systems", "Textiles", "Travel")
_SUFFIXES = ("Ltd", "GmbH", "Inc", "LLC", "SA", "KK", "BV", "plc")


@dataclass(frozen=True)
class Customer:
    name: str
    email: str
    behaviour: str
    currency: str
    term: str
    scale: float  # median invoice size in USD


def customers(rng: random.Random, count: int) -> list[Customer]:
    made = []
    for i in range(count):
        name = f"{rng.choice(_WORDS)} {rng.choice(_KINDS)} {rng.choice(_SUFFIXES)}"
        slug = name.split()[0].lower() + name.split()[1].lower()
        made.append(Customer(
            name=name, email=f"ap-{i + 1:04d}@{slug}.example.com",
            behaviour=rng.choices(list(_BEHAVIOURS), list(_BEHAVIOURS.values()))[0],
            currency=rng.choices(list(CURRENCIES), [w for w, _ in CURRENCIES.values()])[0],
            term=rng.choices(list(TERMS), _TERM_WEIGHTS)[0],
            scale=rng.lognormvariate(math.log(900), 0.8),
        ))
    return made


def money(value: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "value": format_amount(value, currency)}


def _items(rng: random.Random, target_usd: float, currency: str) -> list[dict[str, Any]]:
    """One to four catalogue lines adding up to roughly ``target_usd``."""
    rate = CURRENCIES[currency][1]
    lines = rng.choices(_CATALOG, k=rng.choices((1, 2, 3, 4), (45, 30, 15, 10))[0])
    shares = [rng.random() + 0.2 for _ in lines]
    items = []
    for (name, unit, price), share in zip(lines, shares, strict=True):
        amount = target_usd * share / sum(shares)
        quantity = max(1, min(200, round(amount / price)))
        unit_amount = max(Decimal(1), Decimal(str(round(amount / quantity, 2))) * rate)
        items.append({"name": name, "quantity": str(quantity), "unit_of_measure": unit,
                      "unit_amount": money(unit_amount, currency)})
    return items


def _total(items: list[dict[str, Any]], currency: str) -> Decimal:
    return sum((Decimal(i["quantity"]) * parse_amount(i["unit_amount"]["value"], currency)
                for i in items), Decimal(0))


def _fraction(amount: Decimal, share: float, currency: str) -> Decimal:
    """A part of ``amount``, at least one minor unit and less than the whole."""
    step = Decimal(1).scaleb(-decimals(currency))
    part = Decimal(format_amount(amount * Decimal(str(round(share, 3))), currency))
    return min(max(part, step), amount - step)


def plan_demo(rng: random.Random, customers: list[Customer], params: dict[str, int],
               as_of: dt.date, templates: list[dict[str, Any]]) -> list[Plan]:
    """Plan invoices 1 to N-1 of the demo book, deterministic in ``rng`` and ``as_of``."""
    weights = [rng.paretovariate(1.2) for _ in customers]  # a few customers dominate
    span = max(1, round(params["months"] * 30.4375))
    offsets = sorted(rng.randint(-span, 0) for _ in range(params["invoices"] - 1))
    return [_plan_invoice(rng, rng.choices(customers, weights)[0],
                          f"DEMO{params['seed']}-{index:05d}", as_of, offset, templates)
            for index, offset in enumerate(offsets, start=1)]


def _plan_invoice(rng: random.Random, customer: Customer, number: str, as_of: dt.date,
                  offset: int, templates: list[dict[str, Any]]) -> Plan:
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
    plan = Plan(body)
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


def _plan_payments(rng: random.Random, plan: Plan, behaviour: str, invoice_date: dt.date,
                   due: dt.date, total: Decimal, currency: str) -> None:
    """Payments (and refunds) as the customer's behaviour dictates; dates may be future."""
    terms_days = (due - invoice_date).days

    def pay(day: dt.date, amount: Decimal | None = None) -> None:
        payment: dict[str, Any] = {"method": rng.choice(("BANK_TRANSFER", "BANK_TRANSFER",
                                                         "WIRE_TRANSFER", "CHECK")),
                                   "payment_date": day.isoformat()}
        if amount is not None:  # none: the emulator takes the whole amount due
            payment["amount"] = money(amount, currency)
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
        plan.refunds.append({"method": "BANK_TRANSFER", "amount": money(refund, currency),
                             "refund_date": (day + dt.timedelta(days=rng.randint(5, 40)))
                             .isoformat()})
