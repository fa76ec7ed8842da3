"""Invoices as pandas tables: one row per invoice, item, payment and refund.

:func:`flatten` takes invoice objects exactly as PayPal Invoicing v2 returns them (search
results requested with ``fields: ["items", "payments", "refunds"]``, or GET invoice) and
returns four typed DataFrames in a :class:`Tables`. Child tables carry ``invoice_id`` and
join back to ``invoices.id``. Data flows one way (API → pager → frames → analysis): this
module knows the JSON shapes of the spec's ``invoice`` schema, never the client or the
emulator.

It reads real PayPal's shapes as well as the spec's (``../shared/paypal/OBSERVED.md``): fields
it does not know (``unilateral``, ``detail.archived``, tax ids, ...) are ignored; a status it
does not know (``AUTO_CANCELLED``) is kept as text; a discount means the amount taken off,
whatever sign the JSON carries (PayPal's responses report discounts negative, requests send
them positive); summaries from list and search (no items, no transactions, only a creation
time) give the columns they have and empty ones for the rest.

Money is exact. Every amount is parsed from its decimal string into **int64 minor units**
(cents; yen for JPY, which has no decimals; see :func:`ppnb.money.decimals`) with integer
arithmetic, never through a float. An amount that is not a whole number of minor units
(``"10.005"`` USD, ``"1.5"`` JPY), a malformed number (``"1e3"``, ``"+1"``, a JSON number),
a money object in another currency than the invoice's, or an unsupported currency raises
:class:`ppnb.money.MoneyError` (a ``ValueError``) naming the invoice id and the field; as in
:func:`ppnb.money.to_minor`, zeros past the minor unit change nothing (``"10.500"`` USD is
1050). Each ``*_minor`` column has a float twin without the suffix (``total`` =
``total_minor / 10**decimals``) for display and plots only: **sum, compare and reconcile
with the ``*_minor`` columns**, per currency, and turn a result back into an exact
``Decimal`` with :func:`ppnb.money.from_minor`. An absent money object counts as zero:
PayPal leaves out ``payments`` until something is paid, an item's ``tax`` when it is
untaxed, and so on.

Dtypes: text is ``string[pyarrow]`` (``pd.StringDtype("pyarrow")``, which equals
``"string"``; missing values are ``<NA>``, never the text ``"None"``). Codes such as
``status`` stay text rather than ``category``, so that tables from different pages or
merchants concatenate without category unions. Calendar dates are ``datetime64[ns]``
(midnight, no zone); instants are ``datetime64[ns, UTC]``; missing ones are ``NaT``. The
dtype of every column is in :data:`INVOICE_COLUMNS`, :data:`ITEM_COLUMNS`,
:data:`PAYMENT_COLUMNS` and :data:`REFUND_COLUMNS`; tables with no rows have them too.

``invoices`` (:data:`INVOICE_COLUMNS`)

==================  ===================  ==================================================
column              dtype                from the invoice JSON
==================  ===================  ==================================================
id                  string               ``id``
number              string               ``detail.invoice_number``
status              string               ``status`` (``DRAFT``, ``SENT``, ``PAID``, ...)
invoice_date        datetime64[ns]       ``detail.invoice_date``
due_date            datetime64[ns]       ``detail.payment_term.due_date``
term_type           string               ``detail.payment_term.term_type``
currency            string               ``detail.currency_code``
total_minor         int64                ``amount.value``
paid_minor          int64                ``payments.paid_amount.value`` (0 if absent)
refunded_minor      int64                ``refunds.refund_amount.value`` (0 if absent)
due_minor           int64                ``due_amount.value``
total               float64              ``total_minor`` in currency units, display only
paid                float64              ``paid_minor`` in currency units, display only
refunded            float64              ``refunded_minor`` in currency units, display only
due                 float64              ``due_minor`` in currency units, display only
recipient_email     string               ``primary_recipients[0].billing_info.email_address``
recipient_name      string               its ``name``: given name and surname, else
                                         ``full_name``
recipient_business  string               its ``business_name``
created             datetime64[ns, UTC]  ``detail.metadata.create_time``
first_sent          datetime64[ns, UTC]  ``detail.metadata.first_sent_time``
last_sent           datetime64[ns, UTC]  ``detail.metadata.last_sent_time``
cancelled           datetime64[ns, UTC]  ``detail.metadata.cancel_time``
last_updated        datetime64[ns, UTC]  ``detail.metadata.last_update_time``
reference           string               ``detail.reference``
memo                string               ``detail.memo``
==================  ===================  ==================================================

``items`` (:data:`ITEM_COLUMNS`), one row per entry of ``items``

=================  ==============  ========================================================
column             dtype           from each item
=================  ==============  ========================================================
invoice_id         string          the invoice's ``id``
line               int64           0-based position in ``items``
name               string          ``name``
description        string          ``description``
quantity           string          ``quantity``, exactly as sent (up to 5 decimals)
quantity_value     float64         ``quantity`` as a float, for display and rough maths
unit_amount_minor  int64           ``unit_amount.value``
tax_name           string          ``tax.name``
tax_percent        string          ``tax.percent``, exactly as sent
tax_minor          int64           ``tax.amount.value``, computed by PayPal (0 if untaxed)
discount_minor     int64           ``discount.amount.value`` as the amount taken off,
                                   ≥ 0 whatever its sign in the JSON (0 if none)
item_date          datetime64[ns]  ``item_date``
unit_of_measure    string          ``unit_of_measure``
currency           string          the invoice's currency
=================  ==============  ========================================================

``payments`` (:data:`PAYMENT_COLUMNS`), one row per ``payments.transactions`` entry

============  ==============  ==============================================================
column        dtype           from each transaction
============  ==============  ==============================================================
invoice_id    string          the invoice's ``id``
payment_id    string          ``payment_id``
payment_date  datetime64[ns]  ``payment_date``
amount_minor  int64           ``amount.value``
amount        float64         ``amount_minor`` in currency units, display only
currency      string          the invoice's currency
method        string          ``method`` (``BANK_TRANSFER``, ``CASH``, ``PAYPAL``, ...)
type          string          ``type`` (``PAYPAL`` or ``EXTERNAL``)
note          string          ``note``
============  ==============  ==============================================================

``refunds`` (:data:`REFUND_COLUMNS`), one row per ``refunds.transactions`` entry

============  ==============  ==============================================================
column        dtype           from each transaction
============  ==============  ==============================================================
invoice_id    string          the invoice's ``id``
refund_id     string          ``refund_id``
refund_date   datetime64[ns]  ``refund_date``
amount_minor  int64           ``amount.value``
amount        float64         ``amount_minor`` in currency units, display only
currency      string          the invoice's currency
method        string          ``method``
type          string          ``type``
============  ==============  ==============================================================

Speed: one pass over the invoices reads every field of an invoice, its items and its
transactions while its dicts are in the CPU cache; then each column is converted in bulk by
Arrow (text; dates; money: one regex check and one exact decimal cast per currency
exponent), and each DataFrame is built once from its columns. On 100,000 invoices this is
several times faster than ``pd.json_normalize`` with the ``record_path`` calls it needs for
the child tables, which leave amounts as strings (``python -m benchmarks.flatten``).

>>> tables = flatten(search_results)                     # doctest: +SKIP
>>> invoices, items, payments, refunds = tables          # doctest: +SKIP
>>> invoices.groupby("currency")["due_minor"].sum()      # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionDtype

from . import display  # noqa: F401  (registers the .ppnb accessor: tables.invoices.ppnb.view())
from .money import CURRENCY_DECIMALS, MoneyError, decimals, to_minor

__all__ = [
    "INVOICE_COLUMNS",
    "ITEM_COLUMNS",
    "PAYMENT_COLUMNS",
    "REFUND_COLUMNS",
    "Tables",
    "Walked",
    "assemble",
    "concat",
    "empty_tables",
    "flatten",
    "walk",
]

_TEXT = pd.StringDtype("pyarrow")
_DATE = np.dtype("datetime64[ns]")
_INSTANT = pd.DatetimeTZDtype("ns", "UTC")
_INT = np.dtype("int64")
_FLOAT = np.dtype("float64")

Dtype = np.dtype | ExtensionDtype

#: Columns of ``Tables.invoices`` and their dtypes, in order.
INVOICE_COLUMNS: dict[str, Dtype] = {
    "id": _TEXT, "number": _TEXT, "status": _TEXT, "invoice_date": _DATE, "due_date": _DATE,
    "term_type": _TEXT, "currency": _TEXT,
    "total_minor": _INT, "paid_minor": _INT, "refunded_minor": _INT, "due_minor": _INT,
    "total": _FLOAT, "paid": _FLOAT, "refunded": _FLOAT, "due": _FLOAT,
    "recipient_email": _TEXT, "recipient_name": _TEXT, "recipient_business": _TEXT,
    "created": _INSTANT, "first_sent": _INSTANT, "last_sent": _INSTANT, "cancelled": _INSTANT,
    "last_updated": _INSTANT, "reference": _TEXT, "memo": _TEXT,
}  # fmt: skip

#: Columns of ``Tables.items`` and their dtypes, in order.
ITEM_COLUMNS: dict[str, Dtype] = {
    "invoice_id": _TEXT, "line": _INT, "name": _TEXT, "description": _TEXT, "quantity": _TEXT,
    "quantity_value": _FLOAT, "unit_amount_minor": _INT, "tax_name": _TEXT, "tax_percent": _TEXT,
    "tax_minor": _INT, "discount_minor": _INT, "item_date": _DATE, "unit_of_measure": _TEXT,
    "currency": _TEXT,
}  # fmt: skip

#: Columns of ``Tables.payments`` and their dtypes, in order.
PAYMENT_COLUMNS: dict[str, Dtype] = {
    "invoice_id": _TEXT, "payment_id": _TEXT, "payment_date": _DATE, "amount_minor": _INT,
    "amount": _FLOAT, "currency": _TEXT, "method": _TEXT, "type": _TEXT, "note": _TEXT,
}  # fmt: skip

#: Columns of ``Tables.refunds`` and their dtypes, in order.
REFUND_COLUMNS: dict[str, Dtype] = {
    "invoice_id": _TEXT, "refund_id": _TEXT, "refund_date": _DATE, "amount_minor": _INT,
    "amount": _FLOAT, "currency": _TEXT, "method": _TEXT, "type": _TEXT,
}  # fmt: skip

_NONE: Mapping[str, Any] = MappingProxyType({})  # stands in for every absent JSON object
_NOBODY = (_NONE,)  # stands in for an absent or empty primary_recipients
_NUMBER = r"-?([0-9]+|[0-9]*\.[0-9]+)"  # the spec's money pattern (ASCII digits only)
_NUMBER_RE = re.compile(_NUMBER)
_LIMIT = 10**18  # a bound on |minor units| that fits int64
_PRECISION = 18  # decimal digits Arrow may hold, so that every parsed amount is below _LIMIT
_SCALE = 10.0 ** np.arange(max(CURRENCY_DECIMALS.values()) + 1)  # minor units per unit


#: Statuses of an invoice that was called off: PayPal's spec lists CANCELLED; its
#: documentation also lists AUTO_CANCELLED ("automatically cancelled", OBSERVED.md).
CANCELLED_STATUSES = frozenset({"CANCELLED", "AUTO_CANCELLED"})

@dataclass(frozen=True, eq=False)
class Tables:
    """The four tables of a set of invoices; unpacks as ``inv, items, pays, refs = tables``.

    Attributes
    ----------
    invoices
        One row per invoice (:data:`INVOICE_COLUMNS`).
    items
        One row per line item, keyed by ``invoice_id`` and ``line`` (:data:`ITEM_COLUMNS`).
    payments
        One row per payment transaction (:data:`PAYMENT_COLUMNS`).
    refunds
        One row per refund transaction (:data:`REFUND_COLUMNS`).
    """

    invoices: pd.DataFrame
    items: pd.DataFrame
    payments: pd.DataFrame
    refunds: pd.DataFrame

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return iter((self.invoices, self.items, self.payments, self.refunds))

    def __repr__(self) -> str:
        return (f"Tables(invoices={len(self.invoices)} rows, items={len(self.items)} rows, "
                f"payments={len(self.payments)} rows, refunds={len(self.refunds)} rows)")


def flatten(invoices: Iterable[Mapping[str, Any]]) -> Tables:
    """Turn invoice objects into the four typed :class:`Tables`.

    Parameters
    ----------
    invoices
        Invoice dicts as the API returns them: search results (with ``fields: ["items",
        "payments", "refunds"]`` to get the child tables) or GET invoice bodies. A pager
        that may see an invoice twice should deduplicate by id first; rows keep the input
        order. The dicts are only read.

    Returns
    -------
    Tables
        Columns and dtypes as documented in the module docstring; every ``*_minor`` column
        is exact.

    Raises
    ------
    ppnb.money.MoneyError
        An amount that is not a whole number of its currency's minor units, a malformed
        amount, a money object in another currency than the invoice's, or an unsupported
        currency. The message names the invoice id and the field.
    ValueError
        A malformed quantity, date or time, or a non-text value where the spec has text;
        the message names the field.
    """
    return assemble([walk(invoices)])


def walk(invoices: Iterable[Mapping[str, Any]]) -> Walked:
    """Read every raw value the tables need from some invoices: the first half of
    :func:`flatten`, for a pager that reads each page as it arrives (while other pages are
    still on the way) and :func:`assemble`-s the tables once."""
    return Walked(*_walk(invoices))


def assemble(parts: Sequence[Walked]) -> Tables:
    """The :class:`Tables` of invoices read by :func:`walk`, part after part, in order: the
    same as :func:`flatten` of all their invoices at once.

    Raises
    ------
    ppnb.money.MoneyError, ValueError
        As :func:`flatten`.
    """
    if not parts:
        return empty_tables()
    if len(parts) == 1:
        inv, items, payments, refunds = parts[0]
    else:
        inv, items, payments, refunds = (
            {name: list(chain.from_iterable(part[k][name] for part in parts))
             for name in parts[0][k]} for k in range(4))
    ids, currencies = inv["id"], inv["currency"]
    parent = _Parent(ids, _text(ids, "/id"), currencies,
                     _text(currencies, "/detail/currency_code"), _exponents(currencies, ids))
    rows = _Rows(parent, np.arange(len(ids)), "", None)
    minors = {name: rows.money(inv[name], path) for name, path in (
        ("total", "amount"), ("paid", "payments/paid_amount"),
        ("refunded", "refunds/refund_amount"), ("due", "due_amount"))}
    bill, meta = "/primary_recipients/0/billing_info", "/detail/metadata"
    invoice_table = _frame(INVOICE_COLUMNS, {
        "id": parent.id_text,
        "number": _text(inv["number"], "/detail/invoice_number"),
        "status": _text(inv["status"], "/status"),
        "invoice_date": _dates(inv["invoice_date"], "/detail/invoice_date"),
        "due_date": _dates(inv["due_date"], "/detail/payment_term/due_date"),
        "term_type": _text(inv["term_type"], "/detail/payment_term/term_type"),
        "currency": parent.currency_text,
        **{f"{name}_minor": minor for name, minor in minors.items()},
        **{name: rows.display(minor) for name, minor in minors.items()},
        "recipient_email": _text(inv["email"], f"{bill}/email_address"),
        "recipient_name": _text(inv["name"], f"{bill}/name"),
        "recipient_business": _text(inv["business"], f"{bill}/business_name"),
        "created": _instants(inv["created"], f"{meta}/create_time"),
        "first_sent": _instants(inv["first_sent"], f"{meta}/first_sent_time"),
        "last_sent": _instants(inv["last_sent"], f"{meta}/last_sent_time"),
        "cancelled": _instants(inv["cancelled"], f"{meta}/cancel_time"),
        "last_updated": _instants(inv["last_updated"], f"{meta}/last_update_time"),
        "reference": _text(inv["reference"], "/detail/reference"),
        "memo": _text(inv["memo"], "/detail/memo"),
    })
    return Tables(
        invoice_table,
        _items(_Rows.children(parent, inv["n_items"], "/items"), items),
        _transactions(_Rows.children(parent, inv["n_payments"], "/payments/transactions"),
                      payments, "payment"),
        _transactions(_Rows.children(parent, inv["n_refunds"], "/refunds/transactions"),
                      refunds, "refund"),
    )


def empty_tables() -> Tables:
    """Four empty tables with every column and dtype, e.g. for a search that found nothing."""
    return assemble([walk(())])


def concat(parts: Iterable[Tables]) -> Tables:
    """Stack tables flattened separately (page by page, merchant by merchant) into one.

    Rows keep their order; each table gets a fresh ``RangeIndex``. No parts give
    :func:`empty_tables`.
    """
    parts = list(parts)
    if not parts:
        return empty_tables()
    return Tables(*(pd.concat(frames, ignore_index=True) for frames in zip(*parts, strict=True)))


# --- reading the JSON -----------------------------------------------------------------------


class Walked(NamedTuple):
    """Raw column values read from some invoices by :func:`walk`, not yet typed."""

    invoices: dict[str, list[Any]]
    items: dict[str, list[Any]]
    payments: dict[str, list[Any]]
    refunds: dict[str, list[Any]]


class _Columns(dict[str, list[Any]]):
    """Lists of raw field values by column name, filled one row at a time."""

    def __init__(self, names: str) -> None:
        super().__init__((name, []) for name in names.split())

    def appenders(self) -> tuple[Callable[[Any], None], ...]:
        """The lists' ``append`` methods in column order, to bind to fast local names."""
        return tuple(column.append for column in self.values())


