"""Charts of the receivables analysis, as matplotlib Figures.

Every function takes a result of :mod:`ppnb.analysis` and returns a
:class:`matplotlib.figure.Figure` built with the object API (no ``pyplot`` state), so the
charts work headless, in threads and in reports as well as in a notebook, where a Figure
displays itself. Each figure is about 10 inches wide (a notebook's width), names the
currency and the as-of date (or the span of dates) it shows, and draws **one panel per
currency**: amounts in different currencies are never added or put on one axis.

Amounts arrive as int64 minor units; they become floats here only to be drawn. An input
with nothing to show gives a figure that says so instead of raising.
"""

from __future__ import annotations

from ._aging import aging_bars, aging_heatmap, aging_trend
from ._collections import cohort_curves, kpi_trend, roll_rate_heatmap
from ._common import bucket_colors, bucket_columns, group_label
from ._intelligence import forecast_fan, predicted_vs_actual, worklist_bars

__all__ = [
    "aging_bars",
    "aging_heatmap",
    "aging_trend",
    "bucket_colors",
    "bucket_columns",
    "cohort_curves",
    "forecast_fan",
    "group_label",
    "kpi_trend",
    "predicted_vs_actual",
    "roll_rate_heatmap",
    "worklist_bars",
]
