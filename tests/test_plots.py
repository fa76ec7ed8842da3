"""ppnb.plots: every chart is a Figure that names its currency and date, draws what the
analysis computed, renders headless, and copes with several currencies and with nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ppnb import plots
from ppnb.analysis import (
    aging,
    aging_series,
    backtest,
    cash_forecast,
    cohort_curves,
    kpi_series,
    month_ends,
    roll_rates,
    worklist,
)
from ppnb.client import Client
from ppnb.emulator import Clock, start
from ppnb.frames import Tables, flatten
from ppnb.money import decimals
from ppnb.pager import fetch_tables
from ppnb.plots._common import plain
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2025, 6, 30)
ENDS = month_ends("2025-01-01", AS_OF)


def demo_book(**params: int) -> Iterator[Tables]:
    """A demo book seeded through a frozen emulator with ``params``."""
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, **params)
            yield fetch_tables(client, progress=False)


@pytest.fixture(scope="module")
def tables() -> Iterator[Tables]:
    """A small demo book (USD and EUR, partial payments, cancellations); small, because each
    panel costs rendering time."""
    yield from demo_book(invoices=150, customers=10, months=6)


def texts(fig: Figure) -> str:
    """Every title, axis label and suptitle of a figure, as one string."""
    parts = [fig.get_suptitle()]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        parts += [t.get_text() for t in ax.texts]
    return "\n".join(parts)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=30)
    return buffer.getvalue()


def visible_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_visible()]


def test_aging_bars_one_panel_per_currency_with_the_bucket_totals(tables: Tables) -> None:
    aged = aging(tables, AS_OF)
    currencies = list(aged.totals["currency"])
    assert len(currencies) >= 2  # the demo book is multi-currency
    fig = plots.aging_bars(aged)
    axes = visible_axes(fig)
    assert len(axes) == len(currencies)
    assert "2025-06-30" in fig.get_suptitle()
    for ax, total in zip(axes, aged.totals.to_dict("records"), strict=True):
        currency = total["currency"]
        assert ax.get_title() == f"{currency}, as of 2025-06-30"
        assert currency in ax.get_ylabel()
        assert [t.get_text() for t in ax.get_xticklabels()] == aged.labels
        # the stacked segments of each bucket add up to that bucket's total
        heights = np.zeros(len(aged.labels))
        for patch in ax.patches:
            heights[round(patch.get_x() + patch.get_width() / 2)] += patch.get_height()
        expected = [total[label] / 10 ** decimals(currency) for label in aged.labels]
        assert heights == pytest.approx(expected)
    assert png(fig).startswith(b"\x89PNG")


def test_aging_heatmap_shows_the_top_customers_in_order(tables: Tables) -> None:
    aged = aging(tables, AS_OF)
    fig = plots.aging_heatmap(aged, top=3)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == aged.totals["currency"].nunique()
    usd = next(ax for ax in images if ax.get_title().startswith("USD"))
    assert "2025-06-30" in usd.get_title()
    biggest = aged.summary[aged.summary["currency"] == "USD"].nlargest(3, "total")
    names = [plain(plots.group_label(row, aged.by), 32) for _, row in biggest.iterrows()]
    assert [t.get_text() for t in usd.get_yticklabels()] == names
    assert usd.images[0].get_array().shape == (3, len(aged.labels))
    assert png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="top"):
        plots.aging_heatmap(aged, top=0)


def test_aging_trend_stacks_the_series_per_currency(tables: Tables) -> None:
    series = aging_series(tables, ENDS)
    fig = plots.aging_trend(series)
    axes = visible_axes(fig)
    assert len(axes) == series["currency"].nunique()
    assert "2025-01-31 to 2025-06-30" in fig.get_suptitle()
    last = aging(tables, ENDS[-1]).totals.set_index("currency")
    for ax in axes:
        currency = ax.get_title().split(",")[0]
        assert currency in ax.get_ylabel()
        # the top of the stack at the last date is that date's total outstanding
        tops = [poly.get_paths()[0].vertices[:, 1].max() for poly in ax.collections]
        total = last.loc[currency, "total"] / 10 ** decimals(currency) \
            if currency in last.index else 0.0
        assert max(tops) >= total - 1e-6
    assert png(fig).startswith(b"\x89PNG")


def test_kpi_trend_draws_dso_best_dso_and_cei(tables: Tables) -> None:
    series = kpi_series(tables, ENDS)
    fig = plots.kpi_trend(series)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert {ax.get_title().split(",")[0] for ax in titled} == set(series["currency"])
    assert all("2025-06-30" in ax.get_title() for ax in titled)
    [legend] = fig.legends  # one legend for every panel, below them
    assert [t.get_text() for t in legend.get_texts()] == [
        "DSO (simple)", "DSO (count-back)", "best possible DSO", "CEI"]
    usd = next(ax for ax in titled if ax.get_title().startswith("USD"))
    rows = series[series["currency"] == "USD"].sort_values("end")
    assert usd.get_lines()[0].get_ydata() == pytest.approx(
        rows["dso_simple"].to_numpy(float), nan_ok=True)
    assert png(fig).startswith(b"\x89PNG")


def test_roll_rate_heatmap_prints_the_rates(tables: Tables) -> None:
    roll = roll_rates(tables, ENDS)
    fig = plots.roll_rate_heatmap(roll)
    axes = visible_axes(fig)
    assert len(axes) == roll.rates.index.get_level_values(0).nunique()
    usd = next(ax for ax in axes if ax.get_title().startswith("USD"))
    assert "2025-01-31 to 2025-06-30" in usd.get_title()
    assert [t.get_text() for t in usd.get_xticklabels()] == list(roll.rates.columns)
    rate = roll.rates.loc[("USD", "current"), "paid"]
    assert f"{rate:.0%}" in [t.get_text() for t in usd.texts]
    assert png(fig).startswith(b"\x89PNG")


def test_cohort_curves_two_panels_per_currency(tables: Tables) -> None:
    curves = cohort_curves(tables, AS_OF)
    fig = plots.cohort_curves(curves, as_of=AS_OF)
    currencies = sorted(curves["currency"].unique())
    assert len(fig.axes) == 2 * len(currencies)
    titles = [ax.get_title() for ax in fig.axes]
    for currency in currencies:
        assert f"{currency}: amount collected, as of 2025-06-30" in titles
        assert f"{currency}: invoices fully paid, as of 2025-06-30" in titles
    share = fig.axes[0]
    cohorts = curves[curves["currency"] == currencies[0]]["cohort"].nunique()
    assert len({line.get_label() for line in share.get_lines()}) == cohorts
    assert png(fig).startswith(b"\x89PNG")


def test_empty_inputs_give_a_figure_that_says_so() -> None:
    empty = flatten([])
    figures = [
        plots.aging_bars(aging(empty, AS_OF)),
        plots.aging_heatmap(aging(empty, AS_OF)),
        plots.aging_trend(aging_series(empty, ENDS)),
        plots.kpi_trend(kpi_series(empty, ENDS)),
        plots.roll_rate_heatmap(roll_rates(empty, ENDS)),
        plots.cohort_curves(cohort_curves(empty, AS_OF), as_of=AS_OF),
        plots.forecast_fan(cash_forecast(empty, AS_OF)),
        plots.worklist_bars(worklist(empty, AS_OF)),
        plots.predicted_vs_actual(backtest(empty, AS_OF)),
    ]
    for fig in figures:
        message = texts(fig)
        assert "Nothing outstanding" in message or "No " in message, message
        assert png(fig).startswith(b"\x89PNG")
    assert "2025-06-30" in texts(figures[0])


def test_charts_render_in_threads_without_pyplot(tables: Tables) -> None:
    aged = aging(tables, AS_OF)
    with ThreadPoolExecutor(2) as pool:
        images = list(pool.map(lambda _: png(plots.aging_bars(aged)), range(2)))
    assert images[0] == images[1]
    code = "import sys, ppnb.plots; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_forecast_fan_weekly_band_and_cumulative_fan(tables: Tables) -> None:
    forecast = cash_forecast(tables, AS_OF)
    currencies = sorted(forecast["currency"].unique())
    fig = plots.forecast_fan(forecast)
    assert len(fig.axes) == 2 * len(currencies)
    assert "as of 2025-06-30" in fig.get_suptitle()
    for (weekly, fan), currency in zip(np.reshape(fig.axes, (-1, 2)), currencies,
                                       strict=True):
        rows = forecast[forecast["currency"] == currency].sort_values("week")
        scale = 10 ** decimals(currency)
        assert weekly.get_title() == f"{currency}: collections per week as of 2025-06-30"
        assert fan.get_title() == f"{currency}: cumulative collections as of 2025-06-30"
        assert weekly.get_ylabel() == fan.get_ylabel() == currency
        heights = [patch.get_height() for patch in weekly.patches]
        assert heights == pytest.approx(list(rows["expected_minor"] / scale))
        line = fan.get_lines()[0].get_ydata()
        assert line == pytest.approx(list(rows["cumulative_minor"] / scale))
        band = fan.collections[0].get_paths()[0].vertices[:, 1]
        assert band.max() == pytest.approx(rows["cumulative_high_minor"].max() / scale)
    assert png(fig).startswith(b"\x89PNG")


def test_predicted_vs_actual_from_a_backtest(tables: Tables) -> None:
    result = backtest(tables, "2025-04-30")
    fig = plots.predicted_vs_actual(result)
    assert fig.get_suptitle() == ("Predicted vs actual payment dates, predicted on 2025-04-30, "
                                  f"paid by {result.attrs['until']}")
    [ax] = fig.axes
    paid = result["actual_date"].notna()
    dated = paid & result["expected_date"].notna()
    assert ax.get_title().startswith(f"{paid.sum()} paid: MAE {result.attrs['mae']:.1f} days")
    assert f"{result.attrs['coverage']:.0%} inside the 80% interval" in ax.get_title()
    drawn = sum(len(c.get_offsets()) for c in ax.collections[1:3])  # inside, outside
    assert drawn == dated.sum()
    assert "2025-04-30" in ax.get_xlabel() and "2025-04-30" in ax.get_ylabel()
    assert png(fig).startswith(b"\x89PNG")


def test_worklist_bars_the_most_urgent_per_currency(tables: Tables) -> None:
    work = worklist(tables, AS_OF)
    fig = plots.worklist_bars(work, top=3)
    currencies = sorted(work["currency"].unique())
    assert len(fig.axes) == len(currencies)
    assert "as of 2025-06-30" in fig.get_suptitle()
    for ax, currency in zip(fig.axes, currencies, strict=True):
        top = work[work["currency"] == currency].nlargest(3, "cost_minor")
        assert ax.get_title() == f"{currency}: top {len(top)} as of 2025-06-30"
        assert currency in ax.get_xlabel()
        ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
        assert [t.get_text().split()[0] for t in ticks] == list(top["number"])  # top first
        costs = [p.get_width() for p in ax.patches[len(top):]]
        assert costs == pytest.approx(list(top["cost_minor"] / 10 ** decimals(currency)))
        assert [t.get_text() for t in ax.texts] == [f"{r:.0%}" for r in top["risk"]]
    assert png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="top"):
        plots.worklist_bars(work, top=0)


# --- nothing covers the data, nothing is too small to read ------------------------------------


@pytest.fixture(scope="module")
def four() -> Iterator[Tables]:
    """A demo book in USD, EUR, GBP and JPY over twelve months: the book whose USD 91+ bar
    and JPY CEI line the legends used to cover."""
    yield from demo_book(invoices=250, customers=20, months=12)


def every_chart(tables: Tables) -> dict[str, Figure]:
    """One figure of every plot function over ``tables``."""
    ends = month_ends("2024-07-01", AS_OF)
    aged = aging(tables, AS_OF)
    return {
        "aging_bars": plots.aging_bars(aged),
        "aging_heatmap": plots.aging_heatmap(aged),
        "aging_trend": plots.aging_trend(aging_series(tables, ends)),
        "kpi_trend": plots.kpi_trend(kpi_series(tables, ends)),
        "roll_rate_heatmap": plots.roll_rate_heatmap(roll_rates(tables, ends)),
        "cohort_curves": plots.cohort_curves(cohort_curves(tables, AS_OF), as_of=AS_OF),
        "forecast_fan": plots.forecast_fan(cash_forecast(tables, AS_OF)),
        "predicted_vs_actual": plots.predicted_vs_actual(backtest(tables, "2025-04-30")),
        "worklist_bars": plots.worklist_bars(worklist(tables, AS_OF), top=8),
    }


@pytest.fixture(scope="module")
def charts(four: Tables) -> dict[str, Figure]:
    figures = every_chart(four)
    assert set(figures) == set(plots.__all__) - {"bucket_colors", "bucket_columns",
                                                 "group_label"}  # every plot function
    return figures


def drawn(fig: Figure) -> Any:
    """Lay the figure out and draw it; returns the renderer its boxes are measured with."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def overlap(a: Bbox, b: Bbox) -> bool:
    """Whether two boxes share more than an edge (half a pixel of slack)."""
    return (a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5
            and b.y0 < a.y1 - 0.5)


