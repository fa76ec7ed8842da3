"""Many merchants at once: books for a partner app, seeded straight through the service.

A PayPal partner (an accounting platform, a marketplace) acts for merchants who granted its
app, through ``PayPal-Auth-Assertion``. :func:`seed_fleet` builds that world on an
:class:`~ppnb.emulator.Emulator`: a partner app, ``merchants`` merchant apps with
``invoices`` invoices each, and grants from all but ``denied`` of them. Books are built by
calling :class:`~ppnb.emulator.Invoicing` in-process, one store transaction per merchant,
so 100,000 invoices take seconds rather than the minutes HTTP would; the rules are the same
ones HTTP calls meet. Latency and fault injection (``emulator.faults``) then apply to the
partner's calls as to any other.

>>> from ppnb.emulator import Emulator                             # doctest: +SKIP
>>> fleet = seed_fleet(emulator, merchants=30, invoices=20, denied=3)  # doctest: +SKIP
>>> fleet.granted_ids[:2], fleet.partner                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from ..money import decimals, format_amount
from ._book import Merchant
from ._ids import IdFactory
from ._server import Credentials, Emulator

__all__ = ["Fleet", "revoke", "seed_fleet"]

#: Currencies of the seeded books and their weights.
_CURRENCIES = {"USD": 55, "EUR": 20, "GBP": 15, "JPY": 10}
_TERMS = ("DUE_ON_RECEIPT", "NET_15", "NET_30", "NET_30", "NET_60")
#: What becomes of an invoice, with cumulative probabilities.
_FATES = ((0.04, "draft"), (0.28, "open"), (0.34, "partial"), (0.37, "cancelled"),
          (0.98, "paid"), (1.0, "refunded"))


@dataclass(frozen=True)
class Fleet:
    """A partner app and the merchants seeded for it.

    Attributes
    ----------
    partner
        The partner app's credentials (its secret is masked in repr).
    merchants
        Every seeded merchant, in order.
    credentials
        Each merchant's own app credentials, aligned with ``merchants`` (to pull a book as
        the merchant itself, e.g. to check what the partner pulled).
    granted
        Payer ids of the merchants that granted the partner.
    """

    partner: Credentials
    merchants: tuple[Merchant, ...]
    credentials: tuple[Credentials, ...]
    granted: frozenset[str]

    @property
    def payer_ids(self) -> list[str]:
        """Every merchant's payer id, in order: what a partner passes to ``acting_for``."""
        return [m.payer_id for m in self.merchants]

    @property
    def granted_ids(self) -> list[str]:
        """Payer ids of the merchants that granted the partner, in order."""
        return [m.payer_id for m in self.merchants if m.payer_id in self.granted]

    @property
    def denied_ids(self) -> list[str]:
        """Payer ids of the merchants that did not grant the partner, in order."""
        return [m.payer_id for m in self.merchants if m.payer_id not in self.granted]

    def own(self, payer_id: str) -> Credentials:
        """The merchant's own app credentials."""
        for merchant, credentials in zip(self.merchants, self.credentials, strict=True):
            if merchant.payer_id == payer_id:
                return credentials
        raise KeyError(f"no seeded merchant with payer id {payer_id!r}")


