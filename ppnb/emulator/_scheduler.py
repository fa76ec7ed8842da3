"""Scheduled sends: an invoice sent before its issue date goes out on that day.

PayPal sends a ``SCHEDULED`` invoice at 07:00 on its issue date in the merchant's time zone
(OBSERVED.md; the emulator's merchants live in UTC), with the notification the send call
gave. The emulator has no timer: the sends fall due when its clock says so, and fire at the
next request (:meth:`Scheduler.tick`, cheap enough to call on every one) or when the clock
is moved (:meth:`Scheduler.fire_scheduled`).
"""

from __future__ import annotations

import datetime as dt

import orjson

from ._auth import Auth
from ._book import Book
from ._invoices import Invoices

#: The hour (UTC here; the merchant's time zone on PayPal) scheduled invoices go out.
SEND_HOUR = 7


class Scheduler:
    """Fires scheduled sends whose time has come, by the emulator's clock."""

    def __init__(self, book: Book, auth: Auth, invoices: Invoices) -> None:
        self.book = book
        self.auth = auth
        self.invoices = invoices
        self._fired_through = ""  # the emulator day up to which scheduled sends have fired

    def forget(self) -> None:
        """Check again at the next tick (the database changed underneath)."""
        self._fired_through = ""

    def _send_day(self) -> str:
        """The latest issue date whose scheduled invoices are due: before 07:00 it is
        yesterday."""
        now = self.book.clock.now()
        return (now.date() - dt.timedelta(days=now.hour < SEND_HOUR)).isoformat()

    def fire_scheduled(self) -> list[str]:
        """Send every scheduled invoice whose sending time has come (07:00 UTC on its issue
        date, by the emulator's clock); returns their ids."""
        today = self._send_day()
        owners = {m.payer_id: m for m in self.auth.merchants()}
        fired = []
        with self.book.store.transaction():
            for seq, merchant_id, doc_bytes, hidden in self.book.store.all(
                "SELECT seq, merchant, doc, internal FROM invoices "
                "WHERE status = 'SCHEDULED' AND invoice_date <= ? ORDER BY seq", (today,)
            ):
                doc, internal = orjson.loads(doc_bytes), orjson.loads(hidden)
                merchant = owners[merchant_id]
                self.invoices.mark_sent(merchant, doc, internal, internal.pop("notice", {}))
                self.book.save(merchant, doc, internal, seq, event="SENT")
                fired.append(doc["id"])
        self._fired_through = today
        return fired

    def tick(self) -> None:
        """Fire scheduled sends once per sending day (cheap enough to call per request)."""
        if self._fired_through != self._send_day():
            self.fire_scheduled()
