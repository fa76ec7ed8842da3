"""Stored (v2) invoices and templates, shown in v1's shapes.

The inverse of :mod:`._inbound`, plus what v1 shows that v2 spells otherwise:

* ``total_amount`` is v2's ``amount``; ``paid_amount`` / ``refunded_amount`` split what was
  paid or refunded into ``paypal`` and ``other`` (v1's ``payment-summary``);
* ``payments[]`` / ``refunds[]`` carry ``transaction_id`` and a v1 ``date``;
* ``metadata`` is v2's with v1's names (``created_date``, ``last_sent_date``,
  ``payer_view_url``...), times in the merchant's zone (:mod:`._dates`);
* money always has its currency's decimals (seed 004: ``"5"`` is shown ``"5.00"``), and
  discounts are shown as the positive amounts v1 clients send (v2 answers them negative);
* quantities and percents are JSON numbers again;
* HATEOAS links are the ones the service offers in the invoice's state, at v1's paths and
  with v1's names (seed 004: a draft offers ``send``, ``delete`` and ``update``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...money import MoneyError, format_amount
from . import _dates
from ._inbound import ADDRESS, prune

INVOICES = "/v1/invoicing/invoices"
TEMPLATES = "/v1/invoicing/templates"
#: v2 link relation → v1 relation, path suffix and method, in the order v1 lists them.
_INVOICE_LINKS = {
    "send": ("send", "/send", "POST"),
    "delete": ("delete", "", "DELETE"),
    "replace": ("update", "", "PUT"),
    "remind": ("remind", "/remind", "POST"),
    "cancel": ("cancel", "/cancel", "POST"),
    "record-payment": ("record-payment", "/record-payment", "POST"),
    "record-refund": ("record-refund", "/record-refund", "POST"),
    "qr-code": ("qr-code", "/qr-code", "GET"),
}
_TEMPLATE_LINKS = {"self": ("self", "", "GET"), "replace": ("replace", "", "PUT"),
                   "delete": ("delete", "", "DELETE")}
_METADATA = (("created_date", "create_time"), ("created_by", "created_by"),
             ("cancelled_date", "cancel_time"), ("cancelled_by", "cancelled_by"),
             ("last_updated_date", "last_update_time"), ("last_updated_by", "last_updated_by"),
             ("first_sent_date", "first_sent_time"), ("last_sent_date", "last_sent_time"),
             ("last_sent_by", "last_sent_by"), ("payer_view_url", "recipient_view_url"))
_UNITS = {"QUANTITY": "Quantity", "HOURS": "Hours", "AMOUNT": "Amount"}


def money(value: Any, *, positive: bool = False) -> dict[str, str] | None:
    """``{currency_code, value}`` → ``{currency, value}`` with the currency's decimals."""
    if not isinstance(value, dict) or value.get("value") is None:
        return None
    currency, amount = value.get("currency_code"), Decimal(value["value"])
    try:
        text = format_amount(abs(amount) if positive else amount, currency)
    except MoneyError:  # pragma: no cover - the service stores supported currencies only
        text = value["value"]
    return {"currency": currency, "value": text}


def number(text: Any) -> Any:
    """A stored decimal string as the JSON number v1 shows (``"100"`` → ``100``)."""
    if not isinstance(text, str):
        return text
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def phone(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"country_code": value.get("country_code"),
            "national_number": value.get("national_number")}


