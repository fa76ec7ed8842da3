"""The four tables' columns and dtypes, and the statuses the tables' readers share."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

__all__ = ["CANCELLED_STATUSES", "INVOICE_COLUMNS", "ITEM_COLUMNS", "PAYMENT_COLUMNS",
           "REFUND_COLUMNS", "Dtype"]

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



#: Statuses of an invoice that was called off: PayPal's spec lists CANCELLED; its
#: documentation also lists AUTO_CANCELLED ("automatically cancelled", OBSERVED.md).
CANCELLED_STATUSES = frozenset({"CANCELLED", "AUTO_CANCELLED"})
