"""Collection charts: KPIs by month and roll rates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ._common import (
    PANEL,
    SMALL,
    Target,
    currencies_of,
    date_axis,
    day_text,
    empty,
    legend_below,
    panels,
    title,
)

_KPI_LINES = (("dso_simple", "DSO (simple)", "-", "tab:blue"),
              ("dso_countback", "DSO (count-back)", "--", "tab:orange"),
              ("best_dso", "best possible DSO", ":", "tab:purple"))


def kpi_trend(kpis: pd.DataFrame, *, ax: Target = None) -> Figure:
    """DSO (simple and count-back), best possible DSO and CEI by month, one panel per currency.

    Days are on the left axis; CEI (percent) on the right. One legend serves every panel,
    below them, so no line is ever covered.

    Parameters
    ----------
    kpis
        ``ppnb.analysis.kpi_series(...)``: one row per currency × period ``end``.
    ax
        Draw into this Axes (one currency) or these Axes (one per currency).
    """
    heading = "Collection KPIs by month"
    if kpis.empty:
        return empty(heading, "No KPI periods to show.", ax)
    ends = pd.to_datetime(kpis["end"])
    span = f"{day_text(ends.min())} to {day_text(ends.max())}"
    currencies = currencies_of(kpis)
    fig, axes, own = panels(ax, len(currencies), what="kpi_trend", height=3.2)
    title(fig, f"{heading}, periods ending {span}", own)
    handles: list[Any] = []
    for panel, currency in zip(axes, currencies, strict=True):
        rows = kpis[kpis["currency"] == currency].assign(end=ends).sort_values("end")
        handles = [panel.plot(rows["end"], rows[column].astype("float64"), style, color=color,
                              marker="o", markersize=3)[0]
                   for column, _, style, color in _KPI_LINES]
        panel.set_ylabel("days")
        date_axis(panel)
        right = panel.twinx()
        handles += right.plot(rows["end"], rows["cei"].astype("float64"), color="tab:green",
                              marker="s", markersize=3)
        right.set_ylabel("CEI (%)")
        right.yaxis.set_major_formatter(PercentFormatter(100))
        right.margins(y=0.2)
        panel.set_title(f"{currency}, periods ending {span}", fontsize=PANEL)
        panel.margins(y=0.2)
    legend_below(fig, axes, handles, [name for _, name, _, _ in _KPI_LINES] + ["CEI"], own)
    return fig


def roll_rate_heatmap(roll: Any, *, ax: Target = None) -> Figure:
    """Month-end to month-end roll rates (share of the amount moving from each bucket to each
    bucket, paid or cancelled), one heatmap per currency.

    Parameters
    ----------
    roll
        ``ppnb.analysis.roll_rates(...)``: its ``rates`` (index currency × from-state,
        columns to-states) are drawn; the dates come from its ``transitions``
        (``from_date``, ``to_date``).
    ax
        Draw into this Axes (one currency) or these Axes (one per currency).
    """
    rates: pd.DataFrame = roll.rates
    span = _roll_span(roll)
    heading = f"Roll rates between month ends{', ' + span if span else ''}"
    if rates.empty:
        return empty(heading, "No transitions between the dates given.", ax)
    currencies = [str(c) for c in rates.index.get_level_values(0).unique()]
    fig, axes, own = panels(ax, len(currencies), what="roll_rate_heatmap", height=3.6,
                            ncols=min(2, len(currencies)))
    title(fig, heading, own)
    for panel, currency in zip(axes, currencies, strict=True):
        block = rates.xs(currency, level=0).astype("float64")
        values = block.to_numpy()
        panel.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            if value and not np.isnan(value):
                panel.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=SMALL,
                           color="white" if value > 0.6 else "black")
        panel.set_xticks(range(values.shape[1]), [str(c) for c in block.columns],
                         fontsize=SMALL, rotation=30)
        panel.set_yticks(range(values.shape[0]), [str(r) for r in block.index], fontsize=SMALL)
        panel.set_xlabel("to (next month end)")
        panel.set_ylabel("from")
        panel.set_title(f"{currency}{', ' + span if span else ''}", fontsize=PANEL)
    return fig


def _roll_span(roll: Any) -> str:
    """The first and last date of a roll-rate analysis, from its transitions."""
    transitions: pd.DataFrame = roll.transitions
    if transitions.empty:
        return ""
    return (f"{day_text(transitions['from_date'].min())} to "
            f"{day_text(transitions['to_date'].max())}")
