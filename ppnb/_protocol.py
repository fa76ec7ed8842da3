"""Facts of PayPal's Invoicing protocol that both sides of ppnb rely on, kept once.

The emulator enforces them, the client side plans around them (the bulk runner, the dunning
policy, the forms, the seeder); a second copy could drift. This module is part of the base
layer: it imports nothing of ppnb, so every layer may read it. The webhook certificate path
sits with the rest of the signature format in :mod:`ppnb._signing`.
"""

from __future__ import annotations

__all__ = ["LOOPBACK_HOSTS", "NET_TERM_DAYS", "REMINDERS_PER_DAY", "TERM_DAYS", "TERM_TYPES"]

#: PayPal's limit of reminders per invoice per UTC day (``MAX_REMINDERS_PER_DAY`` beyond).
REMINDERS_PER_DAY = 2

#: Days from the invoice date to the due date for each ``NET_n`` payment term.
NET_TERM_DAYS: dict[str, int] = {"NET_10": 10, "NET_15": 15, "NET_30": 30, "NET_45": 45,
                                 "NET_60": 60, "NET_90": 90}

#: Every payment term whose due date follows from the invoice date alone.
TERM_DAYS: dict[str, int] = {"DUE_ON_RECEIPT": 0, **NET_TERM_DAYS}

#: Every payment term PayPal knows (``payment_term.term_type``), in the order forms offer them.
TERM_TYPES = ("DUE_ON_RECEIPT", "DUE_ON_DATE_SPECIFIED", *NET_TERM_DAYS, "NO_DUE_DATE")

#: Hosts that are this machine: plain ``http`` is allowed to them (the emulator, a local
#: webhook receiver), and only to them.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
