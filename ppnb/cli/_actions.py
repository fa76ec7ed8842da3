"""The verbs that act on the book or open it for people: ``ppnb dunning run``, ``ppnb lab``
and ``ppnb dashboard``.

``dunning run`` sends the day's reminders of a policy through ``ppnb.bulk``, exactly once;
a day on which the policy calls for no reminder is a normal day (exit 0, ``nothing to send``),
and any failed reminder makes it exit 1. ``lab`` opens or runs the notebooks
(:mod:`ppnb.lab`) and exits 1 when there are none; ``dashboard`` serves one page over the
book (:mod:`ppnb.dashboard`). Both need the ``notebook`` extra.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import CommandError, add_verb, date_arg, open_client, printable, source_options


def _dunning(args: argparse.Namespace) -> int:
    from ..actions import JobBusy
    from ..dunning import Policy, plan
    from ..pager import fetch_tables

    policy = Policy.from_toml(args.policy)  # a bad policy stops here, before any request
    with open_client(args) as client:
        tables = fetch_tables(client, progress=False)
        try:
            result = plan(client, tables, policy, args.as_of, confirm=not args.dry_run,
                          journal_dir=args.journal_dir, concurrency=args.concurrency)
        except JobBusy as exc:
            raise CommandError(f"{exc}: another dunning run is in progress") from None
    column = "plan" if args.dry_run else "outcome"
    acted = result[result["action"] == "remind"]
    if len(acted):
        print(printable(acted[["number", "customer", "days_past_due", "level", "reminder",
                               column, "detail"]]).to_string(index=False))
    counts = result.attrs["counts"]
    waiting = (result["action"] != "remind").sum()
    what = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if k != "none")
    print(f"dunning {policy.name} {result.attrs['as_of']}"
          f"{' (dry run)' if args.dry_run else ''}: {what or 'nothing to send'}; "
          f"{waiting} open invoices need nothing today")
    failed = counts.get("failed", 0)
    if failed:
        raise CommandError(f"{failed} reminders failed (see above); run again to retry them")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from ..dashboard import run_dashboard

    return run_dashboard(args.db, out=args.out, port=args.port, today=args.today)


def add_dunning_verb(verbs: Any) -> None:
    """``ppnb dunning run``."""
    dunning = verbs.add_parser("dunning", help="run a dunning policy (reminders by level)")
    dunning_verbs = dunning.add_subparsers(dest="dunning_verb", required=True)
    run = add_verb(
        dunning_verbs, "run", _dunning, label="dunning",
        help="send today's reminders of a policy, exactly once (for cron/papermill)",
        description="Read the policy (TOML), pull the book, and send each open invoice the "
        "reminder its level calls for through ppnb.bulk: one job per level, journals "
        "shared with every other bulk job, nothing sent twice. A day with nothing to send "
        "exits 0 and says so; exits 1 if any reminder failed.")
    run.add_argument("--policy", type=Path, required=True, metavar="FILE",
                     help="the policy's TOML file")
    run.add_argument("--as-of", type=date_arg, metavar="DATE",
                     help="the day (default: today by the API's clock; a real run refuses "
                     "any other day)")
    run.add_argument("--dry-run", action="store_true", help="show the plan; send nothing")
    run.add_argument("--journal-dir", type=Path, metavar="DIR",
                     help="jobs' journals and the reminder ledger (default ~/.ppnb/jobs)")
    run.add_argument("--concurrency", type=int, default=8,
                     help="reminders in flight at once (default 8)")
    source_options(run, snapshot=False)


def add_app_verbs(verbs: Any, *, dashboard: bool) -> None:
    """``ppnb lab`` and ``ppnb dashboard``; ``dashboard=False`` leaves out the dashboard's own
    options (see :func:`ppnb.cli.build_parser`)."""
    from .. import lab as lab_module

    summary = lab_module.__doc__.splitlines()[0].rstrip(".")
    lab = verbs.add_parser("lab", help="the notebooks on a seeded emulator (make run)",
                           description=f"{summary}. Exits 1 when there is no notebook to "
                           "open or run.")
    lab_module.add_arguments(lab)
    lab.set_defaults(run=lab_module.run)

    board = verbs.add_parser(
        "dashboard", help="one page over the book: aging, KPIs, charts and reports (Voila)",
        description="Serve the book ppnb lab serves (the emulator over the same SQLite file) "
        "and a Voila page over it on 127.0.0.1: pickers for the as-of date, currency, "
        "customer and basis; the aging, KPIs, customers and charts; the xlsx, HTML and PDF "
        "report of what is picked, to download.")
    if dashboard:
        from ..dashboard import add_arguments

        add_arguments(board)
    board.set_defaults(run=_dashboard)
