"""Writing a file completely or not at all, after checking where it goes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .._errors import PPNBError


class ReportError(ValueError, PPNBError):
    """A report that cannot be written as asked (unknown format, missing directory)."""



def check_target(path: str | os.PathLike[str], suffixes: Sequence[str], what: str) -> Path:
    """``path`` as a Path, once its suffix is one of ``suffixes`` (case-insensitive) and its
    directory exists; else a :class:`ReportError` naming what is wrong. ``what`` names the
    output in the message (``"a report"``)."""
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ReportError(f"cannot write {what} as {target.name!r}: the file name must end in "
                          f"{', '.join(suffixes)}")
    if not target.parent.is_dir():
        raise ReportError(f"cannot write {target}: directory {target.parent} does not exist")
    return target


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path`` to write to; when the block succeeds it
    is renamed over ``path`` (atomically, on the same filesystem), else removed, so readers
    of ``path`` see the old file or the complete new one, never a part."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
