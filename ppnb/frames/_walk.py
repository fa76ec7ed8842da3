"""Reading the JSON: one pass over the invoices collects every raw value the tables need."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ..money import MoneyError
from ._columns import _decimals

_NONE: Mapping[str, Any] = MappingProxyType({})  # stands in for every absent JSON object
_NOBODY = (_NONE,)  # stands in for an absent or empty primary_recipients




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

