"""InvoiceForm: create a draft invoice, validated and totalled before anything is sent."""

from __future__ import annotations

import copy
import datetime as dt
import html
import uuid
from decimal import Decimal
from typing import Any

import ipywidgets as w
import orjson

from ..client import APIError, Client, PayPalError
from ..limits import EMAIL_LENGTH, MAX_LENGTH
from ..money import CURRENCY_DECIMALS, MoneyError, decimals, format_amount, parse_amount
from ..totals import TotalsError, compute
from ._common import Field, button, error_html, invoice_link, is_email

#: PayPal's payment terms.
TERMS = ("DUE_ON_RECEIPT", "DUE_ON_DATE_SPECIFIED", "NET_10", "NET_15", "NET_30", "NET_45",
         "NET_60", "NET_90", "NO_DUE_DATE")
#: PayPal's limit on items per invoice.
MAX_ITEMS = 100
_HUNDRED = Decimal(100)


def _quantity(text: str) -> Decimal:
    """A positive quantity with at most 5 decimals (PayPal's rule)."""
    value = parse_amount(text.strip(), "USD", places=5)
    if value <= 0:
        raise MoneyError("must be more than 0", "range")
    return value


def _percent(text: str) -> Decimal:
    value = parse_amount(text.strip(), "USD", places=5)
    if not 0 <= value <= _HUNDRED:
        raise MoneyError("must be from 0 to 100", "range")
    return value


def _money(text: str, currency: str) -> Decimal:
    """A positive amount with the currency's decimals (no 1.5 JPY)."""
    value = parse_amount(text.strip(), currency)
    if value <= 0:
        raise MoneyError("must be more than 0", "range")
    return value


class _ItemRow(w.HBox):
    """One line item: name, quantity, unit amount, tax %, discount %, and a remove button."""

    def __init__(self, form: InvoiceForm, item: dict[str, Any] | None = None) -> None:
        item = item or {}
        self.name = w.Text(item.get("name", ""), placeholder="item name",
                           layout=w.Layout(width="200px"))
        self.quantity = w.Text(item.get("quantity", "1"), layout=w.Layout(width="70px"))
        self.unit = w.Text((item.get("unit_amount") or {}).get("value", ""), placeholder="0.00",
                           layout=w.Layout(width="100px"))
        self.tax = w.Text((item.get("tax") or {}).get("percent", ""), placeholder="tax %",
                          layout=w.Layout(width="70px"))
        self.discount = w.Text((item.get("discount") or {}).get("percent", ""),
                               placeholder="disc. %", layout=w.Layout(width="70px"))
        self.remove = w.Button(description="✕", layout=w.Layout(width="36px"),
                               tooltip="remove this item")
        self.error = w.HTML()
        self.remove.on_click(lambda _: form.remove_item(form.items.index(self)))
        for child in self.inputs:
            child.observe(form._changed, names="value")
        super().__init__([*self.inputs, self.remove, self.error])

    @property
    def inputs(self) -> tuple[w.Text, ...]:
        return (self.name, self.quantity, self.unit, self.tax, self.discount)


