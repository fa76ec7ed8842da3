"""The ``ppnb`` command line.

``ppnb emulator serve`` runs the PayPal Invoicing v2 emulator in the foreground;
``ppnb seed`` fills the book ``ppnb.connect()`` reaches with demo or sample invoices;
``ppnb pull``, ``ppnb aging``, ``ppnb kpis`` and ``ppnb report`` fetch that book (or read a
snapshot) and export or analyse it, as of the book's today unless told otherwise;
``ppnb dunning run`` sends the day's reminders of a dunning policy; ``ppnb webhooks listen``
receives webhook events; ``ppnb lab`` opens the notebooks on a seeded emulator
(``make run``); and ``ppnb dashboard`` serves one page over the same book. Which book a verb
reads is said on stderr, so stdout carries only data. Secrets are never printed: the full
credentials and the emulator's control token go to an env file readable only by you. Text
from the book is never run: CSV cells that a spreadsheet would read as formulas are
neutralised, and terminal tables show control characters as escapes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .frames import Tables

DEFAULT_ENV_FILE = Path(".ppnb") / "emulator.env"


def mask(secret: str) -> str:
    """Show a secret as ``****`` plus its last four characters (none if it is short)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def _merchant_pair(text: str) -> tuple[str, str]:
    """``CLIENT_ID:SECRET``, ``CLIENT_ID:@FILE`` (the file's first line) or
    ``CLIENT_ID:env:NAME`` (the environment variable ``NAME``). The inline form shows the
    secret to anyone who can list processes (``ps``); the other two do not. Errors never
    echo a secret."""
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError(
            f"expected CLIENT_ID:SECRET, CLIENT_ID:@FILE or CLIENT_ID:env:NAME, got "
            f"{text.split(':')[0]!r}:..."
        )
    if secret.startswith("@"):
        try:
            lines = Path(secret[1:]).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise argparse.ArgumentTypeError(
                f"{client_id}: cannot read the secret from {secret[1:]}: "
                f"{getattr(exc, 'strerror', None) or exc.__class__.__name__}") from None
        secret = lines[0].strip() if lines else ""
        if not secret:
            raise argparse.ArgumentTypeError(f"{client_id}: {text.partition('@')[2]} is empty")
    elif secret.startswith("env:"):
        name = secret[4:]
        secret = os.environ.get(name, "")
        if not secret:
            raise argparse.ArgumentTypeError(f"{client_id}: the environment variable {name!r} "
                                             "is not set or empty")
    return client_id, secret


def write_env_file(path: Path, base_url: str, client_id: str, secret: str,
                   control_token: str | None = None) -> None:
    """Write connection settings for ``ppnb.connect()`` (and the emulator's control token,
    when given) to ``path``, mode 0600 (also when it existed with a wider mode)."""
    from .connection import write_private

    control = f"PPNB_CONTROL_TOKEN={control_token}\n" if control_token else ""
    write_private(path, (
        f"PPNB_ENV=emulator\nPPNB_BASE_URL={base_url}\n"
        f"PAYPAL_CLIENT_ID={client_id}\nPAYPAL_CLIENT_SECRET={secret}\n{control}").encode())


