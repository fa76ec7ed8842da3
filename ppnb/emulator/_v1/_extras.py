"""The v1 fields an invoice has that v2 has no place for, kept beside the book.

v1's ``shipping_info`` carries a ``phone`` (seed 004 sends one and shows it back); v2's
``shipping_info`` has none, and the service keeps only v2's fields. The phone is stored here,
in the emulator's database (table ``v1_fields``, keyed by invoice and merchant), written in
the same transaction as the invoice it belongs to and shown only through v1.
"""

from __future__ import annotations

from typing import Any

import orjson

from .._book import Merchant
from .._store import Store


class Extras:
    """v1-only fields per invoice."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.execute(
            "CREATE TABLE IF NOT EXISTS v1_fields (invoice_id TEXT PRIMARY KEY, "
            "merchant TEXT NOT NULL, fields BLOB NOT NULL)")

    def get(self, merchant: Merchant, invoice_id: str) -> dict[str, Any]:
        """The v1-only fields of one of ``merchant``'s invoices (``{}`` if none)."""
        row = self.store.one("SELECT fields FROM v1_fields WHERE invoice_id = ? AND merchant = ?",
                             (invoice_id, merchant.payer_id))
        return orjson.loads(row[0]) if row else {}

    def put(self, merchant: Merchant, invoice_id: str, fields: dict[str, Any]) -> None:
        """Replace them (a v1 full update replaces the whole invoice, these included)."""
        if not fields:
            self.delete(invoice_id)
            return
        self.store.execute("INSERT OR REPLACE INTO v1_fields VALUES (?, ?, ?)",
                           (invoice_id, merchant.payer_id, orjson.dumps(fields)))

    def delete(self, invoice_id: str) -> None:
        """Forget them (the invoice was deleted)."""
        self.store.execute("DELETE FROM v1_fields WHERE invoice_id = ?", (invoice_id,))
