"""The PayPal Invoicing v2 client.

>>> import ppnb
>>> client = ppnb.connect()            # the embedded emulator unless PPNB_ENV says otherwise
>>> client.invoices.search({"status": ["UNPAID"]}, page_size=100)   # doctest: +SKIP

``ppnb.connect()`` (:mod:`ppnb.connection`, a layer above both this client and the emulator)
picks the target and may start the embedded emulator; this package never imports the
emulator. See :class:`Client` for the operations, :class:`RetryPolicy` for the one retry loop,
:class:`Throttle` for slowing concurrent requests after a 429, and
:mod:`ppnb.client._errors` for the error tree.
"""

from ._auth import ClientCredentials, auth_assertion
from ._client import LOOPBACK_HOSTS, Client
from ._errors import (
    APIError,
    AuthenticationError,
    InvalidRequest,
    NotFound,
    PayPalError,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
)
from ._operations import Invoices, Templates
from ._retry import RetryPolicy
from ._throttle import Throttle

__all__ = [
    "LOOPBACK_HOSTS",
    "APIError",
    "AuthenticationError",
    "Client",
    "ClientCredentials",
    "InvalidRequest",
    "Invoices",
    "NotFound",
    "PayPalError",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Templates",
    "Throttle",
    "TransportError",
    "auth_assertion",
]
