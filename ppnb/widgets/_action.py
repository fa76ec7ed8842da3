"""The shape SendForm, RemindForm and CancelForm share: an invoice, a notification, a
button, and the outcome; the call itself goes through :func:`ppnb.actions.bulk` as a one-invoice
job, so a form gets the same status rules, journal, request ids and reminder ledger as a bulk
run."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from pathlib import Path
from typing import Any, ClassVar

import ipywidgets as w
import pandas as pd

from ..actions import bulk
from ..client import Client, PayPalError
from ._common import Field, InvoicePicker, button, emails, error_html, is_email, row_error_html

#: What the subject and note inputs say while empty: PayPal ignores both in its emails.
IGNORED_BY_PAYPAL = "optional: PayPal's email uses its own subject and text"

#: What an invoice id looks like (PayPal's are ``INV2-XXXX-...``).
_INVOICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,126}")


class ActionForm(w.VBox):
    """Base of the one-invoice action forms (not used directly).

    Parameters
    ----------
    client
        Where to act.
    invoice
        The invoice id to start with.
    invoices
        A DataFrame of invoices to pick from (a Dropdown) instead of typing an id.
    journal_dir
        Where the job journals and the reminder ledger live (see :mod:`ppnb.actions`).
    today
        The day reminders are counted on (default: ``client.today()``, the emulator's clock,
        or the UTC date on PayPal).

    Attributes
    ----------
    result : dict or None
        The last outcome row (``outcome``, ``detail``, ``error``, ``issues``, ``debug_id``).
    """

    action: ClassVar[str]
    verb: ClassVar[str]
    #: Which notification inputs the form shows.
    inputs: ClassVar[tuple[str, ...]] = ("subject", "note")

    def __init__(self, client: Client, invoice: str | None = None, *,
                 invoices: pd.DataFrame | None = None, journal_dir: str | Path | None = None,
                 today: dt.date | None = None) -> None:
        self._client = client
        self._journal_dir = journal_dir
        self.today = today or client.today()
        self.result: dict[str, Any] | None = None
        self.picker = InvoicePicker(invoice, invoices)
        self._inputs: dict[str, w.ValueWidget] = {
            # PayPal sends its own subject and text whatever is asked (OBSERVED.md); what is
            # typed is kept with the request (requested_subject / requested_note), so say so
            "subject": w.Text(placeholder=IGNORED_BY_PAYPAL, layout=w.Layout(width="420px")),
            "note": w.Textarea(placeholder=IGNORED_BY_PAYPAL, layout=w.Layout(width="420px")),
            "send_to_recipient": w.Checkbox(value=True, indent=False),
            "send_to_invoicer": w.Checkbox(value=False, indent=False),
            "additional_recipients": w.Text(placeholder="cc@example.com, …",
                                            layout=w.Layout(width="420px")),
        }
        labels = {"subject": "Subject", "note": "Note", "send_to_recipient": "To customer",
                  "send_to_invoicer": "Copy to me", "additional_recipients": "CC"}
        self.fields = {name: Field(labels[name], self._inputs[name]) for name in self.inputs}
        self._submit = button(self.verb)
        self._status = w.HTML()
        self._submit.on_click(lambda _: self.submit())
        self.picker.observe_value(lambda _: self.refresh())
        self._inputs["additional_recipients"].observe(lambda _: self.validate(), names="value")
        super().__init__([self.picker, *self.fields.values(), *self._extra(), self._submit,
                          self._status, *self._below()])
        self.refresh()

    def _extra(self) -> list[w.Widget]:
        """Widgets a form adds between its inputs and its button."""
        return []

    def _below(self) -> list[w.Widget]:
        """Widgets a form adds below its outcome."""
        return []

    def set(self, **values: Any) -> None:
        """Set notification inputs by name (subject, note, ...)."""
        unknown = sorted(set(values) - set(self.inputs))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        for name, value in values.items():
            self._inputs[name].value = value

    @property
    def value(self) -> dict[str, Any]:
        """The notification body the form describes."""
        out: dict[str, Any] = {}
        for name in self.inputs:
            value = self._inputs[name].value
            if name == "additional_recipients":
                value = emails(value)
            elif isinstance(value, str):
                value = value.strip()
            if value not in ("", []):
                out[name] = value
        return out

    def validate(self) -> dict[str, str]:
        """Check the inputs; returns ``{field: message}`` and shows each next to its field."""
        errors: dict[str, str] = {}
        if not self.picker.value:
            errors["invoice"] = "choose an invoice"
        elif not _INVOICE_ID.fullmatch(self.picker.value.strip()):
            errors["invoice"] = (f"{self.picker.value!r} is not an invoice id (letters, digits "
                                 "and dashes, like INV2-ABCD-...)")
        if "additional_recipients" in self.inputs:
            bad = [e for e in emails(self._inputs["additional_recipients"].value)
                   if not is_email(e)]
            if bad:
                errors["additional_recipients"] = f"not an email: {', '.join(bad)}"
        self.picker.field.show(errors.get("invoice"))
        for name, field in self.fields.items():
            field.show(errors.get(name))
        blocked = self.blocked()
        self._submit.disabled = bool(errors) or blocked is not None
        return errors

    def blocked(self) -> str | None:
        """Why the button is disarmed even with valid inputs (None: it is armed)."""
        return None

    def refresh(self) -> None:
        """Re-read what the form shows about the chosen invoice, then re-validate."""
        self.validate()

    def submit(self) -> dict[str, Any] | None:
        """Act on the invoice; returns the outcome row, or None if the form refused."""
        if self.validate():
            self._status.value = "<b>Fix the fields marked in red first.</b>"
            return None
        reason = self.blocked()
        if reason:
            self._status.value = f"<b>{html.escape(reason)}</b>"
            return None
        self._submit.disabled = True
        try:
            frame = bulk(self._client, self.action, [self.picker.value], confirm=True,
                         job_id=f"form-{self.action}-{uuid.uuid4().hex[:12]}",
                         journal_dir=self._journal_dir, progress=False, today=self.today,
                         **self.value)
        except PayPalError as exc:  # reading the invoice failed before any action
            self.result = {"outcome": "failed", "error": getattr(exc, "name", None)}
            self._status.value = error_html(exc)
            self.validate()
            return None
        row = frame.iloc[0].to_dict()
        self.result = row
        if row["outcome"] == "ok":
            self._status.value = self.success_html(row)
        elif row["outcome"] == "skipped":
            self._status.value = (f'<div class="ppnb-skipped">Not done: '
                                  f'{html.escape(row["detail"])}</div>')
        else:
            self._status.value = row_error_html(row)
        self.refresh()
        return row

    def success_html(self, row: dict[str, Any]) -> str:
        """What the form shows after the action succeeded."""
        return (f'<div class="ppnb-result">{html.escape(str(row["number"]))}: '
                f'{html.escape(row["detail"])}</div>')
