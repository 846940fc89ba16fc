"""Backtest a finished run and write ``backtest.json``, ``backtest_returns.csv`` and ``report.html``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from pydantic import ValidationError

from tradenn import frequency
from tradenn.config import BacktestConfig, format_validation_error
from tradenn.errors import ConfigError, RunError
from tradenn.files import read_json, write_csv_atomic, write_json_atomic, write_text_atomic
from tradenn.report import figures, html
from tradenn.report.analysis import (
    MAIN,
    BootstrapSettings,
    RunAnalysis,
    analyze_predictions,
    check_predictions,
    label,
    prediction_kind,
    sharpe_ci_text,
)
from tradenn.runs import Run, open_complete_run

REPORT, JSON, RETURNS = "report.html", "backtest.json", "backtest_returns.csv"


@dataclass
class BacktestSummary:
    """What `backtest_run` computed and where it wrote it (paths None when not written)."""

    run_path: Path
    report_path: Path | None
    json_path: Path | None
    returns_path: Path | None
    analysis: RunAnalysis

    def figures(self) -> dict[str, Figure]:
        """The report's charts as matplotlib `Figure` objects, by name (``equity``,
        ``drawdown``, ``rolling_sharpe``, ``positions``, ``theta``, ``regime_sharpe``)."""
        return figures.run_figures(self.analysis)

    def figure(self, name: str) -> Figure:
        """One of the report's charts as a matplotlib `Figure`, e.g. ``figure("equity")``."""
        if name not in figures.RUN_FIGURES:
            raise ConfigError(f"figure {name!r}: expected one of {', '.join(figures.RUN_FIGURES)}")
        fig = figures.RUN_FIGURES[name](self.analysis)
        if fig is None:
            raise RunError(f"figure {name!r}: this run has nothing to draw for it")
        return fig

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Per variant: shares long / short / flat, net exposure, hit rate against the base
        and chance rates, IC across folds, θ sensitivity (see `backtest.json`)."""
        rows = {}
        for name, d in self.analysis.diagnostics.get("variants", {}).items():
            s = d.get("theta_sensitivity") or {}
            rows[name] = {k: v for k, v in d.items() if k not in ("ic_by_fold", "theta_sensitivity")}
            rows[name]["theta_sensitivity"] = s.get("relative")
            rows[name]["direction_flips"] = s.get("sign_changes")
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "variant"
        return frame

    def _repr_html_(self) -> str:
        return html.summary_html(self.analysis)

    @property
    def stats(self) -> pd.DataFrame:
        """Every statistic, rows = strategies (``regime``, ablations, ``tsmom``, ``macd``,
        ``buy_and_hold``); a pooled run's are its equal-risk portfolio's."""
        return self.analysis.stats

    @property
    def per_asset(self) -> pd.DataFrame:
        """Each strategy traded on each asset alone (its own position, not divided by the
        number of assets): rows (asset, strategy), columns Sharpe, CAGR, volatility, max
        drawdown, total return, shares long and short, periods."""
        return self.analysis.per_asset

    def table(self) -> pd.DataFrame:
        """Key statistics for the terminal: rows = strategies, returns as fractions."""
        frame = self.analysis.stats
        # Short headers: the CLI prints this in a terminal, 80 columns wide at worst.
        table = pd.DataFrame({
            "CAGR": frame["cagr"],
            "vol": frame["annual_volatility"],
            "Sharpe": frame["sharpe"],
            "95% CI": [sharpe_ci_text(self.analysis.sharpe_ci[n]) for n in frame.index],
            "PSR": frame["psr"],
            "max DD": frame["max_drawdown"],
            "turn/yr": frame["annual_turnover"],
            "IC": frame.get("ic_pearson"),
            # share of (date, asset) rows on which the asset's own position is long
            "long": [float((self.analysis.row_positions[n] > 0).mean()) for n in frame.index],
        })
        table.index = [label(n) for n in frame.index]
        table.index.name = "strategy"
        return table

    def differences(self) -> pd.DataFrame:
        """Sharpe of the regime model minus each other strategy (ablations, baselines,
        buy-and-hold), with its interval."""
        rows = {key: {"delta_sharpe": ci.estimate, "low": ci.low, "high": ci.high,
                      "share_above_zero": ci.share_above_zero}
                for key, ci in self.analysis.differences.items()}
        return pd.DataFrame.from_dict(rows, orient="index")


def resolve_settings(config: BacktestConfig, **overrides: Any) -> BacktestConfig:
    """The run's ``backtest:`` section with the non-None ``overrides`` applied and validated."""
    values = config.model_dump()
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return BacktestConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"backtest options: {format_validation_error(exc)}") from None


