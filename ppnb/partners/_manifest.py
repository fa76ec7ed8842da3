"""The run manifest: which merchants a run has already synced, so a rerun skips them.

``_ppnb/run.json`` names the current run and whether it finished; each merchant synced in
it gets ``_ppnb/runs/<run id>/<payer id>.json`` (its outcome record), written atomically by
the task that synced it, after its partition was published. A sync that finds an
unfinished run resumes it: the merchants with a record are skipped. A finished run, or
``resume=False``, starts a new one.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from ._dataset import state_dir, write_atomic

__all__ = ["begin", "finish", "has", "mark", "synced"]


def _pointer(root: Path) -> Path:
    return state_dir(root) / "run.json"


def begin(root: Path, *, resume: bool) -> str:
    """The id of the run to work in: the unfinished one (with ``resume``) or a new one."""
    pointer = _pointer(root)
    if resume and pointer.exists():
        current = json.loads(pointer.read_text())
        if not current["finished"]:
            return str(current["run"])
    run = uuid.uuid4().hex
    write_atomic(pointer, json.dumps({"run": run, "finished": False}).encode())
    for old in (root / "_ppnb" / "runs").glob("*"):
        if old.name != run:
            shutil.rmtree(old, ignore_errors=True)
    return run


def mark(root: Path, run: str, merchant: str, record: dict[str, Any]) -> None:
    """Record that ``merchant`` was synced and published in ``run``."""
    write_atomic(state_dir(root, "runs", run) / f"{merchant}.json",
                 json.dumps(record).encode())


def has(root: Path, run: str, merchant: str) -> bool:
    """Whether ``merchant`` was already synced in ``run`` (one file lookup)."""
    return (root / "_ppnb" / "runs" / run / f"{merchant}.json").exists()


def synced(root: Path, run: str) -> dict[str, dict[str, Any]]:
    """The records of the merchants synced so far in ``run``, by merchant."""
    folder = root / "_ppnb" / "runs" / run
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def finish(root: Path, run: str) -> None:
    """Mark ``run`` finished: the next sync starts a new run."""
    write_atomic(_pointer(root), json.dumps({"run": run, "finished": True}).encode())
