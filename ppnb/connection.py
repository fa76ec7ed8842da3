"""``connect()``: one call to reach the emulator, PayPal sandbox or live.

This module sits above both the client (:mod:`ppnb.client`, which it returns) and the
emulator (:mod:`ppnb.emulator`, which it may start) and the seeder (:mod:`ppnb.seed`, which
fills a new book): the client itself knows nothing of the emulator.

The embedded emulator is started on first use in a background thread (loopback, a free
port) over a SQLite file, so a notebook's book survives kernel restarts. If another process
already serves that file, ``connect()`` joins it instead of opening the file twice: the
serving process holds a lock and publishes its URL, credentials and control token in a file
beside it (``DB.serving.json``, mode 0600 each time it is written). The control token of an
emulator this process serves or joins is known to :meth:`ppnb.emulator.Control.for_url`.

A book that starts empty is seeded with the demo book (:func:`ppnb.seed.seed_demo`) by the
process that starts serving it, so every notebook has receivables to look at with no
configuration. ``PPNB_SEED`` chooses: ``demo`` (the default), ``none``, or the path of a JSON
file of demo parameters (like the packaged ``ppnb/data/demo.json``).

``PPNB_TODAY`` (an ISO date) starts the clock of an emulator that this process starts serving
on that day at 09:00 UTC instead of the machine's time; the clock runs on from there. The demo
book is dated from the emulator's clock, so the whole book, and every notebook that asks
``client.today()``, lives on that day: this is how the notebooks and the suite are run "as of"
another day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson

from ._extras import require
from .client import Client

__all__ = ["DEFAULT_DB", "ENVIRONMENTS", "connect", "embedded_emulator", "served_here",
           "start_clock", "write_private"]

#: Where each target environment lives.
ENVIRONMENTS = {
    "sandbox": "https://api-m.sandbox.paypal.com",
    "live": "https://api-m.paypal.com",
}
#: The book ``connect()`` serves when neither ``db`` nor ``$PPNB_EMULATOR_DB`` names one.
DEFAULT_DB = Path.home() / ".ppnb" / "emulator.sqlite"

_lock = threading.Lock()
_embedded: dict[str, Any] = {}  # database path -> the RunningEmulator this process serves
_held: dict[str, Any] = {}  # database path -> the open lock file that marks us as its server


def embedded_emulator(db: str | Path | None = None, *, seed: str | None = None,
                      today: str | dt.date | None = None) -> tuple[str, str, str]:
    """Serve the embedded emulator (once per process) or join the process serving ``db``.

    Returns ``(base_url, client_id, client_secret)``. ``db`` defaults to
    ``$PPNB_EMULATOR_DB`` or ``~/.ppnb/emulator.sqlite``; ``":memory:"`` keeps nothing.
    ``seed`` says what an empty book that this call starts serving is filled with
    (``demo``, ``none`` or a JSON file of demo parameters; default ``$PPNB_SEED`` or
    ``demo``). ``today`` (default ``$PPNB_TODAY``) is the day the clock of an emulator this call
    starts shows (at 09:00 UTC, running on); without it, the machine's time. It has no effect
    when joining another process's emulator.

    The emulator's modules come with the ``emulator`` extra, which this needs even to join
    another process's book (a core install reaches a served emulator through
    ``PPNB_BASE_URL`` and the credentials, or the env file ``ppnb emulator serve`` writes).

    Raises
    ------
    ppnb._extras.MissingExtra
        If the ``emulator`` extra is not installed (one line naming the ``pip install``).
    ValueError
        If ``today`` is not an ISO date (``YYYY-MM-DD``).
    """
    require("emulator", "ppnb.connect() with the embedded emulator")
    path = str(db or os.environ.get("PPNB_EMULATOR_DB") or DEFAULT_DB)
    clock = start_clock(today if today is not None else os.environ.get("PPNB_TODAY"))
    with _lock:
        if path in _embedded:
            running = _embedded[path]
            return running.base_url, running.credentials.client_id, \
                running.credentials.client_secret
        if path != ":memory:":
            joined = _join(Path(path))
            if joined:
                return joined
        from .emulator import start  # the emulator is only imported when it is the target

        running = start(path, clock=clock)
        if path != ":memory:":
            _publish(Path(path), running)
        _embedded[path] = running
        credentials = (running.base_url, running.credentials.client_id,
                       running.credentials.client_secret)
        _seed_if_empty(*credentials, choice=seed or os.environ.get("PPNB_SEED", "demo"))
        return credentials


def start_clock(today: str | dt.date | None) -> Any:
    """The emulator clock for ``today`` (09:00 UTC on that day, running), or ``None``.

    ``None`` or ``""`` means the machine's time. The emulator module is imported only here,
    when this process is about to serve it.
    """
    if today is None or today == "":
        return None
    if isinstance(today, str):
        try:
            today = dt.date.fromisoformat(today)
        except ValueError:
            raise ValueError(f"PPNB_TODAY must be an ISO date like 2027-01-15, not {today!r}"
                             ) from None
    from .emulator import Clock

    return Clock(dt.datetime.combine(today, dt.time(9), dt.UTC))


def served_here(base_url: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` if this process serves the emulator at ``base_url``."""
    for running in list(_embedded.values()):
        if running.base_url == base_url:
            return running.credentials.client_id, running.credentials.client_secret
    return None


