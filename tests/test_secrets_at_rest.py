"""Issue 15, defect 8: secrets at rest.

* An existing ``.serving.json`` or env file kept its old mode (0644) while a secret was
  written into it: now each is replaced by a 0600 file every time.
* ``--merchant ID:SECRET`` showed the secret in ``ps``: ``ID:@FILE`` and ``ID:env:NAME``
  keep it off the command line.
* The database (and its ``-wal``/``-shm``) were 0644 and held unsalted SHA-256 hashes of the
  secrets: now 0600 files and salted scrypt hashes, and an older book's hashes still let
  its merchants in (and are salted at their first login).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import Api

from ppnb.cli import _merchant_pair, write_env_file
from ppnb.emulator import Emulator, start
from ppnb.emulator._kdf import hash_secret, is_legacy, verify_secret

SECRET = "at-rest-" + "5" * 40


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    """The umask most users have: files would be created 0644 unless ppnb says otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_an_existing_env_file_becomes_0600(tmp_path: Path) -> None:
    env_file = tmp_path / "emulator.env"
    env_file.write_text("PAYPAL_CLIENT_SECRET=old\n")
    env_file.chmod(0o644)
    write_env_file(env_file, "http://127.0.0.1:1", "app", SECRET, "control-token-value")
    assert mode(env_file) == 0o600
    text = env_file.read_text()
    assert f"PAYPAL_CLIENT_SECRET={SECRET}\n" in text
    assert "PPNB_CONTROL_TOKEN=control-token-value\n" in text
    assert [p.name for p in tmp_path.iterdir()] == ["emulator.env"]  # no temporary left


def test_database_files_and_snapshots_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    db.touch(mode=0o644)  # an older book, made with a wider mode
    db.chmod(0o644)
    with start(db, merchants=[("files-app", SECRET)]) as running:
        api = Api(running.base_url, "files-app", SECRET)
        api.sent()
        with running.control() as control:
            control.snapshot("kept")
        api.http.close()
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in files)
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        folder = Path(f"{db}.snapshots")
        assert mode(folder) == 0o700 and mode(folder / "kept.sqlite") == 0o600
    running.emulator.close()
    Path(f"{db}-wal").touch()
    Path(f"{db}-wal").chmod(0o644)  # left wide by an earlier version
    Emulator(db, merchants=[("files-app", SECRET)]).close()
    assert mode(db) == 0o600
    assert all(mode(p) == 0o600 for p in tmp_path.glob("book.sqlite-*"))


def test_secrets_are_salted_scrypt_hashes(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    Emulator(db, merchants=[("one", SECRET), ("two", SECRET)]).close()
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT client_id, secret_hash FROM merchants"))
    assert stored["one"].startswith("scrypt$16384$8$1$")
    assert stored["one"] != stored["two"]  # a salt of its own each
    assert all(verify_secret(SECRET, h) and not verify_secret(SECRET + "x", h)
               for h in stored.values())
    raw = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists()
                             else b"")
    assert SECRET.encode() not in raw
    assert hashlib.sha256(SECRET.encode()).hexdigest().encode() not in raw


def test_a_damaged_hash_matches_nothing() -> None:
    good = hash_secret(SECRET)
    assert not verify_secret(SECRET, good[:-10])
    assert not verify_secret(SECRET, "scrypt$x$y$z$salt$digest")
    assert not is_legacy(good) and is_legacy(hashlib.sha256(b"x").hexdigest())


def make_legacy_book(db: Path, client_id: str, secret: str) -> None:
    """A book as the versions before salted hashes left it: ``secret_sha256`` columns."""
    Emulator(db, merchants=[(client_id, "placeholder")]).close()
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE merchants RENAME COLUMN secret_hash TO secret_sha256")
        conn.execute("UPDATE merchants SET secret_sha256 = ? WHERE client_id = ?",
                     (hashlib.sha256(secret.encode()).hexdigest(), client_id))
    conn.close()


def test_an_older_books_merchants_still_log_in_and_get_salted(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    make_legacy_book(db, "legacy-app", SECRET)
    with start(db) as running:  # the legacy merchant is not re-registered: its hash stays
        token = "/v1/oauth2/token"
        wrong = httpx.post(running.base_url + token, auth=("legacy-app", "guess"),
                           data={"grant_type": "client_credentials"})
        assert wrong.status_code == 401
        with sqlite3.connect(db) as conn:
            [(kept,)] = conn.execute("SELECT secret_hash FROM merchants "
                                     "WHERE client_id = 'legacy-app'")
        assert is_legacy(kept)  # a failed login changes nothing
        api = Api(running.base_url, "legacy-app", SECRET)  # asserts a 200
        with sqlite3.connect(db) as conn:
            [(salted,)] = conn.execute("SELECT secret_hash FROM merchants "
                                       "WHERE client_id = 'legacy-app'")
        assert salted.startswith("scrypt$") and verify_secret(SECRET, salted)
        api.fetch_token()  # and the salted hash lets it in again
        api.http.close()
    running.emulator.close()
    with start(db) as again:  # after a restart too
        Api(again.base_url, "legacy-app", SECRET).http.close()
    again.emulator.close()


def test_merchant_secret_from_a_file_or_the_environment(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    assert _merchant_pair(f"app:@{secret_file}") == ("app", SECRET)
    monkeypatch.setenv("APP_SECRET", SECRET)
    assert _merchant_pair("app:env:APP_SECRET") == ("app", SECRET)
    assert _merchant_pair(f"app:{SECRET}") == ("app", SECRET)
    for bad, says in [(f"app:@{tmp_path / 'missing'}", "cannot read"),
                      ("app:env:NO_SUCH_VARIABLE", "NO_SUCH_VARIABLE")]:
        with pytest.raises(argparse.ArgumentTypeError, match=says) as caught:
            _merchant_pair(bad)
        assert SECRET not in str(caught.value)
    secret_file.write_text("\n")
    with pytest.raises(argparse.ArgumentTypeError, match="is empty"):
        _merchant_pair(f"app:@{secret_file}")


def test_a_secret_from_a_file_stays_out_of_the_process_list(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o600)
    process = subprocess.Popen(
        [sys.executable, "-m", "ppnb.cli", "emulator", "serve", "--port", "0", "--db",
         ":memory:", "--merchant", f"file-app:@{secret_file}", "--env-file",
         str(tmp_path / "env")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        banner, deadline = b"", time.monotonic() + 60
        while b"set -a" not in banner and time.monotonic() < deadline:
            banner += process.stdout.readline()
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert SECRET.encode() not in command_line and b"file-app:@" in command_line
        assert SECRET.encode() not in banner
        url = banner.split(b"emulator at ")[1].split()[0].decode()
        Api(url, "file-app", SECRET).http.close()  # the file's secret is the merchant's
    finally:
        process.terminate()
        process.wait(30)