def covered(fig: Figure) -> list[str]:
    """Everything a legend of ``fig`` covers: a panel, a bar, a point of a line, a label, or
    another legend; and any legend that does not fit in the figure."""
    renderer = drawn(fig)
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    found = []
    for k, legend in enumerate(legends):
        box = legend.get_window_extent(renderer)
        if not fig.bbox.contains(box.x0, box.y0) or not fig.bbox.contains(box.x1, box.y1):
            found.append(f"legend {k} is cut off by the figure's edge")
        found += [f"legend {k} overlaps legend {j}" for j, other in enumerate(legends)
                  if j != k and overlap(box, other.get_window_extent(renderer))]
        for ax in (a for a in fig.axes if a.get_visible()):
            name = ax.get_title() or ax.get_ylabel()
            if overlap(box, ax.get_window_extent(renderer)):
                found.append(f"legend {k} lies on the panel {name!r}")
            found += [f"legend {k} covers a bar of {name!r}" for patch in ax.patches
                      if overlap(box, patch.get_window_extent(renderer))]
            found += [f"legend {k} covers the label {text.get_text()!r} in {name!r}"
                      for text in ax.texts if overlap(box, text.get_window_extent(renderer))]
            for line in ax.get_lines():
                points = line.get_transform().transform(np.asarray(line.get_xydata(), float))
                points = points[np.isfinite(points).all(axis=1)]
                if any(box.contains(x, y) for x, y in points):
                    found.append(f"legend {k} covers the line {line.get_label()!r} of {name!r}")
    return found


