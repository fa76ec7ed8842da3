"""InvoiceForm: create a draft invoice, validated and totalled before anything is sent."""

from __future__ import annotations

import copy
import datetime as dt
import html
import threading
import uuid
from decimal import Decimal
from typing import Any

import ipywidgets as w

from ..client import APIError, Client, PayPalError
from ..limits import EMAIL_LENGTH, MAX_LENGTH
from ..money import CURRENCY_DECIMALS, MoneyError, format_amount
from ..totals import TotalsError, compute
from ._common import Field, button, error_html, indented, invoice_link, is_email, text_problem
from ._items import ItemGrid, ItemRow
from ._numbers import money, plain, why
from ._template import TERMS, prefill

#: PayPal's limit on items per invoice.
MAX_ITEMS = 100


class InvoiceForm(w.VBox):
    """Create a draft invoice from a form.

    The logic is in plain methods (:meth:`validate`, :attr:`value`, :meth:`total`,
    :meth:`submit`, :meth:`add_item`, :meth:`remove_item`, :meth:`apply_template`,
    :meth:`next_number`); the widgets only call them. Every change re-validates: errors appear
    next to their field, the computed total is shown, and the Create button is disabled while
    anything is wrong.

    **One click, one invoice.** The Create button is disabled while a submission is in flight
    and, after a success, until the form describes a different invoice. A click that still
    gets through (a second click queued behind the first, or :meth:`submit` called from code)
    sends the same ``PayPal-Request-Id``: the form keeps one id per request body until the body
    changes, so PayPal replays its first answer instead of creating a second invoice. The same
    holds for a retry after a network or server error, whose invoice may have been created
    although the answer was lost. Messages (the created invoice, an error) are cleared as soon
    as the form describes a different invoice.

    Numbers may carry thousands separators (``1,250.50``); a decimal comma (``1.250,50``) or
    a comma that could be one (``1,25``) is refused with a message saying how to write it.

    Parameters
    ----------
    client
        Where to create the invoice.
    currency
        The starting currency.
    templates
        Offer the merchant's templates (one ``templates.list`` call) to pre-fill the form.
    today
        The date a blank invoice date stands for, to check a specified due date against;
        by default the client's :meth:`~ppnb.client.Client.today`, read when first needed.

    Attributes
    ----------
    result : dict or None
        The created invoice after a successful :meth:`submit`.
    error : PayPalError or None
        The last API error (the form keeps its input).
    """

    def __init__(self, client: Client, *, currency: str = "USD", templates: bool = True,
                 today: dt.date | None = None) -> None:
        self._client = client
        self._today = today
        self.result: dict[str, Any] | None = None
        self.error: PayPalError | None = None
        # the last submission: its body and PayPal-Request-Id, kept until the body changes
        self._request: tuple[dict[str, Any], str] | None = None
        self._created = False  # whether that submission created the invoice
        self._status_for: dict[str, Any] | None = None  # the body the message is about
        self._sending = threading.Lock()
        self._errors: dict[str, str] = {}
        self._template_id: str | None = None
        self._quiet = False
        text = lambda placeholder="", width="260px": w.Text(  # noqa: E731
            placeholder=placeholder, layout=w.Layout(width=width))
        self._email, self._given, self._surname = text("ada@example.com"), text(), text()
        self._business = text()
        self._currency = w.Dropdown(options=sorted(CURRENCY_DECIMALS), value=currency,
                                    layout=w.Layout(width="100px"))
        self._number = text("next free number if empty", "200px")
        self._next = w.Button(description="Next number", layout=w.Layout(width="auto"))
        self._invoice_date = w.DatePicker(layout=w.Layout(width="160px"))
        self._term = w.Dropdown(options=TERMS, value="NET_30", layout=w.Layout(width="220px"))
        self._due_date = w.DatePicker(layout=w.Layout(width="160px"))
        self._note = w.Textarea(placeholder="note to the customer",
                                layout=w.Layout(width="420px"))
        self._memo, self._reference = text("private memo"), text()
        self._partial = w.Checkbox(description="allow partial payment", indent=False,
                                   layout=w.Layout(width="auto"))
        self._minimum = text("minimum amount due", "160px")
        self._template = w.Dropdown(options=[("(none)", "")], value="",
                                    layout=w.Layout(width="260px"))
        if templates:
            found = client.templates.list().get("templates", [])
            self._template.options = [("(none)", ""), *((t["name"], t["id"]) for t in found)]
        self._grid = ItemGrid()
        self._add = w.Button(description="Add item", icon="plus",
                             layout=w.Layout(width="auto", align_self="flex-start"))
        self._total = w.HTML()
        self._submit = button("Create draft")
        self._status = w.HTML()
        self.fields = {
            "template": Field("Template", self._template),
            "number": Field("Number", w.HBox([self._number, self._next])),
            "email": Field("Email", self._email),
            "given_name": Field("Given name", self._given),
            "surname": Field("Surname", self._surname),
            "business": Field("Business", self._business),
            "currency": Field("Currency", self._currency),
            "invoice_date": Field("Invoice date", self._invoice_date),
            "term": Field("Payment term", self._term),
            "due_date": Field("Due date", self._due_date),
            "note": Field("Note", self._note),
            "memo": Field("Memo", self._memo),
            "reference": Field("Reference", self._reference),
            "partial": Field("Partial", w.HBox([self._partial, self._minimum])),
            "items": Field("Items", w.VBox([self._grid, self._add])),
        }
        self._inputs = {"email": self._email, "given_name": self._given,
                        "surname": self._surname, "business": self._business,
                        "currency": self._currency, "number": self._number,
                        "invoice_date": self._invoice_date, "term": self._term,
                        "due_date": self._due_date, "note": self._note, "memo": self._memo,
                        "reference": self._reference, "partial": self._partial,
                        "minimum": self._minimum}
        for widget in self._inputs.values():
            widget.observe(self._changed, names="value")
        self._template.observe(lambda change: self.apply_template(change["new"]), names="value")
        self._next.on_click(lambda _: self.next_number())
        self._add.on_click(lambda _: self.add_item())
        self._submit.on_click(lambda _: self.submit())
        super().__init__([*self.fields.values(), indented(self._total), indented(self._submit),
                          indented(self._status)])
        self.add_class("ppnb-invoice-form")
        self.add_item()

    # --- items ---------------------------------------------------------------------------

    @property
    def items(self) -> list[ItemRow]:
        """The item rows, in order (``items[0].unit.value`` is the first unit amount)."""
        return self._grid.rows

    def add_item(self, item: dict[str, Any] | None = None) -> None:
        """Add an item row (pre-filled from a PayPal item dict when given)."""
        self._grid.set_rows([*self.items, self._row(item)])
        self._changed()

    def remove_item(self, index: int) -> None:
        """Remove item row ``index``."""
        rows = list(self.items)
        del rows[index]
        self._grid.set_rows(rows)
        self._changed()

    def set_items(self, items: list[dict[str, Any]]) -> None:
        """Replace every item row by PayPal item dicts."""
        self._grid.set_rows([self._row(item) for item in items])
        self._changed()

    def _row(self, item: dict[str, Any] | None) -> ItemRow:
        return ItemRow(item, self._changed, lambda row: self.remove_item(self.items.index(row)))

    # --- the logic ---------------------------------------------------------------------------

    def set(self, **values: Any) -> None:
        """Set fields by name: email, given_name, surname, business, currency, number,
        invoice_date, term, due_date, note, memo, reference, partial, minimum."""
        unknown = sorted(set(values) - set(self._inputs))
        if unknown:
            raise ValueError(f"InvoiceForm has no field {', '.join(unknown)}")
        for name, value in values.items():
            self._inputs[name].value = value

    def validate(self) -> dict[str, str]:
        """Check every field; returns ``{field: message}`` (``item 2`` for item rows), empty
        when the form can be submitted. Also shows each message next to its field."""
        errors: dict[str, str] = {}
        currency = self._currency.value
        email = self._email.value.strip()
        if not email:
            errors["email"] = "required"
        elif not is_email(email):
            errors["email"] = f"{email!r} is not an email address"
        if not self.items:
            errors["items"] = "add at least one item"
        elif len(self.items) > MAX_ITEMS:
            errors["items"] = f"at most {MAX_ITEMS} items ({len(self.items)} given)"
        for key, widget, limit in self._texts():
            problem = text_problem(widget.value, limit)
            if problem and key not in errors:
                errors[key] = problem
        for n, row in enumerate(self.items, 1):
            if problems := row.problems(currency):
                errors[f"item {n}"] = "; ".join(problems)
        issued, due = self._invoice_date.value, self._due_date.value
        if self._term.value == "DUE_ON_DATE_SPECIFIED":
            if due is None:
                errors["due_date"] = "required for DUE_ON_DATE_SPECIFIED"
            elif issued is not None and due < issued:
                errors["due_date"] = f"{due} is before the invoice date {issued}"
            elif issued is None and due < self.today:
                errors["due_date"] = (f"{due} is before today ({self.today}), which PayPal "
                                      "takes as the invoice date when it is blank")
        minimum = None
        if self._partial.value and self._minimum.value.strip():
            try:
                minimum = money(self._minimum.value, currency)
            except MoneyError as exc:
                errors["partial"] = f"minimum {why(exc, currency)}"
        total = None
        if not errors:
            try:
                total = self.total()
            except ValueError as exc:
                errors["items"] = str(exc)
            else:
                if minimum is not None and minimum > total:
                    errors["partial"] = "minimum is more than the total"
        self._errors = errors
        self._show(errors, None if errors else total)
        return errors

    def _texts(self) -> list[tuple[str, Any, int]]:
        """The free-text fields: error key, widget, PayPal's longest value."""
        return [("email", self._email, EMAIL_LENGTH[1]),
                ("given_name", self._given, MAX_LENGTH["given_name"]),
                ("surname", self._surname, MAX_LENGTH["surname"]),
                ("business", self._business, MAX_LENGTH["business_name"]),
                ("number", self._number, MAX_LENGTH["invoice_number"]),
                ("reference", self._reference, MAX_LENGTH["reference"]),
                ("memo", self._memo, MAX_LENGTH["memo"]),
                ("note", self._note, MAX_LENGTH["note"])]

    @property
    def today(self) -> dt.date:
        """The date PayPal gives an invoice whose date is left blank: the ``today`` given to
        the form, else the client's (the emulator's clock, or the UTC date), read once."""
        if self._today is None:
            self._today = self._client.today()
        return self._today

    @property
    def value(self) -> dict[str, Any]:
        """The create-invoice request body the form describes, numbers without thousands
        separators (call :meth:`validate` first: this does not check it)."""
        currency = self._currency.value
        detail: dict[str, Any] = {"currency_code": currency}
        if self._number.value.strip():
            detail["invoice_number"] = self._number.value.strip()
        if self._invoice_date.value is not None:
            detail["invoice_date"] = self._invoice_date.value.isoformat()
        term: dict[str, Any] = {"term_type": self._term.value}
        if self._term.value == "DUE_ON_DATE_SPECIFIED" and self._due_date.value is not None:
            term["due_date"] = self._due_date.value.isoformat()
        detail["payment_term"] = term
        for key, widget in (("note", self._note), ("memo", self._memo),
                            ("reference", self._reference)):
            if widget.value.strip():
                detail[key] = widget.value.strip()
        billing: dict[str, Any] = {"email_address": self._email.value.strip()}
        name = {k: v.value.strip() for k, v in (("given_name", self._given),
                                                 ("surname", self._surname)) if v.value.strip()}
        if name:
            billing["name"] = name
        if self._business.value.strip():
            billing["business_name"] = self._business.value.strip()
        body: dict[str, Any] = {"detail": detail,
                                "primary_recipients": [{"billing_info": billing}],
                                "items": [row.value(currency) for row in self.items]}
        configuration: dict[str, Any] = {}
        if self._partial.value:
            partial: dict[str, Any] = {"allow_partial_payment": True}
            if self._minimum.value.strip():
                partial["minimum_amount_due"] = {"currency_code": currency,
                                                 "value": plain(self._minimum.value)}
            configuration["partial_payment"] = partial
        if self._template_id:
            configuration["template_id"] = self._template_id
        if configuration:
            body["configuration"] = configuration
        return body

    def total(self) -> Decimal:
        """The invoice total, computed exactly as the emulator (and PayPal) compute it.

        Raises
        ------
        ValueError
            If the amounts cannot make an invoice (e.g. a negative total).
        """
        body = copy.deepcopy(self.value)
        try:
            return compute(body, self._currency.value)
        except TotalsError as exc:
            raise ValueError("; ".join(p.description for p in exc.problems)) from None

    def submit(self) -> dict[str, Any] | None:
        """Validate and create the draft; returns the invoice, or None (errors shown, or a
        submission already in flight).

        The same body is always sent with the same ``PayPal-Request-Id`` (a new one only once
        the form changes, or after PayPal refused it with a 4xx other than 429), so a second
        click, or a retry after a lost answer, is replayed by PayPal: one invoice.
        """
        if not self._sending.acquire(blocking=False):
            return None  # in flight: this is the same click again
        try:
            self._arm()
            return self._create()
        finally:
            self._sending.release()
            self._arm()

    def _create(self) -> dict[str, Any] | None:
        self.error = None
        body = self.value
        if self.validate():
            self._say("<b>Fix the fields marked in red first.</b>", body)
            return None
        if self._request is None or self._request[0] != body:
            self._request = (body, str(uuid.uuid4()))
        try:
            invoice = self._client.invoices.create(body, request_id=self._request[1])
        except PayPalError as exc:
            self.error = exc
            if isinstance(exc, APIError) and exc.status < 500 and exc.status != 429:
                self._request = None  # a refusal: PayPal would replay it for this id
            self._say(error_html(exc), body)
            return None
        again, self._created = self._created, True
        self.result = invoice
        self._say(self.result_html(invoice, again=again), body)
        return invoice

    def result_html(self, invoice: dict[str, Any], *, again: bool = False) -> str:
        """The created invoice: id, number, status and a link to its page (``again``: the
        same submission was sent again, and PayPal answered with the same invoice)."""
        link = invoice_link(self._client, invoice)
        verb = "Already created (the same request, not a second invoice)" if again else "Created"
        return (f'<div class="ppnb-result">{verb} <code class="ppnb-id">'
                f'{html.escape(invoice["id"])}</code> number <b>'
                f'{html.escape(invoice["detail"].get("invoice_number", ""))}</b>, status '
                f'<b>{html.escape(invoice["status"])}</b>, total '
                f'{html.escape(invoice["amount"]["value"])} '
                f'{html.escape(invoice["amount"]["currency_code"])}: '
                f'<a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a></div>')

    def next_number(self) -> str:
        """Fill the number with PayPal's next free invoice number."""
        number = self._client.invoices.generate_next_invoice_number()["invoice_number"]
        self._number.value = number
        return number

    def apply_template(self, template_id: str) -> None:
        """Pre-fill the form from a template (``""``: no template); explicit input later
        typed over it wins, as on PayPal."""
        self._template_id = template_id or None
        if template_id:
            values, items = prefill(
                self._client.templates.get(template_id).get("template_info", {}))
            self._quiet = True
            try:
                self.set(**values)
                if items:
                    self.set_items(items)
            finally:
                self._quiet = False
        self._changed()

    # --- wiring ------------------------------------------------------------------------------

    def _changed(self, change: Any = None) -> None:
        """Any input changed: forget the last submission and clear the message once the
        form describes another invoice, then re-validate."""
        if self._quiet:
            return
        body = self.value
        if self._request is not None and self._request[0] != body:
            self._request, self._created = None, False
        if self._status_for is not None and self._status_for != body:
            self._status.value, self._status_for = "", None
        self.validate()

    def _say(self, markup: str, body: dict[str, Any]) -> None:
        """Show a message about the form as it is (``body``)."""
        self._status.value, self._status_for = markup, body

    def _arm(self) -> None:
        """Enable Create only for a valid form, not in flight, not already created."""
        self._submit.disabled = bool(self._errors) or self._created or self._sending.locked()

    def _show(self, errors: dict[str, str], total: Decimal | None) -> None:
        for name, field in self.fields.items():
            field.show(errors.get(name))
        for n, row in enumerate(self.items, 1):
            row.show(errors.get(f"item {n}"))
        self._arm()
        self._due_date.disabled = self._term.value != "DUE_ON_DATE_SPECIFIED"
        if total is None:
            self._total.value = "Total: <i>fix the errors first</i>"
        else:
            currency = self._currency.value
            self._total.value = (f'Total: <b class="ppnb-total">'
                                 f"{format_amount(total, currency)} {currency}</b>")
