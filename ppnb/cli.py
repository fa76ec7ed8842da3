"""The ``ppnb`` command line.

``ppnb emulator serve`` runs the PayPal Invoicing v2 emulator in the foreground;
``ppnb seed`` fills the book ``ppnb.connect()`` reaches with demo or sample invoices.
Secrets are never printed: the full credentials go to an env file readable only by you.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_ENV_FILE = Path(".ppnb") / "emulator.env"


def mask(secret: str) -> str:
    """Show a secret as ``****`` plus its last four characters (none if it is short)."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def _merchant_pair(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError(
            f"expected CLIENT_ID:SECRET, got {text.split(':')[0]!r}:..."
        )
    return client_id, secret


def write_env_file(path: Path, base_url: str, client_id: str, secret: str) -> None:
    """Write connection settings for ``ppnb.connect()`` to ``path`` with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"PPNB_ENV=emulator\nPPNB_BASE_URL={base_url}\n"
            f"PAYPAL_CLIENT_ID={client_id}\nPAYPAL_CLIENT_SECRET={secret}\n"
        )
    os.chmod(path, 0o600)


def _serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from .emulator import Emulator

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}, which is not loopback", file=sys.stderr)
    emulator = Emulator(args.db, merchants=args.merchant or None,
                        simulation=not args.no_simulation)
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
    first = emulator.credentials[0]
    write_env_file(args.env_file, base_url, first.client_id, first.client_secret)
    print(f"PayPal Invoicing v2 emulator at {base_url}")
    print(f"  database: {args.db}")
    for cred in emulator.credentials:
        print(f"  merchant: client id {cred.client_id}, secret {mask(cred.client_secret)}")
    print(f"  credentials for ppnb.connect(): {args.env_file} (mode 0600)")
    print(f"  use it with: set -a; . {args.env_file}; set +a")
    sys.stdout.flush()
    config = uvicorn.Config(emulator.app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
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
    if args.url:
        return args.url.rstrip("/")
    if os.environ.get("PPNB_BASE_URL"):
        return os.environ["PPNB_BASE_URL"].rstrip("/")
    if args.env_file.exists():
        for line in args.env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key == "PPNB_BASE_URL":
                return value.rstrip("/")
    raise SystemExit(f"ppnb emulator: no emulator found; give --url, set PPNB_BASE_URL, or "
                     f"start one with 'ppnb emulator serve' (it writes {args.env_file})")


def _simulate(args: argparse.Namespace) -> int:
    """Call one ``/_emulator/`` endpoint of a running emulator and print its JSON answer."""
    import httpx

    method, path, body = args.call(args)
    url = _emulator_url(args) + "/_emulator" + path
    try:
        response = httpx.request(method, url, json=body, timeout=60)
    except httpx.TransportError as exc:
        print(f"ppnb emulator: cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0 if response.is_success else 1


def _clock_call(args: argparse.Namespace) -> tuple[str, str, dict | None]:
    if args.set is not None:
        return "POST", "/clock", {"set": args.set}
    if args.advance_days is not None:
        return "POST", "/clock", {"advance_days": args.advance_days}
    return "GET", "/clock", None


def _seed(args: argparse.Namespace) -> int:
    from . import seed
    from .client import PayPalError, connect

    try:
        if args.dataset == "ibm":
            if args.csv is None:
                raise seed.SeedError("--dataset ibm needs --csv PATH (the IBM sample's CSV)")
            with connect() as client:
                report = seed.seed_ibm(client, args.csv, progress=True)
        else:
            params = seed.demo_params(args.params, invoices=args.invoices,
                                      customers=args.customers, seed=args.seed,
                                      months=args.months)
            with connect() as client:
                report = seed.seed_demo(client, **params, progress=True)
    except (ValueError, PayPalError) as exc:  # SeedError, bad settings, API refusals
        print(f"ppnb seed: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``ppnb`` verb."""
    parser = argparse.ArgumentParser(prog="ppnb", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    emulator = verbs.add_parser("emulator", help="run the local PayPal Invoicing v2 emulator")
    emulator_verbs = emulator.add_subparsers(dest="emulator_verb", required=True)
    serve = emulator_verbs.add_parser("serve", help="serve the emulator over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--db", default="ppnb-emulator.sqlite",
                       help="SQLite file that keeps state across restarts, or :memory:")
    serve.add_argument("--merchant", action="append", type=_merchant_pair,
                       metavar="CLIENT_ID:SECRET",
                       help="a merchant app to register (repeatable); default: one generated")
    serve.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE,
                       help=f"where to write the credentials (default {DEFAULT_ENV_FILE})")
    serve.set_defaults(run=_serve)

    serve.add_argument("--fault-rate", type=float, default=0.0,
                       help="fail this share of API calls with 429/500/503 (default 0)")
    serve.add_argument("--latency-ms", type=_latency, default=(0, 0), metavar="MIN,MAX",
                       help="delay every API call by MIN..MAX milliseconds")
    serve.add_argument("--no-simulation", action="store_true",
                       help="serve PayPal's API only: no /_emulator/ endpoints, no payer page")
    calls: list[tuple[str, str, Any]] = [
        ("clock", "show or move the emulator's clock", _clock_call),
        ("reset", "empty every book (merchants and tokens stay)",
         lambda a: ("POST", "/reset", None)),
        ("stats", "applied effects per operation", lambda a: ("GET", "/stats", None)),
        ("snapshot", "save the whole state under NAME",
         lambda a: ("POST", f"/snapshots/{a.name}", None)),
        ("restore", "roll the state back to snapshot NAME",
         lambda a: ("POST", f"/snapshots/{a.name}/restore", None)),
    ]
    for name, meaning, call in calls:
        verb = emulator_verbs.add_parser(name, help=f"{meaning} (of a running emulator)")
        verb.add_argument("--url", help="the emulator's base URL (default: $PPNB_BASE_URL, "
                          "else the env file)")
        verb.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE,
                          help=argparse.SUPPRESS)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ppnb`` console script."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