def test_no_legend_covers_any_data(charts: dict[str, Figure]) -> None:
    for name, fig in charts.items():
        assert covered(fig) == [], name
    # the two the issue saw covered: the USD 91+ bar with its label, the JPY CEI line
    bars = charts["aging_bars"]
    renderer = drawn(bars)
    usd = next(ax for ax in bars.axes if ax.get_title().startswith("USD"))
    legend = usd.get_legend().get_window_extent(renderer)
    last = len(usd.get_xticks()) - 1  # the 91+ bucket
    old = [p for p in usd.patches if round(p.get_x() + p.get_width() / 2) == last]
    label = usd.texts[last]  # the totals are annotated bucket by bucket
    assert old and label.get_text()
    assert not any(overlap(legend, p.get_window_extent(renderer)) for p in old)
    assert not overlap(legend, label.get_window_extent(renderer))
    kpi = charts["kpi_trend"]
    renderer = drawn(kpi)
    jpy = next(ax for ax in kpi.axes if ax.get_title().startswith("JPY"))
    [cei] = next(ax for ax in kpi.axes if ax is not jpy
                 and ax.get_position().bounds == jpy.get_position().bounds).get_lines()
    points = cei.get_transform().transform(np.asarray(cei.get_xydata(), float))
    [shared] = kpi.legends
    box = shared.get_window_extent(renderer)
    assert len(points) > 1 and not any(box.contains(x, y) for x, y in points)


