"""Cohort collection curves, drawn only as far as each cohort has been observed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from ._common import (
    PANEL,
    Target,
    currencies_of,
    day_text,
    empty,
    legend_beside,
    panels,
    plain,
    title,
)

#: (estimate, what is at risk behind it, panel title, axis label)
_METRICS = (("collected_share", "at_risk_minor", "amount collected",
             "share of the amount collected"),
            ("km_paid", "at_risk", "invoices fully paid", "invoices paid (Kaplan–Meier)"))
#: Below this share of day 0's amount (or invoices) still at risk, a curve rests on few
#: invoices: it is drawn thin and dashed.
THIN = 0.10
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_GREY = "0.78"
_THIN_STYLE = (0, (3, 2))


def cohort_curves(curves: pd.DataFrame, *, as_of: Any = None,
                  highlight: int | Sequence[str] = 4, ax: Target = None) -> Figure:
    """Collection curves by invoice cohort, per currency: the share of the amount collected
    (left) and the share of invoices fully paid (right), by days since issue.

    Both are Kaplan–Meier estimates (:func:`ppnb.analysis.cohort_curves`), drawn as steps
    that stop where the cohort's observation stops, with a dot on each curve's last point:
    nothing is filled in or carried on past the data. Where less than 10% of the cohort's
    day-0 amount (right: invoices) is still observed, the curve rests on few invoices and is
    drawn thin and dashed. Every cohort is drawn in light grey for context; the
    ``highlight`` ones in colour, named in a legend beside the panels, so the chart stays
    readable with twenty cohorts.

    Parameters
    ----------
    curves
        ``ppnb.analysis.cohort_curves(...)``: long, one row per cohort × day, NaN where a
        cohort is no longer observed. With a ``currency`` column, each currency gets its
        own row of panels.
    as_of
        The as-of date to print; default ``curves.attrs["as_of"]`` when present.
    highlight
        The cohorts drawn in colour: a number (month cohorts: the latest that many; other
        cohorts: the largest by amount billed), or their labels.
    ax
        Draw into these Axes instead of a new figure: two per currency, in order (the
        share collected, then invoices paid).

    Raises
    ------
    ValueError
        For a negative ``highlight`` or labels that are not cohorts of ``curves``.
    """
    as_of = as_of if as_of is not None else curves.attrs.get("as_of")
    when = f", as of {day_text(as_of)}" if as_of is not None else ""
    heading = f"Collection curves by invoice cohort{when}"
    _check(curves, highlight)
    if curves.empty:
        return empty(heading, "No invoices in any cohort.", ax)
    currencies: list[str | None] = list(currencies_of(curves)) \
        if "currency" in curves.columns else [None]
    fig, axes, own = panels(ax, 2 * len(currencies), what="cohort_curves", height=3.6,
                            ncols=2)
    title(fig, heading, own)
    for row, currency in enumerate(currencies):
        rows = curves if currency is None else curves[curves["currency"] == currency]
        groups = {str(k): g.sort_values("days") for k, g in rows.groupby("cohort")}
        chosen = _highlighted(groups, highlight)
        colors = dict(zip(chosen, colormaps["tab10"](np.arange(len(chosen)) % 10),
                          strict=True))
        pair = axes[2 * row:2 * row + 2]
        thin = False
        for panel, (column, risk, name, axis) in zip(pair, _METRICS, strict=True):
            for cohort in sorted(groups, key=lambda c: c in colors):  # colour on top
                thin |= _curve(panel, groups[cohort], cohort, column, risk, colors.get(cohort))
            prefix = f"{currency}: " if currency else ""
            panel.set_title(f"{prefix}{name}{when}", fontsize=PANEL)
            panel.set_xlabel("days since invoice date")
            panel.set_ylabel(axis)
            panel.yaxis.set_major_formatter(PercentFormatter(1))
            panel.set_ylim(0, 1.02)
            panel.set_xlim(left=0)
            panel.grid(alpha=0.3)
        _legend(pair[1], colors, others=len(groups) > len(colors), thin=thin)
    return fig


def _check(curves: pd.DataFrame, highlight: int | Sequence[str]) -> None:
    if isinstance(highlight, int) and not isinstance(highlight, bool):
        if highlight < 0:
            raise ValueError(f"highlight must be 0 or more cohorts, got {highlight}")
        return
    if isinstance(highlight, str):
        raise ValueError("highlight takes a number or a list of cohort labels, not a string")
    known = set(curves["cohort"].astype(str)) if len(curves) else set()
    unknown = sorted(set(map(str, highlight)) - known)
    if unknown:
        raise ValueError(f"highlight: {unknown} are not cohorts of these curves")


def _highlighted(groups: dict[str, pd.DataFrame], highlight: int | Sequence[str]) -> list[str]:
    """The cohorts to draw in colour, in label order."""
    cohorts = sorted(groups)
    if not isinstance(highlight, int):
        wanted = set(map(str, highlight))
        return [c for c in cohorts if c in wanted]
    if highlight == 0:
        return []
    if all(_MONTH.match(c) for c in cohorts):
        return cohorts[-highlight:]
    billed = {c: int(g["at_risk_minor"].iloc[0]) for c, g in groups.items()}
    return sorted(sorted(cohorts, key=lambda c: -billed[c])[:highlight])


def _curve(ax: Axes, one: pd.DataFrame, cohort: str, column: str, risk: str,
           color: Any) -> bool:
    """One cohort's curve as steps up to its last observed day, then a dot; returns whether
    part of it is drawn thin (little still at risk)."""
    seen = one[one[column].notna()]
    if seen.empty:
        return False
    days = seen["days"].to_numpy(np.float64)
    values = seen[column].to_numpy(np.float64)
    at_risk = seen[risk].to_numpy(np.float64)
    start = at_risk[0]
    few = at_risk < THIN * start if start > 0 else np.zeros(len(seen), bool)
    cut = int(np.argmax(few)) if few.any() else len(seen)
    grey = color is None
    style = {"color": _GREY if grey else color, "drawstyle": "steps-post",
             "zorder": 1 if grey else 3, "label": plain(cohort)}
    width = 0.9 if grey else 1.8
    if cut > 0:  # the solid part runs into the first thin point, so the two join
        ax.plot(days[:cut + 1], values[:cut + 1], linewidth=width, **style)
    if cut < len(seen):
        ax.plot(days[cut:], values[cut:], linewidth=width * 0.6, linestyle=_THIN_STYLE,
                **style)
    ax.plot(days[-1:], values[-1:], linestyle="none", marker="o",
            markersize=2.5 if grey else 4.5, color=style["color"], zorder=style["zorder"],
            label=plain(cohort))
    return cut < len(seen)


def _legend(ax: Axes, colors: dict[str, Any], *, others: bool, thin: bool) -> None:
    handles: list[Any] = [Line2D([], [], color=c, linewidth=1.8) for c in colors.values()]
    labels = [plain(c, 24) for c in colors]
    if others:
        handles.append(Line2D([], [], color=_GREY, linewidth=0.9))
        labels.append("other cohorts")
    if thin:
        handles.append(Line2D([], [], color="0.3", linewidth=1.0, linestyle=_THIN_STYLE))
        labels.append(f"under {THIN:.0%} of day 0\nstill observed")
    handles.append(Line2D([], [], color="0.3", linestyle="none", marker="o", markersize=4.5))
    labels.append("last day observed")
    legend_beside(ax, handles, labels, title="cohort")
