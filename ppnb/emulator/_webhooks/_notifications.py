"""Webhook events: emitted with the change they report, listed, resent and simulated.

* **Events.** The service calls :meth:`Notifications.emit` inside the transaction that
  changes an invoice, so an event exists exactly when its effect does: a rolled-back call or
  an idempotent replay emits nothing. An event is stored (and listed by
  ``/v1/notifications/webhooks-events``) only if one of the merchant's webhooks subscribes to
  it; a delivery is queued for each such webhook in the same transaction. Bodies are compact
  JSON with raw UTF-8, as live deliveries are (OBSERVED.md).
* **Simulator** (``POST /v1/notifications/simulate-event``): a mock event of a type, with a
  sample invoice, sent to a webhook's URL (or any URL) and signed for the webhook id
  ``WEBHOOK_ID``, as PayPal's simulator signs them (OBSERVED.md). Mock events are not listed
  among the merchant's events.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..._signing import SIMULATOR_WEBHOOK_ID
from .._clock import Clock, isoformat
from .._errors import error, not_found
from .._events import sample_invoice
from .._ids import fresh
from .._store import Store
from .._validation import parse_datetime
from ._common import EVENTS, Merchant, Site, bad, check_url, missing
from ._delivery import Deliveries
from ._subscriptions import EVENT_TYPES, Subscriptions

#: Mock events belong to no merchant's event list.
_SIMULATED = "simulator:"


class Notifications:
    """The merchants' webhook events, in the emulator's store.

    Parameters
    ----------
    store, clock
        The emulator's database and clock.
    site
        Where the emulator is served (links in events).
    subscriptions
        Who subscribes to what.
    deliveries
        Where events are queued for delivery.
    """

    def __init__(self, store: Store, clock: Clock, site: Site, subscriptions: Subscriptions,
                 deliveries: Deliveries) -> None:
        self.store = store
        self.clock = clock
        self.site = site
        self.subscriptions = subscriptions
        self.deliveries = deliveries

    def emit(self, merchant: Merchant, event_type: str, resource_id: str,
             resource: bytes) -> None:
        """Record an event and queue its deliveries (call inside the effect's transaction).

        ``resource`` is the invoice's stored JSON, the event's ``resource`` as is.
        """
        hooks = self.subscriptions.subscribed(merchant, event_type)
        if hooks:
            self._store_event(merchant.payer_id, event_type, resource_id, resource, hooks)

    def _store_event(self, owner: str, event_type: str, resource_id: str, resource: bytes,
                     hooks: list[tuple[str, str]]) -> bytes:
        """Store an event of ``owner`` (compact JSON, raw UTF-8) and queue its deliveries."""
        event_id = f"WH-{fresh(17)}-{fresh(17)}"
        now = isoformat(self.clock.now())
        href = f"{self.site.placeholder}{EVENTS}/{event_id}"
        head = orjson.dumps({
            "id": event_id, "event_version": "1.0", "create_time": now,
            "resource_type": "invoices", "resource_version": "2.0", "event_type": event_type,
            "summary": EVENT_TYPES[event_type],
        })
        links = orjson.dumps([{"href": href, "rel": "self", "method": "GET"},
                              {"href": href + "/resend", "rel": "resend", "method": "POST"}])
        body = head[:-1] + b',"resource":' + resource + b',"links":' + links + b"}"
        self.store.execute(
            "INSERT INTO events (id, merchant, event_type, resource_id, create_time, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, owner, event_type, resource_id, now, body))
        self.deliveries.queue(event_id, hooks)
        return body

    def simulate(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """``POST /v1/notifications/simulate-event``: send a mock event of ``event_type``
        (a sample invoice as its resource) to ``url``, or to the URL of the merchant's
        webhook ``webhook_id``, signed for ``WEBHOOK_ID`` as PayPal's simulator does."""
        if not isinstance(body, dict):
            raise bad("/", body, "Send a simulate_event object with event_type and url or "
                      "webhook_id.", "INVALID_PARAMETER_SYNTAX")
        event_type = body.get("event_type")
        if event_type is None:
            raise missing("/event_type")
        if event_type not in EVENT_TYPES:
            raise bad("/event_type", event_type,
                      f"Unsupported event type; use one of {', '.join(EVENT_TYPES)}.")
        url = body.get("url")
        if body.get("webhook_id") is not None:
            url = self.subscriptions.get(merchant, body["webhook_id"])["url"]
        elif url is None:
            raise missing("/url")
        check_url(url)
        resource = sample_invoice(event_type, self.clock.now(), self.site.placeholder)
        with self.store.transaction():
            event = self._store_event(_SIMULATED + merchant.payer_id, event_type,
                                      resource["id"], orjson.dumps(resource),
                                      [(SIMULATOR_WEBHOOK_ID, url)])
        return orjson.loads(event)

    def _event_json(self, event_id: str, body: bytes) -> dict[str, Any]:
        event = orjson.loads(body)
        event["transmissions"] = self.deliveries.list(event_id=event_id)
        return event

    def list_events(self, merchant: Merchant, *, page_size: int = 10, page: int = 1,
                    start_time: str | None = None, end_time: str | None = None,
                    event_type: str | None = None) -> dict[str, Any]:
        """The merchant's events, newest first, each with its delivery attempts
        (``transmissions``, the emulator's addition)."""
        where, params = ["merchant = ?"], [merchant.payer_id]
        for name, value, op in (("start_time", start_time, ">="), ("end_time", end_time, "<=")):
            if value is not None:
                try:
                    moment = isoformat(parse_datetime(value))
                except ValueError:
                    raise error(400, "INVALID_PARAMETER_SYNTAX",
                                f"{name} must be an RFC 3339 date-time.", name, value,
                                "query") from None
                where.append(f"create_time {op} ?")
                params.append(moment)
        if event_type is not None:
            where.append("event_type = ?")
            params.append(event_type)
        rows = self.store.all(
            f"SELECT id, body FROM events WHERE {' AND '.join(where)} ORDER BY seq DESC "
            "LIMIT ? OFFSET ?", (*params, page_size + 1, (page - 1) * page_size))
        events = [self._event_json(*row) for row in rows[:page_size]]
        href = f"{self.site.placeholder}{EVENTS}?page_size={page_size}"
        links = [{"href": f"{href}&page={page}", "rel": "self", "method": "GET"}]
        if len(rows) > page_size:
            links.append({"href": f"{href}&page={page + 1}", "rel": "next", "method": "GET"})
        return {"events": events, "count": len(events), "links": links}

    def _event_row(self, merchant: Merchant, event_id: str) -> bytes:
        row = self.store.one("SELECT body FROM events WHERE id = ? AND merchant = ?",
                             (event_id, merchant.payer_id))
        if row is None:
            raise not_found("event", event_id)
        return row[0]

    def get_event(self, merchant: Merchant, event_id: str) -> dict[str, Any]:
        """One event with its delivery attempts."""
        return self._event_json(event_id, self._event_row(merchant, event_id))

    def resend(self, merchant: Merchant, event_id: str, body: Any) -> dict[str, Any]:
        """Queue the event again for the given webhooks (default: every current one that
        subscribes to it)."""
        event = orjson.loads(self._event_row(merchant, event_id))
        wanted = (body or {}).get("webhook_ids") if isinstance(body, dict) else None
        if wanted is not None and not (isinstance(wanted, list)
                                       and all(isinstance(w, str) for w in wanted)):
            raise bad("/webhook_ids", wanted, "webhook_ids is a list of webhook ids.",
                      "INVALID_PARAMETER_SYNTAX")
        if wanted is None:
            hooks = self.subscriptions.subscribed(merchant, event["event_type"])
        else:
            hooks = [hook for hook in self.subscriptions.subscribed(merchant)
                     if hook[0] in wanted]
        unknown = set(wanted or ()) - {h[0] for h in hooks}
        if unknown:
            raise not_found("webhook", sorted(unknown)[0], "body")
        self.deliveries.queue(event_id, hooks)
        return event