def _seed_if_empty(base_url: str, client_id: str, client_secret: str, *, choice: str) -> None:
    """Fill an empty book with the demo book, as ``choice`` says (see the module notes).

    The seeding runs in a child process (``ppnb seed``): the emulator is served by a thread
    of this process, and a client in another process works on the second core instead of
    sharing this interpreter's lock with the server.
    """
    if choice.lower() == "none":
        return
    from .seed import seed_elsewhere

    with Client(base_url, client_id, client_secret) as client:
        if client.invoices.list(page_size=1, total_required=True).get("total_items", 0):
            return
    params = [] if choice.lower() == "demo" else ["--params", choice]
    print("an empty book: seeding the demo book through the API ...", flush=True)
    seed_elsewhere(base_url, client_id, client_secret, ["--dataset", "demo", *params])


def _files(db: Path) -> tuple[Path, Path]:
    from .emulator._control import SERVING_SUFFIX  # where Control.from_serving looks

    return db.with_name(db.name + ".lock"), db.with_name(db.name + SERVING_SUFFIX)


def _join(db: Path) -> tuple[str, str, str] | None:
    """Take the serving lock, or read who holds it and check that they answer."""
    lock_path, info_path = _files(db)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        try:
            info = orjson.loads(info_path.read_bytes())
            httpx.get(info["base_url"] + "/v2/invoicing/templates", timeout=5)
        except (OSError, ValueError, KeyError, httpx.HTTPError) as exc:
            raise RuntimeError(
                f"another process holds {db} but does not answer; stop it or set "
                "PPNB_EMULATOR_DB to another file"
            ) from exc
        if info.get("control_token"):
            from .emulator._control import remember

            remember(info["base_url"], info["control_token"])
        return info["base_url"], info["client_id"], info["client_secret"]
    _held[str(db)] = handle  # keep the lock for as long as this process serves
    return None


def _publish(db: Path, running: Any) -> None:
    _, info_path = _files(db)
    write_private(info_path, orjson.dumps({
        "base_url": running.base_url,
        "client_id": running.credentials.client_id,
        "client_secret": running.credentials.client_secret,
        "control_token": running.emulator.control_token,
        "pid": os.getpid(),
    }))


def write_private(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, readable and writable by its owner only (0600).

    The bytes go to a new 0600 file beside it, which then takes its place: the secret is
    never in a file with a wider mode (an existing 0644 file is replaced, not reused), and
    a reader sees the old content or the new, never half of it.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def connect(
    env: str | None = None,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    base_url: str | None = None,
    seed: str | None = None,
    **options: Any,
) -> Client:
    """A :class:`~ppnb.client.Client` for the emulator (default), PayPal sandbox or live.

    Arguments override the environment: ``PPNB_ENV`` (``emulator``, ``sandbox`` or
    ``live``), ``PAYPAL_CLIENT_ID``, ``PAYPAL_CLIENT_SECRET`` and ``PPNB_BASE_URL``. With
    no credentials for the emulator, the embedded one is started (see
    :func:`embedded_emulator`; ``seed`` chooses what an empty book is filled with). Other
    keyword arguments go to :class:`~ppnb.client.Client`.

    Raises
    ------
    ppnb._extras.MissingExtra
        If the embedded emulator is needed and the ``emulator`` extra is not installed.
    ValueError
        For an unknown environment, sandbox/live without credentials, or a non-loopback
        URL that is not https.
    """
    env = (env or os.environ.get("PPNB_ENV") or "emulator").lower()
    if env not in ("emulator", *ENVIRONMENTS):
        raise ValueError(f"PPNB_ENV must be emulator, sandbox or live, not {env!r}")
    client_id = client_id or os.environ.get("PAYPAL_CLIENT_ID")
    client_secret = client_secret or os.environ.get("PAYPAL_CLIENT_SECRET")
    base_url = base_url or os.environ.get("PPNB_BASE_URL")
    if env == "emulator":
        if not (client_id and client_secret and base_url):
            base_url, client_id, client_secret = embedded_emulator(options.pop("db", None),
                                                                   seed=seed)
    else:
        if not (client_id and client_secret):
            raise ValueError(
                f"PPNB_ENV={env} needs PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET "
                "(from your PayPal developer dashboard)"
            )
        base_url = base_url or ENVIRONMENTS[env]
    return Client(base_url, client_id, client_secret, **options)
