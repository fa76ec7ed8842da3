"""A local, stateful, persistent emulator of PayPal Invoicing API v2.

>>> from ppnb.emulator import start
>>> with start() as running:                       # doctest: +SKIP
...     print(running.base_url, running.credentials.client_id)

See :class:`Emulator` for the in-process object and ``ppnb emulator serve`` for the CLI.
"""

from ._clock import Clock, ClockError
from ._errors import ApiError
from ._fleet import Fleet, revoke, seed_fleet
from ._server import Credentials, Emulator, RunningEmulator, start
from ._service import Invoicing, Merchant
from ._webhooks import DeliveryPolicy

__all__ = [
    "ApiError",
    "Clock",
    "ClockError",
    "Credentials",
    "DeliveryPolicy",
    "Emulator",
    "Fleet",
    "Invoicing",
    "Merchant",
    "RunningEmulator",
    "revoke",
    "seed_fleet",
    "start",
]