def backtest_run(
    run_dir: str | os.PathLike[str],
    *,
    cost_bps: float | None = None,
    sizing: str | None = None,
    long_only: bool | None = None,
    slippage_bps: float | None = None,
    threshold: float | None = None,
    leverage: float | None = None,
    target_vol: float | None = None,
    vol_window: int | None = None,
    execution: str | None = None,
    bootstrap: BootstrapSettings | None = None,
    write: bool = True,
) -> BacktestSummary:
    """Backtest a complete run's predictions and write its report files into the run.

    Every sizing or cost argument left at None takes the run config's ``backtest:`` value.
    The regime model, each ablation, the classical baselines (TSMOM, MACD; runs that have
    their signals) and buy-and-hold are backtested with the same settings; a run pooling
    several assets as their equal-risk portfolio.

    Args:
        run_dir: a run directory written by ``tradenn train``.
        cost_bps, sizing, long_only, slippage_bps, threshold, leverage, target_vol,
            vol_window, execution: overrides of `tradenn.config.BacktestConfig`.
        bootstrap: resampling of the confidence intervals (default: 1000 stationary-block
            resamples, seed 0).
        write: write ``backtest.json``, ``backtest_returns.csv`` and ``report.html`` into
            the run; False computes the same numbers and writes nothing.

    Returns:
        A `BacktestSummary`; ``summary.table()`` is the terminal table.

    Raises:
        RunError: the run is missing or not complete, or its predictions are unusable.
        ConfigError: an override is not a valid backtest setting.
    """
    run = open_complete_run(run_dir)
    config = run.config()
    settings = resolve_settings(
        config.backtest, cost_bps=cost_bps, sizing=sizing, long_only=long_only,
        slippage_bps=slippage_bps, threshold=threshold, leverage=leverage,
        target_vol=target_vol, vol_window=vol_window, execution=execution,
    )
    predictions = run.predictions()
    check_predictions(predictions, str(run.path / "predictions.csv"), execution=settings.execution)
    analysis = analyze_predictions(
        predictions, settings, variants=run.manifest.get("variants"), bootstrap=bootstrap,
        state_name=run.manifest.get("state_column") or config.regime.state,
        state_labels=run.manifest.get("state_labels"),
        periods_per_year=(run.manifest.get("data") or {}).get("bars_per_year"),
        bar_name=frequency.bar_name(config.data.interval, predictions.index.unique()),
        sensitivity=run_sensitivity(run), kind=prediction_kind(config),
        asset=getattr(config.data, "source", None),
    )
    if not write:
        return BacktestSummary(run.path, None, None, None, analysis)
    info = run_info(run)
    report_path, json_path, returns_path = (run.path / n for n in (REPORT, JSON, RETURNS))
    write_json_atomic(json_path, report_document(analysis, info))
    write_csv_atomic(returns_path, daily_frame(analysis))
    write_text_atomic(report_path, html.run_report(analysis, info, config.to_yaml()))
    return BacktestSummary(run.path, report_path, json_path, returns_path, analysis)


def run_sensitivity(run: Run) -> dict[str, dict[str, Any]] | None:
    """Each variant's θ sensitivity from ``metrics.json`` (None for runs without it)."""
    path = run.path / "metrics.json"
    if not path.is_file():
        return None
    metrics = read_json(path)
    found = {v: m["theta_sensitivity"] for v, m in metrics.items()
             if isinstance(m, dict) and "theta_sensitivity" in m}
    return found or None


def run_info(run: Run) -> dict[str, Any]:
    keys = ("name", "status", "created", "variants", "seeds", "folds", "data", "versions")
    return {"path": str(run.path), **{k: run.manifest.get(k) for k in keys}}


def report_document(analysis: RunAnalysis, info: dict[str, Any]) -> dict[str, Any]:
    """Every number in the report, as JSON-able data."""
    returns = analysis.results[MAIN].returns
    by_fold = {
        stat: {name: {str(f): v for f, v in analysis.by_fold[(stat, name)].items()}
               for name in analysis.results}
        for stat in ("sharpe", "total_return")
    }
    return {
        "run": info,
        "settings": analysis.settings.model_dump(mode="json"),
        "bootstrap": {**vars(analysis.bootstrap),
                      "block": next(iter(analysis.sharpe_ci.values())).block},
        "period": {"start": str(returns.index[0].date()), "end": str(returns.index[-1].date()),
                   "bars": len(returns), "bar": analysis.bar_name,
                   "periods_per_year": analysis.periods_per_year},
        "strategies": {
            name: {**row.to_dict(), "sharpe_ci": analysis.sharpe_ci[name].to_dict()}
            for name, row in analysis.stats.iterrows()
        },
        "sharpe_differences": {k: ci.to_dict() for k, ci in analysis.differences.items()},
        "baselines": {"strategies": analysis.baselines, "note": analysis.baseline_note},
        "assets": analysis.assets,
        "portfolio": "equal-risk: each asset's position / number of assets held"
        if analysis.pooled else None,
        "per_asset": {
            asset: {name: row.to_dict() for (_, name), row in table.iterrows()}
            for asset, table in analysis.per_asset.groupby(level="asset", sort=False)
        },
        "other_execution": analysis.extra.get("other_execution"),
        "by_regime": {
            "source": analysis.regime_source,
            "state": None if analysis.regime_states is None else analysis.regime_states.name,
            "strategies": {name: {_key(state): row.to_dict() for state, row in table.iterrows()}
                           for name, table in analysis.by_regime.items()},
            "theta_by_state": None if analysis.theta_by_state is None else {
                _key(state): row.to_dict() for state, row in analysis.theta_by_state.iterrows()},
        },
        "by_fold": by_fold,
        "diagnostics": analysis.diagnostics,
    }


def _key(state: float) -> str:
    """A state as a JSON key: ``"2"``, not ``"2.0"``."""
    return f"{state:g}"


def daily_frame(analysis: RunAnalysis) -> pd.DataFrame:
    """Net return, equity and position of each strategy per date, for notebooks.

    A pooled run's ``position_<strategy>`` is the portfolio's net position (the sum of its
    asset weights), and ``weight_<strategy>_<asset>`` each asset's weight.
    """
    columns = {}
    for name, result in analysis.results.items():
        columns[f"return_{name}"] = result.returns
        columns[f"equity_{name}"] = result.equity
        columns[f"position_{name}"] = figures.net_position(result.positions)
        if isinstance(result.positions, pd.DataFrame):
            for asset in result.positions.columns:
                columns[f"weight_{name}_{asset}"] = result.positions[asset]
    frame = pd.DataFrame(columns)
    if analysis.regime_states is not None:
        frame["state"] = analysis.regime_states
    frame.index.name = "date"
    return frame