def seed_fleet(emulator: Emulator, merchants: int, invoices: int, *, denied: int = 0,
               partner: tuple[str, str] | None = None, prefix: str = "fleet", seed: int = 0,
               days: int = 180, step: float = 0.0) -> Fleet:
    """Register a partner app and ``merchants`` merchants with ``invoices`` invoices each.

    Every book is a realistic mix dated over the ``days`` before the emulator's today, in
    USD, EUR, GBP and JPY: a few drafts, open invoices, partly paid, cancelled, paid (on
    dates between the invoice date and today) and refunded ones. The last ``denied``
    merchants do not grant the partner; the others do.

    Parameters
    ----------
    emulator
        Where to seed (its clock dates everything).
    merchants, invoices
        How many merchants, and invoices per merchant.
    denied
        How many merchants (the last ones) do not grant the partner.
    partner
        The partner app's ``(client_id, secret)``; by default ``<prefix>-partner`` with a
        fresh secret.
    prefix
        Client ids are ``<prefix>-merchant-00001`` ...; use another prefix to seed a second
        fleet on the same emulator.
    seed
        Makes the books repeatable (amounts, dates, fates; ids follow the emulator's seed).
    days
        How far back invoice dates go.
    step
        Seconds the emulator's clock moves forward after each invoice, so that creation
        times differ as in a real book (an incremental sync tells new invoices by them).
        With 0 the clock is not moved, and a frozen clock stamps every invoice alike.

    Returns
    -------
    Fleet
        The partner's and merchants' credentials and who granted what.

    Raises
    ------
    ValueError
        For negative counts, more denied merchants than merchants, or client ids that are
        already registered (seed a fresh emulator, or pass another ``prefix``).
    """
    if min(merchants, invoices, days, step) < 0 or not 0 <= denied <= merchants:
        raise ValueError(f"need merchants, invoices, days, step >= 0 and 0 <= denied <= "
                         f"merchants; got merchants={merchants}, invoices={invoices}, "
                         f"denied={denied}, days={days}, step={step}")
    service, ids = emulator.service, IdFactory()
    partner_id, partner_secret = partner or (f"{prefix}-partner", ids.secret())
    names = [f"{prefix}-merchant-{n + 1:05d}" for n in range(merchants)]
    taken = [name for name in names if service.merchant_by_client(name) is not None]
    if taken:
        raise ValueError(f"{taken[0]} is already registered on this emulator: seed a fresh "
                         f"emulator or pass another prefix")
    partner_app = Credentials(partner_id, partner_secret)
    emulator.add_merchant(partner_id, partner_secret)
    made, own, granted = [], [], set()
    today = emulator.clock.today()
    for n, name in enumerate(names):
        secret = ids.secret()
        merchant = emulator.add_merchant(name, secret)
        made.append(merchant)
        own.append(Credentials(name, secret))
        if n < merchants - denied:
            emulator.grant(name, partner_id)
            granted.add(merchant.payer_id)
        _book(emulator, merchant, invoices, random.Random(f"{seed}:{n}"), today, days, step)
    return Fleet(partner_app, tuple(made), tuple(own), frozenset(granted))


def revoke(emulator: Emulator, payer_id: str, partner_client_id: str) -> None:
    """Withdraw a merchant's grant: the partner's calls for it get 403 from now on."""
    emulator.service.revoke(payer_id, partner_client_id)


def _book(emulator: Emulator, merchant: Merchant, count: int, rng: random.Random,
          today: dt.date, days: int, step: float) -> None:
    """One merchant's invoices, in one transaction."""
    service = emulator.service
    currencies, weights = list(_CURRENCIES), list(_CURRENCIES.values())
    with service.store.transaction():
        for k in range(count):
            if step:
                emulator.clock.advance(seconds=step)
            currency = rng.choices(currencies, weights)[0]
            issued = today - dt.timedelta(days=rng.randint(0, days))
            doc = orjson.loads(service.create_invoice(
                merchant, _invoice(rng, currency, issued, f"F-{k + 1:06d}")))
            draw = rng.random()
            fate = next(name for limit, name in _FATES if draw < limit)
            if fate == "draft":
                continue
            service.send_invoice(merchant, doc["id"], {"send_to_recipient": False})
            if fate == "open":
                continue
            if fate == "cancelled":
                service.cancel_invoice(merchant, doc["id"], {})
                continue
            total = Decimal(doc["amount"]["value"])
            waited = rng.randint(0, min(75, (today - issued).days))
            paid_on = (issued + dt.timedelta(days=waited)).isoformat()
            payment: dict[str, Any] = {"method": "BANK_TRANSFER", "payment_date": paid_on}
            if fate == "partial":
                half = {"currency_code": currency, "value": format_amount(total / 2, currency)}
                payment = {**payment, "amount": half}
            service.record_payment(merchant, doc["id"], payment)
            if fate == "refunded":
                service.record_refund(merchant, doc["id"],
                                      {"method": "BANK_TRANSFER", "refund_date": paid_on})


def _invoice(rng: random.Random, currency: str, issued: dt.date, number: str
             ) -> dict[str, Any]:
    """A create-invoice body: one or two lines, a customer out of twenty."""
    places = decimals(currency)
    scale = 150 if currency == "JPY" else 1

    def price() -> str:
        cents = rng.randint(2_000, 300_000) * scale
        return format_amount(Decimal(cents).scaleb(-2), currency) if places else str(cents // 100)

    customer = rng.randint(1, 20)
    return {
        "detail": {"currency_code": currency, "invoice_number": number,
                   "invoice_date": issued.isoformat(),
                   "payment_term": {"term_type": rng.choice(_TERMS)}},
        "primary_recipients": [{"billing_info": {
            "email_address": f"customer{customer:02d}@example.com",
            "business_name": f"Customer {customer:02d}"}}],
        "items": [{"name": f"Service {line + 1}", "quantity": str(rng.randint(1, 4)),
                   "unit_amount": {"currency_code": currency, "value": price()}}
                  for line in range(rng.randint(1, 2))],
    }
