"""The sweep's self-contained HTML page: ranked trials, a Δ Sharpe heatmap, DSR and PBO."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tradenn.report.html import chart, esc, num, page, pct, signed, table
from tradenn.sweeps.verdict import delta_to_best_control, fmt


def sweep_report(manifest: dict[str, Any], results: pd.DataFrame, summary: dict[str, Any]) -> str:
    name = manifest.get("name", "sweep")
    axes = [k for k, v in manifest.get("grid", {}).items() if len(v) > 1]
    delta = delta_to_best_control(results)
    body = [
        f"<h1>{esc(name)} · sweep</h1>",
        _headline(summary),
        "<h2>Trials, best first</h2>",
        _ranked(results, delta, list(manifest.get("grid", {}))),
        "<h2>Δ Sharpe, regime model − best control</h2>",
        chart("chart-sweep-delta", _heatmap(results, delta, axes),
              "Each cell: the regime model's Sharpe ratio minus that of its best control "
              "(no_regime, shuffled_regime, ...) in the trial with those grid values."),
    ]
    failed = results[results["status"] != "complete"]
    if len(failed):
        body += ["<h2>Failed trials</h2>", table(
            ["trial", "error"], [[esc(t), esc(r.get("error"))] for t, r in failed.iterrows()])]
    return page(f"{name} · tradenn sweep", [b for b in body if b])


def _headline(summary: dict[str, Any]) -> str:
    parts = [f"{summary['completed']} of {summary['trials']} trials completed"]
    if summary.get("best") is not None:
        parts.append(
            f"the best trial ({esc(summary['best'])}) has a Deflated Sharpe Ratio of "
            f"<b>{fmt(summary['dsr_best'])}</b> given {summary['completed']} trials — the "
            "probability that its true Sharpe ratio is above zero once selection among the "
            "trials is accounted for")
    if summary.get("pbo") is not None:
        verdict = "likely overfit" if summary["pbo"] > 0.5 else "not obviously overfit"
        parts.append(
            f"probability of backtest overfitting <b>{fmt(summary['pbo'])}</b> ({verdict}; "
            f"CSCV with {summary['pbo_partitions']} partitions of {summary['pbo_rows']} "
            "common days)")
    else:
        parts.append("PBO needs at least two completed trials with common days")
    return '<div class="headline">' + "; ".join(parts) + ".</div>"


def _ranked(results: pd.DataFrame, delta: pd.Series, grid_keys: list[str]) -> str:
    header = ["trial", *grid_keys, "Sharpe", "Δ vs best control", "DSR", "max DD",
              "share long", "wall", "status"]
    rows = []
    for trial, r in results.iterrows():
        rows.append([esc(trial), *[esc(r.get(k)) for k in grid_keys],
                     num(r.get("sharpe")), signed(num(delta.get(trial)), delta.get(trial)),
                     num(r.get("dsr")), pct(r.get("max_drawdown")), pct(r.get("share_long")),
                     f"{(r.get('wall_seconds') or 0):.0f}s", esc(r.get("status"))])
    return table(header, rows, left=1 + len(grid_keys))


def _heatmap(results: pd.DataFrame, delta: pd.Series, axes: list[str]) -> Figure | None:
    if delta.isna().all() or not axes:
        return None
    frame = results.assign(delta=delta)
    x_key = axes[0]
    y_key = axes[1] if len(axes) > 1 else None
    x_values = list(dict.fromkeys(frame[x_key].astype(str)))
    y_values = list(dict.fromkeys(frame[y_key].astype(str))) if y_key else [""]
    grid = np.full((len(y_values), len(x_values)), np.nan)
    # Several trials per cell (a third axis): their mean.
    for (y, x), value in frame.groupby(
            [frame[y_key].astype(str) if y_key else pd.Series("", index=frame.index),
             frame[x_key].astype(str)])["delta"].mean().items():
        grid[y_values.index(y), x_values.index(x)] = value
    fig = Figure(figsize=(min(11.0, 1.6 + 1.3 * len(x_values)), 1.2 + 0.6 * len(y_values)),
                 layout="constrained")
    ax = fig.subplots()
    limit = float(np.nanmax(np.abs(grid))) or 1.0
    image = ax.imshow(grid, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(x_values)), x_values)
    ax.set_yticks(range(len(y_values)), y_values)
    ax.set_xlabel(x_key)
    if y_key:
        ax.set_ylabel(y_key)
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=9)
    fig.colorbar(image, ax=ax, label="Δ Sharpe")
    return fig
