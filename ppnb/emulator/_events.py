"""Webhook event bodies: a mock event's sample invoice, and a member's exact bytes.

Both serve PayPal's webhook facts in ``../shared/paypal/OBSERVED.md``: the simulator sends
mock events (compact JSON with raw UTF-8), and postback verification must hash the event
exactly as the request carried it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ._clock import isoformat
from ._ids import fresh

__all__ = ["raw_member", "sample_invoice"]

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def raw_member(raw: bytes, key: str) -> bytes | None:
    """The exact bytes of the value of top-level member ``key`` in the JSON object ``raw``:
    everything between its ``:`` and the next ``,`` or ``}``, whitespace included, so a
    body spliced in is hashed as it was sent. None if ``raw`` is no object or lacks ``key``
    (the last occurrence wins, as in a parser)."""
    try:
        text = raw.decode("utf-8")
        pos = _SPACE.match(text).end()
        if text[pos:pos + 1] != "{":
            return None
        found = None
        pos = _SPACE.match(text, pos + 1).end()
        while text[pos:pos + 1] == '"':
            name, pos = _DECODER.raw_decode(text, pos)
            pos = _SPACE.match(text, pos).end() + 1  # past the ':'
            start = pos
            _, pos = _DECODER.raw_decode(text, _SPACE.match(text, pos).end())
            pos = _SPACE.match(text, pos).end()
            if name == key:
                found = text[start:pos]
            if text[pos:pos + 1] != ",":
                break
            pos = _SPACE.match(text, pos + 1).end()
    except (UnicodeDecodeError, ValueError):
        return None
    return None if found is None else found.encode()


def sample_invoice(event_type: str, now: dt.datetime, base: str) -> dict[str, Any]:
    """The resource of a simulated event: a small sample invoice in the status the event
    reports, in euros with non-ASCII text (deliveries carry raw UTF-8, OBSERVED.md)."""
    invoice_id = "INV2-" + "-".join(fresh(4) for _ in range(4))
    status = {"CREATED": "DRAFT", "UPDATED": "DRAFT", "SENT": "SENT", "SCHEDULED": "SCHEDULED",
              "PAID": "PAID", "REFUNDED": "REFUNDED", "CANCELLED": "CANCELLED"}[
        event_type.rsplit(".", 1)[1]]
    euros = {"currency_code": "EUR", "value": "25.00"}
    day = now.date().isoformat()
    doc: dict[str, Any] = {
        "id": invoice_id, "status": status,
        "detail": {"currency_code": "EUR", "invoice_number": f"SIM-{fresh(6)}",
                   "invoice_date": day, "note": "Merci ! 25,00 € à régler",
                   "payment_term": {"term_type": "DUE_ON_RECEIPT", "due_date": day},
                   "metadata": {"create_time": isoformat(now), "last_update_time": isoformat(now)}},
        "invoicer": {"email_address": "merchant@example.com"},
        "primary_recipients": [{"billing_info": {
            "email_address": "customer@example.com",
            "name": {"given_name": "Zoë", "surname": "Müller"}}}],
        "items": [{"name": "Café crème", "quantity": "1", "unit_amount": euros}],
        "amount": euros,
        "due_amount": {"currency_code": "EUR",
                       "value": "0.00" if status in ("PAID", "REFUNDED") else "25.00"},
        "links": [{"href": f"{base}/v2/invoicing/invoices/{invoice_id}", "rel": "self",
                   "method": "GET"}],
    }
    if status in ("PAID", "REFUNDED"):
        doc["payments"] = {"paid_amount": euros, "transactions": [{
            "payment_id": fresh(17), "payment_date": day, "method": "PAYPAL", "type": "PAYPAL",
            "amount": euros}]}
    if status == "REFUNDED":
        doc["refunds"] = {"refund_amount": euros, "transactions": [{
            "refund_id": fresh(17), "refund_date": day, "method": "PAYPAL", "type": "PAYPAL",
            "amount": euros}]}
    return doc
