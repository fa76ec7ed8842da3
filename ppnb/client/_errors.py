"""The client's exceptions: one small tree under :class:`ppnb.PPNBError`.

::

    PPNBError                        every failure ppnb reports (ppnb._errors)
    └── PayPalError                  every failure the client reports
        ├── TransportError           no HTTP answer (connection refused/reset, timeout)
        └── APIError                 PayPal answered with an error status
            ├── InvalidRequest       400, 409, 415, 422: the request is wrong; see .issues
            ├── AuthenticationError  401: bad credentials or token
            ├── PermissionDenied     403
            ├── NotFound             404
            ├── RateLimited          429 (after the retries ran out)
            └── ServerError          5xx (after the retries ran out)

``str(error)`` is one readable line naming the issue codes, e.g.
``422 UNPROCESSABLE_ENTITY on POST /v2/invoicing/invoices/INV2-…/cancel:
CANNOT_CANCEL_DRAFT_INVOICE (Draft invoice cannot be canceled.) [debug_id 4b2f…]``.
Errors never carry request headers or bodies, so no secret or token can leak through them.
"""

from __future__ import annotations

from typing import Any

from .._errors import PPNBError

__all__ = [
    "APIError",
    "AuthenticationError",
    "InvalidRequest",
    "NotFound",
    "PayPalError",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TransportError",
]


class PayPalError(PPNBError):
    """Base class of every error the ppnb client raises."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class TransportError(PayPalError):
    """The request got no HTTP answer after all retries (network, timeout)."""


class APIError(PayPalError):
    """PayPal answered with an error status.

    Attributes
    ----------
    status : int
        The HTTP status code.
    name : str
        PayPal's error name, e.g. ``UNPROCESSABLE_ENTITY``.
    message : str
        PayPal's message.
    debug_id : str or None
        PayPal's correlation id: quote it to PayPal support.
    details : list of dict
        PayPal's ``details`` (``field``, ``value``, ``location``, ``issue``, ``description``).
    body : dict
        The whole error body.
    """

    def __init__(self, status: int, body: dict[str, Any], *, method: str, path: str,
                 debug_id: str | None = None) -> None:
        self.status = status
        self.body = body
        self.name = str(body.get("name") or body.get("error") or f"HTTP_{status}")
        self.message = str(body.get("message") or body.get("error_description") or "")
        self.debug_id = body.get("debug_id") or debug_id
        self.details: list[dict[str, Any]] = [
            d for d in body.get("details") or [] if isinstance(d, dict)
        ]
        super().__init__(self._line(method, path), method=method, path=path)

    @property
    def issues(self) -> list[str]:
        """The issue codes of ``details``, e.g. ``["CANNOT_CANCEL_DRAFT_INVOICE"]``."""
        return [str(d.get("issue")) for d in self.details if d.get("issue")]

    def _line(self, method: str, path: str) -> str:
        where = f" on {method} {path}" if method else ""
        parts = []
        for detail in self.details[:5]:
            text = str(detail.get("issue", ""))
            if detail.get("field") not in (None, "", "/"):
                text += f" at {detail['field']}"
            if detail.get("description"):
                text += f" ({detail['description']})"
            parts.append(text)
        reason = "; ".join(parts) or self.message
        debug = f" [debug_id {self.debug_id}]" if self.debug_id else ""
        return " ".join(f"{self.status} {self.name}{where}: {reason}{debug}".split())


class InvalidRequest(APIError):
    """400, 409, 415 or 422: fix the request; ``issues`` says what is wrong."""


class AuthenticationError(APIError):
    """401: the credentials or the access token were refused."""


class PermissionDenied(APIError):
    """403: authenticated, but not allowed (e.g. a partner without the merchant's grant)."""


class NotFound(APIError):
    """404: no such invoice, template or transaction for this merchant."""


class RateLimited(APIError):
    """429 after the retries ran out; ``retry_after`` is the server's hint in seconds."""

    retry_after: float | None = None


class ServerError(APIError):
    """5xx after the retries ran out."""


def error_for(status: int, body: dict[str, Any], *, method: str, path: str,
              debug_id: str | None = None, retry_after: float | None = None) -> APIError:
    """The :class:`APIError` subclass for an HTTP status."""
    kind: type[APIError]
    if status == 401:
        kind = AuthenticationError
    elif status == 403:
        kind = PermissionDenied
    elif status == 404:
        kind = NotFound
    elif status == 429:
        kind = RateLimited
    elif status >= 500:
        kind = ServerError
    else:
        kind = InvalidRequest
    error = kind(status, body, method=method, path=path, debug_id=debug_id)
    if isinstance(error, RateLimited):
        error.retry_after = retry_after
    return error