def _walk(invoices: Iterable[Mapping[str, Any]]) -> tuple[_Columns, _Columns, _Columns, _Columns]:
    """Every raw value the tables need, in one pass: invoice, item, payment and refund columns.

    Each invoice is visited once, and all its fields, items and transactions are read while
    its dicts are in the CPU cache. One list comprehension per column would fetch every dict
    from main memory again for each column: about three times slower on 100,000 invoices.
    A money object must be in its invoice's currency (it is checked here, while it is in the
    cache); its value goes into a column. The recipient's name is "given surname" (either
    alone if only one is set), else the full name. ``n_items``, ``n_payments`` and
    ``n_refunds`` count each invoice's children, which follow in invoice order.
    """
    inv = _Columns("id status number currency invoice_date reference memo due_date term_type "
                   "created first_sent last_sent cancelled last_updated email name business "
                   "total due paid refunded n_items n_payments n_refunds")
    (id_, status, number, currency, invoice_date, reference, memo, due_date, term_type,
     created, first_sent, last_sent, cancelled, last_updated, email, name, business,
     total, due, paid, refunded, n_items, n_payments, n_refunds) = inv.appenders()
    items = _Columns("name description quantity unit tax_name tax_percent tax discount "
                     "item_date unit_of_measure")
    (i_name, i_description, i_quantity, i_unit, i_tax_name, i_tax_percent, i_tax, i_discount,
     i_item_date, i_unit_of_measure) = items.appenders()
    payments = _Columns("payment_id payment_date amount method type note")
    p_id, p_date, p_amount, p_method, p_type, p_note = payments.appenders()
    refunds = _Columns("refund_id refund_date amount method type")
    r_id, r_date, r_amount, r_method, r_type = refunds.appenders()

    for doc in invoices:
        detail = doc.get("detail") or _NONE
        cur = detail.get("currency_code")
        id_(doc.get("id"))
        status(doc.get("status"))
        number(detail.get("invoice_number"))
        currency(cur)
        invoice_date(detail.get("invoice_date"))
        reference(detail.get("reference"))
        memo(detail.get("memo"))
        term = detail.get("payment_term") or _NONE
        due_date(term.get("due_date"))
        term_type(term.get("term_type"))
        meta = detail.get("metadata") or _NONE
        created(meta.get("create_time"))
        first_sent(meta.get("first_sent_time"))
        last_sent(meta.get("last_sent_time"))
        cancelled(meta.get("cancel_time"))
        last_updated(meta.get("last_update_time"))
        billing = (doc.get("primary_recipients") or _NOBODY)[0].get("billing_info") or _NONE
        email(billing.get("email_address"))
        person = billing.get("name") or _NONE
        given, surname = person.get("given_name"), person.get("surname")
        name(f"{given} {surname}" if given and surname else
             given or surname or person.get("full_name"))
        business(billing.get("business_name"))
        money = doc.get("amount") or _NONE
        total(money.get("value"))
        if money.get("currency_code", cur) != cur:
            raise _foreign(doc, "/amount", money)
        money = doc.get("due_amount") or _NONE
        due(money.get("value"))
        if money.get("currency_code", cur) != cur:
            raise _foreign(doc, "/due_amount", money)
        pays = doc.get("payments") or _NONE
        money = pays.get("paid_amount") or _NONE
        paid(money.get("value"))
        if money.get("currency_code", cur) != cur:
            raise _foreign(doc, "/payments/paid_amount", money)
        refs = doc.get("refunds") or _NONE
        money = refs.get("refund_amount") or _NONE
        refunded(money.get("value"))
        if money.get("currency_code", cur) != cur:
            raise _foreign(doc, "/refunds/refund_amount", money)

        lines = doc.get("items") or ()
        n_items(len(lines))
        for item in lines:
            i_name(item.get("name"))
            i_description(item.get("description"))
            i_quantity(item.get("quantity"))
            money = item.get("unit_amount") or _NONE
            i_unit(money.get("value"))
            if money.get("currency_code", cur) != cur:
                raise _foreign(doc, f"/items/{lines.index(item)}/unit_amount", money)
            tax = item.get("tax") or _NONE
            i_tax_name(tax.get("name"))
            i_tax_percent(tax.get("percent"))
            money = tax.get("amount") or _NONE
            i_tax(money.get("value"))
            if money.get("currency_code", cur) != cur:
                raise _foreign(doc, f"/items/{lines.index(item)}/tax/amount", money)
            money = (item.get("discount") or _NONE).get("amount") or _NONE
            i_discount(money.get("value"))
            if money.get("currency_code", cur) != cur:
                raise _foreign(doc, f"/items/{lines.index(item)}/discount/amount", money)
            i_item_date(item.get("item_date"))
            i_unit_of_measure(item.get("unit_of_measure"))

        lines = pays.get("transactions") or ()
        n_payments(len(lines))
        for pay in lines:
            p_id(pay.get("payment_id"))
            p_date(pay.get("payment_date"))
            money = pay.get("amount") or _NONE
            p_amount(money.get("value"))
            if money.get("currency_code", cur) != cur:
                raise _foreign(doc, f"/payments/transactions/{lines.index(pay)}/amount", money)
            p_method(pay.get("method"))
            p_type(pay.get("type"))
            p_note(pay.get("note"))

        lines = refs.get("transactions") or ()
        n_refunds(len(lines))
        for ref in lines:
            r_id(ref.get("refund_id"))
            r_date(ref.get("refund_date"))
            money = ref.get("amount") or _NONE
            r_amount(money.get("value"))
            if money.get("currency_code", cur) != cur:
                raise _foreign(doc, f"/refunds/transactions/{lines.index(ref)}/amount", money)
            r_method(ref.get("method"))
            r_type(ref.get("type"))
    return inv, items, payments, refunds


