"""A local, stateful, persistent emulator of PayPal Invoicing API v2.

>>> from ppnb.emulator import start
>>> with start() as running:                       # doctest: +SKIP
...     print(running.base_url, running.credentials.client_id)
...     running.control().advance(30)              # the emulator's own endpoints, typed

See :class:`Emulator` for the in-process object, ``ppnb emulator serve`` for the CLI, and
:class:`Control` for the ``/_emulator/`` endpoints of a running one. :class:`Control` needs
only httpx: importing it does not load the server (starlette, uvicorn), which the other
names load on first use.

Inspection API
--------------
What the emulator offers that PayPal does not, so that tests, benchmarks and notebooks can
move time, play the customer and see what happened. Over HTTP it is ``/_emulator/``
(:mod:`._sim` lists who may call what; :class:`Control` calls it, typed); in process:

* time: ``emulator.clock`` (a :class:`Clock`), ``emulator.advance(days)`` and
  ``emulator.set_clock(when)``, which fire the scheduled sends that fall due
  (``service.fire_scheduled()``);
* the customer: ``emulator.pay(invoice_id, amount, date)`` (``service.pay_as_customer``),
  a ``PAYPAL`` payment as through the payer page;
* what PayPal would have emailed: ``emulator.outbox(invoice_id, kind)``
  (``service.outbox``);
* applied effects: ``emulator.stats(invoice_id)`` (``service.stats``), totals per
  operation and the most any one invoice got (``max_per_invoice``), counted in the
  transaction that applies them, so an idempotent replay never counts; and
  ``service.reminders_today(merchant, invoice_id)``, what ``MAX_REMINDERS_PER_DAY`` bounds;
* webhook deliveries and every attempt: ``emulator.deliveries(event_id, status)``;
* faults: ``emulator.faults.configure(...)``, ``.clear()``, and ``.settings()``, which
  counts what was injected since (by status, ``dropped``, ``applied_then_failed``,
  ``latency``);
* the whole state: ``emulator.reset()``, ``emulator.save_snapshot(name)``,
  ``emulator.restore_snapshot(name)``, ``emulator.store.snapshots()`` and
  ``emulator.store.delete_snapshot(name)``, bounded by ``emulator.store.max_snapshots``
  and ``max_snapshot_bytes``;
* how list and search items look: ``emulator.set_summaries(mode)``
  (``service.summaries``);
* ids: ``service.ids``, the id factory, which a test may replace to have the emulator make
  given ids (the v1 seed document's).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._control import (
    ClockMove,
    ClockState,
    Control,
    ControlError,
    Delivery,
    Email,
    FaultSettings,
    Payment,
    Settings,
    Stats,
)

_EXPORTS = {
    "ApiError": "._errors",
    "Clock": "._clock",
    "ClockError": "._clock",
    "Credentials": "._server",
    "DeliveryPolicy": "._webhooks",
    "Emulator": "._server",
    "Fleet": "._fleet",
    "Invoicing": "._service",
    "Merchant": "._book",
    "RunningEmulator": "._server",
    "revoke": "._fleet",
    "seed_fleet": "._fleet",
    "start": "._server",
}

__all__ = [
    "ApiError",
    "Clock",
    "ClockError",
    "ClockMove",
    "ClockState",
    "Control",
    "ControlError",
    "Credentials",
    "Delivery",
    "DeliveryPolicy",
    "Email",
    "Emulator",
    "FaultSettings",
    "Fleet",
    "Invoicing",
    "Merchant",
    "Payment",
    "RunningEmulator",
    "Settings",
    "Stats",
    "revoke",
    "seed_fleet",
    "start",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ppnb.emulator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
