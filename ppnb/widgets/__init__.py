"""Notebook forms on the ppnb client: create, send, remind and cancel invoices, and bulk
actions with a dry run.

>>> from ppnb.widgets import InvoiceForm, BulkAction      # doctest: +SKIP
>>> InvoiceForm(client)                                    # doctest: +SKIP
>>> BulkAction(client, "remind", overdue)                  # doctest: +SKIP

Each form is an ``ipywidgets.VBox``. Its logic is in plain methods (``validate``, ``value``,
``submit``, ...) that code and tests call directly; the widgets only call them. Data flows one
way: widgets → :mod:`ppnb.actions` → the client.
"""

from .._extras import require

require("notebook", "ppnb.widgets")  # ipywidgets: one line naming the extra if it is missing

from ._bulk import BulkAction  # noqa: E402
from ._cancel import CancelForm  # noqa: E402
from ._invoice import InvoiceForm  # noqa: E402
from ._remind import RemindForm  # noqa: E402
from ._send import SendForm  # noqa: E402

__all__ = ["BulkAction", "CancelForm", "InvoiceForm", "RemindForm", "SendForm"]
