"""v1 request bodies in the service's (v2) shapes.

Only names and nesting change here; every rule (required fields, lengths, currencies,
decimals, totals, dates) is the service's, whose errors name v2 fields that
:func:`._errors.v1_field` names back in v1. What v1 spells differently:

=====================================  ==========================================
v1 (``invoicing_v1.json``, seed 004)    v2 (the book)
=====================================  ==========================================
``merchant_info`` (+ ``logo_url``)      ``invoicer`` (``phone``/``fax`` → ``phones``)
``billing_info[]``, ``shipping_info``   ``primary_recipients[].billing_info`` /
                                        ``.shipping_info``
``cc_info[].email``                     ``additional_recipients[]``
``items[].unit_price``, ``.date``       ``items[].unit_amount``, ``.item_date``
``number``, ``invoice_date``,           ``detail.invoice_number``, ``.invoice_date``,
``payment_term``, ``reference``,        ``.payment_term``, ``.reference``, ``.note``,
``note``, ``terms``, ``merchant_memo``  ``.terms_and_conditions``, ``.memo``
``discount``, ``shipping_cost``,        ``amount.breakdown.discount.invoice_discount``,
``custom``                              ``.shipping``, ``.custom``
``allow_partial_payment``,              ``configuration.partial_payment``,
``minimum_amount_due``, ``allow_tip``,  ``configuration.*``
tax flags, ``template_id``
money ``{currency, value}``             ``{currency_code, value}``
numbers (quantity, percents)            decimal strings
dates ``2014-02-27 PST``                ``2014-02-27``
=====================================  ==========================================

The invoice currency is the one its amounts are in (v1 has no currency field). v1's tax
default is *before* discount (``tax_calculated_after_discount`` false), so a v1 invoice says
so explicitly unless a template decides. Read-only fields a client echoes back on a full
update (``id``, ``status``, ``total_amount``, ``metadata``, ``payments``, ``links``, ...)
are ignored.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import _schema as S
from .._validation import Problems
from . import _dates


def prune(value: Any) -> Any:
    """Drop ``None`` values and objects left empty, so absent v1 fields stay absent (and a
    template's values are not overridden by nothing)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in out.items() if v != {}}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def number_text(value: Any) -> Any:
    """A v1 JSON number as the decimal string v2 takes (``100`` → ``"100"``, ``2.5`` →
    ``"2.5"``); anything else is left for the service to judge.

    A float's shortest repr is the literal the client wrote for any value of up to 15
    significant digits, far beyond v1's quantities and percents (5 decimals), so nothing is
    rounded.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return value


def check_number(value: Any, field: str, problems: Problems) -> Any:
    """A quantity or percent: a JSON number or a numeric string."""
    if value is not None and (isinstance(value, bool) or not isinstance(
            value, int | float | str)):
        problems.add(field, "INVALID_PARAMETER_SYNTAX", "Expected a number.", value)
    return number_text(value)


def money(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {"currency_code": value.get("currency"), "value": number_text(value.get("value"))}


def phone(value: Any, kind: str) -> Any:
    """A v1 phone, typed for v2; ``"001"`` is country code ``"1"`` (seed 004's answer)."""
    if not isinstance(value, dict):
        return value
    code = value.get("country_code")
    if isinstance(code, str) and code.isdigit() and code.lstrip("0"):
        code = code.lstrip("0")
    return {"country_code": code, "national_number": value.get("national_number"),
            "phone_type": kind}


#: An address's fields: v1's name, v2's name (read both ways, and by error messages).
ADDRESS = (("line1", "address_line_1"), ("line2", "address_line_2"), ("city", "admin_area_2"),
           ("state", "admin_area_1"), ("postal_code", "postal_code"),
           ("country_code", "country_code"))


def address(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {v2: value.get(v1) for v1, v2 in ADDRESS}


def _name(info: dict[str, Any]) -> dict[str, Any]:
    return {"given_name": info.get("first_name"), "surname": info.get("last_name")}


def invoicer(info: Any, logo_url: Any) -> Any:
    if not isinstance(info, dict):  # missing (refused before the service sees it) or not one
        return info
    phones = [phone(info[key], kind) for key, kind in (("phone", "OTHER"), ("fax", "FAX"))
              if info.get(key) is not None]
    return {"email_address": info.get("email"), "name": _name(info),
            "business_name": info.get("business_name"), "address": address(info.get("address")),
            "phones": phones or None, "website": info.get("website"),
            "tax_id": info.get("tax_id"), "additional_notes": info.get("additional_info"),
            "logo_url": logo_url}


def billing(info: Any) -> Any:
    if not isinstance(info, dict):
        return info
    language = info.get("language")
    return {"email_address": info.get("email"), "name": _name(info),
            "business_name": info.get("business_name"), "address": address(info.get("address")),
            "phones": [phone(info["phone"], "OTHER")] if info.get("phone") is not None else None,
            "language": language.replace("_", "-") if isinstance(language, str) else language,
            "additional_info": info.get("additional_info")}


def shipping(info: Any) -> Any:
    if not isinstance(info, dict):
        return info
    return {"name": _name(info), "business_name": info.get("business_name"),
            "address": address(info.get("address"))}


def recipients(body: dict[str, Any]) -> Any:
    """``billing_info[]`` and ``shipping_info`` as v2's ``primary_recipients``."""
    bills, ship = body.get("billing_info"), body.get("shipping_info")
    if bills is not None and not isinstance(bills, list):
        return bills
    out = [{"billing_info": billing(b)} for b in bills or []]
    if ship is not None:
        if not out:
            out.append({})
        out[0]["shipping_info"] = shipping(ship)
    return out or None


def cc(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [v.get("email") if isinstance(v, dict) else v for v in value]


def date(value: Any, field: str, problems: Problems) -> str | None:
    if value is None:
        return None
    iso = _dates.parse(value)
    if iso is None:
        problems.add(field, "INVALID_PARAMETER_SYNTAX",
                     f"Invalid date: use {_dates.FORMAT}.", value)
    return iso


def _percent_or_amount(value: Any, field: str, problems: Problems) -> Any:
    if not isinstance(value, dict):
        return value
    if value.get("percent") is not None:
        return {"percent": check_number(value["percent"], f"{field}.percent", problems)}
    return {"amount": money(value.get("amount"))}


def _tax(value: Any, field: str, problems: Problems) -> Any:
    if not isinstance(value, dict):
        return value
    return {"name": value.get("name"),
            "percent": check_number(value.get("percent"), f"{field}.percent", problems)}


def item(value: Any, i: int, problems: Problems) -> Any:
    if not isinstance(value, dict):
        return value
    field = f"items[{i}]"
    unit = value.get("unit_of_measure")
    return {
        "name": value.get("name"), "description": value.get("description"),
        "quantity": check_number(value.get("quantity"), f"{field}.quantity", problems),
        "unit_amount": money(value.get("unit_price")),
        "tax": _tax(value.get("tax"), f"{field}.tax", problems),
        "item_date": date(value.get("date"), f"{field}.date", problems),
        "discount": _percent_or_amount(value.get("discount"), f"{field}.discount", problems),
        "unit_of_measure": unit.upper() if isinstance(unit, str) else unit,
    }


def currency_of(body: dict[str, Any]) -> str | None:
    """The currency a v1 invoice's amounts are in (its first item's, else any amount's)."""
    candidates = [i.get("unit_price") for i in body.get("items") or [] if isinstance(i, dict)]
    candidates += [(body.get(k) or {}).get("amount") if isinstance(body.get(k), dict) else None
                   for k in ("discount", "shipping_cost", "custom")]
    candidates.append(body.get("minimum_amount_due"))
    for money_value in candidates:
        if isinstance(money_value, dict) and isinstance(money_value.get("currency"), str):
            return money_value["currency"]
    return None


def invoice(body: Any, problems: Problems, *, template: bool = False) -> dict[str, Any]:
    """A v1 invoice (or, with ``template``, a template's ``template_data``) as the service's
    invoice body."""
    if not isinstance(body, dict):
        problems.add("", "INVALID_PARAMETER_SYNTAX", "Send a JSON object.", None)
        return {}
    if body.get("merchant_info") is None:
        problems.add("merchant_info", "MISSING_REQUIRED_PARAMETER",
                     "A required field is missing: merchant_info.")
    currency = currency_of(body)
    if currency is None and not template and body.get("template_id") is None:
        # v1 has no currency field: an invoice's is its amounts'
        problems.add("items", "MISSING_REQUIRED_PARAMETER",
                     "An invoice needs at least one item with a unit_price (its currency is "
                     "the invoice's).")
    term = body.get("payment_term")
    if isinstance(term, dict):
        term = {"term_type": term.get("term_type"),
                "due_date": date(term.get("due_date"), "payment_term.due_date", problems)}
    items = body.get("items")
    attachments = body.get("attachments")
    if isinstance(attachments, list):
        attachments = [{"id": a.get("name"), "reference_url": a.get("url")}
                       if isinstance(a, dict) else a for a in attachments]
    shipping_cost = body.get("shipping_cost")
    if isinstance(shipping_cost, dict):
        shipping_cost = {"amount": money(shipping_cost.get("amount")),
                         "tax": _tax(shipping_cost.get("tax"), "shipping_cost.tax", problems)}
    custom = body.get("custom")
    if isinstance(custom, dict):
        custom = {"label": custom.get("label"), "amount": money(custom.get("amount"))}
    after, inclusive = (body.get("tax_calculated_after_discount"), body.get("tax_inclusive"))
    if body.get("template_id") is None:  # v1's defaults, unless a template decides
        after = False if after is None else after
        inclusive = False if inclusive is None else inclusive
    partial = {"allow_partial_payment": body.get("allow_partial_payment"),
               "minimum_amount_due": money(body.get("minimum_amount_due"))}
    return prune({
        "detail": {
            "currency_code": currency, "invoice_number": body.get("number"),
            "invoice_date": date(body.get("invoice_date"), "invoice_date", problems),
            "payment_term": term, "reference": body.get("reference"), "note": body.get("note"),
            "terms_and_conditions": body.get("terms"), "memo": body.get("merchant_memo"),
            "attachments": attachments,
        },
        "invoicer": invoicer(body.get("merchant_info"), body.get("logo_url")),
        "primary_recipients": recipients(body),
        "additional_recipients": cc(body.get("cc_info")),
        "items": [item(v, i, problems) for i, v in enumerate(items)]
        if isinstance(items, list) else items,
        "amount": {"breakdown": {
            "discount": {"invoice_discount": _percent_or_amount(body.get("discount"), "discount",
                                                                problems)},
            "shipping": shipping_cost, "custom": custom}},
        "configuration": {
            "tax_calculated_after_discount": after, "tax_inclusive": inclusive,
            "allow_tip": body.get("allow_tip"), "partial_payment": partial,
            "template_id": body.get("template_id")},
    })


def extras(body: Any, problems: Problems) -> dict[str, Any]:
    """The v1 fields v2 has no place for, kept beside the invoice: the shipping phone (seed
    004 sends and shows one)."""
    ship = body.get("shipping_info") if isinstance(body, dict) else None
    value = ship.get("phone") if isinstance(ship, dict) else None
    if value is None:
        return {}
    typed = phone(value, "OTHER")
    if not isinstance(typed, dict):
        problems.add("shipping_info.phone", "INVALID_PARAMETER_SYNTAX", "Expected an object.")
        return {}
    for key in ("country_code", "national_number"):
        S.PHONE.props[key].check(typed.get(key), f"shipping_info.phone.{key}", problems)
    return {"shipping_phone": {k: typed[k] for k in ("country_code", "national_number")}}