def address(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {v1: value.get(v2) for v1, v2 in ADDRESS}


def _person(info: dict[str, Any]) -> dict[str, Any]:
    name = info.get("name") or {}
    return {"first_name": name.get("given_name"), "last_name": name.get("surname"),
            "business_name": info.get("business_name"), "address": address(info.get("address"))}


def merchant_info(invoicer: Any) -> dict[str, Any] | None:
    if not isinstance(invoicer, dict):
        return None
    phones = invoicer.get("phones") or []
    return {"email": invoicer.get("email_address"), **_person(invoicer),
            "phone": next((phone(p) for p in phones if p.get("phone_type") != "FAX"), None),
            "fax": next((phone(p) for p in phones if p.get("phone_type") == "FAX"), None),
            "website": invoicer.get("website"), "tax_id": invoicer.get("tax_id"),
            "additional_info": invoicer.get("additional_notes")}


def billing(info: dict[str, Any]) -> dict[str, Any]:
    language = info.get("language")
    return {"email": info.get("email_address"), **_person(info),
            "phone": phone((info.get("phones") or [None])[0]),
            "language": language.replace("-", "_") if isinstance(language, str) else None,
            "additional_info": info.get("additional_info")}


def _tax(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"name": value.get("name"), "percent": number(value.get("percent")),
            "amount": money(value.get("amount"))}


def _discount(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    if value.get("percent") is not None:
        return {"percent": number(value["percent"])}
    return {"amount": money(value.get("amount"), positive=True)}


def item(value: dict[str, Any]) -> dict[str, Any]:
    return {"name": value.get("name"), "description": value.get("description"),
            "quantity": number(value.get("quantity")),
            "unit_price": money(value.get("unit_amount")), "tax": _tax(value.get("tax")),
            "date": _dates.render_date(value.get("item_date")),
            "discount": _discount(value.get("discount")),
            "unit_of_measure": value.get("unit_of_measure")}


def invoice_data(doc: dict[str, Any], *, effective: bool) -> dict[str, Any]:
    """What invoices and templates share: parties, items, terms, amounts and settings.

    ``effective`` shows the tax settings in force (v2's defaults where unset), as an invoice
    must; a template shows only what it sets.
    """
    detail = doc.get("detail") or {}
    config = doc.get("configuration") or {}
    partial = config.get("partial_payment") or {}
    breakdown = (doc.get("amount") or {}).get("breakdown") or {}
    recipients = doc.get("primary_recipients") or []
    shipping = (recipients[0].get("shipping_info") if recipients else None) or None
    invoicer = doc.get("invoicer") or {}
    ship_cost = breakdown.get("shipping")
    custom = breakdown.get("custom")
    term = detail.get("payment_term") or None
    after, inclusive = (config.get("tax_calculated_after_discount"),
                        config.get("tax_inclusive"))
    if effective:
        after = True if after is None else after
        inclusive = bool(inclusive)
    return {
        "merchant_info": merchant_info(doc.get("invoicer")),
        "billing_info": [billing(r["billing_info"]) for r in recipients
                         if r.get("billing_info")] or None,
        "shipping_info": _person(shipping) if shipping else None,
        "cc_info": [{"email": e} for e in doc.get("additional_recipients") or []] or None,
        "items": [item(i) for i in doc["items"]] if doc.get("items") else None,
        "invoice_date": _dates.render_date(detail.get("invoice_date")),
        "payment_term": {"term_type": term.get("term_type"),
                         "due_date": _dates.render_date(term.get("due_date"))} if term else None,
        "reference": detail.get("reference"),
        "discount": _discount((breakdown.get("discount") or {}).get("invoice_discount")),
        "shipping_cost": {"amount": money(ship_cost.get("amount")),
                          "tax": _tax(ship_cost.get("tax"))} if ship_cost else None,
        "custom": {"label": custom.get("label"), "amount": money(custom.get("amount"))}
        if custom else None,
        "allow_partial_payment": partial.get("allow_partial_payment"),
        "minimum_amount_due": money(partial.get("minimum_amount_due")),
        "allow_tip": config.get("allow_tip"),
        "tax_calculated_after_discount": after, "tax_inclusive": inclusive,
        "terms": detail.get("terms_and_conditions"), "note": detail.get("note"),
        "merchant_memo": detail.get("memo"), "logo_url": invoicer.get("logo_url"),
        "attachments": [{"name": a.get("id"), "url": a.get("reference_url")}
                        for a in detail.get("attachments") or []] or None,
    }


def _summary(transactions: list[dict[str, Any]], currency: str) -> dict[str, Any] | None:
    """v1's ``payment-summary``: the total by PayPal and by other means."""
    if not transactions:
        return None
    out = {}
    for key, kinds in (("paypal", ("PAYPAL",)), ("other", ("EXTERNAL",))):
        total = sum((Decimal(t["amount"]["value"]) for t in transactions
                     if t.get("type") in kinds), Decimal(0))
        out[key] = {"currency": currency, "value": format_amount(total, currency)}
    return out


def links(stored: list[dict[str, Any]], href: str, table: dict[str, tuple[str, str, str]]
          ) -> list[dict[str, str]]:
    """The links the service offers, at v1's paths and with v1's names."""
    offered = {link.get("rel") for link in stored}
    return [{"href": href + suffix, "rel": rel, "method": method}
            for v2_rel, (rel, suffix, method) in table.items() if v2_rel in offered]


def invoice(doc: dict[str, Any], base: str, extras: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """A stored invoice as v1 shows it (``base`` stands for the served URL)."""
    detail = doc.get("detail") or {}
    metadata = detail.get("metadata") or {}
    currency = detail.get("currency_code") or ""
    payments = (doc.get("payments") or {}).get("transactions") or []
    refunds = (doc.get("refunds") or {}).get("transactions") or []
    out = {"id": doc.get("id"), "number": detail.get("invoice_number"),
           "status": doc.get("status"),
           "template_id": (doc.get("configuration") or {}).get("template_id"),
           **invoice_data(doc, effective=True),
           "total_amount": money(doc.get("amount")),
           "payments": [{"type": p.get("type"), "transaction_id": p.get("payment_id"),
                         "date": _dates.render_date(p.get("payment_date")),
                         "method": p.get("method"), "note": p.get("note"),
                         "amount": money(p.get("amount"))} for p in payments] or None,
           "refunds": [{"type": r.get("type"), "transaction_id": r.get("refund_id"),
                        "date": _dates.render_date(r.get("refund_date")),
                        "amount": money(r.get("amount"))} for r in refunds] or None,
           "paid_amount": _summary(payments, currency),
           "refunded_amount": _summary(refunds, currency),
           "metadata": {v1: (_dates.render_time(metadata.get(v2)) if v1.endswith("_date")
                             else metadata.get(v2)) for v1, v2 in _METADATA},
           "links": links(doc.get("links") or [], f"{base}{INVOICES}/{doc.get('id')}",
                          _INVOICE_LINKS) or None}
    shipping_phone = (extras or {}).get("shipping_phone")
    if shipping_phone and out["shipping_info"]:
        out["shipping_info"]["phone"] = shipping_phone
    return prune(out)


def template(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """A stored template as v1 shows it."""
    info = doc.get("template_info")
    settings = doc.get("settings") or {}
    shown = [{"field_name": s.get("field_name", "").lower().replace("items_", "items."),
              "display_preference": s.get("display_preference")}
             for key in ("template_item_settings", "template_subtotal_settings")
             for s in settings.get(key) or []]
    return prune({
        "template_id": doc.get("id"), "name": doc.get("name"),
        "default": doc.get("default_template", False),
        "unit_of_measure": _UNITS.get(doc.get("unit_of_measure") or "", doc.get(
            "unit_of_measure")),
        "template_data": invoice_data(info, effective=False) if info else None,
        "settings": shown or None,
        "custom": not doc.get("standard_template", False),
        "links": links(doc.get("links") or [], f"{base}{TEMPLATES}/{doc.get('id')}",
                       _TEMPLATE_LINKS),
    })
