"""What the webhook parts share: where the emulator is served, and their request errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from .._errors import ApiError, error

#: Webhook subscriptions, and the events sent to them.
WEBHOOKS = "/v1/notifications/webhooks"
EVENTS = "/v1/notifications/webhooks-events"


class Merchant(Protocol):
    """What the webhook parts need of a merchant (:class:`ppnb.emulator.Merchant`): the payer
    id that owns its webhooks and events. A protocol, so the parts need not import the
    service that uses them."""

    @property
    def payer_id(self) -> str:
        """The merchant's PayPal payer id."""
        ...


class Site:
    """Where the emulator is served, for links in delivered events and the certificate URL.

    Stored documents carry ``placeholder`` where the base URL goes; it is replaced by the
    served URL when an event is delivered or read. Whoever waits for the URL to be known (the
    delivery worker) registers with :meth:`on_known`.

    Parameters
    ----------
    placeholder
        What stands for the base URL in stored documents.
    """

    def __init__(self, placeholder: str) -> None:
        self.placeholder = placeholder
        self._base_url: str | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def base_url(self) -> str | None:
        """The URL the emulator is served at, once known."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def on_known(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the base URL is set."""
        with self._lock:
            self._listeners.append(listener)

    def rebase(self, data: bytes) -> bytes:
        """``data`` with the placeholder replaced by the served URL."""
        return data.replace(self.placeholder.encode(), (self._base_url or "").encode())


def bad(field: str, value: Any, description: str,
        issue: str = "INVALID_PARAMETER_VALUE") -> ApiError:
    """A 400 about ``field``."""
    return error(400, issue, description, field, value)


def missing(field: str) -> ApiError:
    """A 400 for a required field that is absent."""
    return bad(field, None, f"A required field / parameter is missing: {field.lstrip('/')}.",
               "MISSING_REQUIRED_PARAMETER")


def check_url(url: Any) -> None:
    """A webhook URL: absolute http(s), at most 2048 characters (400 otherwise)."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or (
            len(url) > 2048):
        raise bad("/url", url, "url must be an absolute http(s) URL of at most 2048 "
                  "characters.", "INVALID_PARAMETER_SYNTAX")
