"""Pieces the forms share: the invoice picker, field rows with their error, result markup."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import pandas as pd

from ..client import APIError, Client, PayPalError
from ..limits import EMAIL, EMAIL_LENGTH
from ..money import format_amount, from_minor


def is_email(text: str) -> bool:
    """Whether PayPal accepts ``text`` as an email address (its pattern and length; no
    commas or semicolons, which separate addresses in a list)."""
    low, high = EMAIL_LENGTH
    return low <= len(text) <= high and bool(EMAIL.match(text)) and not set(",;") & set(text)


def emails(text: str) -> list[str]:
    """The addresses of a comma-separated list (CC), blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def error_html(exc: PayPalError) -> str:
    """PayPal's error name, issues (with their fields and descriptions) and debug_id."""
    if not isinstance(exc, APIError):
        return f'<span class="ppnb-error">{html.escape(str(exc))}</span>'
    issues = "".join(
        f"<li><code>{html.escape(str(d.get('issue', '')))}</code>"
        f"{' at ' + html.escape(str(d['field'])) if d.get('field') else ''}"
        f"{': ' + html.escape(str(d['description'])) if d.get('description') else ''}</li>"
        for d in exc.details)
    return (f'<div class="ppnb-error"><b>{exc.status} {html.escape(exc.name)}</b>: '
            f"{html.escape(exc.message)}<ul>{issues}</ul>"
            f"debug_id <code>{html.escape(str(exc.debug_id))}</code></div>")


def row_error_html(row: Mapping[str, Any]) -> str:
    """A failed bulk/form result row, rendered like :func:`error_html`."""
    issues = "".join(f"<li><code>{html.escape(str(i))}</code></li>" for i in row["issues"])
    return (f'<div class="ppnb-error"><b>{html.escape(str(row["error"]))}</b>: '
            f"{html.escape(str(row['detail']))}<ul>{issues}</ul>"
            f"debug_id <code>{html.escape(str(row['debug_id']))}</code></div>")


def invoice_link(client: Client, invoice: Mapping[str, Any]) -> str:
    """Where a person can see the invoice: its ``recipient_view_url``, else the emulator's
    payer page."""
    metadata = invoice.get("detail", {}).get("metadata", {})
    return metadata.get("recipient_view_url") or f"{client.base_url}/invoice/p/{invoice['id']}"


def text_problem(text: str, limit: int) -> str | None:
    """What is wrong with a typed text for PayPal: too long, or not encodable (a lone
    surrogate, which no JSON encoder can send); None if nothing."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a character that cannot be sent (an unpaired surrogate)"
    if len(text) > limit:
        return f"is {len(text)} characters; PayPal takes at most {limit}"
    return None


#: The width of the labels' column: every input starts after it.
LABEL_WIDTH = "110px"


class Field(w.HBox):
    """A labelled input with its error message next to it."""

    def __init__(self, label: str, widget: w.Widget, *, width: str = LABEL_WIDTH) -> None:
        self.widget = widget
        self.error = w.HTML(layout=w.Layout(margin="0 0 0 8px"))
        super().__init__([w.Label(label, layout=w.Layout(width=width, flex="0 0 auto")),
                          widget, self.error])


    def show(self, message: str | None) -> None:
        """Show ``message`` in red next to the input, or clear it."""
        self.error.value = field_error_html(message)


def field_error_html(message: str | None) -> str:
    """A field's message in red ('' for none)."""
    return (f'<span class="ppnb-error" style="color:#b00020">{html.escape(message)}</span>'
            if message else "")


def indented(widget: w.Widget) -> w.HBox:
    """``widget`` in the inputs' column, under the fields' inputs (after a blank as wide as a
    field's label, margins included)."""
    return w.HBox([w.Box(layout=w.Layout(width=LABEL_WIDTH, flex="0 0 auto",
                                         margin="var(--jp-widgets-margin)")), widget])


class InvoicePicker(w.VBox):
    """An invoice id: typed, or chosen from a DataFrame of invoices (a Dropdown).

    Parameters
    ----------
    invoice
        An invoice id to start with.
    invoices
        A table with ``id`` (and ideally ``number``, ``recipient_business``/``recipient_name``,
        ``total_minor``, ``currency``, ``status``) to choose from.
    """

    def __init__(self, invoice: str | None = None, invoices: pd.DataFrame | None = None) -> None:
        if invoices is not None:
            if "id" not in invoices:
                raise ValueError("the invoices table needs an 'id' column")
            options = [(_label(row), row["id"]) for row in invoices.to_dict("records")]
            self._input: w.ValueWidget = w.Dropdown(
                options=options, value=invoice if invoice is not None else (
                    options[0][1] if options else None),
                layout=w.Layout(width="480px"))
        else:
            self._input = w.Text(value=invoice or "", placeholder="INV2-…",
                                 layout=w.Layout(width="320px"))
        self.field = Field("Invoice", self._input)
        super().__init__([self.field])

    @property
    def value(self) -> str:
        """The chosen invoice id ('' if none)."""
        return (self._input.value or "").strip()

    @value.setter
    def value(self, invoice_id: str) -> None:
        self._input.value = invoice_id

    def observe_value(self, handler: Any) -> None:
        """Call ``handler`` when the choice changes."""
        self._input.observe(handler, names="value")


def _label(row: Mapping[str, Any]) -> str:
    who = row.get("recipient_business") or row.get("recipient_name") or row.get(
        "recipient_email") or ""
    parts = [str(row.get("number") or row["id"])]
    if isinstance(who, str) and who:
        parts.append(who)
    if row.get("total_minor") is not None and row.get("currency"):
        amount = from_minor(int(row["total_minor"]), row["currency"])
        parts.append(f"{format_amount(amount, row['currency'])} {row['currency']}")
    if row.get("status"):
        parts.append(str(row["status"]))
    return " · ".join(parts)


def button(description: str, style: str = "primary") -> w.Button:
    """A form's action button."""
    return w.Button(description=description, button_style=style,
                    layout=w.Layout(width="auto"))
