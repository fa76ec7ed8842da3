"""Building the tables from the walked columns: each row knows its invoice and its place in
the JSON, for exact money and for errors that name the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._columns import _SCALE, _dates, _frame, _minor, _quantities, _text
from ._schema import ITEM_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS
from ._walk import _Columns


@dataclass(frozen=True)
class _Parent:
    """The invoice-level columns that every table's rows refer to."""

    ids: list[Any]
    id_text: pd.api.extensions.ExtensionArray
    currencies: list[Any]
    currency_text: pd.api.extensions.ExtensionArray
    exps: np.ndarray  # each invoice's currency decimals


@dataclass(frozen=True)
class _Rows:
    """The rows of one table: the invoice each belongs to, and where it sits in its JSON."""

    parent: _Parent
    owner: np.ndarray  # index of each row's invoice
    path: str  # JSON path of the rows' list in an invoice ("" for the invoices themselves)
    line: np.ndarray | None  # position of each row within that list

    @classmethod
    def children(cls, parent: _Parent, counts: list[int], path: str) -> _Rows:
        """The rows of a child table, from the number of children of each invoice."""
        sizes = np.array(counts, np.int64)
        owner = np.repeat(np.arange(len(sizes)), sizes)
        line = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return cls(parent, owner, path, line)

    def repeat(self, column: pd.api.extensions.ExtensionArray) -> Any:
        """An invoice-level column, repeated for each row."""
        return column.take(self.owner)

    def where(self, k: int, field: str) -> str:
        """Names row ``k``'s ``field`` in an error message."""
        at = self.path if self.line is None else f"{self.path}/{self.line[k]}"
        return f"invoice {self.parent.ids[self.owner[k]]}, {at}/{field}"

    def money(self, values: list[Any], field: str) -> np.ndarray:
        """Exact minor units of the money object ``field`` of each row (0 where absent)."""
        return _minor(values, self.parent.exps[self.owner],
                      lambda k: (self.where(k, f"{field}/value"),
                                 self.parent.currencies[self.owner[k]]))

    def display(self, minor: np.ndarray) -> np.ndarray:
        """Minor units as float currency units, for display only."""
        return minor / _SCALE[self.parent.exps[self.owner]]


def _items(kids: _Rows, items: _Columns) -> pd.DataFrame:
    """The items table, one row per entry of each invoice's ``items``."""
    path = "/items/*"
    return _frame(ITEM_COLUMNS, {
        "invoice_id": kids.repeat(kids.parent.id_text),
        "line": kids.line,
        "name": _text(items["name"], f"{path}/name"),
        "description": _text(items["description"], f"{path}/description"),
        "quantity": _text(items["quantity"], f"{path}/quantity"),
        "quantity_value": _quantities(items["quantity"], lambda k: kids.where(k, "quantity")),
        "unit_amount_minor": kids.money(items["unit"], "unit_amount"),
        "tax_name": _text(items["tax_name"], f"{path}/tax/name"),
        "tax_percent": _text(items["tax_percent"], f"{path}/tax/percent"),
        "tax_minor": kids.money(items["tax"], "tax/amount"),
        "discount_minor": np.abs(kids.money(items["discount"], "discount/amount")),
        "item_date": _dates(items["item_date"], f"{path}/item_date"),
        "unit_of_measure": _text(items["unit_of_measure"], f"{path}/unit_of_measure"),
        "currency": kids.repeat(kids.parent.currency_text),
    })


def _transactions(kids: _Rows, rows: _Columns, noun: str) -> pd.DataFrame:
    """The payments or refunds table (``noun`` is ``payment`` or ``refund``)."""
    minor = kids.money(rows["amount"], "amount")
    path = f"{kids.path}/*"
    columns = {
        "invoice_id": kids.repeat(kids.parent.id_text),
        f"{noun}_id": _text(rows[f"{noun}_id"], f"{path}/{noun}_id"),
        f"{noun}_date": _dates(rows[f"{noun}_date"], f"{path}/{noun}_date"),
        "amount_minor": minor,
        "amount": kids.display(minor),
        "currency": kids.repeat(kids.parent.currency_text),
        "method": _text(rows["method"], f"{path}/method"),
        "type": _text(rows["type"], f"{path}/type"),
    }
    if noun == "payment":
        columns["note"] = _text(rows["note"], f"{path}/note")
        return _frame(PAYMENT_COLUMNS, columns)
    return _frame(REFUND_COLUMNS, columns)

