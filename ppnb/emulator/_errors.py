"""PayPal-shaped API errors raised by the emulator's service layer.

The HTTP layer turns an :class:`ApiError` into PayPal's error body::

    {"name": ..., "message": ..., "debug_id": ..., "details": [...], "links": [...]}

Names and messages per status are PayPal's (``error_400`` ... ``error_503`` in the spec); the
spec has none for 408, 413, 421 and 431 (the emulator's request limits and Host check), so
those follow the same pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._errors import PPNBError

_ENVELOPES: dict[int, tuple[str, str]] = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication "
        "credentials.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    405: ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
    408: ("REQUEST_TIMEOUT", "The request was not received in time."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    413: ("REQUEST_ENTITY_TOO_LARGE", "The request is larger than the server accepts."),
    415: (
        "UNSUPPORTED_MEDIA_TYPE",
        "The server does not support the request payload's media type.",
    ),
    421: ("MISDIRECTED_REQUEST", "The request was sent to a host this server does not serve."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business "
        "validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    431: ("REQUEST_HEADER_FIELDS_TOO_LARGE", "The request's header fields are larger than the "
          "server accepts."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}


@dataclass
class Detail:
    """One entry of an error's ``details``: which field, what value, what is wrong."""

    issue: str
    description: str
    field: str | None = None
    value: Any = None
    location: str = "body"

    def as_json(self) -> dict[str, Any]:
        """Render as PayPal's ``error_details`` object."""
        out: dict[str, Any] = {}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            text = self.value if isinstance(self.value, str) else repr(self.value)
            out["value"] = text[:200]
        out["location"] = self.location
        out["issue"] = self.issue
        out["description"] = self.description
        return out


@dataclass
class ApiError(PPNBError):
    """A request the emulator refuses; nothing it would have changed is stored."""

    status: int
    details: list[Detail] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _ENVELOPES[self.status][0]

    @property
    def message(self) -> str:
        return _ENVELOPES[self.status][1]

    def as_json(self, debug_id: str) -> dict[str, Any]:
        """Render PayPal's error body, with a documentation link per issue."""
        body: dict[str, Any] = {"name": self.name, "message": self.message, "debug_id": debug_id}
        if self.details:
            body["details"] = [d.as_json() for d in self.details]
            body["links"] = [
                {
                    "href": f"https://developer.paypal.com/docs/api/invoicing/v2/#error-{d.issue}",
                    "rel": "information_link",
                    "method": "GET",
                }
                for d in self.details[:1]
            ]
        return body

    def __str__(self) -> str:
        issues = ", ".join(d.issue for d in self.details)
        return f"{self.status} {self.name}" + (f" ({issues})" if issues else "")


def error(
    status: int,
    issue: str,
    description: str,
    field: str | None = None,
    value: Any = None,
    location: str = "body",
) -> ApiError:
    """Build an :class:`ApiError` with a single detail."""
    return ApiError(status, [Detail(issue, description, field, value, location)])


def not_found(what: str = "invoice", value: str | None = None, location: str = "path") -> ApiError:
    """The 404 for an id that does not exist for the calling merchant."""
    return error(
        404,
        "INVALID_RESOURCE_ID",
        f"Requested {what} was not found.",
        field=f"{what}_id",
        value=value,
        location=location,
    )