class InvoiceForm(w.VBox):
    """Create a draft invoice from a form.

    The logic is in plain methods (:meth:`validate`, :attr:`value`, :meth:`total`,
    :meth:`submit`, :meth:`add_item`, :meth:`remove_item`, :meth:`apply_template`,
    :meth:`next_number`); the widgets only call them. Every change re-validates: errors appear
    next to their field, the computed total is shown, and the Create button is disabled while
    anything is wrong.

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
        self._pending: tuple[bytes, str] | None = None
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
        self._partial = w.Checkbox(description="allow partial payment", indent=False)
        self._minimum = text("minimum amount due", "160px")
        self._template = w.Dropdown(options=[("(none)", "")], value="",
                                    layout=w.Layout(width="260px"))
        if templates:
            found = client.templates.list().get("templates", [])
            self._template.options = [("(none)", ""), *((t["name"], t["id"]) for t in found)]
        self.items: list[_ItemRow] = []
        self._items_box = w.VBox()
        self._add = w.Button(description="Add item", icon="plus", layout=w.Layout(width="auto"))
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
            "items": Field("Items", w.Label("name · qty · unit · tax % · discount %")),
        }
        for widget in (self._email, self._given, self._surname, self._business, self._currency,
                       self._number, self._invoice_date, self._term, self._due_date, self._note,
                       self._memo, self._reference, self._partial, self._minimum):
            widget.observe(self._changed, names="value")
        self._template.observe(lambda change: self.apply_template(change["new"]), names="value")
        self._next.on_click(lambda _: self.next_number())
        self._add.on_click(lambda _: self.add_item())
        self._submit.on_click(lambda _: self.submit())
        super().__init__([*self.fields.values(), self._items_box, self._add, self._total,
                          self._submit, self._status])
        self.add_item()

    # --- items ---------------------------------------------------------------------------

    def add_item(self, item: dict[str, Any] | None = None) -> None:
        """Add an item row (pre-filled from a PayPal item dict when given)."""
        self.items.append(_ItemRow(self, item))
        self._items_box.children = tuple(self.items)
        self._changed()

    def remove_item(self, index: int) -> None:
        """Remove item row ``index``."""
        del self.items[index]
        self._items_box.children = tuple(self.items)
        self._changed()

    def set_items(self, items: list[dict[str, Any]]) -> None:
        """Replace every item row by PayPal item dicts."""
        self._quiet = True
        try:
            self.items = []
            for item in items:
                self.add_item(item)
        finally:
            self._quiet = False
        self._changed()

    # --- the logic ---------------------------------------------------------------------------

    def set(self, **values: Any) -> None:
        """Set fields by name: email, given_name, surname, business, currency, number,
        invoice_date, term, due_date, note, memo, reference, partial, minimum."""
        widgets = {"email": self._email, "given_name": self._given, "surname": self._surname,
                   "business": self._business, "currency": self._currency,
                   "number": self._number, "invoice_date": self._invoice_date,
                   "term": self._term, "due_date": self._due_date, "note": self._note,
                   "memo": self._memo, "reference": self._reference, "partial": self._partial,
                   "minimum": self._minimum}
        unknown = sorted(set(values) - set(widgets))
        if unknown:
            raise ValueError(f"InvoiceForm has no field {', '.join(unknown)}")
        for name, value in values.items():
            widgets[name].value = value

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
            problem = _text_problem(widget.value, limit)
            if problem and key not in errors:
                errors[key] = problem
        for n, row in enumerate(self.items, 1):
            problems = []
            if not row.name.value.strip():
                problems.append("name required")
            elif problem := _text_problem(row.name.value, MAX_LENGTH["item_name"]):
                problems.append(f"name {problem}")
            for label, widget, check in (
                ("quantity", row.quantity, _quantity),
                ("unit amount", row.unit, lambda t: _money(t, currency)),
                ("tax %", row.tax, _percent),
                ("discount %", row.discount, _percent),
            ):
                if not widget.value.strip():
                    if label in ("quantity", "unit amount"):
                        problems.append(f"{label} required")
                    continue
                try:
                    check(widget.value)
                except MoneyError as exc:
                    places = None if label == "unit amount" else 5  # quantities and percents
                    problems.append(f"{label} {_why(exc, currency, places)}")
            if problems:
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
        if self._partial.value and self._minimum.value.strip():
            try:
                _money(self._minimum.value, currency)
            except MoneyError as exc:
                errors["partial"] = f"minimum {_why(exc, currency)}"
        total = None
        if not errors:
            try:
                total = self.total()
            except ValueError as exc:
                errors["items"] = str(exc)
            else:
                minimum = self._minimum.value.strip()
                if self._partial.value and minimum and parse_amount(minimum, currency) > total:
                    errors["partial"] = "minimum is more than the total"
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
        """The create-invoice request body the form describes (call :meth:`validate`
        first: this does not check it)."""
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
        items = []
        for row in self.items:
            item: dict[str, Any] = {
                "name": row.name.value.strip(), "quantity": row.quantity.value.strip(),
                "unit_amount": {"currency_code": currency, "value": row.unit.value.strip()}}
            if row.tax.value.strip():
                item["tax"] = {"name": "Tax", "percent": row.tax.value.strip()}
            if row.discount.value.strip():
                item["discount"] = {"percent": row.discount.value.strip()}
            items.append(item)
        body: dict[str, Any] = {"detail": detail,
                                "primary_recipients": [{"billing_info": billing}],
                                "items": items}
        configuration: dict[str, Any] = {}
        if self._partial.value:
            partial: dict[str, Any] = {"allow_partial_payment": True}
            if self._minimum.value.strip():
                partial["minimum_amount_due"] = {"currency_code": currency,
                                                 "value": self._minimum.value.strip()}
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
        """Validate and create the draft; returns the invoice, or None (errors shown).

        A retry after a network or server failure reuses the same ``PayPal-Request-Id`` for
        the same body, so clicking again never creates the invoice twice.
        """
        self.error = None
        if self.validate():
            self._status.value = "<b>Fix the fields marked in red first.</b>"
            return None
        body = self.value
        raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        if self._pending is None or self._pending[0] != raw:
            self._pending = (raw, str(uuid.uuid4()))
        self._submit.disabled = True
        try:
            invoice = self._client.invoices.create(body, request_id=self._pending[1])
        except PayPalError as exc:
            self.error = exc
            if isinstance(exc, APIError) and exc.status < 500 and exc.status != 429:
                self._pending = None  # a refusal: the same request would be refused again
            self._status.value = error_html(exc)
            return None
        finally:
            self._submit.disabled = False
        self._pending = None
        self.result = invoice
        self._status.value = self.result_html(invoice)
        return invoice

    def result_html(self, invoice: dict[str, Any]) -> str:
        """The created invoice: id, number, status and a link to its page."""
        link = invoice_link(self._client, invoice)
        return (f'<div class="ppnb-result">Created <code class="ppnb-id">'
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
        if not template_id:
            return
        info = self._client.templates.get(template_id).get("template_info", {})
        detail = info.get("detail", {})
        self._quiet = True
        try:
            if detail.get("currency_code") in CURRENCY_DECIMALS:
                self._currency.value = detail["currency_code"]
            term = detail.get("payment_term", {})
            if term.get("term_type") in TERMS:
                self._term.value = term["term_type"]
            for key, widget in (("note", self._note), ("memo", self._memo),
                                ("reference", self._reference)):
                if detail.get(key):
                    widget.value = detail[key]
            billing = ((info.get("primary_recipients") or [{}])[0]).get("billing_info", {})
            if billing.get("email_address"):
                self._email.value = billing["email_address"]
            partial = info.get("configuration", {}).get("partial_payment", {})
            if partial.get("allow_partial_payment"):
                self._partial.value = True
                self._minimum.value = (partial.get("minimum_amount_due") or {}).get("value", "")
        finally:
            self._quiet = False
        if info.get("items"):
            self.set_items(info["items"])
        else:
            self._changed()

    # --- wiring ------------------------------------------------------------------------------

    def _changed(self, change: Any = None) -> None:
        if not self._quiet:
            self.validate()

    def _show(self, errors: dict[str, str], total: Decimal | None) -> None:
        for name, field in self.fields.items():
            field.show(errors.get(name))
        for n, row in enumerate(self.items, 1):
            message = errors.get(f"item {n}")
            row.error.value = (f'<span class="ppnb-error" style="color:#b00020">'
                               f"{html.escape(message)}</span>" if message else "")
        self._submit.disabled = bool(errors)
        self._due_date.disabled = self._term.value != "DUE_ON_DATE_SPECIFIED"
        if total is None:
            self._total.value = "Total: <i>fix the errors first</i>"
        else:
            currency = self._currency.value
            self._total.value = (f'Total: <b class="ppnb-total">'
                                 f"{format_amount(total, currency)} {currency}</b>")


def _text_problem(text: str, limit: int) -> str | None:
    """What is wrong with a typed text for PayPal: too long, or not encodable (a lone
    surrogate, which no JSON encoder can send)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a character that cannot be sent (an unpaired surrogate)"
    if len(text) > limit:
        return f"is {len(text)} characters; PayPal takes at most {limit}"
    return None


def _why(exc: MoneyError, currency: str, places: int | None = None) -> str:
    """Why an amount (``places=None``: the currency's decimals) or a quantity or percent
    (``places=5``) was refused, in words."""
    if exc.reason == "precision":
        if places is not None:
            return f"takes at most {places} decimals"
        places = decimals(currency)
        return (f"takes no decimals in {currency}" if places == 0
                else f"takes at most {places} decimals in {currency}")
    if exc.reason == "syntax":
        return "is not a number"
    return str(exc)