def test_the_legend_check_sees_a_legend_on_the_data() -> None:
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.bar([0, 1, 2], [1, 2, 3], label="bars")
    ax.legend(loc="upper right")  # on the tallest bar
    assert any("covers a bar" in problem for problem in covered(fig))


def test_no_text_is_smaller_than_9_points(charts: dict[str, Figure]) -> None:
    for name, fig in charts.items():
        drawn(fig)
        small = {(text.get_text(), text.get_fontsize()) for text in fig.findobj(Text)
                 if text.get_visible() and text.get_text().strip() and text.get_fontsize() < 9}
        assert small == set(), name


# --- cohort curves: steps that stop at the data -----------------------------------------------


def curve_lines(ax: Any) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per cohort label: its curve's line parts and its end dot."""
    found: dict[str, tuple[list[Any], list[Any]]] = {}
    for line in ax.get_lines():
        parts, dots = found.setdefault(line.get_label(), ([], []))
        (dots if line.get_linestyle() == "None" else parts).append(line)
    return found


def check_cohort_chart(fig: Figure, curves: Any) -> None:
    currencies = sorted(curves["currency"].unique())
    assert len(fig.axes) == 2 * len(currencies)
    for i, currency in enumerate(currencies):
        rows = curves[curves["currency"] == currency]
        for ax, column, risk in zip(fig.axes[2 * i:2 * i + 2], ("collected_share", "km_paid"),
                                    ("at_risk_minor", "at_risk"), strict=True):
            assert not ax.collections and not ax.patches  # nothing filled in
            lines = curve_lines(ax)
            for cohort, one in rows.groupby("cohort"):
                seen = one[one[column].notna()].sort_values("days")
                if seen.empty:
                    continue
                parts, [dot] = lines[plain(cohort)]
                last_x = max(float(np.nanmax(p.get_xdata())) for p in parts) if parts \
                    else float(dot.get_xdata()[0])
                assert last_x == seen["days"].iloc[-1], (currency, cohort, column)
                assert (dot.get_xdata()[0], dot.get_ydata()[0]) == (
                    seen["days"].iloc[-1], pytest.approx(seen[column].iloc[-1]))
                ratio = dict(zip(seen["days"], seen[risk] / seen[risk].iloc[0], strict=True))
                for part in parts:
                    assert part.get_drawstyle() == "steps-post"
                    xs = list(part.get_xdata())
                    if part.get_linestyle() == "-":  # solid: enough still at risk
                        assert all(ratio[x] >= 0.1 for x in xs[:-1]), (cohort, column)
                    else:  # thin and dashed: under a tenth of day 0 still observed
                        assert all(ratio[x] < 0.1 for x in xs), (cohort, column)


