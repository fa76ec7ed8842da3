"""SendForm: send (or schedule) an invoice, and show its QR code."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ._action import ActionForm
from ._common import invoice_link


class SendForm(ActionForm):
    """Send a draft: subject, note, send_to_recipient, send_to_invoicer and CC.

    After sending it shows whether PayPal sent the invoice (``SENT``, or ``UNPAID`` without an
    email to the customer) or scheduled it (an invoice date in the future). :meth:`show_qr`
    puts the sent invoice's QR code (PayPal's generate-qr-code) in an ``ipywidgets.Image``.
    Takes the parameters of :class:`~ppnb.widgets._action.ActionForm`.
    """

    action = "send"
    verb = "Send"
    inputs = ("subject", "note", "send_to_recipient", "send_to_invoicer",
              "additional_recipients")

    def _below(self) -> list[w.Widget]:
        self.qr = w.Image(format="png", layout=w.Layout(width="200px", height="200px"))
        qr_button = w.Button(description="QR code", layout=w.Layout(width="auto"))
        qr_button.on_click(lambda _: self.show_qr())
        return [qr_button, self.qr]

    def success_html(self, row: dict[str, Any]) -> str:
        invoice = self._client.invoices.get(row["invoice_id"])
        link = invoice_link(self._client, invoice)
        return (f'<div class="ppnb-result">{html.escape(str(row["number"]))} '
                f'<b class="ppnb-sent">{html.escape(row["detail"])}</b>, status '
                f'<b>{html.escape(invoice["status"])}</b>: '
                f'<a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a></div>')

    def show_qr(self, size: int = 300) -> bytes:
        """Show (and return) the invoice's QR code as a PNG (sent invoices only)."""
        png = self._client.invoices.generate_qr_code(self.picker.value, width=size,
                                                     height=size)
        self.qr.value = png
        return png
