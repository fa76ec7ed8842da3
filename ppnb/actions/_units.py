"""What to act on: the input rows resolved into calls, each with its invoice's current
status and its request body."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import pandas as pd

from ..client import Client, NotFound
from ..money import MoneyError, format_amount, parse_amount
from ._common import ALLOWED_STATUSES, BulkError, notification


@dataclass
class _Unit:
    """One call to make (or skip): an invoice, and for payments one statement row."""

    key: str
    invoice_id: str
    number: str | None = None
    status: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None


def _cell(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _as_iso_date(value: Any, what: str) -> str:
    try:
        return pd.Timestamp(value).date().isoformat()
    except (ValueError, TypeError) as exc:
        raise BulkError(f"{what}: {value!r} is not a date") from exc


def _amount(value: Any, currency: str, what: str) -> Decimal:
    """An exact amount from a statement cell (str, Decimal, int, or a float read from a file,
    taken by its shortest repr and refused if it has more decimals than the currency)."""
    text = value if isinstance(value, str) else (
        format(value, "f") if isinstance(value, Decimal) else repr(value))
    try:
        amount = parse_amount(text.strip(), currency)
    except MoneyError as exc:
        raise BulkError(f"{what}: {exc}") from None
    if amount <= 0:
        raise BulkError(f"{what}: the amount must be positive, not {value!r}")
    return amount


def _input_rows(invoices: pd.DataFrame | Iterable[str]) -> list[dict[str, Any]]:
    if isinstance(invoices, pd.DataFrame):
        return invoices.to_dict("records")
    if isinstance(invoices, str):
        raise BulkError("invoices must be a DataFrame or a list of ids, not one string")
    return [{"id": str(i)} for i in invoices]


def _fetch(client: Client, ids: Sequence[str], concurrency: int) -> dict[str, dict | None]:
    """Current invoices by id (None for a 404), fetched concurrently."""
    def get(invoice_id: str) -> dict | None:
        try:
            return client.invoices.get(invoice_id)
        except NotFound:
            return None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(ids, pool.map(get, ids), strict=True))


def _by_number(client: Client, numbers: Sequence[str], concurrency: int
               ) -> dict[str, dict | None]:
    """Invoices by exact invoice number (PayPal's search), fetched concurrently."""
    def find(number: str) -> dict | None:
        found = client.invoices.search({"invoice_number": number}, page_size=2)
        items = [i for i in found.get("items", []) if i["detail"].get("invoice_number") == number]
        return items[0] if items else None

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(numbers, pool.map(find, numbers), strict=True))


def _units(client: Client, action: str, rows: list[dict[str, Any]], options: dict[str, Any],
           concurrency: int) -> list[_Unit]:
    """Resolve the input into units with the current status (from the table when it has a
    ``status`` column, else fetched), and the request body of each."""
    if action == "record_payment":
        return _payment_units(client, rows, options, concurrency)
    if any(not _cell(r, "id") for r in rows):
        raise BulkError("every invoice needs an id (a DataFrame needs an 'id' column)")
    body = notification(action, options)
    has_status = bool(rows) and all("status" in r for r in rows)
    current = {} if has_status else _fetch(client, [str(r["id"]) for r in rows], concurrency)
    units: list[_Unit] = []
    seen: set[str] = set()
    for row in rows:
        invoice_id = str(row["id"])
        unit = _Unit(invoice_id, invoice_id, _cell(row, "number"), _cell(row, "status"),
                     body)
        if not has_status:
            doc = current[invoice_id]
            if doc is None:
                unit.skip = "no such invoice"
            else:
                unit.number, unit.status = doc["detail"].get("invoice_number"), doc["status"]
        if invoice_id in seen:
            unit.key, unit.skip = f"{invoice_id}#dup{len(units)}", "listed twice"
        seen.add(invoice_id)
        units.append(unit)
    return units


def _payment_units(client: Client, rows: list[dict[str, Any]], options: dict[str, Any],
                   concurrency: int) -> list[_Unit]:
    notification("record_payment", options)  # check the option names
    if rows and not all("amount" in r and ("id" in r or "number" in r) for r in rows):
        raise BulkError("record_payment needs a table with 'amount' and 'number' (or 'id') "
                        "columns, and optionally 'date', 'method', 'currency', 'note'")
    ids = sorted({str(r["id"]) for r in rows if _cell(r, "id")})
    numbers = sorted({str(r["number"]) for r in rows if not _cell(r, "id")})
    docs = _fetch(client, ids, concurrency)
    by_number = _by_number(client, numbers, concurrency)
    units: list[_Unit] = []
    per_invoice: Counter[str] = Counter()
    for line, row in enumerate(rows, 1):
        what = f"statement row {line}"
        doc = docs[str(row["id"])] if _cell(row, "id") else by_number[str(row["number"])]
        label = _cell(row, "number") or _cell(row, "id")
        if doc is None:
            units.append(_Unit(f"row{line}", "", str(label), None,
                               skip=f"no invoice {label}"))
            continue
        invoice_id, currency = doc["id"], doc["detail"]["currency_code"]
        per_invoice[invoice_id] += 1
        n = per_invoice[invoice_id]
        unit = _Unit(invoice_id if n == 1 else f"{invoice_id}#{n}", invoice_id,
                     doc["detail"].get("invoice_number"), doc["status"])
        units.append(unit)
        given = _cell(row, "currency")
        if given and given != currency:
            unit.skip = f"currency {given} is not the invoice's {currency}"
            continue
        amount = _amount(row["amount"], currency, what)
        unit.body = {"method": _cell(row, "method") or options.get("method") or "BANK_TRANSFER",
                     "amount": {"currency_code": currency,
                                "value": format_amount(amount, currency)}}
        if _cell(row, "date"):
            unit.body["payment_date"] = _as_iso_date(row["date"], what)
        note = _cell(row, "note") or options.get("note")
        if note:
            unit.body["note"] = str(note)
        due = Decimal(doc.get("due_amount", {}).get("value", "0"))
        if unit.status in ALLOWED_STATUSES["record_payment"] and amount > due:
            unit.skip = (f"amount {format_amount(amount, currency)} is more than the "
                         f"{format_amount(due, currency)} {currency} due")
    return units


def _default_job_id(action: str, rows: list[dict[str, Any]], options: Mapping[str, Any],
                    day: dt.date | None) -> str:
    """A job id derived from what the job is, so running the same cell again resumes it."""
    keys = ("id", "number", "amount", "date", "method", "currency", "note") \
        if action == "record_payment" else ("id",)
    described = [[str(_cell(r, k)) for k in keys] for r in rows]
    payload = orjson.dumps([action, dict(sorted(options.items())), sorted(described),
                            day.isoformat() if day else None], default=str)
    return f"{action}-{hashlib.sha256(payload).hexdigest()[:16]}"

