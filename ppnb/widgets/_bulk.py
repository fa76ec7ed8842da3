"""BulkAction: preview a bulk action, confirm it, watch it run, read the result."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from ..actions import bulk
from ..client import Client
from ._common import button

#: Rows shown in the preview and result tables (the DataFrames hold them all).
SHOWN = 500


def _table(frame: pd.DataFrame, css: str) -> str:
    shown = frame.head(SHOWN)
    more = (f"<p>… and {len(frame) - SHOWN} more rows (see <code>.plan</code> / "
            "<code>.result</code>)</p>") if len(frame) > SHOWN else ""
    return shown.to_html(index=False, classes=css, border=0, na_rep="") + more


class BulkAction(w.VBox):
    """A bulk action with a dry run first: :func:`ppnb.actions.bulk` behind three steps.

    1. **Dry run** (:meth:`preview`): the plan table, what will happen to each invoice and
       what will be skipped and why. Nothing is changed.
    2. **Confirm**: the checkbox arms the Run button (only after a dry run).
    3. **Run** (:meth:`run`): the same job (its id is fixed by the dry run), with a progress
       bar and live ok / skipped / failed counts, then the result table.

    Parameters are those of :func:`ppnb.actions.bulk` (without ``confirm``/``progress``).

    Attributes
    ----------
    plan, result : pandas.DataFrame or None
        The last dry run and the last result.
    """

    def __init__(self, client: Client, action: str, invoices: pd.DataFrame | Iterable[str], *,
                 job_id: str | None = None, journal_dir: str | Path | None = None,
                 concurrency: int = 8, today: dt.date | None = None, **options: Any) -> None:
        self._client = client
        self._action = action
        self._invoices = invoices
        self._kwargs = {"job_id": job_id, "journal_dir": journal_dir,
                        "concurrency": concurrency, "today": today, **options}
        self.plan: pd.DataFrame | None = None
        self.result: pd.DataFrame | None = None
        self._preview = button(f"Dry run: {action}", "info")
        self._plan = w.HTML()
        self._summary = w.HTML()
        self._confirm = w.Checkbox(description="I have checked the dry run: run it",
                                   indent=False, disabled=True)
        self._run = button("Run", "danger")
        self._run.disabled = True
        self._progress = w.IntProgress(min=0, max=1, value=0, description="progress")
        self._counts = w.HTML()
        self._result = w.HTML()
        self._preview.on_click(lambda _: self.preview())
        self._run.on_click(lambda _: self.run())
        self._confirm.observe(lambda _: self._arm(), names="value")
        super().__init__([self._preview, self._summary, self._plan, self._confirm, self._run,
                          self._progress, self._counts, self._result])

    def preview(self) -> pd.DataFrame:
        """Plan the job (nothing is changed) and show the plan; returns it."""
        self.plan = bulk(self._client, self._action, self._invoices, confirm=False,
                         progress=False, **self._kwargs)
        self._kwargs["job_id"] = self.plan.attrs["job_id"]
        self._plan.value = _table(self.plan, "ppnb-plan")
        plans = self.plan["plan"].value_counts()
        self._summary.value = (
            f'<div class="ppnb-plan-summary">job <code>{html.escape(self.plan.attrs["job_id"])}'
            f"</code>: <b>{plans.get('run', 0)}</b> to run, <b>{plans.get('resume', 0)}</b> to "
            f"resume, <b>{plans.get('skip', 0)}</b> skipped</div>")
        self._confirm.disabled = False
        self._confirm.value = False
        self._arm()
        return self.plan

    def run(self) -> pd.DataFrame | None:
        """Run the previewed job if confirmed; returns the result (None if not armed)."""
        if self.plan is None or not self._confirm.value:
            self._counts.value = "<b>Dry run and confirm first.</b>"
            return None
        self._run.disabled = self._confirm.disabled = True
        self._progress.max, self._progress.value = max(1, len(self.plan)), 0
        try:
            self.result = bulk(self._client, self._action, self._invoices, confirm=True,
                               progress=False, on_update=self._update, **self._kwargs)
        finally:
            self._confirm.value = False
            self._confirm.disabled = False
        self._result.value = _table(self.result, "ppnb-result")
        self._show_counts(self.result.attrs["counts"], done=True)
        return self.result

    def _arm(self) -> None:
        self._run.disabled = self.plan is None or not self._confirm.value

    def _update(self, counts: Mapping[str, int], row: Mapping[str, Any]) -> None:
        self._progress.value += 1
        self._show_counts(counts, done=False)

    def _show_counts(self, counts: Mapping[str, int], *, done: bool) -> None:
        parts = " · ".join(f'{name} <b class="ppnb-{name}">{counts.get(name, 0)}</b>'
                           for name in ("ok", "skipped", "failed"))
        self._counts.value = (f'<div class="ppnb-counts">{"done: " if done else ""}{parts}'
                              "</div>")
