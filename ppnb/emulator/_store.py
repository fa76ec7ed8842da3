"""SQLite persistence for the emulator: one file (WAL) or ``:memory:``.

Invoices are stored as the JSON document the API returns (with a placeholder for the base
URL), beside indexed columns for every search filter, so a search page is an index range
scan plus a concatenation of stored bytes: nothing is parsed or re-serialised per request.

All access goes through one connection guarded by a lock; :meth:`Store.transaction` wraps a
unit of work (an API call's effect and its idempotency record) in one SQLite transaction, so
an effect is either wholly stored or not at all.

The files hold the webhook signing key and hashes of secrets, so they are readable by their
owner only: the database (and SQLite's ``-wal`` and ``-shm`` beside it, which take its mode)
and every snapshot are mode 0600, their folder 0700, also when they existed before with a
wider mode. Snapshots (:mod:`._snapshots`) are bounded in number and in total size.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._snapshots import MAX_SNAPSHOT_BYTES, MAX_SNAPSHOTS, Snapshots, private_file

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS merchants (
    payer_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    email TEXT NOT NULL,
    business_name TEXT NOT NULL,
    last_number TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    payer_id TEXT NOT NULL,
    partner_client_id TEXT NOT NULL,
    PRIMARY KEY (payer_id, partner_client_id)
);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    merchant TEXT NOT NULL,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    invoice_date TEXT,
    due_date TEXT,
    email TEXT COLLATE NOCASE,
    given_name TEXT COLLATE NOCASE,
    surname TEXT COLLATE NOCASE,
    business TEXT COLLATE NOCASE,
    reference TEXT COLLATE NOCASE,
    memo TEXT COLLATE NOCASE,
    created TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    doc BLOB NOT NULL,
    summary BLOB NOT NULL,
    internal BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS inv_number ON invoices (merchant, number);
CREATE INDEX IF NOT EXISTS inv_merchant ON invoices (merchant, seq);
CREATE INDEX IF NOT EXISTS inv_status ON invoices (merchant, status, seq);
CREATE INDEX IF NOT EXISTS inv_invoice_date ON invoices (merchant, invoice_date);
CREATE INDEX IF NOT EXISTS inv_due_date ON invoices (merchant, due_date);
CREATE INDEX IF NOT EXISTS inv_email ON invoices (merchant, email);
CREATE INDEX IF NOT EXISTS inv_given ON invoices (merchant, given_name);
CREATE INDEX IF NOT EXISTS inv_surname ON invoices (merchant, surname);
CREATE INDEX IF NOT EXISTS inv_business ON invoices (merchant, business);
CREATE INDEX IF NOT EXISTS inv_reference ON invoices (merchant, reference);
CREATE INDEX IF NOT EXISTS inv_memo ON invoices (merchant, memo);
CREATE INDEX IF NOT EXISTS inv_total ON invoices (merchant, currency, total_minor);
CREATE INDEX IF NOT EXISTS inv_created ON invoices (merchant, created);
CREATE TABLE IF NOT EXISTS payment_dates (
    invoice_seq INTEGER NOT NULL,
    merchant TEXT NOT NULL,
    payment_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pay_date ON payment_dates (merchant, payment_date, invoice_seq);
CREATE INDEX IF NOT EXISTS pay_invoice ON payment_dates (invoice_seq);
CREATE TABLE IF NOT EXISTS templates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    merchant TEXT NOT NULL,
    name TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    system INTEGER NOT NULL DEFAULT 0,
    doc BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS tpl_name ON templates (merchant, name);
CREATE TABLE IF NOT EXISTS idempotency (
    merchant TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT,
    body BLOB,
    PRIMARY KEY (merchant, request_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT NOT NULL,
    subject TEXT,
    note TEXT,
    time TEXT NOT NULL,
    requested_subject TEXT,
    requested_note TEXT
);
CREATE INDEX IF NOT EXISTS outbox_invoice ON outbox (invoice_id, seq);
CREATE TABLE IF NOT EXISTS effects (
    merchant TEXT NOT NULL,
    operation TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (operation, invoice_id, merchant)
);
CREATE TABLE IF NOT EXISTS webhooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    merchant TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_merchant ON webhooks (merchant, seq);
CREATE TABLE IF NOT EXISTS webhook_certs (
    id TEXT PRIMARY KEY,
    key_pem BLOB NOT NULL,
    cert_pem BLOB NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    merchant TEXT NOT NULL,
    event_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    create_time TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS event_merchant ON events (merchant, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_due ON deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS delivery_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    delivery INTEGER NOT NULL,
    number INTEGER NOT NULL,
    time TEXT NOT NULL,
    transmission_id TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    PRIMARY KEY (delivery, number)
);
"""

