"""CancelForm: cancel a sent invoice, armed only by typing its number."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import ipywidgets as w

from ..client import PayPalError
from ..money import format_amount
from ._action import ActionForm


class CancelForm(ActionForm):
    """Cancel a sent, unpaid invoice: subject, note and the notification flags.

    The form shows the invoice's number, amount and status, and arms its button only when the
    invoice number is typed into the confirmation box. Takes the parameters of
    :class:`~ppnb.widgets._action.ActionForm`.

    Attributes
    ----------
    invoice : dict or None
        The chosen invoice as last read.
    confirm : ipywidgets.Text
        Where the number is typed to arm the button.
    """

    action = "cancel"
    verb = "Cancel invoice"
    inputs = ("subject", "note", "send_to_recipient", "send_to_invoicer")

    def _extra(self) -> list[w.Widget]:
        self.invoice: dict[str, Any] | None = None
        self._summary = w.HTML()
        self.confirm = w.Text(placeholder="type the invoice number to confirm",
                              layout=w.Layout(width="320px"))
        self.confirm.observe(lambda _: self.validate(), names="value")
        return [self._summary, self.confirm]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._submit.button_style = "danger"

    def summary(self) -> str:
        """What is about to be cancelled: number, amount and status."""
        if self.invoice is None:
            return ""
        amount = self.invoice["amount"]
        value = format_amount(Decimal(amount["value"]), amount["currency_code"])
        return (f'Cancel invoice <b class="ppnb-number">'
                f'{html.escape(self.invoice["detail"].get("invoice_number", ""))}</b> for '
                f'<b class="ppnb-amount">{value} {amount["currency_code"]}</b> '
                f'(status {html.escape(self.invoice["status"])})?')

    def blocked(self) -> str | None:
        if self.invoice is None:
            return "choose an invoice"
        number = self.invoice["detail"].get("invoice_number", "")
        if self.confirm.value.strip() != number:
            return f"type the invoice number {number} to confirm"
        return None

    def refresh(self) -> None:
        self.invoice = None
        self._summary.value = ""
        if self.picker.value:
            try:
                self.invoice = self._client.invoices.get(self.picker.value)
            except PayPalError as exc:
                self._summary.value = html.escape(str(exc))
            else:
                self._summary.value = self.summary()
        self.confirm.value = ""
        super().refresh()
