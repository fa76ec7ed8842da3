"""Dunning: a declarative reminder policy that runs itself every day, exactly once.

>>> from ppnb.dunning import Policy, plan, run
>>> policy = Policy.from_toml("dunning.toml")                      # doctest: +SKIP
>>> plan(client, ppnb.fetch_tables(client), policy)                # doctest: +SKIP
>>> run(client, ppnb.fetch_tables(client), policy)                 # doctest: +SKIP

A :class:`Policy` has ordered levels by days past due (for example reminders at 3, 10 and 20
days, then a final notice at 30; :data:`EXAMPLE`), who is left out (disputed invoices,
amounts under a minimum, listed customers) and how many reminders each level sends.
:func:`plan` is the dry run: each open invoice's level, action and reason. ``confirm=True``
(or :func:`run`, or ``ppnb dunning run --policy FILE`` from cron) sends the reminders through
:func:`ppnb.bulk`, one job per level, so the journals, request ids and PayPal's limit of two
reminders per invoice per day are shared with every other bulk job. The level each invoice
reached is read back from those journals (:func:`state`), so it survives restarts; running
the same policy twice on a day sends nothing the second time.

PayPal ignores the subject and note of reminders (it sends its own text:
``../shared/paypal/OBSERVED.md``), so levels differ in their **timing** and in their
**escalation** (a copy to the merchant, CC recipients), not in their wording.
"""

from ._policy import EXAMPLE, DunningError, Level, Policy
from ._run import PLAN_COLUMNS, plan, run, state

__all__ = ["EXAMPLE", "PLAN_COLUMNS", "DunningError", "Level", "Policy", "plan", "run",
           "state"]
