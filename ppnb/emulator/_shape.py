"""Invoices shaped the way PayPal really sends them, where the spec is silent or differs.

Every fact here is in ``../shared/paypal/OBSERVED.md`` (which cites where it was seen):

* Discounts in responses are **negative** amounts: an item's ``discount.amount``,
  ``amount.breakdown.discount.item_discount`` and ``invoice_discount.amount`` (a sandbox GET
  of the documentation's sample invoice shows ``"-2.50"``, ``"-7.50"``, ``"-2.63"``; a sandbox
  ``INVOICING.INVOICE.UPDATED`` event ``"-5.00"``). Requests send them positive; the service
  computes with positive amounts (:mod:`ppnb.totals`) and :func:`shape` turns the stored
  response negative.
* Tax entries carry an id (``"TAX-9AU06895VD287170A"``), on items and on the shipping tax.
* ``detail`` carries ``archived``, ``viewed_by_recipient``, ``group_draft`` and
  ``category_code`` (``SHIPPABLE``); ``detail.metadata`` carries ``caller_type``
  (``API_V2_INVOICE``) and ``spam_info``; the invoice a top-level ``unilateral``.
* List and search items are summaries (PayPal's Postman collection, "List invoices" and
  "Search for invoices" saved responses): no items, no transactions, ``payment_term`` with its
  due date only, ``metadata.create_time`` only, amounts without their breakdown
  (:func:`paypal_summary`).
* Create and full update answer with a bare ``self`` link unless the request says
  ``Prefer: return=representation`` (:func:`self_link`, :func:`wants_representation`).

:func:`shape` is idempotent: stored documents are shaped again every time they are saved.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["paypal_summary", "search_view", "self_link", "shape", "wants_representation"]

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: The ``detail`` fields PayPal's summaries keep (besides ``payment_term`` and ``metadata``).
_SUMMARY_DETAIL = ("reference", "currency_code", "note", "memo", "invoice_number",
                   "invoice_date", "viewed_by_recipient", "group_draft")
_TIMES = frozenset({"create_time", "last_update_time", "first_sent_time", "last_sent_time",
                    "cancel_time"})


def _tax_id(invoice_id: str, where: str) -> str:
    """A stable ``TAX-`` id for the tax at ``where`` on an invoice (17 symbols, as PayPal's)."""
    digest = hashlib.sha256(f"{invoice_id}{where}".encode()).digest()
    return "TAX-" + "".join(_ALPHABET[b % 32] for b in digest[:17])


def _negative(money: dict[str, Any] | None) -> None:
    """Report a discount amount as PayPal does: negative, unless it is zero."""
    if not money or "value" not in money:
        return
    value = money["value"]
    if not value.startswith("-") and value.strip("0.") != "":
        money["value"] = "-" + value


def shape(doc: dict[str, Any]) -> dict[str, Any]:
    """Give a stored invoice PayPal's response shape, in place (see the module notes)."""
    for i, item in enumerate(doc.get("items") or []):
        _negative((item.get("discount") or {}).get("amount"))
        if item.get("tax"):
            item["tax"].setdefault("id", _tax_id(doc["id"], f"/items/{i}"))
    breakdown = (doc.get("amount") or {}).get("breakdown") or {}
    discount = breakdown.get("discount") or {}
    _negative(discount.get("item_discount"))
    _negative((discount.get("invoice_discount") or {}).get("amount"))
    shipping_tax = (breakdown.get("shipping") or {}).get("tax")
    if shipping_tax:
        shipping_tax.setdefault("id", _tax_id(doc["id"], "/shipping"))
    detail = doc["detail"]
    for key, value in (("archived", False), ("viewed_by_recipient", False),
                       ("group_draft", False), ("category_code", "SHIPPABLE")):
        detail.setdefault(key, value)
    metadata = detail["metadata"]
    metadata.setdefault("caller_type", "API_V2_INVOICE")
    metadata.setdefault("spam_info", {})
    doc.setdefault("unilateral", False)
    return doc


def paypal_summary(doc: dict[str, Any], *, times: bool = False) -> dict[str, Any]:
    """An invoice as PayPal's list and search responses show it when no collection is asked
    for: the fields of its saved responses, nothing else.

    ``times`` keeps what those responses leave out but an invoices table needs: the term type
    and every time of ``detail.metadata`` (sent, updated, cancelled); the emulator's default
    search view, so that a table of invoices needs no other read.
    """
    detail = doc["detail"]
    brief: dict[str, Any] = {k: detail[k] for k in _SUMMARY_DETAIL if k in detail}
    term = detail.get("payment_term") or {}
    kept = ("term_type", "due_date") if times else ("due_date",)
    if any(k in term for k in kept):
        brief["payment_term"] = {k: term[k] for k in kept if k in term}
    metadata = detail["metadata"]
    brief["metadata"] = {k: v for k, v in metadata.items() if k in _TIMES} if times else {
        "create_time": metadata["create_time"]}
    out: dict[str, Any] = {"id": doc["id"], "status": doc["status"], "detail": brief}
    if doc.get("primary_recipients"):
        out["primary_recipients"] = doc["primary_recipients"]
    amount = doc["amount"]
    out["amount"] = {"currency_code": amount["currency_code"], "value": amount["value"]}
    out["due_amount"] = doc["due_amount"]
    for key, total in (("payments", "paid_amount"), ("refunds", "refund_amount")):
        if total in (doc.get(key) or {}):
            out[key] = {total: doc[key][total]}
    out["links"] = doc["links"]
    return out


def search_view(doc: dict[str, Any], keep: frozenset[str] | set[str] = frozenset(), *,
                times: bool = True) -> dict[str, Any]:
    """The search view of an invoice: PayPal's summary (with the invoice's times and term
    type unless ``times`` is false, see :func:`paypal_summary`) and the collections asked
    for in ``fields`` (``keep``)."""
    out = paypal_summary(doc, times=times)
    if "items" in keep and "items" in doc:
        out["items"] = doc["items"]
    for key in ("payments", "refunds"):
        if key in keep and key in doc:
            out[key] = doc[key]
    if "additional_recipients_info" in keep and "additional_recipients" in doc:
        out["additional_recipients"] = doc["additional_recipients"]
    if "attachments" in keep and "attachments" in doc["detail"]:
        out["detail"] = {**out["detail"], "attachments": doc["detail"]["attachments"]}
    return out


def wants_representation(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header asks for the whole resource (``return=representation``)."""
    if not prefer:
        return False
    tokens = {part.strip().lower().replace(" ", "") for part in prefer.split(",")}
    return "return=representation" in tokens


def self_link(href: str) -> dict[str, str]:
    """PayPal's minimal answer to create and full update: a link to the resource."""
    return {"rel": "self", "href": href, "method": "GET"}
