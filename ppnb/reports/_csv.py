"""CSV that a spreadsheet opens as data, never as formulas (OWASP, "CSV Injection")."""

from __future__ import annotations

import re
from typing import IO, Any

import pandas as pd

#: What Excel, LibreOffice and Google Sheets read as the start of a formula (or, for tab and
#: carriage return, of a cell they then read as one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise(value: Any) -> Any:
    """One cell as CSV should carry it: text that starts like a formula gets a leading
    apostrophe (``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``), so a spreadsheet shows it as text
    and runs nothing. Numbers, and text that is just a number (``-12.50``, a negative
    amount), are left alone and stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell passed through :func:`neutralise`; numeric,
    date and boolean columns are kept as they are. Write it with ``to_csv``."""
    text = [name for name in frame.columns
            if pd.api.types.is_object_dtype(frame[name].dtype)
            or pd.api.types.is_string_dtype(frame[name].dtype)]
    return frame.assign(**{str(name): frame[name].map(neutralise) for name in text}) \
        if text else frame.copy()


def write_csv(frame: pd.DataFrame, target: str | IO[str] | Any) -> None:
    """Write ``frame`` (without its index) as CSV that a spreadsheet opens as data: text cells
    through :func:`csv_safe`, and lines ended RFC 4180's way (CRLF), so that every field
    holding a line break is quoted. With a bare ``\n`` ending, a carriage return inside a
    field is written unquoted, and a spreadsheet starts a new row there: ``'\r=1+1`` would
    become a cell ``=1+1``."""
    csv_safe(frame).to_csv(target, index=False, lineterminator="\r\n")
