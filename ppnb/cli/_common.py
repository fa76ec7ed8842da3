"""What every ``ppnb`` verb that reads a book shares: where it reads, how it reports.

A verb reads the book ``ppnb.connect()`` reaches (by default the embedded emulator over the
book ``ppnb lab`` serves), or ``--url`` / ``--env-file``, or a ``--snapshot``; it says which
on stderr, so stdout carries only data. A problem the user can fix is one
``ppnb VERB: error: ...`` line and exit status 1 (:func:`run_command`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import PPNBError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..frames import Tables

#: Where ``ppnb emulator serve`` writes its URL, credentials and control token (mode 0600).
DEFAULT_ENV_FILE = Path(".ppnb") / "emulator.env"


class CommandError(PPNBError):
    """A problem the user can fix, reported as ``ppnb VERB: error: ...`` with exit status 1."""


def date_arg(text: str) -> dt.date:
    """An ISO date argument (``YYYY-MM-DD``)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def range_arg(text: str) -> tuple[dt.date | None, dt.date | None]:
    """``START..END``, inclusive; either end may be empty."""
    start, sep, end = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected START..END (either may be empty), got "
                                         f"{text!r}")
    return (date_arg(start) if start else None), (date_arg(end) if end else None)


def say(book: str) -> None:
    """Which book the command reads, on stderr (stdout carries only data)."""
    print(f"ppnb: book: {book}", file=sys.stderr, flush=True)


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env file such as the one ``ppnb emulator serve`` writes."""
    from ..emulator._control import read_env_file

    try:
        return read_env_file(path)
    except OSError as exc:
        raise CommandError(f"cannot read --env-file {path}: {exc.strerror}") from None


def open_client(args: argparse.Namespace) -> Any:
    """The client for ``--url`` / ``--env-file``, else whatever ``ppnb.connect()`` reaches:
    by default the embedded emulator over the book ``ppnb lab`` serves
    (:func:`ppnb.lab.book_path`). Says which on stderr."""
    from ..connection import ENVIRONMENTS, connect
    from ..lab import book_path

    settings = _read_env_file(args.env_file) if args.env_file else {}
    base_url = args.url or settings.get("PPNB_BASE_URL")
    client_id = settings.get("PAYPAL_CLIENT_ID") or os.environ.get("PAYPAL_CLIENT_ID")
    secret = settings.get("PAYPAL_CLIENT_SECRET") or os.environ.get("PAYPAL_CLIENT_SECRET")
    if base_url and not (client_id and secret):
        raise CommandError(f"{base_url} needs credentials: set PAYPAL_CLIENT_ID and "
                           "PAYPAL_CLIENT_SECRET, or give --env-file")
    env = (settings.get("PPNB_ENV") or os.environ.get("PPNB_ENV") or "emulator").lower()
    base_url = base_url or os.environ.get("PPNB_BASE_URL")
    options: dict[str, Any] = {}
    if env in ENVIRONMENTS:
        say(f"PayPal {env} ({base_url or ENVIRONMENTS[env]})")
    elif base_url and client_id and secret:
        say(f"the API at {base_url}")
    else:  # the embedded emulator, over the same file as ppnb lab and the notebooks
        options["db"] = str(book_path(None))
        say(f"the emulator over {options['db']} (the book ppnb lab serves; "
            "PPNB_EMULATOR_DB names another)")
    with contextlib.redirect_stdout(sys.stderr):  # a first run's seeding talks; not data
        return connect(settings.get("PPNB_ENV"), client_id=client_id, client_secret=secret,
                       base_url=base_url, **options)


def read_book(args: argparse.Namespace, *, dated: bool = True,
              **filters: Any) -> tuple[Tables, str, dt.date | None]:
    """The tables to work on, where they came from (a URL or a snapshot path), and (when
    ``dated``) the day they are seen as of: ``--as-of``, else the book's today
    (``client.today()``)."""
    from ..pager import fetch_tables

    as_of = getattr(args, "as_of", None)
    if getattr(args, "snapshot", None):
        from ..snapshot import load

        if as_of is None:
            raise CommandError("a snapshot has no clock of its own: give --as-of DATE")
        say(f"the snapshot in {args.snapshot}")
        return load(args.snapshot), f"snapshot {args.snapshot}", as_of
    with open_client(args) as client:
        tables = fetch_tables(client, **filters)
        return tables, client.base_url, (as_of or client.today()) if dated else None


def run_command(verb: str, action: Callable[[argparse.Namespace], int],
                args: argparse.Namespace) -> int:
    """Run ``action(args)``; a user-fixable failure becomes one line on stderr and exit 1."""
    from ..client import PayPalError

    try:
        return action(args)
    except (CommandError, ValueError, PayPalError, OSError) as exc:
        print(f"ppnb {verb}: error: {exc}", file=sys.stderr)
        return 1


def add_verb(verbs: Any, name: str, action: Callable[[argparse.Namespace], int], *,
             label: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """The parser of verb ``name`` running ``action``, whose failures the user can fix are
    reported by :func:`run_command` as ``ppnb LABEL: error: ...`` (``label`` defaults to
    ``name``)."""
    verb = verbs.add_parser(name, **kwargs)
    verb.set_defaults(run=lambda args: run_command(label or name, action, args))
    return verb


def source_options(verb: argparse.ArgumentParser, *, snapshot: bool = True) -> None:
    """Where a verb reads the book: ``ppnb.connect()`` by default, or another API / snapshot."""
    where = verb.add_argument_group(
        "where the invoices come from",
        "default: whatever ppnb.connect() reaches (the embedded emulator unless PPNB_* / "
        "PAYPAL_* say otherwise)")
    where.add_argument("--url", help="API root, e.g. an emulator from 'ppnb emulator serve' "
                       "(credentials from PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET)")
    where.add_argument("--env-file", type=Path,
                       help="read PPNB_BASE_URL and the credentials from this file "
                       f"(e.g. {DEFAULT_ENV_FILE})")
    if snapshot:
        where.add_argument("--snapshot", type=Path, metavar="DIR",
                           help="analyse a ppnb.sync() snapshot instead of pulling")


def printable(frame: Any) -> Any:
    """A copy of ``frame`` whose text cells show their control characters as escapes, for a
    terminal (:func:`ppnb.display.visible`)."""
    from ..display import visible

    return frame.apply(lambda column: column.map(
        lambda value: visible(value) if isinstance(value, str) else value))
