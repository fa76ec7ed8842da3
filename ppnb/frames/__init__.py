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

from .. import display  # noqa: F401  (registers the .ppnb accessor: tables.invoices.ppnb.view())
from ._schema import (
    CANCELLED_STATUSES,
    INVOICE_COLUMNS,
    ITEM_COLUMNS,
    PAYMENT_COLUMNS,
    REFUND_COLUMNS,
)
from ._tables import Tables, assemble, concat, empty_tables, flatten, walk
from ._walk import Walked

__all__ = [
    "CANCELLED_STATUSES",
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
