"""The ``ppnb`` command line.

``ppnb emulator serve`` runs the PayPal Invoicing v2 emulator in the foreground;
``ppnb seed`` fills the book ``ppnb.connect()`` reaches with demo or sample invoices;
``ppnb pull``, ``ppnb aging``, ``ppnb kpis`` and ``ppnb report`` fetch that book (or read a
snapshot) and export or analyse it, as of the book's today unless told otherwise;
``ppnb dunning run`` sends the day's reminders of a dunning policy; ``ppnb webhooks listen``
receives webhook events; ``ppnb lab`` opens the notebooks on a seeded emulator
(``make run``); and ``ppnb dashboard`` serves one page over the same book. ``ppnb --version``
prints the installed version. Which book a verb reads is said on stderr, so stdout carries
only data. Secrets are never printed: the full credentials and the emulator's control token
go to an env file readable only by you. Text from the book is never run: CSV cells that a
spreadsheet would read as formulas are neutralised, and terminal tables show control
characters as escapes. A missing optional extra is one line naming the ``pip install``
(exit 2); a command with nothing to run says so and exits 1.

The verbs live in private modules: ``_emulator`` (emulator, seed, webhooks), ``_data``
(pull, aging, kpis, report), ``_actions`` (dunning, lab, dashboard), ``_common`` (where a
verb reads the book, how it reports errors) and ``_main`` (the parser and :func:`main`).
"""

from ._emulator import _merchant_pair as _merchant_pair  # --merchant's parser, for its tests
from ._emulator import mask, write_env_file
from ._main import build_parser, main

__all__ = ["build_parser", "main", "mask", "write_env_file"]
