"""Seed data built through the Invoicing API: a generated demo book and the IBM sample.

Everything here goes through :class:`ppnb.Client` over HTTP (create, send, record payment,
refund, cancel, templates), so seeding exercises the same paths a user's code does and works
against the emulator, PayPal sandbox or live alike.

* :func:`seed_demo` builds a realistic receivables book from a few parameters: customers who
  pay promptly, late, in parts, never, or dispute and get refunded; USD, EUR, GBP and JPY;
  long-tailed amounts; every net term; drafts, scheduled, cancelled and template invoices.
  The whole book is planned from ``random.Random(seed)`` before the first request, so the
  same parameters always give the same invoice numbers, amounts, statuses and dates.
* :func:`seed_ibm` loads the IBM accounts-receivable sample CSV, every row checked before
  anything is written.

Both skip invoices whose number already exists (numbers are unique per merchant) and finish
one that an interrupted run left half-done (created but not sent or paid), so running a seed
twice never duplicates anything.

Parts: ``_report`` (the report, the error, one invoice's plan), ``_run`` (running plans on a
thread pool, seeding from a child process), ``_progress`` (a quiet progress display),
``_plan`` (the demo book drawn from its seed), ``_demo`` (its parameters, package data in
``ppnb/data/demo.json``, and :func:`seed_demo`) and ``_ibm`` (the IBM sample).
"""

from __future__ import annotations

from ._demo import DEMO_DEFAULTS, DEMO_FILE, demo_params, seed_demo
from ._ibm import IBM_COLUMNS, seed_ibm
from ._report import SeedError, SeedReport
from ._run import seed_elsewhere

__all__ = [
    "DEMO_DEFAULTS",
    "DEMO_FILE",
    "IBM_COLUMNS",
    "SeedError",
    "SeedReport",
    "demo_params",
    "seed_demo",
    "seed_elsewhere",
    "seed_ibm",
]
