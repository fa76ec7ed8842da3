"""v1 templates in the service's (v2) shape.

=================================  ============================================
v1 (seed 004, ``invoicing_v1.json``)  v2
=================================  ============================================
``template_id``, ``default``         ``id``, ``default_template``
``template_data`` (an invoice)       ``template_info`` (detail, parties, items,
                                     amounts, configuration)
``settings[]`` ``items.date``, ...   ``settings.template_item_settings[]``
                                     ``ITEMS_DATE``; ``discount``, ``shipping``,
                                     ``custom`` → ``template_subtotal_settings[]``
``unit_of_measure`` ``Hours``        ``HOURS``
=================================  ============================================

A template's currency is the one its amounts are in; one with no amount at all is in USD,
the currency of the service's own system templates.
"""

from __future__ import annotations

from typing import Any

from .._validation import Problems
from ._inbound import invoice, prune

_ITEM_FIELDS = ("items.quantity", "items.description", "items.date", "items.discount",
                "items.tax")
_SUBTOTAL_FIELDS = ("discount", "shipping", "custom")
#: The invoice fields a template keeps (v2's ``template_info``).
_INFO = ("invoicer", "primary_recipients", "additional_recipients", "items", "amount",
         "configuration")
_DETAIL = ("currency_code", "reference", "note", "terms_and_conditions", "memo",
           "attachments")


def _settings(value: Any, problems: Problems) -> Any:
    if not isinstance(value, list):
        return value
    out: dict[str, list[Any]] = {"template_item_settings": [], "template_subtotal_settings": []}
    for i, setting in enumerate(value):
        name = setting.get("field_name") if isinstance(setting, dict) else None
        if name in _ITEM_FIELDS:
            key, v2_name = "template_item_settings", name.replace(".", "_").upper()
        elif name in _SUBTOTAL_FIELDS:
            key, v2_name = "template_subtotal_settings", name.upper()
        else:
            problems.add(f"settings[{i}].field_name", "INVALID_PARAMETER_VALUE",
                         f"field_name is one of {', '.join(_ITEM_FIELDS + _SUBTOTAL_FIELDS)}.",
                         name)
            continue
        out[key].append({"field_name": v2_name,
                         "display_preference": setting.get("display_preference")})
    return {k: v for k, v in out.items() if v}


def template(body: Any, problems: Problems) -> dict[str, Any]:
    """A v1 template as the service's template body."""
    if not isinstance(body, dict):
        problems.add("", "INVALID_PARAMETER_SYNTAX", "Send a JSON object.")
        return {}
    info = None
    data = body.get("template_data")
    if data is not None:
        inner = Problems()
        translated = invoice(data, inner, template=True)
        for detail in inner.details:  # name the template's fields from the template
            where = "" if detail.field in (None, "/") else f".{detail.field}"
            problems.add(f"template_data{where}", detail.issue, detail.description,
                         detail.value)
        detail = translated.get("detail") or {}
        info = {key: translated.get(key) for key in _INFO}
        info["detail"] = {key: detail.get(key) for key in _DETAIL}
        info["detail"]["currency_code"] = detail.get("currency_code", "USD")
        term = detail.get("payment_term") or {}
        info["detail"]["payment_term"] = {"term_type": term.get("term_type")}
    unit = body.get("unit_of_measure")
    return prune({"name": body.get("name"), "default_template": body.get("default"),
                  "template_info": info, "settings": _settings(body.get("settings"), problems),
                  "unit_of_measure": unit.upper() if isinstance(unit, str) else unit})