#: Tables emptied by a reset (merchants, grants, tokens, webhook subscriptions and the signing
#: certificate survive it).
BOOK_TABLES = ("invoices", "payment_dates", "templates", "idempotency", "outbox", "effects",
               "events", "deliveries", "delivery_attempts")

#: Columns of ``invoices`` a caller may set, besides the documents.
INVOICE_COLUMNS = (
    "id", "merchant", "number", "status", "currency", "total_minor", "invoice_date", "due_date",
    "email", "given_name", "surname", "business", "reference", "memo", "created", "archived",
)  # fmt: skip


class Store(Snapshots):
    """The emulator's database.

    Parameters
    ----------
    path
        A file path (created if missing, mode 0600, opened in WAL mode) or ``":memory:"``.

    Attributes
    ----------
    max_snapshots, max_snapshot_bytes
        The snapshot bounds (:data:`~._snapshots.MAX_SNAPSHOTS`,
        :data:`~._snapshots.MAX_SNAPSHOT_BYTES`); tests lower them.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.max_snapshots = MAX_SNAPSHOTS
        self.max_snapshot_bytes = MAX_SNAPSHOT_BYTES
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)
            for suffix in ("-wal", "-shm"):  # left by an earlier run, maybe with a wider mode
                if os.path.exists(self.path + suffix):
                    os.chmod(self.path + suffix, 0o600)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA mmap_size = 268435456")
        self._conn.execute("PRAGMA cache_size = -65536")
        self._conn.execute("PRAGMA temp_store = MEMORY")
        self._conn.executescript(_SCHEMA)
        self._migrate()
        self._conn.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        self._depth = 0
        self._memory_snapshots: dict[str, sqlite3.Connection] = {}

    def _migrate(self) -> None:
        """Add the columns that books made by earlier versions lack, and rename the one
        that held unsalted secret hashes (its old rows are still verified, and salted at
        the merchant's next login: :mod:`._kdf`)."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(outbox)")}
        for added in ("requested_subject", "requested_note"):
            if added not in columns:
                self._conn.execute(f"ALTER TABLE outbox ADD COLUMN {added} TEXT")
        merchant_columns = {row[1] for row in self._conn.execute("PRAGMA table_info(merchants)")}
        if "secret_sha256" in merchant_columns:
            self._conn.execute("ALTER TABLE merchants RENAME COLUMN secret_sha256 TO secret_hash")

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """Run a unit of work atomically.

        A nested call runs in a savepoint: if it fails, only its own changes are undone and
        the outer unit of work (e.g. storing an idempotent response) can still commit.
        """
        with self._lock:
            if self._depth:
                name = f"sp{self._depth}"
                self._conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self
                except BaseException:
                    self._conn.execute(f"ROLLBACK TO {name}")
                    raise
                finally:
                    self._depth -= 1
                    self._conn.execute(f"RELEASE {name}")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement (inside a transaction when it writes)."""
        with self._lock:
            return self._conn.execute(sql, params)

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Any:
        """The first row of a query, or None."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[Any]:
        """Every row of a query."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # --- invoices -------------------------------------------------------------------------

    def insert_invoice(
        self, row: dict[str, Any], doc: bytes, summary: bytes, internal: bytes
    ) -> int:
        """Insert a new invoice; returns its sequence number (creation order)."""
        cols = ", ".join(INVOICE_COLUMNS)
        marks = ", ".join("?" * len(INVOICE_COLUMNS))
        cur = self.execute(
            f"INSERT INTO invoices ({cols}, doc, summary, internal) VALUES ({marks}, ?, ?, ?)",
            (*(row[c] for c in INVOICE_COLUMNS), doc, summary, internal),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_invoice(
        self, seq: int, row: dict[str, Any], doc: bytes, summary: bytes, internal: bytes
    ) -> None:
        """Replace an invoice's columns and documents."""
        sets = ", ".join(f"{c} = ?" for c in INVOICE_COLUMNS)
        self.execute(
            f"UPDATE invoices SET {sets}, doc = ?, summary = ?, internal = ? WHERE seq = ?",
            (*(row[c] for c in INVOICE_COLUMNS), doc, summary, internal, seq),
        )

    def set_payment_dates(self, seq: int, merchant: str, dates: list[str]) -> None:
        """Index the payment dates of an invoice for ``payment_date_range`` searches."""
        self.execute("DELETE FROM payment_dates WHERE invoice_seq = ?", (seq,))
        if dates:
            with self._lock:
                self._conn.executemany(
                    "INSERT INTO payment_dates VALUES (?, ?, ?)",
                    [(seq, merchant, d) for d in dates],
                )

    def delete_invoice(self, seq: int) -> None:
        """Remove an invoice and its payment index rows."""
        self.execute("DELETE FROM payment_dates WHERE invoice_seq = ?", (seq,))
        self.execute("DELETE FROM invoices WHERE seq = ?", (seq,))
