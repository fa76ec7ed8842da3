"""The receiver's event log: one SQLite row per event id, and the transmission ids seen.

The log is append-only and durable before the receiver answers 2xx, so PayPal retries
whatever was not stored. It also remembers each transmission id with a digest of its body: a
transmission id is one body, and seeing it again with another body means someone re-used a
captured signature (the signature covers only the body's CRC32, which is easy to match).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EventLog", "events"]

_LOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT,
    create_time TEXT,
    resource_type TEXT,
    resource_id TEXT,
    summary TEXT,
    transmission_id TEXT,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS transmissions (
    transmission_id TEXT PRIMARY KEY,
    body_sha256 BLOB NOT NULL,
    first_seen TEXT NOT NULL
);
"""


class EventLog:
    """An append-only SQLite log of received events, one row per event id.

    Parameters
    ----------
    path
        The SQLite file (created if missing, WAL).
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.executescript(_LOG_SCHEMA)

    def append(self, event: Mapping[str, Any], raw_body: bytes, *,
               transmission_id: str | None, received_at: dt.datetime) -> bool:
        """Store an event unless its id is already there; True if it was new. Durable when
        it returns."""
        resource = event.get("resource")
        resource_id = resource.get("id") if isinstance(resource, dict) else None
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO events (event_id, event_type, create_time, resource_type,"
                " resource_id, summary, transmission_id, received_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event["id"], event.get("event_type"), event.get("create_time"),
                 event.get("resource_type"), resource_id, event.get("summary"),
                 transmission_id, received_at.astimezone(dt.UTC).isoformat(),
                 bytes(raw_body)))
        return cur.rowcount == 1

    def remember_transmission(self, transmission_id: str, raw_body: bytes, *,
                              seen_at: dt.datetime) -> bool:
        """Record that ``transmission_id`` carried ``raw_body``; False if it was seen before
        with a different body (the same body again is a redelivery, and fine). Durable when
        it returns."""
        digest = hashlib.sha256(raw_body).digest()
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO transmissions VALUES (?, ?, ?)",
                (transmission_id, digest, seen_at.astimezone(dt.UTC).isoformat()))
            (stored,) = self._conn.execute(
                "SELECT body_sha256 FROM transmissions WHERE transmission_id = ?",
                (transmission_id,)).fetchone()
        return stored == digest

    def rows(self, after: int = 0, *, last: bool = False) -> list[tuple[int, bytes]]:
        """``(seq, raw body)`` of the events stored after ``seq``, in arrival order (only
        the last one with ``last``)."""
        order = "DESC LIMIT 1" if last else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT seq, body FROM events WHERE seq > ? ORDER BY seq {order}",
                (after,)).fetchall()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def events(path: str | Path) -> pd.DataFrame:
    """The event log at ``path`` as a DataFrame, in arrival order.

    Columns: ``event_id``, ``event_type``, ``create_time`` and ``received_at`` (UTC
    datetimes), ``resource_type``, ``resource_id``, ``summary``, ``transmission_id`` and
    ``resource`` (the resource's JSON text: the whole invoice for invoice events).
    """
    import pandas as pd

    if not Path(path).exists():
        raise FileNotFoundError(f"no webhook event log at {path}")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT event_id, event_type, create_time, resource_type, resource_id, summary, "
            "transmission_id, received_at, body FROM events ORDER BY seq").fetchall()
    columns = ["event_id", "event_type", "create_time", "resource_type", "resource_id",
               "summary", "transmission_id", "received_at", "resource"]
    frame = pd.DataFrame(
        [(*row[:-1], orjson.dumps(orjson.loads(row[-1]).get("resource")).decode())
         for row in rows], columns=columns)
    for column in ("create_time", "received_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
