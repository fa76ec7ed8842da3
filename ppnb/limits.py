"""PayPal Invoicing v2's limits on the fields people type, from the spec.

One copy, used by the emulator's request validation and by the invoice form, so that the
form refuses, before anything is sent, exactly what PayPal would refuse.
"""

from __future__ import annotations

import re

__all__ = ["EMAIL", "EMAIL_LENGTH", "MAX_LENGTH"]

#: An email address as PayPal accepts it: no spaces, one ``@``, a dotted domain that does
#: not start with ``-`` or ``"``.
EMAIL = re.compile(r"^[^@\s]+@[^@\s\"\-][^@\s]*\.[^@\s]+$")
#: Shortest and longest email address.
EMAIL_LENGTH = (3, 254)
#: Longest value of each free-text field of an invoice, in characters.
MAX_LENGTH: dict[str, int] = {
    "given_name": 140,
    "surname": 140,
    "business_name": 300,
    "item_name": 200,
    "invoice_number": 25,
    "reference": 120,
    "memo": 500,
    "note": 4000,
}
