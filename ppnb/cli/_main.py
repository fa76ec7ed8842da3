"""The ``ppnb`` parser and entry point: every verb, ``--version``, and how failures end.

Exit statuses: 0 done (an empty answer included), 1 an error the command reports in one
``ppnb VERB: error: ...`` line (bad data, an API refusal, an unwritable path, nothing to
run), 2 bad arguments (with usage) or a missing optional extra (one line naming the
``pip install``, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._extras import MissingExtra
from ._actions import add_app_verbs, add_dunning_verb
from ._data import add_data_verbs
from ._emulator import add_emulator_verbs, add_seed_verb, add_webhooks_verb


def build_parser(*, dashboard: bool = True) -> argparse.ArgumentParser:
    """The argument parser for every ``ppnb`` verb.

    ``dashboard=False`` leaves out the dashboard's own options: they live in
    :mod:`ppnb.dashboard`, whose widgets take seconds to import, so :func:`main` loads them
    only when the verb is ``dashboard``.

    Raises
    ------
    ppnb._extras.MissingExtra
        With ``dashboard=True``, if the ``notebook`` extra the dashboard needs is missing.
    """
    from .. import __doc__ as summary
    from .. import __version__

    parser = argparse.ArgumentParser(prog="ppnb", description=summary.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ppnb {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True)
    add_emulator_verbs(verbs)
    add_seed_verb(verbs)
    add_data_verbs(verbs)
    add_webhooks_verb(verbs)
    add_dunning_verb(verbs)
    add_app_verbs(verbs, dashboard=dashboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ppnb`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(dashboard=argv[:1] == ["dashboard"]).parse_args(argv)
        args.argv = argv[1:]  # the verb's own arguments, to hand on (``seed`` to a child)
        return args.run(args)
    except MissingExtra as exc:  # one line naming the pip install, wherever it was raised
        print(f"ppnb: error: {exc}", file=sys.stderr)
        return 2
