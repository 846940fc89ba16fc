"""Several runs side by side: one table and one equity chart in one HTML file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tradenn.errors import RunError
from tradenn.files import write_text_atomic
from tradenn.report import figures, html
from tradenn.report.analysis import (
    BENCHMARK,
    MAIN,
    BootstrapSettings,
    RunAnalysis,
    analyze_predictions,
    check_predictions,
    label,
    prediction_kind,
)
from tradenn.runs import open_complete_run


def compare_runs(
    run_dirs: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    bootstrap: BootstrapSettings | None = None,
) -> pd.DataFrame:
    """Backtest each run with its own config's settings and compare them in one page.

    The runs are only read: nothing is written into them.

    Args:
        run_dirs: complete run directories (at least one; two or more to compare).
        out_path: the HTML file to write.
        bootstrap: resampling of the confidence intervals.

    Returns:
        One row per run (indexed by the run directory's name): the regime model's
        statistics, its Sharpe difference against ``no_regime`` with the interval, and
        buy-and-hold's Sharpe ratio over the same dates.

    Raises:
        RunError: a run is missing or not complete, or no run was given.
    """
    if not run_dirs:
        raise RunError("compare: expected at least one run directory, got none")
    analyses: dict[str, RunAnalysis] = {}
    configs: dict[str, dict[str, Any]] = {}
    for run_dir in run_dirs:
        run = open_complete_run(run_dir)
        config = run.config()
        predictions = run.predictions()
        check_predictions(predictions, str(run.path / "predictions.csv"))
        key = _unique(run.path.name, analyses)
        analyses[key] = analyze_predictions(
            predictions, config.backtest, variants=run.manifest.get("variants"),
            bootstrap=bootstrap, state_name=run.manifest.get("state_column") or config.regime.state,
            state_labels=run.manifest.get("state_labels"), kind=prediction_kind(config),
            asset=getattr(config.data, "source", None),
        )
        configs[key] = config.model_dump(mode="json")

    table = pd.DataFrame.from_dict({key: _row(a) for key, a in analyses.items()}, orient="index")
    table.index.name = "run"
    differing = _differing_settings(configs)

    equities = {key: a.results[MAIN].equity for key, a in analyses.items()}
    first = next(iter(analyses.values()))
    equities[label(BENCHMARK)] = first.results[BENCHMARK].equity
    header = ["run", "period", "Sharpe", "95% CI", "Δ vs no_regime", "Δ CI", "CAGR",
              "max drawdown", "PSR", "IC", "buy & hold Sharpe"]
    rows = [[html.esc(key), html.esc(row["period"]), html.num(row["sharpe"]),
             html.esc(f"[{html.num(row['sharpe_low'])}, {html.num(row['sharpe_high'])}]"),
             html.signed(html.num(row["delta_no_regime"]), row["delta_no_regime"]),
             html.esc(f"[{html.num(row['delta_low'])}, {html.num(row['delta_high'])}]"),
             html.pct(row["cagr"]), html.pct(row["max_drawdown"]), html.num(row["psr"]),
             html.num(row["ic"], 3), html.num(row["buy_and_hold_sharpe"])]
            for key, row in table.iterrows()]
    body = [
        "<h1>tradenn · run comparison</h1>",
        f'<p class="muted">{len(analyses)} runs; each backtested with its own config\'s '
        "backtest settings. Statistics are of each run's regime model.</p>",
        html.table(header, rows),
        html.chart("chart-compare-equity", figures.compare_equity_figure(equities),
                   "Growth of 1 (log scale) of each run's regime model, net of costs; buy & "
                   f"hold over the first run's dates ({next(iter(analyses))})."),
        "<h2>Settings that differ</h2>",
        html.table(["setting", *[html.esc(k) for k in configs]],
                   [[html.esc(path), *[html.esc(v) for v in values]]
                    for path, values in differing.items()])
        if differing else '<p class="muted">The runs share every config setting.</p>',
    ]
    write_text_atomic(Path(out_path), html.page("tradenn · run comparison", body))
    return table


def _unique(name: str, taken: dict[str, Any]) -> str:
    key, n = name, 1
    while key in taken:
        n += 1
        key = f"{name} ({n})"
    return key


def _row(analysis: RunAnalysis) -> dict[str, Any]:
    main = analysis.stats.loc[MAIN]
    ci = analysis.sharpe_ci[MAIN]
    diff = analysis.differences.get(f"{MAIN} - no_regime")
    dates = analysis.results[MAIN].returns.index
    nan = float("nan")
    return {
        "period": f"{dates[0].date()} → {dates[-1].date()}",
        "sharpe": main["sharpe"], "sharpe_low": ci.low, "sharpe_high": ci.high,
        "delta_no_regime": diff.estimate if diff else nan,
        "delta_low": diff.low if diff else nan, "delta_high": diff.high if diff else nan,
        "cagr": main["cagr"], "max_drawdown": main["max_drawdown"], "psr": main["psr"],
        "ic": main.get("ic_pearson", nan),
        "buy_and_hold_sharpe": analysis.stats.loc[BENCHMARK, "sharpe"],
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _differing_settings(configs: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """Config key paths whose values are not the same in every run."""
    flat = {k: _flatten(c) for k, c in configs.items()}
    paths = sorted(set().union(*flat.values()))
    return {p: [f.get(p, "—") for f in flat.values()] for p in paths
            if len({repr(f.get(p)) for f in flat.values()}) > 1}
