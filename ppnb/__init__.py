"""ppnb: receivables kept in PayPal Invoicing v2, worked on from Jupyter.

>>> import ppnb
>>> client = ppnb.connect()                       # the embedded emulator by default
>>> tables = ppnb.fetch_tables(client, status=["UNPAID", "PARTIALLY_PAID"])  # doctest: +SKIP
>>> tables.invoices.head()                                                   # doctest: +SKIP

Attributes are imported on first use, so ``import ppnb`` stays light (the emulator's server
process never loads pandas). ``dir(ppnb)`` lists exactly the public names (``__all__``);
every failure ppnb reports is a :class:`PPNBError`.
"""

import importlib as _importlib
from importlib import metadata as _metadata

from ._errors import PPNBError


def _version() -> str:
    """The installed distribution's version; ``0+unknown`` when ppnb runs from a folder that
    was never installed (PEP 440's local form, so version comparisons still parse)."""
    try:
        return _metadata.version("ppnb")
    except _metadata.PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

#: Module attributes every module has, shown by ``dir(ppnb)`` beside ``__all__``.
_DUNDERS = ("__all__", "__doc__", "__file__", "__name__", "__path__", "__spec__")

_EXPORTS = {
    "Client": "ppnb.client",
    "PayPalError": "ppnb.client",
    "connect": "ppnb.connection",
    "Tables": "ppnb.frames",
    "flatten": "ppnb.frames",
    "fetch_invoices": "ppnb.pager",
    "fetch_tables": "ppnb.pager",
    "load": "ppnb.snapshot",
    "sync": "ppnb.snapshot",
    "apply_events": "ppnb.snapshot",
    "aging": "ppnb.analysis",
    "aging_series": "ppnb.analysis",
    "kpis": "ppnb.analysis",
    "kpi_series": "ppnb.analysis",
    "roll_rates": "ppnb.analysis",
    "cohort_curves": "ppnb.analysis",
    "customer_view": "ppnb.analysis",
    "month_ends": "ppnb.analysis",
    "predict_payments": "ppnb.analysis",
    "cash_forecast": "ppnb.analysis",
    "worklist": "ppnb.analysis",
    "Rates": "ppnb.analysis",
    "bulk": "ppnb.actions",
    "report": "ppnb.reports",
}

__all__ = [
    "Client",
    "PPNBError",
    "PayPalError",
    "Rates",
    "Tables",
    "__version__",
    "aging",
    "aging_series",
    "apply_events",
    "bulk",
    "cash_forecast",
    "cohort_curves",
    "connect",
    "customer_view",
    "fetch_invoices",
    "fetch_tables",
    "flatten",
    "kpi_series",
    "kpis",
    "load",
    "month_ends",
    "predict_payments",
    "report",
    "roll_rates",
    "sync",
    "worklist",
]


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use."""
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ppnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (and a module's usual dunders), not the imports or submodules."""
    return sorted({*__all__, *_DUNDERS})
