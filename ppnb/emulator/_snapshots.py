"""Snapshots: consistent copies of the whole emulator database, to roll a book back.

On disk they sit beside the database (``DB.snapshots/NAME.sqlite``, files 0600 in a 0700
folder); an in-memory store keeps them as shared-cache in-memory databases. They are bounded:
at most :data:`MAX_SNAPSHOTS` of them, :data:`MAX_SNAPSHOT_BYTES` together, the one being
saved included (saving over an existing name replaces it). :class:`Snapshots` is the part of
:class:`~._store.Store` that makes them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from .._errors import PPNBError

#: Most snapshots kept at once (saving over an existing name does not add one).
MAX_SNAPSHOTS = 20
#: Most bytes every snapshot together may take, the one being saved included.
MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024
_SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class SnapshotLimit(PPNBError):
    """Saving a snapshot would keep more of them, or more bytes, than allowed.

    ``kind`` is ``"count"`` or ``"size"``.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def private_file(path: str | Path) -> None:
    """Create ``path`` if missing, readable and writable by its owner only (0600); an
    existing file is narrowed to 0600 too."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class Snapshots:
    """Saving, restoring, listing and deleting snapshots of a :class:`~._store.Store`."""

    path: str
    max_snapshots: int
    max_snapshot_bytes: int
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _memory_snapshots: dict[str, sqlite3.Connection]
    _migrate: Callable[[], None]  # the store's: a snapshot may come from an older version

    def _snapshot_file(self, name: str) -> str:
        if not _SNAPSHOT_NAME.fullmatch(name):
            raise ValueError(f"snapshot name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if self.path == ":memory:":
            return f"file:ppnb-snapshot-{id(self)}-{name}?mode=memory&cache=shared"
        folder = Path(self.path + ".snapshots")
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)
        return str(folder / f"{name}.sqlite")

    def _snapshot_sizes(self) -> dict[str, int]:
        """Bytes each saved snapshot takes."""
        if self.path == ":memory:":
            return {name: _size(conn) for name, conn in self._memory_snapshots.items()}
        folder = Path(self.path + ".snapshots")
        files = folder.glob("*.sqlite") if folder.exists() else []
        return {p.stem: p.stat().st_size for p in files}

    def save_snapshot(self, name: str) -> None:
        """Copy the whole database, consistently, under ``name`` (replacing an older copy).

        Raises
        ------
        ValueError
            For a name that is not 1-64 letters, digits, ``.``, ``_`` or ``-``.
        SnapshotLimit
            If it would keep more than :attr:`max_snapshots` snapshots, or more than
            :attr:`max_snapshot_bytes` bytes of them; nothing is written then.
        """
        target = self._snapshot_file(name)
        with self._lock:
            others = {k: v for k, v in self._snapshot_sizes().items() if k != name}
            if len(others) >= self.max_snapshots:
                raise SnapshotLimit(
                    f"{len(others)} snapshots are kept, the most allowed "
                    f"({self.max_snapshots}); delete one, or save over an existing name",
                    "count")
            needed = _size(self._conn)
            if sum(others.values()) + needed > self.max_snapshot_bytes:
                raise SnapshotLimit(
                    f"the snapshots would take {sum(others.values()) + needed} bytes, over "
                    f"the {self.max_snapshot_bytes} allowed; delete one first", "size")
            if not target.startswith("file:"):
                private_file(target)
            copy = sqlite3.connect(target, uri=target.startswith("file:"),
                                   check_same_thread=False)  # kept open, used under the lock
            try:
                self._conn.backup(copy)
            finally:
                if self.path == ":memory:":
                    self._memory_snapshots[name] = copy  # a shared-cache copy lives while open
                else:
                    copy.close()

    def restore_snapshot(self, name: str) -> None:
        """Put the database back as it was when ``name`` was saved; tokens issued since stay
        valid."""
        target = self._snapshot_file(name)
        if name not in self.snapshots():
            raise KeyError(name)
        with self._lock:
            tokens = self._conn.execute("SELECT * FROM tokens").fetchall()
            source = sqlite3.connect(target, uri=target.startswith("file:"))
            try:
                source.backup(self._conn)
            finally:
                source.close()
            self._conn.executemany("INSERT OR IGNORE INTO tokens VALUES (?, ?, ?)", tokens)
            self._migrate()  # a snapshot saved by an earlier version

    def delete_snapshot(self, name: str) -> None:
        """Delete snapshot ``name`` (``KeyError`` if there is none)."""
        target = self._snapshot_file(name)
        with self._lock:
            if name not in self.snapshots():
                raise KeyError(name)
            if self.path == ":memory:":
                self._memory_snapshots.pop(name).close()
            else:
                os.unlink(target)

    def snapshots(self) -> list[str]:
        """Names of the saved snapshots, sorted."""
        if self.path == ":memory:":
            return sorted(self._memory_snapshots)
        folder = Path(self.path + ".snapshots")
        return sorted(p.stem for p in folder.glob("*.sqlite")) if folder.exists() else []


def _size(conn: sqlite3.Connection) -> int:
    """Bytes a database takes (its pages)."""
    pages, = conn.execute("PRAGMA page_count").fetchone()
    page_size, = conn.execute("PRAGMA page_size").fetchone()
    return pages * page_size
