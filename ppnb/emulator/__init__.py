"""A local, stateful, persistent emulator of PayPal Invoicing API v2.

>>> from ppnb.emulator import start
>>> with start() as running:                       # doctest: +SKIP
...     print(running.base_url, running.credentials.client_id)
...     running.control().advance(30)              # the emulator's own endpoints, typed

See :class:`Emulator` for the in-process object, ``ppnb emulator serve`` for the CLI, and
:class:`Control` for the ``/_emulator/`` endpoints of a running one. :class:`Control` needs
only httpx: importing it does not load the server (starlette, uvicorn), which the other
names load on first use.
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
    "Merchant": "._service",
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
