"""The report's charts, drawn with matplotlib as `Figure` objects.

No pyplot: each chart is its own `Figure`, so drawing is free of global state. The report
embeds them as inline SVG (`to_svg`), which keeps it one self-contained file that opens
offline, with sharp text at any zoom; in a notebook the same figures come back as
`Figure` objects (``summary.figure("equity")``, `run_figures`).
"""

from __future__ import annotations

import io
import itertools
import re

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tradenn import stats
from tradenn.report.analysis import BENCHMARK, MAIN, RunAnalysis, label

WIDTH = 11.0  # inches; the page scales the SVG to its column
STRATEGY_COLORS = {MAIN: "#1f5fbf", "no_regime": "#e07b00", "shuffled_regime": "#8c6bb1",
                   "regime_input": "#2a9d8f", "film": "#c0392b", "tsmom": "#6b8e23",
                   "macd": "#a0522d", BENCHMARK: "#4d4d4d"}
EXTRA_COLORS = ["#7f8c8d", "#b8860b", "#16a085", "#2a9d8f", "#c0392b"]
_salt = itertools.count()
_DECIMALS = re.compile(r"(\.\d\d)\d+")


def strategy_color(name: str, position: int = 0) -> str:
    return STRATEGY_COLORS.get(name, EXTRA_COLORS[position % len(EXTRA_COLORS)])


# Green (state 0, e.g. calm) through amber to red (the last state, e.g. turbulent); no pale
# yellow in the middle, which would vanish as a background tint.
STATE_CMAP = mpl.colors.LinearSegmentedColormap.from_list(
    "tradenn_states", ["#2e9d5b", "#e8a317", "#d64541"])


def state_colors(states: list[float]) -> dict[float, tuple[float, ...]]:
    """A color per state, in the states' order."""
    n = len(states)
    return {s: STATE_CMAP(i / max(n - 1, 1)) for i, s in enumerate(states)}


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), with ids unique in the page."""
    buffer = io.StringIO()
    # A fresh salt per chart: matplotlib derives clip-path ids from it, and two inline SVGs
    # sharing an id would clip each other.
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"tradenn{next(_salt)}"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=150)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # Path coordinates to 0.01 pt: invisible on screen, and ~40% of the file.
    text = re.sub(r' d="[^"]*"', lambda m: _DECIMALS.sub(r"\1", m.group(0)), text)
    # Let the page decide the size: keep the viewBox, drop the fixed width and height.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)


def _figure(height: float, rows: int = 1, sharex: bool = True) -> tuple[Figure, list]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0].tolist()
    for ax in axes:
        ax.grid(True, color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return fig, axes


def log_scale(ax) -> None:
    """Log y axis labelled 0.5, 1, 2, 5 ... rather than 10^0; finer labels when the curves
    span less than a decade (else there would be one label, or none)."""
    ax.set_yscale("log")
    plain = mpl.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    low, high = ax.get_ylim()
    subs = (1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 7.0) if high / low < 10 else (1.0, 2.0, 5.0)
    if high / low < 1000:
        ax.yaxis.set_major_locator(mpl.ticker.LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(mpl.ticker.NullFormatter())


def _dates(index: pd.Index) -> np.ndarray:
    return index.to_numpy()


def shade_states(ax, states: pd.Series | None, labels: dict[float, str] | None = None) -> list:
    """Tint the background by regime state, one rectangle per run of equal states.

    Returns the legend handles. Rectangles (not a filled step curve) keep the SVG small: a
    run of a thousand days is four points.
    """
    if states is None or states.dropna().empty:
        return []
    values = sorted(states.dropna().unique())
    colors = state_colors(values)
    x = mdates.date2num(_dates(states.index))
    # Each bar's span reaches the next bar, so the tint has no gaps over weekends.
    right = np.append(x[1:], x[-1] + (x[-1] - x[-2] if len(x) > 1 else 1.0))
    run_start = states.ne(states.shift()).to_numpy()
    starts = x[run_start]
    ends = right[np.r_[np.flatnonzero(run_start)[1:] - 1, len(x) - 1]]
    run_values = states.to_numpy()[run_start]
    handles = []
    for value in values:
        mask = run_values == value
        spans = list(zip(starts[mask], (ends - starts)[mask], strict=True))
        ax.broken_barh(spans, (0, 1), transform=ax.get_xaxis_transform(), color=colors[value],
                       alpha=0.14, linewidth=0, zorder=0)
        name = (labels or {}).get(value, f"{states.name or 'state'} {value:g}")
        handles.append(Patch(color=colors[value], alpha=0.35, label=name))
    return handles


def mark_folds(ax, folds: pd.Series) -> None:
    """Dotted vertical lines where a new walk-forward fold's test span starts."""
    starts = folds.index[folds.ne(folds.shift()).to_numpy()][1:]
    for start in starts:
        ax.axvline(start, color="#999999", linewidth=0.7, linestyle=":", zorder=1)


