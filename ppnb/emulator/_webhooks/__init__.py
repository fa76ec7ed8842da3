"""PayPal webhooks, emulated: subscriptions, invoice events, signed deliveries, retries.

One part per job, all over the emulator's one store (and so inside the transaction of the
request that uses them):

* ``_subscriptions``: the merchants' webhooks (``/v1/notifications/webhooks``): per merchant
  app at most ten, one per URL, each to a list of event types or ``*``;
* ``_notifications``: events, emitted in the transaction of the change they report, listed,
  resent, and the simulator's mock events;
* ``_keys``: the RSA signing key and its self-signed certificate, served under PayPal's
  certificate path;
* ``_signing``: PayPal's headers on each transmission, and postback verification;
* ``_delivery``: the queue and the background thread that delivers, with retries
  (:class:`DeliveryPolicy`);
* ``_common``: where the emulator is served (:class:`Site`) and the request errors.

:class:`Webhooks` puts them together for the service and the HTTP layer. Stored event bodies
keep the base-URL placeholder of stored invoices; it is replaced by the URL the emulator is
served at when an event is delivered or read.
"""

from __future__ import annotations

from typing import Any

from .._clock import Clock
from .._store import Store
from ._common import EVENTS, WEBHOOKS, Merchant, Site
from ._delivery import USER_AGENT, Deliveries, DeliveryPolicy
from ._keys import CERT_VALIDITY, SigningKeys
from ._notifications import Notifications
from ._signing import Signer
from ._subscriptions import EVENT_TYPES, MAX_WEBHOOKS, Subscriptions

__all__ = ["CERT_VALIDITY", "EVENTS", "EVENT_TYPES", "MAX_WEBHOOKS", "USER_AGENT", "WEBHOOKS",
           "DeliveryPolicy", "Webhooks"]


class Webhooks:
    """Webhook subscriptions, events and their delivery, over the emulator's store.

    Parameters
    ----------
    store, clock
        The emulator's database and clock.
    placeholder
        What stands for the base URL in stored documents.
    policy
        Retry schedule of deliveries.

    Attributes
    ----------
    subscriptions, notifications, keys, signer, delivery
        The parts (see the module notes); the methods below are theirs.
    """

    def __init__(self, store: Store, clock: Clock, placeholder: str,
                 policy: DeliveryPolicy | None = None) -> None:
        self.store = store
        self.clock = clock
        self.site = Site(placeholder)
        self.subscriptions = Subscriptions(store, self.site)
        self.keys = SigningKeys(store, clock)
        self.signer = Signer(self.keys, clock, self.site, self.subscriptions)
        self.delivery = Deliveries(store, self.site, policy or DeliveryPolicy(),
                                   self.signer.sign)
        self.notifications = Notifications(store, clock, self.site, self.subscriptions,
                                           self.delivery)

    # --- where the emulator is served ------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """The URL the emulator is served at (links in delivered events, the cert URL)."""
        return self.site.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.site.base_url = value

    def seen(self, base_url: str) -> None:
        """Learn the served URL from a request, when whoever served the app did not say."""
        if self.site.base_url is None:
            self.site.base_url = base_url

    # --- subscriptions ---------------------------------------------------------------------

    def create(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """Subscribe a URL to event types (:meth:`Subscriptions.create`)."""
        return self.subscriptions.create(merchant, body)

    def list(self, merchant: Merchant) -> dict[str, Any]:
        """The merchant's webhooks, oldest first."""
        return self.subscriptions.list(merchant)

    def get(self, merchant: Merchant, webhook_id: str) -> dict[str, Any]:
        """One webhook (404 if it is not this merchant's)."""
        return self.subscriptions.get(merchant, webhook_id)

    def delete(self, merchant: Merchant, webhook_id: str) -> None:
        """Unsubscribe; its pending deliveries are abandoned."""
        self.subscriptions.delete(merchant, webhook_id)

    @staticmethod
    def event_types() -> dict[str, Any]:
        """Every event type the emulator sends."""
        return Subscriptions.event_types()

    # --- events ----------------------------------------------------------------------------

    def emit(self, merchant: Merchant, event_type: str, resource_id: str,
             resource: bytes) -> None:
        """Record an event and queue its deliveries (:meth:`Notifications.emit`)."""
        self.notifications.emit(merchant, event_type, resource_id, resource)

    def simulate(self, merchant: Merchant, body: Any) -> dict[str, Any]:
        """``POST /v1/notifications/simulate-event`` (:meth:`Notifications.simulate`)."""
        return self.notifications.simulate(merchant, body)

    def list_events(self, merchant: Merchant, *, page_size: int = 10, page: int = 1,
                    start_time: str | None = None, end_time: str | None = None,
                    event_type: str | None = None) -> dict[str, Any]:
        """The merchant's events, newest first (:meth:`Notifications.list_events`)."""
        return self.notifications.list_events(
            merchant, page_size=page_size, page=page, start_time=start_time,
            end_time=end_time, event_type=event_type)

    def get_event(self, merchant: Merchant, event_id: str) -> dict[str, Any]:
        """One event with its delivery attempts."""
        return self.notifications.get_event(merchant, event_id)

    def resend(self, merchant: Merchant, event_id: str, body: Any) -> dict[str, Any]:
        """Queue an event again (:meth:`Notifications.resend`)."""
        return self.notifications.resend(merchant, event_id, body)

    # --- signing ---------------------------------------------------------------------------

    def certificate(self, cert_id: str) -> bytes | None:
        """A signing certificate as PEM, by id (``None`` if there is no such one)."""
        return self.keys.certificate(cert_id)

    def cert_url(self, cert_id: str) -> str:
        """Where the certificate ``cert_id`` is served."""
        return self.signer.cert_url(cert_id)

    def sign(self, webhook_id: str, body: bytes) -> dict[str, str]:
        """The PayPal headers of one transmission of ``body`` to ``webhook_id``."""
        return self.signer.sign(webhook_id, body)

    def verify_signature(self, merchant: Merchant, body: Any,
                         raw: bytes | None = None) -> dict[str, str]:
        """``POST /v1/notifications/verify-webhook-signature``
        (:meth:`Signer.verify_signature`)."""
        return self.signer.verify_signature(merchant, body, raw)

    # --- deliveries ------------------------------------------------------------------------

    def deliveries(self, *, event_id: str | None = None, status: str | None = None,
                   webhook_id: str | None = None) -> list[dict[str, Any]]:
        """Deliveries, oldest first, with every attempt made so far."""
        return self.delivery.list(event_id=event_id, status=status, webhook_id=webhook_id)

    def wake(self) -> None:
        """Look at the queue now (after a restore, or when the served URL becomes known)."""
        self.delivery.wake()

    def start(self) -> None:
        """Run the delivery thread (idempotent)."""
        self.delivery.start()

    def stop(self) -> None:
        """Stop the delivery thread after its current attempt; pending deliveries stay
        queued."""
        self.delivery.stop()
