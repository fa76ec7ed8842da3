"""A worklist as a collector's sheet."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ._files import check_target, replacing
from ._tables import Column
from ._xlsx import Cells, write_frame

_WORKLIST_COLUMNS: list[Column] = [
    ("Rank", "rank", "int"), ("Number", "number", "text"), ("Customer", "customer", "text"),
    ("Customer name", "customer_name", "text"), ("Currency", "currency", "text"),
    ("Outstanding", "outstanding_minor", "money"), ("Due date", "due_date", "date"),
    ("Days past due", "days_past_due", "int"), ("Bucket", "bucket", "text"),
    ("Reminders sent", "reminders_sent", "int"), ("Last reminder", "last_reminder", "date"),
    ("Expected payment", "expected_date", "date"), ("P(late)", "p_late", "share"),
    ("Risk", "risk", "share"), ("Cost of waiting", "cost_minor", "money"),
    ("Reason", "reason", "text"), ("Invoice id", "invoice_id", "text"),
    ("Contacted", "contacted", "text"), ("Notes", "notes", "text"),
]


def write_worklist(worklist: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a worklist (:func:`ppnb.analysis.worklist`) as a collector's ``.xlsx`` sheet.

    One row per open invoice in the worklist's order, amounts in their currency's format,
    dates as dates, the header frozen with an autofilter, and two empty columns
    (*Contacted*, *Notes*) for the collector. Written beside ``path`` and renamed over it,
    like :func:`report`.

    Raises
    ------
    ReportError
        For a suffix other than ``.xlsx`` or a missing directory.
    """
    import xlsxwriter

    target = check_target(path, (".xlsx",), "a worklist")
    as_of = worklist.attrs.get("as_of")
    frame = worklist.assign(contacted="", notes="")
    with replacing(target) as temporary:
        workbook = xlsxwriter.Workbook(str(temporary), {"remove_timezone": True})
        cells = Cells(workbook)
        sheet = workbook.add_worksheet("Worklist")
        cells.text(sheet, 0, 0, f"Worklist as of {as_of}: open invoices by expected cost of "
                   "waiting (outstanding × risk)", "title", fit=False)
        write_frame(sheet, 2, frame, _WORKLIST_COLUMNS, cells)
        cells.size_columns()
        notes = len(_WORKLIST_COLUMNS) - 1
        sheet.set_column(notes, notes, 40)  # room for the collector's notes
        sheet.freeze_panes(3, 2)
        workbook.close()
    return target
