"""What a PayPal invoice template puts into the invoice form."""

from __future__ import annotations

from typing import Any

from .._protocol import TERM_TYPES
from ..money import CURRENCY_DECIMALS

#: PayPal's payment terms (the base layer's list).
TERMS = TERM_TYPES


def prefill(info: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A template's ``template_info`` as form values (the names of
    :meth:`~ppnb.widgets.InvoiceForm.set`) and PayPal items; what the template leaves out, or
    the form cannot hold (an unsupported currency or term), is not in them."""
    detail = info.get("detail", {})
    values: dict[str, Any] = {}
    if detail.get("currency_code") in CURRENCY_DECIMALS:
        values["currency"] = detail["currency_code"]
    term = detail.get("payment_term", {}).get("term_type")
    if term in TERMS:
        values["term"] = term
    values.update({key: detail[key] for key in ("note", "memo", "reference") if detail.get(key)})
    billing = ((info.get("primary_recipients") or [{}])[0]).get("billing_info", {})
    if billing.get("email_address"):
        values["email"] = billing["email_address"]
    partial = info.get("configuration", {}).get("partial_payment", {})
    if partial.get("allow_partial_payment"):
        values["partial"] = True
        values["minimum"] = (partial.get("minimum_amount_due") or {}).get("value", "")
    return values, info.get("items") or []