def _legend(ax, extra: list | None = None, columns: int = 8) -> None:
    """A legend above the plot, where it never hides a line: rows of ``columns`` entries
    (fewer for long names, or the legend outgrows the plot and shrinks the chart)."""
    handles, names = ax.get_legend_handles_labels()
    handles += extra or []
    names += [h.get_label() for h in extra or []]
    ax.legend(handles, names, frameon=False, fontsize=8.5, ncols=min(len(handles), columns),
              loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2,
              handlelength=1.6, columnspacing=1.4)


def _span(ax, index: pd.Index) -> None:
    """Same date range on every time chart, so they line up when read top to bottom."""
    ax.set_xlim(index[0], index[-1])


# ----------------------------------------------------------------------------- run charts


def equity_figure(analysis: RunAnalysis) -> Figure:
    fig, (ax,) = _figure(4.2)
    for i, (name, result) in enumerate(analysis.results.items()):
        ax.plot(_dates(result.equity.index), result.equity.to_numpy(), label=label(name),
                color=strategy_color(name, i), linewidth=1.8 if name == MAIN else 1.1,
                zorder=3 if name == MAIN else 2)
    log_scale(ax)
    ax.set_ylabel("growth of 1 (log scale)")
    ax.axhline(1.0, color="#777777", linewidth=0.6)
    _span(ax, analysis.folds.index)
    handles = shade_states(ax, analysis.regime_states, analysis.state_labels)
    mark_folds(ax, analysis.folds)
    _legend(ax, handles)
    return fig


def drawdown_figure(analysis: RunAnalysis) -> Figure:
    fig, (ax,) = _figure(2.8)
    for i, (name, result) in enumerate(analysis.results.items()):
        dd = stats.drawdown(result.returns) * 100
        x = _dates(dd.index)
        if name == MAIN:
            ax.fill_between(x, dd.to_numpy(), 0, color=strategy_color(name), alpha=0.18,
                            linewidth=0)
        ax.plot(x, dd.to_numpy(), label=label(name), color=strategy_color(name, i),
                linewidth=1.3 if name == MAIN else 0.9, zorder=3 if name == MAIN else 2)
    ax.set_ylabel("drawdown (%)")
    _span(ax, analysis.folds.index)
    _legend(ax)
    return fig


def rolling_sharpe_figure(analysis: RunAnalysis) -> Figure:
    fig, (ax,) = _figure(2.8)
    window = round(analysis.periods_per_year)
    for i, (name, result) in enumerate(analysis.results.items()):
        rolling = stats.rolling_sharpe(result.returns, window, analysis.periods_per_year,
                                       risk_free=analysis.settings.risk_free)
        ax.plot(_dates(rolling.index), rolling.to_numpy(), label=label(name),
                color=strategy_color(name, i), linewidth=1.5 if name == MAIN else 0.9,
                zorder=3 if name == MAIN else 2)
    ax.axhline(0.0, color="#777777", linewidth=0.6)
    ax.set_ylabel(f"Sharpe, trailing {window} {analysis.bar_name} bars")
    _span(ax, analysis.folds.index)
    _legend(ax)
    return fig


def net_position(positions: pd.Series | pd.DataFrame) -> pd.Series:
    """The position of one asset, or a portfolio's net position (the sum of its weights)."""
    return positions.sum(axis=1) if isinstance(positions, pd.DataFrame) else positions