def _foreign(doc: Mapping[str, Any], path: str, money: Mapping[str, Any]) -> MoneyError:
    """The error for a money object (at ``path``) in another currency than its invoice's.

    An unsupported invoice currency is reported instead, as the root cause.
    """
    invoice_id = doc.get("id")
    currency = (doc.get("detail") or _NONE).get("currency_code")
    _decimals(currency, invoice_id)
    return MoneyError(f"invoice {invoice_id}, {path}/currency_code: "
                      f"{money.get('currency_code')!r} is not the invoice's {currency!r}",
                      "currency")


# --- building the tables --------------------------------------------------------------------


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


# --- columns --------------------------------------------------------------------------------


def _frame(schema: dict[str, Dtype], columns: dict[str, Any]) -> pd.DataFrame:
    """One DataFrame from ready-made columns, in the schema's order, without copying them."""
    return pd.DataFrame({name: columns[name] for name in schema}, copy=False)


def _text(values: list[Any], field: str) -> pd.api.extensions.ExtensionArray:
    """A ``string[pyarrow]`` column; ``None`` becomes ``<NA>``."""
    try:
        return pd.arrays.ArrowStringArray(pa.array(values, pa.string()))
    except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        raise ValueError(f"{field}: expected text or nothing ({exc})") from None


