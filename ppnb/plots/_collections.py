"""Collection charts: KPIs by month, roll rates, cohort curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ._common import WIDTH, _currencies, _date_axis, _day, _empty, _figure


def kpi_trend(kpis: pd.DataFrame) -> Figure:
    """DSO (simple and count-back), best possible DSO and CEI by month, one panel per currency.

    Days are on the left axis; CEI (percent) on the right.

    Parameters
    ----------
    kpis
        ``ppnb.analysis.kpi_series(...)``: one row per currency × period ``end``.
    """
    title = "Collection KPIs by month"
    if kpis.empty:
        return _empty(title, "No KPI periods to show.")
    ends = pd.to_datetime(kpis["end"])
    span = f"{_day(ends.min())} to {_day(ends.max())}"
    currencies = _currencies(kpis)
    fig, axes = _figure(len(currencies), height=3.4)
    fig.suptitle(f"{title}, periods ending {span}", fontsize=13)
    lines = (("dso_simple", "DSO (simple)", "-", "tab:blue"),
             ("dso_countback", "DSO (count-back)", "--", "tab:orange"),
             ("best_dso", "best possible DSO", ":", "tab:purple"))
    for ax, currency in zip(axes, currencies, strict=True):
        rows = kpis[kpis["currency"] == currency].assign(end=ends).sort_values("end")
        for column, name, style, color in lines:
            ax.plot(rows["end"], rows[column].astype("float64"), style, color=color,
                    marker="o", markersize=3, label=name)
        ax.set_ylabel("days")
        _date_axis(ax)
        right = ax.twinx()
        right.plot(rows["end"], rows["cei"].astype("float64"), color="tab:green", marker="s",
                   markersize=3, label="CEI")
        right.set_ylabel("CEI (%)")
        right.yaxis.set_major_formatter(PercentFormatter(100))
        handles, names = ax.get_legend_handles_labels()
        more, more_names = right.get_legend_handles_labels()
        ax.legend(handles + more, names + more_names, fontsize=8, loc="upper left",
                  ncols=4, frameon=False)
        ax.set_title(f"{currency}, periods ending {span}", fontsize=11)
        ax.margins(y=0.2)
    return fig


def roll_rate_heatmap(roll: Any) -> Figure:
    """Month-end to month-end roll rates (share of the amount moving from each bucket to each
    bucket, paid or cancelled), one heatmap per currency.

    Parameters
    ----------
    roll
        ``ppnb.analysis.roll_rates(...)``: its ``rates`` (index currency × from-state,
        columns to-states) are drawn; the dates come from its ``transitions``
        (``from_date``, ``to_date``).
    """
    rates: pd.DataFrame = roll.rates
    span = _roll_span(roll)
    title = f"Roll rates between month ends{', ' + span if span else ''}"
    if rates.empty:
        return _empty(title, "No transitions between the dates given.")
    currencies = [str(c) for c in rates.index.get_level_values(0).unique()]
    fig, axes = _figure(len(currencies), height=3.6, ncols=min(2, len(currencies)))
    fig.suptitle(title, fontsize=13)
    for ax, currency in zip(axes, currencies, strict=True):
        block = rates.xs(currency, level=0).astype("float64")
        values = block.to_numpy()
        ax.imshow(values, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            if value and not np.isnan(value):
                ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if value > 0.6 else "black")
        ax.set_xticks(range(values.shape[1]), [str(c) for c in block.columns], fontsize=8,
                      rotation=30)
        ax.set_yticks(range(values.shape[0]), [str(r) for r in block.index], fontsize=8)
        ax.set_xlabel("to (next month end)")
        ax.set_ylabel("from")
        ax.set_title(f"{currency}{', ' + span if span else ''}", fontsize=11)
    return fig


def _roll_span(roll: Any) -> str:
    """The first and last date of a roll-rate analysis, from its transitions."""
    transitions: pd.DataFrame = roll.transitions
    if transitions.empty:
        return ""
    return f"{_day(transitions['from_date'].min())} to {_day(transitions['to_date'].max())}"


def cohort_curves(curves: pd.DataFrame, *, as_of: Any = None) -> Figure:
    """Collection curves by invoice cohort: the share of the amount collected (left) and the
    Kaplan–Meier probability that an invoice is paid (right), by days since issue.

    Parameters
    ----------
    curves
        ``ppnb.analysis.cohort_curves(...)``: long, one row per cohort × day. With a
        ``currency`` column, each currency gets its own row of panels.
    as_of
        The as-of date to print; default ``curves.attrs["as_of"]`` when present.
    """
    as_of = as_of if as_of is not None else curves.attrs.get("as_of")
    when = f", as of {_day(as_of)}" if as_of is not None else ""
    title = f"Collection curves by invoice cohort{when}"
    if curves.empty:
        return _empty(title, "No invoices in any cohort.")
    currencies = _currencies(curves) if "currency" in curves.columns else [None]
    fig = Figure(figsize=(WIDTH, 3.8 * len(currencies)), layout="constrained")
    grid = fig.subplots(len(currencies), 2, squeeze=False)
    fig.suptitle(title, fontsize=13)
    for (share_ax, km_ax), currency in zip(grid, currencies, strict=True):
        rows = curves if currency is None else curves[curves["currency"] == currency]
        cohorts = sorted(rows["cohort"].astype(str).unique())
        colors = colormaps["viridis"](np.linspace(0, 0.9, len(cohorts)))
        for cohort, color in zip(cohorts, colors, strict=True):
            one = rows[rows["cohort"].astype(str) == cohort].sort_values("days")
            share_ax.plot(one["days"], one["collected_share"].astype("float64"), color=color,
                          label=cohort)
            km_ax.step(one["days"], one["km_paid"].astype("float64"), where="post",
                       color=color, label=cohort)
        prefix = f"{currency}: " if currency else ""
        share_ax.set_title(f"{prefix}share of amount collected{when}", fontsize=11)
        km_ax.set_title(f"{prefix}invoices paid (Kaplan–Meier){when}", fontsize=11)
        for ax in (share_ax, km_ax):
            ax.set_xlabel("days since invoice date")
            ax.yaxis.set_major_formatter(PercentFormatter(1))
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
        km_ax.legend(fontsize=7, loc="lower right", ncols=2 if len(cohorts) > 8 else 1,
                     frameon=False, title="cohort", title_fontsize=7)
    return fig
