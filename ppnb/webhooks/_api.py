"""PayPal's side of webhooks, through a :class:`ppnb.client.Client`: postback verification
and the Webhooks Management API."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._certs import WebhookVerificationError
from ._verify import HEADERS

if TYPE_CHECKING:
    from ..client import Client

__all__ = ["WebhookAPI", "verify_by_postback"]


def verify_by_postback(client: Client, headers: Mapping[str, str], raw_body: bytes | str,
                       webhook_id: str) -> dict[str, Any]:
    """Verify a notification by asking PayPal (or the emulator) and return the event.

    ``raw_body`` is the request body exactly as received (bytes, or its UTF-8 text). It is
    spliced into the ``verify-webhook-signature`` request as ``webhook_event`` byte for
    byte, never parsed and re-serialised: PayPal checks the event as posted, and a
    re-serialised one (other spacing, escapes or key order) can fail.

    Raises
    ------
    WebhookVerificationError
        ``headers`` if a header is missing, ``body`` if the body is not a JSON event,
        ``postback`` if PayPal answers ``FAILURE``.
    TypeError
        If ``raw_body`` is a parsed event instead of the received bytes.
    """
    if not isinstance(raw_body, bytes | bytearray | memoryview | str):
        raise TypeError("raw_body must be the received bytes (or their text), never a parsed "
                        "event: PayPal checks the event exactly as it was sent")
    raw = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body)
    lower = {k.lower(): v for k, v in headers.items()}
    missing = [h.upper() for h in HEADERS if not lower.get(h)]
    if missing:
        raise WebhookVerificationError("headers", f"missing {', '.join(missing)}")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WebhookVerificationError("body", f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("body", "not an event object")
    fields = orjson.dumps({
        "auth_algo": lower["paypal-auth-algo"],
        "cert_url": lower["paypal-cert-url"],
        "transmission_id": lower["paypal-transmission-id"],
        "transmission_sig": lower["paypal-transmission-sig"],
        "transmission_time": lower["paypal-transmission-time"],
        "webhook_id": webhook_id,
    })
    # the event's own bytes, spliced in as the last member (PayPal's integrations do the same)
    body = fields[:-1] + b',"webhook_event":' + raw + b"}"
    answer = client.call("POST", "/v1/notifications/verify-webhook-signature", content=body)
    if answer.get("verification_status") != "SUCCESS":
        raise WebhookVerificationError("postback", f"PayPal answered {answer}")
    return event


class WebhookAPI:
    """PayPal's Webhooks Management API (v1) through a :class:`ppnb.client.Client`.

    >>> hooks = WebhookAPI(client)                              # doctest: +SKIP
    >>> hooks.create("https://example.com/paypal", ["*"])["id"]  # doctest: +SKIP
    """

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, url: str, event_types: Collection[str] = ("*",)) -> dict[str, Any]:
        """Subscribe ``url`` to event types (``*``: all); returns the webhook with its id."""
        return self._c.call("POST", "/v1/notifications/webhooks", json={
            "url": url, "event_types": [{"name": name} for name in event_types]})

    def list(self) -> list[dict[str, Any]]:
        """The app's webhooks."""
        return self._c.call("GET", "/v1/notifications/webhooks")["webhooks"]

    def get(self, webhook_id: str) -> dict[str, Any]:
        """One webhook."""
        return self._c.call("GET", f"/v1/notifications/webhooks/{webhook_id}")

    def delete(self, webhook_id: str) -> None:
        """Unsubscribe."""
        self._c.call("DELETE", f"/v1/notifications/webhooks/{webhook_id}")

    def events(self, *, page_size: int = 10, event_type: str | None = None,
               start_time: str | None = None, end_time: str | None = None
               ) -> list[dict[str, Any]]:
        """Recent event notifications, newest first (one page)."""
        params = {k: v for k, v in (("page_size", page_size), ("event_type", event_type),
                                    ("start_time", start_time), ("end_time", end_time))
                  if v is not None}
        return self._c.call("GET", "/v1/notifications/webhooks-events", params=params)["events"]

    def event(self, event_id: str) -> dict[str, Any]:
        """One event notification."""
        return self._c.call("GET", f"/v1/notifications/webhooks-events/{event_id}")

    def resend(self, event_id: str, webhook_ids: Collection[str] | None = None
               ) -> dict[str, Any]:
        """Send an event again (to ``webhook_ids``, default every subscribed webhook)."""
        body = {} if webhook_ids is None else {"webhook_ids": list(webhook_ids)}
        return self._c.call("POST", f"/v1/notifications/webhooks-events/{event_id}/resend",
                            json=body)