def _serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from ._protocol import LOOPBACK_HOSTS
    from .emulator import Emulator
    from .emulator._server import server_config

    if args.host not in LOOPBACK_HOSTS:
        if not args.insecure_public:
            print(f"ppnb emulator serve: refusing to serve on {args.host}, which is not "
                  "loopback (anyone who reaches it could log in with a guessed secret or "
                  "read the payer pages); give --insecure-public to do it anyway",
                  file=sys.stderr)
            return 2
        print(f"warning: serving on {args.host}, which is not loopback (--insecure-public)",
              file=sys.stderr)
    emulator = Emulator(args.db, merchants=args.merchant or None,
                        simulation=not args.no_simulation,
                        summaries={"off": False, "on": True, "always": "always"}[args.summaries])
    if args.fault_rate or args.latency_ms != (0, 0):
        emulator.faults.configure(rate=args.fault_rate, latency_ms=args.latency_ms)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)  # listening before the banner: a client may connect as soon as it reads it
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    base_url = f"http://{host}:{port}"
    emulator.hosts.serve_at(args.host, port)
    first = emulator.credentials[0]
    write_env_file(args.env_file, base_url, first.client_id, first.client_secret,
                   emulator.control_token)
    print(f"PayPal Invoicing v2 emulator at {base_url}")
    print(f"  database: {args.db}")
    for cred in emulator.credentials:
        print(f"  merchant: client id {cred.client_id}, secret {mask(cred.client_secret)}")
    print(f"  control token (/_emulator/): {mask(emulator.control_token)}")
    print(f"  credentials and control token: {args.env_file} (mode 0600)")
    print(f"  use it with: set -a; . {args.env_file}; set +a")
    sys.stdout.flush()
    emulator.service.webhooks.base_url = base_url  # deliveries can start before any request
    uvicorn.Server(server_config(emulator.app)).run(sockets=[sock])
    return 0


def _latency(text: str) -> tuple[int, int]:
    low, sep, high = text.partition(",")
    try:
        pair = int(low), int(high if sep else low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX in milliseconds, got {text!r}"
                                         ) from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return pair


def _emulator_url(args: argparse.Namespace) -> str:
    """The running emulator's base URL: --url, else $PPNB_BASE_URL, else the env file."""
    from .emulator._control import read_env_file

    if args.url:
        return args.url.rstrip("/")
    if os.environ.get("PPNB_BASE_URL"):
        return os.environ["PPNB_BASE_URL"].rstrip("/")
    if args.env_file.exists():
        found = read_env_file(args.env_file).get("PPNB_BASE_URL")
        if found:
            return found.rstrip("/")
    raise SystemExit(f"ppnb emulator: no emulator found; give --url, set PPNB_BASE_URL, or "
                     f"start one with 'ppnb emulator serve' (it writes {args.env_file})")