def _dates(values: list[Any], field: str) -> np.ndarray:
    """A ``datetime64[ns]`` column from ``YYYY-MM-DD`` strings; ``None`` becomes ``NaT``.

    Arrow reads them in bulk, several times faster than :func:`pandas.to_datetime`, and
    strictly: exactly ``YYYY-MM-DD``, and a real calendar day.
    """
    try:
        days = pa.array(values, pa.string()).cast(pa.date32()).cast(pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{field}: {exc}") from None
    return days.to_numpy(zero_copy_only=False)


def _instants(values: list[Any], field: str) -> pd.DatetimeIndex:
    """A ``datetime64[ns, UTC]`` column from RFC 3339 date-times; ``None`` becomes ``NaT``.

    Arrow reads them in bulk and requires the zone offset (``Z`` or ``+hh:mm``) that the
    spec's ``date_time`` has; fractions of a second are kept.
    """
    try:
        stamps = pa.array(values, pa.string()).cast(pa.timestamp("ns", "UTC"))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(f"{field}: {exc}") from None
    return pd.DatetimeIndex(stamps.to_numpy(zero_copy_only=False)).tz_localize("UTC")


# --- numbers and money ----------------------------------------------------------------------


def _exponents(currencies: list[Any], ids: list[Any]) -> np.ndarray:
    """Each invoice's currency decimals; an unsupported currency is a MoneyError."""
    try:
        return np.array([CURRENCY_DECIMALS[c] for c in currencies], np.int8)
    except (KeyError, TypeError):
        return np.array([_decimals(c, i) for c, i in zip(currencies, ids, strict=True)],
                        np.int8)


def _decimals(currency: Any, invoice_id: Any) -> int:
    """:func:`ppnb.money.decimals`, with the invoice named in the error."""
    try:
        return decimals(currency)
    except MoneyError as exc:
        raise MoneyError(f"invoice {invoice_id}, /detail/currency_code: {exc}",
                         exc.reason) from None


def _decimal_text(values: list[Any]) -> pa.StringArray | None:
    """``values`` as Arrow strings if each is ``None`` or a plain decimal string, else None."""
    try:
        text = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    matches = pc.match_substring_regex(text, f"^{_NUMBER}$")
    return text if pc.index(matches, False).as_py() < 0 else None


def _quantities(values: list[Any], where: Callable[[int], str]) -> np.ndarray:
    """Item quantities as floats (display only; the exact text is kept beside them)."""
    text = _decimal_text(values)
    if text is not None:
        return text.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.array([_quantity(v, where, k) for k, v in enumerate(values)], np.float64)


def _quantity(value: Any, where: Callable[[int], str], k: int) -> float:
    """One quantity as a float, or a ValueError naming it."""
    if value is None:
        return float("nan")
    if isinstance(value, str) and _NUMBER_RE.fullmatch(value):
        return float(value)
    raise ValueError(f"{where(k)}: {value!r} is not a decimal string like '1.5'")


def _minor(values: list[Any], exps: np.ndarray,
           row: Callable[[int], tuple[str, str]]) -> np.ndarray:
    """Exact int64 minor units of money values (``None``, for an absent object, is 0).

    ``exps`` holds each row's currency decimals; ``row(k)`` names row ``k``'s value and
    gives its currency, for errors. The fast path checks every value against the spec's
    pattern, then lets Arrow parse the decimal strings with integer arithmetic, one cast per
    exponent; the cast refuses to drop a non-zero digit. If anything is off, :func:`_exact`
    redoes the rows one by one with :func:`ppnb.money.to_minor` to name the culprit.
    """
    text = _decimal_text(values)
    if text is None:
        return np.array([_exact(v, row, k) for k, v in enumerate(values)], np.int64)
    text = text.fill_null("0")
    minor = np.empty(len(values), np.int64)
    for exp in np.unique(exps).tolist():
        rows = exps == exp
        try:
            part = text if rows.all() else text.filter(pa.array(rows))
            unscaled = pc.multiply(part.cast(pa.decimal128(_PRECISION, exp)), 10**exp)
            minor[rows] = unscaled.cast(pa.int64()).to_numpy()
        except pa.ArrowInvalid:  # a digit beyond the currency's minor unit, or too large
            minor[rows] = [_exact(values[k], row, k) for k in np.flatnonzero(rows).tolist()]
    return minor


def _exact(value: Any, row: Callable[[int], tuple[str, str]], k: int) -> int:
    """One amount in minor units by :func:`ppnb.money.to_minor`, or a MoneyError naming it."""
    if value is None:
        return 0
    where, currency = row(k)
    try:
        if not isinstance(value, str) or not _NUMBER_RE.fullmatch(value):
            raise MoneyError(f"{value!r} is not a decimal string like '12.50'", "syntax")
        minor = to_minor(value, currency)
        if not -_LIMIT < minor < _LIMIT:
            raise MoneyError(f"{value} {currency} is too large (limit 10**18 minor units)",
                             "precision")
    except MoneyError as exc:
        raise MoneyError(f"{where}: {exc}", exc.reason) from None
    return minor
