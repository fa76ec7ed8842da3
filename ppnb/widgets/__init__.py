"""Notebook forms on the ppnb client: create, send, remind and cancel invoices, and bulk
actions with a dry run.

>>> from ppnb.widgets import InvoiceForm, BulkAction      # doctest: +SKIP
>>> InvoiceForm(client)                                    # doctest: +SKIP
>>> BulkAction(client, "remind", overdue)                  # doctest: +SKIP

Each form is an ``ipywidgets.VBox``. Its logic is in plain methods (``validate``, ``value``,
``submit``, ...) that code and tests call directly; the widgets only call them. Data flows one
way: widgets → :mod:`ppnb.actions` → the client.
"""

from ._bulk import BulkAction
from ._cancel import CancelForm
from ._invoice import InvoiceForm
from ._remind import RemindForm
from ._send import SendForm

__all__ = ["BulkAction", "CancelForm", "InvoiceForm", "RemindForm", "SendForm"]