def test_cohort_curves_stop_where_each_cohort_stops(four: Tables) -> None:
    curves = cohort_curves(four, AS_OF)
    assert curves["collected_share"].isna().any()  # some cohorts do stop early
    fig = plots.cohort_curves(curves, as_of=AS_OF)
    check_cohort_chart(fig, curves)
    assert covered(fig) == []


def twenty_cohorts() -> Any:
    """Twenty monthly cohorts observed for shorter and shorter spans, with NaN tails."""
    import pandas as pd

    rng = np.random.default_rng(7)
    rows = []
    for k in range(20):
        cohort = f"2023-{k % 12 + 1:02d}" if k < 12 else f"2024-{k - 11:02d}"
        observed = 180 - 9 * k
        share = np.minimum(np.cumsum(rng.uniform(0, 0.02, 181)), 1.0)
        paid = np.minimum(np.cumsum(rng.uniform(0, 0.015, 181)), 1.0)
        risk = np.linspace(10_000_00, 5_00, 181).astype(np.int64)
        for day in range(181):
            gone = day > observed
            rows.append({"cohort": cohort, "currency": "USD", "days": day,
                         "collected_share": np.nan if gone else share[day],
                         "km_paid": np.nan if gone else paid[day],
                         "at_risk": 0 if gone else 40 - day // 5,
                         "at_risk_minor": 0 if gone else int(risk[day]), "n": 40})
    return pd.DataFrame(rows)


def test_twenty_cohorts_stay_readable() -> None:
    curves = twenty_cohorts()
    fig = plots.cohort_curves(curves, as_of=AS_OF)
    check_cohort_chart(fig, curves)
    legend = fig.axes[1].get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert names[:4] == ["2024-05", "2024-06", "2024-07", "2024-08"]  # the latest four
    assert "other cohorts" in names and len(names) <= 7
    assert covered(fig) == []
    coloured = {line.get_label() for line in fig.axes[0].get_lines()
                if to_hex(line.get_color()) != to_hex("0.78")}
    assert coloured == {"2024-05", "2024-06", "2024-07", "2024-08"}
    chosen = plots.cohort_curves(curves, highlight=["2023-01"])
    assert chosen.axes[1].get_legend().get_texts()[0].get_text() == "2023-01"
    with pytest.raises(ValueError, match="not cohorts"):
        plots.cohort_curves(curves, highlight=["1999-01"])


# --- ax= ------------------------------------------------------------------------------------


def test_plots_draw_into_the_axes_they_are_given(tables: Tables) -> None:
    aged = aging(tables, AS_OF)  # USD and EUR
    usd_only = dataclasses.replace(aged, summary=aged.summary[aged.summary["currency"] == "USD"],
                                   totals=aged.totals[aged.totals["currency"] == "USD"])
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    assert plots.aging_bars(usd_only, ax=ax) is fig
    assert ax.get_title() == "USD, as of 2025-06-30" and len(ax.patches) > 0
    assert fig.get_suptitle() == ""  # the caller's figure keeps its own title
    with pytest.raises(ValueError, match="aging_bars draws 2 panels here"):
        plots.aging_bars(aged, ax=Figure().subplots())
    many = Figure(figsize=(10, 8))
    axes = many.subplots(2, 1)
    assert plots.aging_heatmap(aged, ax=axes) is many
    assert [a.get_title().split(":")[0] for a in axes] == ["EUR", "USD"]
    pairs = Figure(figsize=(10, 8)).subplots(2, 2).ravel()
    curves = cohort_curves(tables, AS_OF)
    plots.cohort_curves(curves, as_of=AS_OF, ax=pairs)
    assert pairs[3].get_title().startswith("USD: invoices fully paid")
    single = Figure().subplots()
    plots.predicted_vs_actual(backtest(tables, "2025-04-30"), ax=single)
    assert single.get_title().startswith("Predicted vs actual payment dates, predicted on")
