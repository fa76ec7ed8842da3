"""The verbs around the emulator: ``ppnb emulator serve|clock|reset|stats|snapshot|restore``,
``ppnb seed`` and ``ppnb webhooks listen``.

``serve`` runs the emulator in the foreground and writes its URL, credentials and control
token to an env file readable only by you (the terminal shows secrets masked); the other
``emulator`` verbs make one :class:`~ppnb.emulator.Control` call to a running emulator and
print its JSON answer. ``seed`` fills the book ``ppnb.connect()`` reaches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._extras import require
from ._common import DEFAULT_ENV_FILE


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
    from ..connection import write_private

    control = f"PPNB_CONTROL_TOKEN={control_token}\n" if control_token else ""
    write_private(path, (
        f"PPNB_ENV=emulator\nPPNB_BASE_URL={base_url}\n"
        f"PAYPAL_CLIENT_ID={client_id}\nPAYPAL_CLIENT_SECRET={secret}\n{control}").encode())


def _serve(args: argparse.Namespace) -> int:
    require("emulator", "ppnb emulator serve")
    import socket

    import uvicorn

    from .._protocol import LOOPBACK_HOSTS
    from ..emulator import Emulator
    from ..emulator._server import server_config

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
    from ..emulator._control import read_env_file

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
    from ..emulator import Control, ControlError

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
    from .. import seed
    from ..client import PayPalError
    from ..connection import connect, served_here

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


def _listen(args: argparse.Namespace) -> int:
    require("emulator", "ppnb webhooks listen")  # the receiver is served by uvicorn/starlette
    from ..webhooks import PAYPAL_CERT_HOSTS, listen

    listen(args.webhook_id, host=args.host, port=args.port, log_path=args.log, path=args.path,
           allowed_cert_hosts=(*PAYPAL_CERT_HOSTS, *args.allow_cert_origin))
    return 0


def add_emulator_verbs(verbs: Any) -> None:
    """``ppnb emulator serve`` and the verbs that drive a running emulator."""
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


def add_seed_verb(verbs: Any) -> None:
    """``ppnb seed``."""
    seed = verbs.add_parser(
        "seed", help="build a receivables book through the API (demo data or the IBM sample)",
        description="Write invoices through the API to wherever ppnb.connect() points "
                    "(the embedded emulator unless PPNB_* / PAYPAL_* say otherwise). "
                    "Invoices whose number already exists are skipped.")
    seed.add_argument("--dataset", choices=("demo", "ibm"), required=True)
    seed.add_argument("--csv", type=Path, help="the IBM sample's CSV (required for ibm)")
    seed.add_argument("--params", type=Path,
                      help="demo parameters as JSON, over the defaults ppnb ships "
                      "(ppnb/data/demo.json, package data); the options below override both")
    for name, meaning in (("invoices", "invoices in the book"), ("customers", "customers"),
                          ("seed", "random seed"), ("months", "months of history")):
        seed.add_argument(f"--{name}", type=int, help=f"demo: {meaning}")
    seed.set_defaults(run=_seed)


def add_webhooks_verb(verbs: Any) -> None:
    """``ppnb webhooks listen``."""
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
