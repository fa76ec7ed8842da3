"""The PayPal Invoicing v2 client.

>>> import ppnb
>>> client = ppnb.connect()            # the embedded emulator unless PPNB_ENV says otherwise
>>> client.invoices.search({"status": ["UNPAID"]}, page_size=100)   # doctest: +SKIP

See :class:`Client` for the operations and :mod:`ppnb.client._errors` for the error tree.
"""

from ._auth import ClientCredentials
from ._client import LOOPBACK_HOSTS, Client, Invoices, RetryPolicy, Templates, auth_assertion
from ._connect import ENVIRONMENTS, connect, embedded_emulator
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

__all__ = [
    "ENVIRONMENTS",
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
    "TransportError",
    "auth_assertion",
    "connect",
    "embedded_emulator",
]