def _simulate(args: argparse.Namespace) -> int:
    """Make one :class:`~ppnb.emulator.Control` call to a running emulator and print its
    JSON answer (its error body, and exit status 1, when it is refused). The control token
    comes from this process, ``$PPNB_CONTROL_TOKEN`` or the env file
    (:meth:`~ppnb.emulator.Control.for_url`); reading the clock needs none."""
    from .emulator import Control, ControlError

    url = _emulator_url(args)
    try:
        try:
            control = Control.for_url(url, env_file=args.env_file)
        except ControlError:
            if args.call is not _clock_call or args.set or args.advance_days is not None:
                raise
            control = Control(url, None)  # reading the clock is open
        with control:
            answer = args.call(control, args)
    except ControlError as exc:
        if exc.body:
            print(json.dumps(exc.body, indent=2))
        print(f"ppnb emulator: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2))
    return 0


def _clock_call(control: Any, args: argparse.Namespace) -> Any:
    if args.set is not None:
        return control.set_clock(args.set)
    if args.advance_days is not None:
        return control.advance(args.advance_days)
    return control.clock()


def _seed(args: argparse.Namespace) -> int:
    from . import seed
    from .client import PayPalError
    from .connection import connect, served_here

    try:
        if args.dataset == "ibm" and args.csv is None:
            raise seed.SeedError("--dataset ibm needs --csv PATH (the IBM sample's CSV)")
        params = seed.demo_params(args.params, invoices=args.invoices,
                                  customers=args.customers, seed=args.seed, months=args.months)
        with connect(seed="none") as client:
            here = served_here(client.base_url)
            if here is not None:  # the embedded emulator, in this process: seed from another
                seed.seed_elsewhere(client.base_url, *here, args.argv)
                return 0
            if args.dataset == "ibm":
                report = seed.seed_ibm(client, args.csv, progress=True)
            else:
                report = seed.seed_demo(client, **params, progress=True)
    except (ValueError, PayPalError) as exc:  # SeedError, bad settings, API refusals
        print(f"ppnb seed: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


# --- pull and the analysis verbs --------------------------------------------------------------


class CommandError(Exception):
    """A problem the user can fix, reported as ``ppnb VERB: error: ...`` with exit status 1."""


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _range_arg(text: str) -> tuple[dt.date | None, dt.date | None]:
    start, sep, end = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected START..END (either may be empty), got "
                                         f"{text!r}")
    return (_date_arg(start) if start else None), (_date_arg(end) if end else None)


def _buckets_arg(text: str) -> tuple[int, ...]:
    from .analysis import AnalysisError, bucket_labels

    try:
        edges = tuple(int(part) for part in text.split(","))
        bucket_labels(edges)
    except (ValueError, AnalysisError) as exc:
        detail = str(exc) if isinstance(exc, AnalysisError) else "not whole numbers"
        raise argparse.ArgumentTypeError(f"expected increasing day counts like 30,60,90, "
                                         f"got {text!r} ({detail})") from None
    return edges


def _read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of an env file such as the one ``ppnb emulator serve`` writes."""
    from .emulator._control import read_env_file

    try:
        return read_env_file(path)
    except OSError as exc:
        raise CommandError(f"cannot read --env-file {path}: {exc.strerror}") from None


def _connect(args: argparse.Namespace) -> Any:
    """The client for ``--url`` / ``--env-file``, else whatever ``ppnb.connect()`` reaches:
    by default the embedded emulator over the book ``ppnb lab`` serves
    (:func:`ppnb.lab.book_path`). Says which on stderr."""
    from .connection import ENVIRONMENTS, connect
    from .lab import book_path

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
        _say(f"PayPal {env} ({base_url or ENVIRONMENTS[env]})")
    elif base_url and client_id and secret:
        _say(f"the API at {base_url}")
    else:  # the embedded emulator, over the same file as ppnb lab and the notebooks
        options["db"] = str(book_path(None))
        _say(f"the emulator over {options['db']} (the book ppnb lab serves; "
             "PPNB_EMULATOR_DB names another)")
    with contextlib.redirect_stdout(sys.stderr):  # a first run's seeding talks; not data
        return connect(settings.get("PPNB_ENV"), client_id=client_id, client_secret=secret,
                       base_url=base_url, **options)


def _say(book: str) -> None:
    """Which book the command reads, on stderr (stdout carries only data)."""
    print(f"ppnb: book: {book}", file=sys.stderr, flush=True)


def _book(args: argparse.Namespace, *, dated: bool = True,
          **filters: Any) -> tuple[Tables, str, dt.date | None]:
    """The tables to work on, where they came from (a URL or a snapshot path), and (when
    ``dated``) the day they are seen as of: ``--as-of``, else the book's today
    (``client.today()``)."""
    from .pager import fetch_tables

    as_of = getattr(args, "as_of", None)
    if getattr(args, "snapshot", None):
        from .snapshot import load

        if as_of is None:
            raise CommandError("a snapshot has no clock of its own: give --as-of DATE")
        _say(f"the snapshot in {args.snapshot}")
        return load(args.snapshot), f"snapshot {args.snapshot}", as_of
    with _connect(args) as client:
        tables = fetch_tables(client, **filters)
        return tables, client.base_url, (as_of or client.today()) if dated else None


def _run_command(verb: str, action: Any, args: argparse.Namespace) -> int:
    """Run ``action(args)``; a user-fixable failure becomes one line on stderr and exit 1."""
    from .client import PayPalError

    try:
        return action(args)
    except (CommandError, ValueError, PayPalError, OSError) as exc:
        print(f"ppnb {verb}: error: {exc}", file=sys.stderr)
        return 1


PULL_SUFFIXES = (".parquet", ".csv")


def _pull(args: argparse.Namespace) -> int:
    from .reports import check_target, replacing, write_csv

    target = check_target(args.out, PULL_SUFFIXES, "the invoices") if args.out else None
    if args.all_tables and target is None:
        raise CommandError("--all-tables needs --out FILE (the other tables go beside it)")
    filters = {name: value for name, value in (
        ("status", args.status), ("invoice_date", args.invoice_date),
        ("due_date", args.due_date), ("payment_date", args.payment_date),
        ("currency", args.currency), ("recipient_email", args.recipient_email),
        ("invoice_number", args.invoice_number)) if value is not None}
    tables, source, _ = _book(args, dated=False, **filters)
    counts = ", ".join(f"{len(frame)} {name}" for name, frame in zip(
        ("invoices", "items", "payments", "refunds"), tables, strict=True))
    if target is None:
        write_csv(tables.invoices, sys.stdout)
        print(f"pulled {counts} from {source}", file=sys.stderr)
        return 0
    outputs = [(target, tables.invoices)]
    if args.all_tables:
        outputs += [(target.with_name(f"{target.stem}.{name}{target.suffix}"), frame)
                    for name, frame in (("items", tables.items), ("payments", tables.payments),
                                        ("refunds", tables.refunds))]
    for path, frame in outputs:
        with replacing(path) as temporary:
            if path.suffix.lower() == ".csv":
                write_csv(frame, temporary)
            else:
                frame.to_parquet(temporary, index=False)
    print(f"pulled {counts} from {source}; wrote {', '.join(str(p) for p, _ in outputs)}",
          file=sys.stderr)
    return 0


def _aging(args: argparse.Namespace) -> int:
    import pandas as pd

    from .analysis import aging
    from .reports import write_csv

    tables, _, as_of = _book(args)
    aged = aging(tables, as_of, basis=args.basis, buckets=args.buckets, by=args.by)
    document = aged.to_json()
    if args.format == "json":
        print(json.dumps(document, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        columns = [*aged.by, "currency", *aged.labels, "total"]
        write_csv(pd.DataFrame(document["rows"], columns=columns), sys.stdout)
    else:
        print(_aging_table(aged))
    return 0


def _aging_table(aged: Any) -> str:
    """A plain-text aging: per currency, its groups (largest first) and a total line. Text
    from the book is shown with its control characters as escapes
    (:func:`ppnb.display.visible`): a name cannot move the cursor, recolour, ring or
    reorder the terminal."""
    import pandas as pd

    from .display import format_money, visible

    amounts = [*aged.labels, "total"]
    keys = [k for k in aged.by if k != "customer_name"]
    lines = [f"Receivables aging as of {aged.as_of} ({aged.basis} basis)"]
    if aged.totals.empty:
        return lines[0] + "\nnothing outstanding"
    for total in aged.totals.to_dict("records"):
        currency = total["currency"]
        rows = aged.summary[aged.summary["currency"] == currency].sort_values(
            "total", ascending=False)
        # a customer is shown by name (its key, the email, when it has none)
        shown = pd.DataFrame({k: (rows["customer_name"].fillna(rows[k]) if k == "customer"
                                  else rows[k]).astype(str).map(visible) for k in keys})
        for column in amounts:
            shown[column] = [format_money(m, currency) for m in rows[column]]
        if keys:
            total_row = {**dict.fromkeys(keys, ""), keys[0]: "TOTAL",
                         **{c: format_money(total[c], currency) for c in amounts}}
            shown = pd.concat([shown, pd.DataFrame([total_row])], ignore_index=True)
        lines += ["", currency, shown.to_string(index=False)]
    return "\n".join(lines)


def _printable(frame: Any) -> Any:
    """A copy of ``frame`` whose text cells show their control characters as escapes, for a
    terminal (:func:`ppnb.display.visible`)."""
    from .display import visible

    return frame.apply(lambda column: column.map(
        lambda value: visible(value) if isinstance(value, str) else value))


def _kpis(args: argparse.Namespace) -> int:
    import math

    from .analysis import kpis
    from .money import format_amount, from_minor
    from .reports import KPI_DAYS

    if args.as_of and args.start and args.as_of < args.start:
        raise CommandError(f"--end {args.as_of} is before --start {args.start}")
    tables, _, end = _book(args)
    start = args.start or end - dt.timedelta(days=KPI_DAYS - 1)
    if end < start:
        raise CommandError(f"the book's today, {end}, is before --start {start}")
    frame = kpis(tables, start, end, basis=args.basis)
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key.endswith("_minor"):
                currency = record["currency"]
                row[key.removesuffix("_minor")] = format_amount(from_minor(value, currency),
                                                                currency)
            elif isinstance(value, float):
                row[key] = None if math.isnan(value) else round(value, 4)
            elif hasattr(value, "isoformat"):
                row[key] = value.isoformat()[:10]
            else:
                row[key] = value.item() if hasattr(value, "item") else value
        rows.append(row)
    if args.format == "json":
        print(json.dumps({"start": start.isoformat(), "end": end.isoformat(),
                          "basis": args.basis, "rows": rows}, indent=2))
        return 0
    print(f"Collection KPIs {start} to {end} ({args.basis} basis)")
    if not rows:
        print("no invoices")
        return 0
    width = max(len(k) for k in rows[0])
    for key in rows[0]:
        values = ["" if r[key] is None else str(r[key]) for r in rows]
        print(f"{key:<{width}}  " + "  ".join(f"{v:>14}" for v in values))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .reports import FORMATS, check_target, report

    target = check_target(args.out, FORMATS, "a report")  # before the pull, not after
    tables, source, as_of = _book(args)
    report(tables, target, as_of=as_of, basis=args.basis, buckets=args.buckets,
           kpi_start=args.kpi_start, kpi_end=args.kpi_end, source=source,
           page_size=args.page_size)
    print(f"wrote {target} (as of {as_of})")
    return 0


def _dunning(args: argparse.Namespace) -> int:
    from .actions import JobBusy
    from .dunning import Policy, plan
    from .pager import fetch_tables

    policy = Policy.from_toml(args.policy)  # a bad policy stops here, before any request
    with _connect(args) as client:
        tables = fetch_tables(client, progress=False)
        try:
            result = plan(client, tables, policy, args.as_of, confirm=not args.dry_run,
                          journal_dir=args.journal_dir, concurrency=args.concurrency)
        except JobBusy as exc:
            raise CommandError(f"{exc}: another dunning run is in progress") from None
    column = "plan" if args.dry_run else "outcome"
    acted = result[result["action"] == "remind"]
    if len(acted):
        print(_printable(acted[["number", "customer", "days_past_due", "level", "reminder",
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


def build_parser(*, dashboard: bool = True) -> argparse.ArgumentParser:
    """The argument parser for every ``ppnb`` verb.

    ``dashboard=False`` leaves out the dashboard's own options: they live in
    :mod:`ppnb.dashboard`, whose widgets take seconds to import, so :func:`main` loads them
    only when the verb is ``dashboard``.
    """
    parser = argparse.ArgumentParser(prog="ppnb", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    emulator = verbs.add_parser("emulator", help="run the local PayPal Invoicing v2 emulator")
    emulator_verbs = emulator.add_subparsers(dest="emulator_verb", required=True)
    serve = emulator_verbs.add_parser("serve", help="serve the emulator over HTTP")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1); anything not loopback is "
                       "refused without --insecure-public")
    serve.add_argument("--insecure-public", action="store_true",
                       help="serve on a --host that is not loopback, where others can reach "
                       "it (the emulator is a development tool, not a hardened service)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--db", default="ppnb-emulator.sqlite",
                       help="SQLite file that keeps state across restarts, or :memory:")
    serve.add_argument("--merchant", action="append", type=_merchant_pair,
                       metavar="CLIENT_ID:SECRET",
                       help="a merchant app to register (repeatable; default: one generated). "
                       "The secret may be given as @FILE (its first line) or env:NAME (an "
                       "environment variable); given inline, 'ps' shows it to other users")
    serve.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE,
                       help=f"where to write the credentials (default {DEFAULT_ENV_FILE})")
    serve.set_defaults(run=_serve)

    serve.add_argument("--fault-rate", type=float, default=0.0,
                       help="fail this share of API calls with 429/500/503 (default 0)")
    serve.add_argument("--latency-ms", type=_latency, default=(0, 0), metavar="MIN,MAX",
                       help="delay every API call by MIN..MAX milliseconds")
    serve.add_argument("--no-simulation", action="store_true",
                       help="serve PayPal's API only: no /_emulator/ endpoints, no payer page")
    serve.add_argument("--summaries", choices=("off", "on", "always"), default="off",
                       help="list and search items as PayPal's summaries: 'on' unless a "
                       "search's fields asks for collections, 'always' even then")
    calls: list[tuple[str, str, Any]] = [
        ("clock", "show or move the emulator's clock", _clock_call),
        ("reset", "empty every book (merchants and tokens stay)",
         lambda control, a: control.reset()),
        ("stats", "applied effects per operation", lambda control, a: control.stats()),
        ("snapshot", "save the whole state under NAME",
         lambda control, a: control.snapshot(a.name)),
        ("restore", "roll the state back to snapshot NAME",
         lambda control, a: control.restore(a.name)),
    ]
    for name, meaning, call in calls:
        verb = emulator_verbs.add_parser(name, help=f"{meaning} (of a running emulator)")
        verb.add_argument("--url", help="the emulator's base URL (default: $PPNB_BASE_URL, "
                          "else the env file)")
        verb.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE,
                          help="the env file 'ppnb emulator serve' wrote, for the URL and "
                          f"the control token (default {DEFAULT_ENV_FILE})")
        if name in ("snapshot", "restore"):
            verb.add_argument("name")
        if name == "clock":
            move = verb.add_mutually_exclusive_group()
            move.add_argument("--set", metavar="ISO", help="move to this date-time (UTC)")
            move.add_argument("--advance-days", type=float, metavar="N",
                              help="move N days forward")
        verb.set_defaults(run=_simulate, call=call)

    seed = verbs.add_parser(
        "seed", help="build a receivables book through the API (demo data or the IBM sample)",
        description="Write invoices through the API to wherever ppnb.connect() points "
                    "(the embedded emulator unless PPNB_* / PAYPAL_* say otherwise). "
                    "Invoices whose number already exists are skipped.")
    seed.add_argument("--dataset", choices=("demo", "ibm"), required=True)
    seed.add_argument("--csv", type=Path, help="the IBM sample's CSV (required for ibm)")
    seed.add_argument("--params", type=Path,
                      help="demo parameters as JSON (default: data/demo.json when present)")
    for name, meaning in (("invoices", "invoices in the book"), ("customers", "customers"),
                          ("seed", "random seed"), ("months", "months of history")):
        seed.add_argument(f"--{name}", type=int, help=f"demo: {meaning}")
    seed.set_defaults(run=_seed)
    _add_analysis_verbs(verbs)

    hooks = verbs.add_parser("webhooks", help="receive PayPal webhook events")
    listen = hooks.add_subparsers(dest="webhooks_verb", required=True).add_parser(
        "listen", help="serve a receiver that verifies events and appends them to a log",
        description="Verify each delivery (SHA256withRSA over CRC32 of the raw body, cert "
                    "from an allowed host, 5-minute window), skip event ids already logged, "
                    "store the event, and only then answer 200.")
    listen.add_argument("--webhook-id", required=True, help="the id PayPal gave the webhook")
    listen.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    listen.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    listen.add_argument("--log", type=Path, default=Path("webhooks.sqlite"),
                        help="the SQLite event log (default webhooks.sqlite)")
    listen.add_argument("--path", default="/", help="URL path events are posted to")
    listen.add_argument("--allow-cert-origin", action="append", default=[], metavar="URL",
                        help="also accept certificates from this origin, e.g. the emulator's "
                             "http://127.0.0.1:8765 (repeatable)")
    listen.set_defaults(run=_listen)

    dunning = verbs.add_parser("dunning", help="run a dunning policy (reminders by level)")
    dunning_run = dunning.add_subparsers(dest="dunning_verb", required=True).add_parser(
        "run", help="send today's reminders of a policy, exactly once (for cron/papermill)",
        description="Read the policy (TOML), pull the book, and send each open invoice the "
        "reminder its level calls for through ppnb.bulk: one job per level, journals "
        "shared with every other bulk job, nothing sent twice. Exits 1 if any failed.")
    dunning_run.add_argument("--policy", type=Path, required=True, metavar="FILE",
                             help="the policy's TOML file")
    dunning_run.add_argument("--as-of", type=_date_arg, metavar="DATE",
                             help="the day (default: today by the API's clock; a real run "
                             "refuses any other day)")
    dunning_run.add_argument("--dry-run", action="store_true",
                             help="show the plan; send nothing")
    dunning_run.add_argument("--journal-dir", type=Path, metavar="DIR",
                             help="jobs' journals and the reminder ledger (default "
                             "~/.ppnb/jobs)")
    dunning_run.add_argument("--concurrency", type=int, default=8,
                             help="reminders in flight at once (default 8)")
    _source_options(dunning_run, snapshot=False)
    dunning_run.set_defaults(run=lambda args: _run_command("dunning", _dunning, args))

    from . import lab as _lab_module

    lab = verbs.add_parser("lab", help="the notebooks on a seeded emulator (make run)",
                           description=_lab_module.__doc__.splitlines()[0])
    _lab_module.add_arguments(lab)
    lab.set_defaults(run=_lab_module.run)

    board = verbs.add_parser(
        "dashboard", help="one page over the book: aging, KPIs, charts and reports (Voila)",
        description="Serve the book ppnb lab serves (the emulator over the same SQLite file) "
        "and a Voila page over it on 127.0.0.1: pickers for the as-of date, currency, "
        "customer and basis; the aging, KPIs, customers and charts; the xlsx, HTML and PDF "
        "report of what is picked, to download.")
    if dashboard:
        from .dashboard import add_arguments

        add_arguments(board)
    board.set_defaults(run=_dashboard)
    return parser


def _dashboard(args: argparse.Namespace) -> int:
    from .dashboard import run_dashboard

    return run_dashboard(args.db, out=args.out, port=args.port, today=args.today)


def _listen(args: argparse.Namespace) -> int:
    from .webhooks import PAYPAL_CERT_HOSTS, listen

    listen(args.webhook_id, host=args.host, port=args.port, log_path=args.log, path=args.path,
           allowed_cert_hosts=(*PAYPAL_CERT_HOSTS, *args.allow_cert_origin))
    return 0


def _source_options(verb: argparse.ArgumentParser, *, snapshot: bool = True) -> None:
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


def _as_of_option(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--as-of", type=_date_arg, metavar="DATE",
                      help="the day the balances are rebuilt on (default: the book's today, "
                      "client.today(); a --snapshot needs one)")


def _aging_options(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--basis", choices=("due_date", "invoice_date"), default="due_date",
                      help="age from the due date (default) or the invoice date")
    verb.add_argument("--buckets", type=_buckets_arg, default=(30, 60, 90), metavar="D,D,...",
                      help="bucket edges in days (default 30,60,90)")


def _add_analysis_verbs(verbs: Any) -> None:
    def add(name: str, action: Any, **kwargs: Any) -> argparse.ArgumentParser:
        verb = verbs.add_parser(name, **kwargs)
        verb.set_defaults(run=lambda args: _run_command(name, action, args))
        return verb

    pull = add("pull", _pull, help="pull invoices into a Parquet or CSV file",
               description="Fetch every matching invoice. With --out FILE.parquet|.csv the "
               "invoices table is written there (with --all-tables also FILE.items, "
               "FILE.payments and FILE.refunds beside it, same format); without --out it "
               "goes to stdout as CSV. Amounts are exact *_minor integer columns.")
    pull.add_argument("--out", type=Path, help="FILE.parquet or FILE.csv (default: CSV on "
                      "stdout)")
    pull.add_argument("--all-tables", action="store_true",
                      help="also write the items, payments and refunds tables beside --out")
    pull.add_argument("--status", nargs="+", metavar="S",
                      help="only these statuses (1 to 5, e.g. SENT UNPAID PARTIALLY_PAID)")
    for name in ("invoice-date", "due-date", "payment-date"):
        pull.add_argument(f"--{name}", type=_range_arg, metavar="START..END",
                          help=f"{name.replace('-', ' ')} range, inclusive; either end may be "
                          "empty")
    pull.add_argument("--currency", help="only invoices in this currency")
    pull.add_argument("--recipient-email", help="only this customer's invoices")
    pull.add_argument("--invoice-number", help="only the invoice with this number")
    _source_options(pull, snapshot=False)

    aging = add("aging", _aging, help="aged receivables as of a date",
                description="Rebuild the receivables as of --as-of from the payment history "
                "and age them. One row per group and currency; currencies are never added.")
    _as_of_option(aging)
    _aging_options(aging)
    aging.add_argument("--by", default="customer",
                       help="customer (default), currency, none, or an invoices column")
    aging.add_argument("--format", choices=("table", "csv", "json"), default="table")
    _source_options(aging)

    kpis = add("kpis", _kpis, help="collection KPIs (DSO, CEI, days to pay) for a period",
               description="DSO (simple and count-back), best possible DSO, ADD, CEI and "
               "payment timing for invoices paid in the period, one row per currency.")
    kpis.add_argument("--start", type=_date_arg, metavar="DATE",
                      help="the period's first day (default: 90 days ending at --end)")
    kpis.add_argument("--end", "--as-of", dest="as_of", type=_date_arg, metavar="DATE",
                      help="the period's last day (default: the book's today)")
    kpis.add_argument("--basis", choices=("due_date", "invoice_date"), default="due_date",
                      help="what 'current' AR is measured from (default due_date)")
    kpis.add_argument("--format", choices=("table", "json"), default="table")
    _source_options(kpis)

    report = add("report", _report, help="write an .xlsx, .html or .pdf receivables report",
                 description="Aging, KPIs, roll rates and charts as of a date, in the format "
                 "the --out suffix names. The file is replaced only once complete.")
    _as_of_option(report)
    report.add_argument("--out", type=Path, required=True, metavar="PATH.xlsx|.html|.pdf")
    report.add_argument("--page-size", choices=("A4", "Letter"), default="A4",
                        type=lambda text: text.capitalize() if text.lower() == "letter"
                        else text.upper(),
                        help="the PDF's pages (landscape), and the HTML's when printed "
                        "(default A4)")
    _aging_options(report)
    report.add_argument("--kpi-start", type=_date_arg, metavar="DATE",
                        help="KPI period start (default: 90 days ending at --kpi-end)")
    report.add_argument("--kpi-end", type=_date_arg, metavar="DATE",
                        help="KPI period end (default: --as-of)")
    _source_options(report)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ppnb`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(dashboard=argv[:1] == ["dashboard"]).parse_args(argv)
    args.argv = argv[1:]  # the verb's own arguments, to hand on (``seed`` to a child process)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
