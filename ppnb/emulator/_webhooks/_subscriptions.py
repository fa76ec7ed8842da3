"""Webhook subscriptions (``/v1/notifications/webhooks``): per merchant app, at most
:data:`MAX_WEBHOOKS`, one per URL, each to a list of event types or ``*``."""

from __future__ import annotations

from typing import Any

import orjson

from .._errors import not_found
from .._ids import fresh
from .._store import Store
from ._common import WEBHOOKS, Merchant, Site, bad, check_url, missing

#: The invoice events PayPal sends, with their summaries.
EVENT_TYPES = {
    "INVOICING.INVOICE.CREATED": "An invoice was created",
    "INVOICING.INVOICE.UPDATED": "An invoice was updated",
    "INVOICING.INVOICE.SENT": "An invoice was sent",
    "INVOICING.INVOICE.SCHEDULED": "An invoice was scheduled",
    "INVOICING.INVOICE.PAID": "An invoice was paid",
    "INVOICING.INVOICE.REFUNDED": "An invoice was refunded",
    "INVOICING.INVOICE.CANCELLED": "An invoice was cancelled",
}
#: Webhooks per merchant app (PayPal's limit).
MAX_WEBHOOKS = 10


class Subscriptions:
    """The merchants' webhooks, in the emulator's store.

    Parameters
    ----------
    store
        The emulator's database.
    site
        Where the emulator is served (links in the answers).
    """

    def __init__(self, store: Store, site: Site) -> None:
        self.store = store
        self.site = site

    def _json(self, webhook_id: str, url: str, types: bytes) -> dict[str, Any]:
        href = f"{self.site.placeholder}{WEBHOOKS}/{webhook_id}"
        return {
            "id": webhook_id,
            "url": url,
            "event_types": [{"name": n, "description": EVENT_TYPES.get(n, "ALL"),
                             "status": "ENABLED"} for n in orjson.loads(types)],
            "links": [{"href": href, "rel": "self", "method": "GET"},
                      {"href": href, "rel": "delete", "method": "DELETE"}],
        }

    def create(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Subscribe a URL to event types (``*`` for all)."""
        if not isinstance(body, dict):
            raise bad("/", body, "Send a webhook object with url and event_types.",
                      "INVALID_PARAMETER_SYNTAX")
        url = body.get("url")
        if url is None:
            raise missing("/url")
        check_url(url)
        types = body.get("event_types")
        if types is None:
            raise missing("/event_types")
        if not isinstance(types, list) or not 1 <= len(types) <= 500:
            raise bad("/event_types", types, "event_types is a list of 1 to 500 "
                      "{\"name\": ...} objects.", "INVALID_PARAMETER_SYNTAX")
        names: list[str] = []
        for i, entry in enumerate(types):
            name = entry.get("name") if isinstance(entry, dict) else None
            if name != "*" and name not in EVENT_TYPES:
                raise bad(f"/event_types/{i}/name", name,
                          f"Unsupported event type; use * or one of {', '.join(EVENT_TYPES)}.")
            if name not in names:
                names.append(name)
        with self.store.transaction():
            rows = self.store.all("SELECT url FROM webhooks WHERE merchant = ?",
                                  (merchant.payer_id,))
            if any(row[0] == url for row in rows):
                raise bad("/url", url, "A webhook already exists for the URL. Update the "
                          "webhook or create a webhook with different URL.",
                          "WEBHOOK_URL_ALREADY_EXISTS")
            if len(rows) >= MAX_WEBHOOKS:
                raise bad("/", None, "You can create a maximum of ten webhooks for an "
                          "application. You have reached the maximum limit.",
                          "WEBHOOK_NUMBER_LIMIT_EXCEEDED")
            webhook_id = fresh(17)
            stored = orjson.dumps(["*"] if "*" in names else names)
            self.store.execute(
                "INSERT INTO webhooks (id, merchant, url, event_types) VALUES (?, ?, ?, ?)",
                (webhook_id, merchant.payer_id, url, stored))
        return self._json(webhook_id, url, stored)

    def list(self, merchant: Merchant) -> dict[str, Any]:
        """The merchant's webhooks, oldest first."""
        rows = self.store.all(
            "SELECT id, url, event_types FROM webhooks WHERE merchant = ? ORDER BY seq",
            (merchant.payer_id,))
        return {"webhooks": [self._json(*row) for row in rows]}

    def get(self, merchant: Merchant, webhook_id: str) -> dict[str, Any]:
        """One webhook (404 if it is not this merchant's)."""
        row = self.store.one(
            "SELECT id, url, event_types FROM webhooks WHERE id = ? AND merchant = ?",
            (webhook_id, merchant.payer_id))
        if row is None:
            raise not_found("webhook", webhook_id)
        return self._json(*row)

    def owns(self, merchant: Merchant, webhook_id: str) -> bool:
        """Whether ``webhook_id`` is one of the merchant's webhooks."""
        return self.store.one("SELECT 1 FROM webhooks WHERE id = ? AND merchant = ?",
                              (webhook_id, merchant.payer_id)) is not None

    def delete(self, merchant: Merchant, webhook_id: str) -> None:
        """Unsubscribe; its pending deliveries are abandoned."""
        with self.store.transaction():
            self.get(merchant, webhook_id)
            self.store.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
            self.store.execute("UPDATE deliveries SET status = 'CANCELLED' "
                               "WHERE webhook_id = ? AND status = 'PENDING'", (webhook_id,))

    def subscribed(self, merchant: Merchant, event_type: str | None = None
                   ) -> list[tuple[str, str]]:
        """``(webhook id, url)`` of the merchant's webhooks, oldest first: those subscribed
        to ``event_type`` (``*`` included), or all of them."""
        return [(webhook_id, url) for webhook_id, url, types in self.store.all(
            "SELECT id, url, event_types FROM webhooks WHERE merchant = ? ORDER BY seq",
            (merchant.payer_id,))
            if event_type is None or {"*", event_type} & set(orjson.loads(types))]

    @staticmethod
    def event_types() -> dict[str, Any]:
        """Every event type the emulator sends."""
        return {"event_types": [{"name": name, "description": text, "status": "ENABLED",
                                 "resource_versions": ["2.0"]}
                                for name, text in EVENT_TYPES.items()]}
