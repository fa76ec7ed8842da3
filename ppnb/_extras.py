"""Which optional extra each heavy part of ppnb needs, and one clear line when it is missing.

``pip install ppnb`` is the client, the pager, the tables and the analysis. The rest comes in
extras, so that someone who only pulls invoices into pandas does not install JupyterLab:

==============  ==================================================  ==========================
extra           what it installs                                    what needs it
==============  ==================================================  ==========================
``emulator``    starlette, uvicorn, segno                           :mod:`ppnb.emulator`,
                                                                    ``connect()`` with no
                                                                    PayPal credentials
``reports``     matplotlib, xlsxwriter, reportlab                   :mod:`ppnb.plots`,
                                                                    :mod:`ppnb.reports`
``notebook``    jupyterlab, ipywidgets, ipykernel, nbclient,        :mod:`ppnb.widgets`,
                papermill, voila                                    ``ppnb lab``, the dashboard
``ml``          scikit-learn                                        payment-date predictions
``partners``    dask, locket                                        :mod:`ppnb.partners`
``all``         every extra above
==============  ==================================================  ==========================

Each package that needs an extra calls :func:`require` first thing, so a missing extra is one
:class:`MissingExtra` naming the ``pip install`` to run, never an ``ImportError`` from deep
inside a third-party import.
"""

from __future__ import annotations

import importlib.util
import sys

from ._errors import PPNBError

__all__ = ["EXTRAS", "MissingExtra", "require"]

#: The modules each extra provides (import names), checked by :func:`require`.
EXTRAS: dict[str, tuple[str, ...]] = {
    "emulator": ("starlette", "uvicorn", "segno"),
    "reports": ("matplotlib", "xlsxwriter", "reportlab"),
    "notebook": ("jupyterlab", "ipywidgets", "ipykernel", "nbclient", "nbformat", "papermill"),
    "ml": ("sklearn",),
    "partners": ("dask", "locket"),
}


class MissingExtra(ImportError, PPNBError):
    """A part of ppnb was used whose optional dependencies are not installed.

    The message is one line naming the part, the missing modules and the ``pip install``
    that adds them. It is an :class:`ImportError`, so ``except ImportError`` still works.
    """

    def __init__(self, what: str, extra: str, missing: list[str]) -> None:
        self.extra = extra
        self.missing = missing
        super().__init__(f"{what} needs the '{extra}' extra (missing: {', '.join(missing)}): "
                         f"pip install 'ppnb[{extra}]'")


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported.

    Parameters
    ----------
    extra : str
        A key of :data:`EXTRAS`.
    what : str
        The part of ppnb that needs it, as the user knows it (``"ppnb.plots"``,
        ``"ppnb lab"``), for the message.
    """
    missing = [name for name in EXTRAS[extra] if not _importable(name)]
    if missing:
        raise MissingExtra(what, extra, missing)


def _importable(name: str) -> bool:
    """Whether ``import name`` can work, without importing it (a module blocked with
    ``sys.modules[name] = None`` counts as missing, as the import system treats it)."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