def positions_figure(analysis: RunAnalysis, smooth: int = 21) -> Figure:
    fig, (ax,) = _figure(2.8)
    main = net_position(analysis.results[MAIN].positions)
    ax.fill_between(_dates(main.index), main.to_numpy(), 0, step="post",
                    color=strategy_color(MAIN), alpha=0.12, linewidth=0,
                    label=f"{label(MAIN)}, per bar", rasterized=True)  # a bitmap: flips often
    for i, (name, result) in enumerate(analysis.results.items()):
        if name == BENCHMARK:
            continue
        mean = net_position(result.positions).rolling(smooth, min_periods=1).mean()
        ax.plot(_dates(mean.index), mean.to_numpy(), color=strategy_color(name, i),
                linewidth=1.4 if name == MAIN else 0.9, label=f"{label(name)}, {smooth}-bar mean",
                zorder=3 if name == MAIN else 2)
    ax.axhline(0.0, color="#777777", linewidth=0.6)
    ax.set_ylabel("net position (sum of weights)" if analysis.pooled
                  else "position (fraction of equity)")
    _span(ax, analysis.folds.index)
    mark_folds(ax, analysis.folds)
    _legend(ax, columns=4)  # "<strategy>, 21-bar mean" is long
    return fig


def theta_figure(analysis: RunAnalysis) -> Figure | None:
    """θ of each regime-conditioned layer over time, above the regime inputs that set it."""
    if analysis.theta.empty and analysis.regime_inputs.empty:
        return None
    panels = [p for p in (analysis.theta, analysis.regime_inputs) if not p.empty]
    fig, axes = _figure(2.4 * len(panels) + 0.4, rows=len(panels))
    for ax, panel, title in zip(axes, panels, ("θ (activation parameter)", "regime input"),
                                strict=False):
        for i, column in enumerate(panel.columns):
            ax.plot(_dates(panel.index), panel[column].to_numpy(), linewidth=1.0,
                    color=EXTRA_COLORS[i % len(EXTRA_COLORS)] if i else "#1f5fbf",
                    label=column)
        handles = shade_states(ax, analysis.regime_states, analysis.state_labels)
        mark_folds(ax, analysis.folds)
        ax.set_ylabel(title)
        _span(ax, analysis.folds.index)
        _legend(ax, handles)
    return fig


def regime_sharpe_figure(analysis: RunAnalysis) -> Figure | None:
    """Sharpe ratio per regime state, one bar per strategy."""
    if not analysis.by_regime:
        return None
    fig, (ax,) = _figure(2.9, sharex=False)
    ax.xaxis.set_major_locator(mpl.ticker.AutoLocator())
    ax.xaxis.set_major_formatter(mpl.ticker.ScalarFormatter())
    names = list(analysis.by_regime)
    states = list(analysis.by_regime[names[0]].index)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = analysis.by_regime[name]["sharpe"].reindex(states).to_numpy()
        ax.bar(np.arange(len(states)) + (i - (len(names) - 1) / 2) * width, values, width,
               label=label(name), color=strategy_color(name, i))
    ax.set_xticks(np.arange(len(states)), [analysis.state_label(s) for s in states])
    ax.axhline(0.0, color="#777777", linewidth=0.6)
    ax.set_ylabel("Sharpe within state")
    _legend(ax)
    return fig


# The run report's charts by name, in the report's order.
RUN_FIGURES = {
    "equity": equity_figure,
    "drawdown": drawdown_figure,
    "rolling_sharpe": rolling_sharpe_figure,
    "positions": positions_figure,
    "theta": theta_figure,
    "regime_sharpe": regime_sharpe_figure,
}


def run_figures(analysis: RunAnalysis) -> dict[str, Figure]:
    """Every chart of a run's report as a matplotlib `Figure` (charts with nothing to draw,
    such as θ for a run without conditioned activations, are left out)."""
    drawn = {name: draw(analysis) for name, draw in RUN_FIGURES.items()}
    return {name: fig for name, fig in drawn.items() if fig is not None}


# ----------------------------------------------------------------------------- comparison


def compare_equity_figure(equities: dict[str, pd.Series]) -> Figure:
    """Equity curves of several runs' regime models (and one buy-and-hold)."""
    fig, (ax,) = _figure(4.2)
    for i, (name, equity) in enumerate(equities.items()):
        color = STRATEGY_COLORS[BENCHMARK] if name == label(BENCHMARK) else (
            EXTRA_COLORS[i % len(EXTRA_COLORS)] if i else STRATEGY_COLORS[MAIN])
        ax.plot(_dates(equity.index), equity.to_numpy(), label=name, color=color,
                linewidth=1.3)
    log_scale(ax)
    ax.set_ylabel("growth of 1 (log scale)")
    ax.axhline(1.0, color="#777777", linewidth=0.6)
    _legend(ax)
    return fig
