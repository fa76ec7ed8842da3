"""The invoice form's line items: rows of inputs in one CSS grid, under their column labels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..limits import MAX_LENGTH
from ..money import MoneyError
from ._common import field_error_html, text_problem
from ._numbers import PLACES, money, percent, plain, quantity, why

#: The grid's columns: (attribute, header, CSS track). The last two hold the remove button
#: and the row's error.
COLUMNS = (("name", "Name", "200px"), ("quantity", "Qty", "80px"),
           ("unit", "Unit price", "110px"), ("tax", "Tax %", "72px"),
           ("discount", "Discount %", "84px"), ("remove", "", "36px"),
           ("error", "", "minmax(120px, auto)"))
#: Grid children fill their cell, with the margin every other input of the form has.
_CELL = {"width": "auto", "margin": "var(--jp-widgets-margin)"}


def _text(value: str, placeholder: str, column: str) -> w.Text:
    box = w.Text(value, placeholder=placeholder, layout=w.Layout(**_CELL))
    box.add_class(f"ppnb-item-{column}")
    return box


class ItemRow:
    """One line item: name, quantity, unit amount, tax %, discount %, a remove button and its
    error. Not a widget: its widgets are cells of :class:`ItemGrid`.

    Parameters
    ----------
    item
        A PayPal item dict to pre-fill the row.
    changed
        Called (with the traitlets change) when an input changes.
    remove
        Called with the row when its remove button is clicked.
    """

    def __init__(self, item: dict[str, Any] | None, changed: Callable[[Any], None],
                 remove: Callable[[ItemRow], None]) -> None:
        item = item or {}
        self.name = _text(item.get("name", ""), "item name", "name")
        self.quantity = _text(item.get("quantity", "1"), "", "quantity")
        self.unit = _text((item.get("unit_amount") or {}).get("value", ""), "0.00", "unit")
        self.tax = _text((item.get("tax") or {}).get("percent", ""), "tax %", "tax")
        self.discount = _text((item.get("discount") or {}).get("percent", ""), "disc. %",
                              "discount")
        self.remove = w.Button(description="✕", tooltip="remove this item",
                               layout=w.Layout(**_CELL))
        self.remove.add_class("ppnb-item-remove")
        self.error = w.HTML(layout=w.Layout(**_CELL))
        self.remove.on_click(lambda _: remove(self))
        for box in self.inputs:
            box.observe(changed, names="value")

    @property
    def inputs(self) -> tuple[w.Text, ...]:
        """The five text inputs, in column order."""
        return (self.name, self.quantity, self.unit, self.tax, self.discount)

    @property
    def cells(self) -> tuple[w.Widget, ...]:
        """Every widget of the row, one per grid column."""
        return (*self.inputs, self.remove, self.error)

    def problems(self, currency: str) -> list[str]:
        """What is wrong with the row, in words ("quantity must be more than 0"; empty when
        nothing is)."""
        problems = []
        if not self.name.value.strip():
            problems.append("name required")
        elif problem := text_problem(self.name.value, MAX_LENGTH["item_name"]):
            problems.append(f"name {problem}")
        for label, box, check, places in (
            ("quantity", self.quantity, quantity, PLACES),
            ("unit amount", self.unit, lambda t: money(t, currency), None),
            ("tax %", self.tax, percent, PLACES),
            ("discount %", self.discount, percent, PLACES),
        ):
            if not box.value.strip():
                if label in ("quantity", "unit amount"):
                    problems.append(f"{label} required")
                continue
            try:
                check(box.value)
            except MoneyError as exc:
                problems.append(f"{label} {why(exc, currency, places)}")
        return problems

    def value(self, currency: str) -> dict[str, Any]:
        """The PayPal item the row describes (numbers without thousands separators)."""
        item: dict[str, Any] = {
            "name": self.name.value.strip(), "quantity": plain(self.quantity.value),
            "unit_amount": {"currency_code": currency, "value": plain(self.unit.value)}}
        if self.tax.value.strip():
            item["tax"] = {"name": "Tax", "percent": plain(self.tax.value)}
        if self.discount.value.strip():
            item["discount"] = {"percent": plain(self.discount.value)}
        return item

    def show(self, message: str | None) -> None:
        """Show ``message`` in red at the end of the row, or clear it."""
        self.error.value = field_error_html(message)


class ItemGrid(w.GridBox):
    """The item rows in one grid: a header of column labels, then each row's inputs, so every
    input sits in its label's column whatever the widths."""

    def __init__(self) -> None:
        self.rows: list[ItemRow] = []
        self._header = []
        for column, header, _ in COLUMNS:
            label = w.Label(header, layout=w.Layout(**_CELL))
            label.add_class(f"ppnb-item-head-{column}")
            self._header.append(label)
        super().__init__(self._header, layout=w.Layout(
            grid_template_columns=" ".join(track for _, _, track in COLUMNS),
            grid_gap="2px 4px", align_items="center", width="auto"))
        self.add_class("ppnb-items")

    def set_rows(self, rows: list[ItemRow]) -> None:
        """Show ``rows`` (in this order) under the header."""
        self.rows = rows
        self.children = (*self._header, *(cell for row in rows for cell in row.cells))
