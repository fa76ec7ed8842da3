"""v1's list and search, on the service's search.

v1 pages by *offset*: ``page`` is the zero-relative index of the first invoice
(``invoicing_v1.json``: "``page=20`` and ``page_size=20`` returns the next 20"), answered as
``{"total_count", "invoices"}``, summaries without items.

Filters the service knows are handed to it: ``status`` (one or a list), archived, and the
invoice, due, payment and creation dates (``yyyy-MM-dd z``; either end may be left open;
creation dates name days in the merchant's zone). v1's own matching the service lacks is done
here, over the service's matches: ``email`` and the recipient's first, last and business
names match by their *initial letters*, ``number`` by any part, and
``lower_total_amount``/``upper_total_amount`` bound the total whatever its currency
(v1 sends no currency). Matching is case-insensitive.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from .._book import Merchant
from .._service import Invoicing
from .._validation import Problems
from . import _dates, _outbound

_OPEN = ("0001-01-01", "9999-12-31")
_PAGE_SIZE = 100
_SCAN = 1000
#: v1 prefix filters and where a summary keeps the value.
_PREFIXES = {"email": ("email_address",), "recipient_first_name": ("name", "given_name"),
             "recipient_last_name": ("name", "surname"),
             "recipient_business_name": ("business_name",)}


def page(svc: Invoicing, merchant: Merchant, filters: dict[str, Any], offset: int, size: int,
         total_required: bool, keep: Callable[[dict[str, Any]], bool] | None = None
         ) -> dict[str, Any]:
    """The invoices ``offset`` to ``offset + size`` of a search, in v1's shape."""
    if keep is None:  # the service pages; an offset between pages takes two of them
        first, skip = divmod(offset, size)
        raw, total, more = svc.search(merchant, filters, page=first + 1, page_size=size,
                                      total_required=total_required)
        if skip and more:
            raw += svc.search(merchant, filters, page=first + 2, page_size=size)[0]
        docs = [orjson.loads(d) for d in raw[skip:skip + size]]
    else:  # v1's own matching: scan the service's matches, newest first
        matched, number, more = [], 1, True
        while more:
            raw, _, more = svc.search(merchant, filters, page=number, page_size=_SCAN)
            matched += [d for d in map(orjson.loads, raw) if keep(d)]
            number += 1
        docs, total = matched[offset:offset + size], len(matched)
    out: dict[str, Any] = {"total_count": total} if total_required else {}
    out["invoices"] = []
    for doc in docs:
        shown = _outbound.invoice(doc, svc.base)
        shown.pop("items", None)  # v1 lists no item details
        out["invoices"].append(shown)
    return out


def _range(body: dict[str, Any], kind: str, problems: Problems
           ) -> tuple[str | None, str | None] | None:
    """The ISO days ``start_<kind>_date`` and ``end_<kind>_date`` name (``None`` for an open
    end), or ``None`` when neither is given."""
    ends: list[str | None] = []
    for end in ("start", "end"):
        field = f"{end}_{kind}_date"
        value = body.get(field)
        iso = _dates.parse(value) if value is not None else None
        if value is not None and iso is None:
            problems.add(field, "INVALID_PARAMETER_SYNTAX", f"Invalid date: use {_dates.FORMAT}.",
                         value)
        ends.append(iso)
    if body.get(f"start_{kind}_date") is None and body.get(f"end_{kind}_date") is None:
        return None
    return ends[0], ends[1]


def _amount(body: dict[str, Any], field: str, problems: Problems) -> Decimal | None:
    value = body.get(field)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        return Decimal(str(value))
    except InvalidOperation:
        problems.add(field, "INVALID_PARAMETER_SYNTAX", "Expected an amount, e.g. 10.00.",
                     value)
        return None


def _int(body: dict[str, Any], field: str, default: int, low: int, high: int,
         problems: Problems) -> int:
    value = body.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(field, "INVALID_PARAMETER_VALUE",
                     f"{field} is a whole number from {low} to {high}.", value)
        return default
    return value


def search(svc: Invoicing, merchant: Merchant, body: Any) -> dict[str, Any]:
    """``POST /v1/invoicing/search``."""
    problems = Problems()
    body = {} if body is None else body
    if not isinstance(body, dict):
        problems.add("", "INVALID_PARAMETER_SYNTAX", "Send a JSON object.")
        problems.raise_if_any()
    offset = _int(body, "page", 0, 0, 10**9, problems)
    size = _int(body, "page_size", 20, 1, _PAGE_SIZE, problems)
    total_required = body.get("total_count_required", False)
    if not isinstance(total_required, bool):
        problems.add("total_count_required", "INVALID_PARAMETER_SYNTAX", "Expected a boolean.",
                     total_required)
    filters: dict[str, Any] = {}
    status = body.get("status")
    if status is not None:
        filters["status"] = [status] if isinstance(status, str) else status
    if body.get("archived") is not None:
        filters["archived"] = body["archived"]
    for kind in ("invoice", "due"):
        bounds = _range(body, kind, problems)
        if bounds:
            filters[f"{kind}_date_range"] = {"start": bounds[0] or _OPEN[0],
                                             "end": bounds[1] or _OPEN[1]}
    bounds = _range(body, "payment", problems)
    if bounds:
        filters["payment_date_range"] = {"start": f"{bounds[0] or _OPEN[0]}T00:00:00Z",
                                         "end": f"{bounds[1] or _OPEN[1]}T23:59:59Z"}
    bounds = _range(body, "creation", problems)
    if bounds:
        try:  # days in the merchant's zone
            filters["creation_date_range"] = {
                "start": _dates.day_bounds(bounds[0])[0] if bounds[0] else f"{_OPEN[0]}T00:00:00Z",
                "end": _dates.day_bounds(bounds[1])[1] if bounds[1] else f"{_OPEN[1]}T23:59:59Z"}
        except OverflowError:
            problems.add("creation_date", "INVALID_PARAMETER_VALUE",
                         "The creation dates are out of range.")
    prefixes = {}
    for field in (*_PREFIXES, "number"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            problems.add(field, "INVALID_PARAMETER_SYNTAX", "Expected a string.", value)
        elif value:
            prefixes[field] = value.lower()
    low = _amount(body, "lower_total_amount", problems)
    high = _amount(body, "upper_total_amount", problems)
    problems.raise_if_any()

    def keep(doc: dict[str, Any]) -> bool:
        recipients = doc.get("primary_recipients") or [{}]
        billing = recipients[0].get("billing_info") or {}
        for field, wanted in prefixes.items():
            if field == "number":
                if wanted not in (doc.get("detail") or {}).get("invoice_number", "").lower():
                    return False
                continue
            value: Any = billing
            for key in _PREFIXES[field]:
                value = (value or {}).get(key)
            if not (value or "").lower().startswith(wanted):
                return False
        total = Decimal((doc.get("amount") or {}).get("value", "0"))
        return (low is None or total >= low) and (high is None or total <= high)

    custom = bool(prefixes) or low is not None or high is not None
    return page(svc, merchant, filters, offset, size, bool(total_required),
                keep if custom else None)
