"""ppnb.plots: every chart is a Figure that names its currency and date, draws what the
analysis computed, renders headless, and copes with several currencies and with nothing."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib.figure import Figure

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
from ppnb.seed import seed_demo

NOW = dt.datetime(2025, 6, 30, 9, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2025, 6, 30)
ENDS = month_ends("2025-01-01", AS_OF)


@pytest.fixture(scope="module")
def tables() -> Iterator[Tables]:
    """A small demo book (USD and EUR, partial payments, cancellations); small, because each
    panel costs rendering time."""
    with start(clock=Clock(NOW, frozen=True)) as running:
        cred = running.credentials
        with Client(running.base_url, cred.client_id, cred.client_secret) as client:
            seed_demo(client, invoices=150, customers=10, months=6)
            yield fetch_tables(client, progress=False)


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
    names = [plots.group_label(row, aged.by)[:32] for _, row in biggest.iterrows()]
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
    legend = [t.get_text() for t in titled[0].get_legend().get_texts()]
    assert legend == ["DSO (simple)", "DSO (count-back)", "best possible DSO", "CEI"]
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
        assert f"{currency}: share of amount collected, as of 2025-06-30" in titles
        assert f"{currency}: invoices paid (Kaplan–Meier), as of 2025-06-30" in titles
    share = fig.axes[0]
    cohorts = curves[curves["currency"] == currencies[0]]["cohort"].nunique()
    assert len(share.get_lines()) == cohorts
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
