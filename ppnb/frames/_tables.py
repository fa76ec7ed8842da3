"""The :class:`Tables` and the functions that make them: flatten, walk, assemble, concat."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from ._build import _items, _Parent, _Rows, _transactions
from ._columns import _dates, _exponents, _frame, _instants, _text
from ._schema import INVOICE_COLUMNS
from ._walk import Walked, _walk

__all__ = ["Tables", "assemble", "concat", "empty_tables", "flatten", "walk"]


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

    def subset(self, ids: Iterable[str]) -> Tables:
        """The invoices whose ``id`` is in ``ids``, with every item, payment and refund that
        belongs to them.

        Rows keep their order and each table gets a fresh ``RangeIndex``; an id that matches
        no invoice is ignored. Use it wherever tables are narrowed to some invoices, so
        that children always follow their invoices.

        Parameters
        ----------
        ids
            Invoice ids: a list, set, Series or Index.

        Examples
        --------
        >>> usd = tables.subset(tables.invoices.loc[tables.invoices["currency"] == "USD", "id"])
        ...                                                       # doctest: +SKIP
        """
        wanted = list(ids)
        return Tables(*(frame[frame[key].isin(wanted)].reset_index(drop=True)
                        for frame, key in zip(self, _KEYS, strict=True)))


#: The column of each table that holds its invoice's id.
_KEYS = ("id", "invoice_id", "invoice_id", "invoice_id")


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

