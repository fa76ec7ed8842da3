"""Charts of the receivables analysis, as matplotlib Figures.

Every function takes a result of :mod:`ppnb.analysis` and returns a
:class:`matplotlib.figure.Figure` built with the object API (no ``pyplot`` state), so the
charts work headless, in threads and in reports as well as in a notebook, where a Figure
displays itself. Each figure is 10 inches wide (a notebook's width, and a report page's),
names the currency and the as-of date (or the span of dates) it shows, and draws **one panel
per currency**: amounts in different currencies are never added or put on one axis.

What a chart shows is never covered by it: legends sit outside the panels (beside them, or
one below them all), and no text is smaller than 9 pt, so a chart printed at its size reads.
Names from the data (customers, cohorts) are drawn as plain text: control and right-to-left
characters shown as escapes, long names cut, and ``$`` never read as mathtext.

Every function takes ``ax=``: an Axes (for one currency) or a sequence of Axes (one per
panel) to draw into instead of a new figure; the figure holding them is returned.

Amounts arrive as int64 minor units; they become floats here only to be drawn. An input
with nothing to show gives a figure that says so instead of raising.
"""

from __future__ import annotations

from .._extras import require

require("reports", "ppnb.plots")  # matplotlib: one line naming the extra if it is missing

from ._aging import aging_bars, aging_heatmap, aging_trend  # noqa: E402
from ._cohorts import cohort_curves  # noqa: E402
from ._collections import kpi_trend, roll_rate_heatmap  # noqa: E402
from ._common import bucket_colors, bucket_columns, group_label  # noqa: E402
from ._intelligence import forecast_fan, predicted_vs_actual, worklist_bars  # noqa: E402

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
