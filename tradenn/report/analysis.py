"""Everything a run's report shows, computed from its predictions: no files, no HTML.

`analyze_predictions` backtests the regime model, each ablation, the classical baselines
(TSMOM, MACD) and buy-and-hold on the run's closes with one set of sizing and cost
settings (as an equal-risk portfolio when the run pools several assets), then gathers their
statistics, bootstrap intervals, Sharpe differences, and the per-regime, per-fold and
per-asset breakdowns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tradenn import frequency, stats
from tradenn.backtest import BacktestResult, PredictionKind
from tradenn.config import BacktestConfig, ExperimentConfig
from tradenn.errors import RunError
from tradenn.report.diagnostics import variant_diagnostics
from tradenn.report.panel import AssetPanel, asset_panel
from tradenn.report.strategies import (
    ALWAYS_LONG,
    BASELINE_LABELS,
    BASELINES,
    BENCHMARK,
    SIZED_LONG,
    SIZINGS_THAT_SCALE,
    StrategyPositions,
    available_baselines,
    backtest,
    per_asset_statistics,
    size_strategy,
)
from tradenn.runs import MAIN_VARIANT, prediction_column

MAIN = MAIN_VARIANT
DECISION_LAG = {"close": 1, "next_open": 2}
LABELS = {MAIN: "regime model", BENCHMARK: "buy & hold", **BASELINE_LABELS}


def label(strategy: str) -> str:
    """A strategy's display name: ``regime model``, ``no_regime``, ``TSMOM``, ``buy & hold`` ..."""
    return LABELS.get(strategy, strategy)


@dataclass(frozen=True)
class BootstrapSettings:
    """How the report's confidence intervals are resampled."""

    n_boot: int = 1000
    method: stats.BootstrapMethod = "stationary"
    block: int | None = None  # None: Politis–White, from each series
    level: float = 0.95
    seed: int = 0


@dataclass
class RunAnalysis:
    """The numbers of one run's report."""

    settings: BacktestConfig
    bootstrap: BootstrapSettings
    periods_per_year: float
    # strategy -> backtest: the variants, then the baselines, buy_and_hold last. Pooled:
    # the equal-risk portfolio's (positions are dates x assets weights).
    results: dict[str, BacktestResult]
    stats: pd.DataFrame  # rows = strategies
    sharpe_ci: dict[str, stats.ConfidenceInterval]
    differences: dict[str, stats.ConfidenceInterval]  # "regime - no_regime" -> interval
    regime_states: pd.Series | None  # state in force at each return (decision-time state)
    regime_source: str  # what the states are, in words
    by_regime: dict[str, pd.DataFrame]  # strategy -> per-state table
    by_fold: pd.DataFrame  # rows = fold, columns = (statistic, strategy)
    theta: pd.DataFrame  # theta_* columns per date (pooled: mean over the assets)
    regime_inputs: pd.DataFrame  # regime_* columns per date (pooled: mean over the assets)
    theta_by_state: pd.DataFrame | None
    folds: pd.Series  # fold of each date
    state_labels: dict[float, str] = field(default_factory=dict)  # state -> readable name
    extra: dict[str, Any] = field(default_factory=dict)
    bar_name: str = "daily"  # what one bar is: daily, hourly, 5-minute ...
    # per variant and pair: positions, agreement, hit rates, IC per fold, θ sensitivity
    diagnostics: dict[str, Any] = field(default_factory=dict)
    assets: list[str] = field(default_factory=list)  # one name unless the run is pooled
    # strategy -> each asset's own sized position on each row of predictions.csv
    row_positions: dict[str, pd.Series] = field(default_factory=dict)
    # rows (asset, strategy): each strategy traded on each asset alone
    per_asset: pd.DataFrame = field(default_factory=pd.DataFrame)
    baselines: list[str] = field(default_factory=list)  # the classical baselines backtested
    baseline_note: str | None = None  # why a baseline is missing, if one is
    prediction_kind: str = "return"  # "position" for a Sharpe-loss model

    @property
    def pooled(self) -> bool:
        """Several assets, backtested as one equal-risk portfolio."""
        return len(self.assets) > 1

    @property
    def strategies(self) -> list[str]:
        return list(self.results)

    def state_label(self, state: float) -> str:
        """``calm``, ``hmm 1 (30% vol)``..., else ``<state column> <number>``."""
        if state in self.state_labels:
            return self.state_labels[state]
        name = self.regime_states.name if self.regime_states is not None else "state"
        return f"{name} {state:g}"


def prediction_kind(config: ExperimentConfig) -> PredictionKind:
    """``"position"`` when the run's model was trained with the Sharpe loss (its output is a
    position in [-1, 1]), else ``"return"`` (a predicted return)."""
    return "position" if getattr(config.train, "loss", None) == "sharpe" else "return"


def variants_of(predictions: pd.DataFrame, manifest_variants: list[str] | None) -> list[str]:
    """The run's variants, regime first: from the manifest, else from the columns."""
    if manifest_variants:
        variants = list(manifest_variants)
    else:
        variants = [MAIN] + [
            c.removeprefix("prediction_") for c in predictions.columns
            if c.startswith("prediction_") and "_seed" not in c
        ]
    missing = [prediction_column(v) for v in variants if prediction_column(v) not in predictions]
    if missing:
        raise RunError(
            f"predictions.csv: expected prediction columns {missing} for the run's variants "
            f"{variants}, got columns {list(predictions.columns)}"
        )
    return variants


def check_predictions(predictions: pd.DataFrame, source: str, *, execution: str = "close") -> None:
    """Raise `RunError` unless the frame has what a backtest needs."""
    needed = ["fold", "close", "target", "prediction"] + (["open"] if execution == "next_open" else [])
    missing = [c for c in needed if c not in predictions.columns]
    if missing == ["open"]:
        raise RunError(f"{source}: has no open prices for execution next_open (a run written "
                       "by tradenn 0.1); train it again, or use execution close")
    if missing:
        raise RunError(f"{source}: expected columns {needed}, missing {missing}")
    if len(predictions) < 3:
        raise RunError(f"{source}: expected at least 3 rows of predictions, got {len(predictions)}")
    if not isinstance(predictions.index, pd.DatetimeIndex):
        raise RunError(f"{source}: expected a date index, got {type(predictions.index).__name__}")


def analyze_predictions(
    predictions: pd.DataFrame,
    settings: BacktestConfig,
    *,
    variants: list[str] | None = None,
    bootstrap: BootstrapSettings | None = None,
    state_name: str | None = None,
    state_labels: dict[Any, str] | None = None,
    periods_per_year: float | None = None,
    bar_name: str | None = None,
    sensitivity: dict[str, dict[str, Any]] | None = None,
    kind: PredictionKind = "return",
    asset: str | None = None,
) -> RunAnalysis:
    """Backtest every variant, the classical baselines and buy-and-hold and compute the
    report's statistics.

    A pooled run (an ``asset`` column with two or more names) is backtested as the
    equal-risk portfolio of its assets: each asset's position, sized on its own series,
    divided by the number of assets held that date (`tradenn.report.panel` says how late
    starts and gaps are held).

    Args:
        predictions: a run's ``predictions.csv`` indexed by date.
        settings: sizing and costs, applied to every model variant and baseline alike;
            buy-and-hold pays the same costs (on entry, and on rebalancing when pooled).
        variants: model variants, ``regime`` first; None reads them off the columns.
        bootstrap: resampling of the confidence intervals.
        state_name: what the ``state`` column is, for labels (e.g. ``vol_level``).
        state_labels: readable names of the states (keys may be strings, as in JSON).
        periods_per_year: bars per year annualizing every statistic (the run's
            ``bars_per_year``); None infers it from the dates.
        bar_name: what one bar is (``hourly`` ...) for labels; None infers it.
        sensitivity: per variant, the ``theta_sensitivity`` record of ``metrics.json``.
        kind: what the model's predictions are: ``"return"`` (predicted returns) or
            ``"position"`` (a Sharpe-loss model's position in [-1, 1]).
        asset: the name of the one asset of a run without an ``asset`` column.
    """
    check_predictions(predictions, "predictions", execution=settings.execution)
    bootstrap = bootstrap or BootstrapSettings()
    variants = variants_of(predictions, variants)
    panel = asset_panel(predictions, default_asset=asset or "asset")
    ppy = periods_per_year or stats.periods_per_year(panel.index)
    # Bars between deciding a position and the return it earns being stamped.
    lag = DECISION_LAG[settings.execution]

    sized: dict[str, StrategyPositions] = {
        v: size_strategy(panel, prediction_column(v), settings, kind=kind, periods_per_year=ppy)
        for v in variants
    }
    baselines, baseline_note = available_baselines(predictions.columns)
    for name in baselines:
        sized[name] = size_strategy(panel, BASELINES[name], settings, kind="position",
                                    periods_per_year=ppy, expect_nan=True)
    if settings.sizing in SIZINGS_THAT_SCALE:
        sized[SIZED_LONG] = size_strategy(panel, ALWAYS_LONG, settings, kind="position",
                                          periods_per_year=ppy)
    sized[BENCHMARK] = size_strategy(panel, None, settings)
    results = {name: backtest(panel, positions, settings, ppy) for name, positions in sized.items()}
    other = _other_execution(panel, sized[MAIN], settings, ppy)
    benchmark_returns = results[BENCHMARK].returns
    rf = settings.risk_free

    table = {}
    rows = panel.rows
    for name, result in results.items():
        row = stats.performance_summary(
            result.returns, positions=result.positions, turnover=result.turnover,
            benchmark=benchmark_returns, periods=ppy, risk_free=rf,
        )
        column = BASELINES.get(name, prediction_column(name))
        if column in rows:
            row["ic_pearson"] = stats.information_coefficient(rows[column], rows["target"])
            row["ic_spearman"] = stats.information_coefficient(rows[column], rows["target"],
                                                               "spearman")
        table[name] = row
    # DSR: each variant deflated by the run's variants as the trials (not the baselines).
    dsr = stats.deflated_sharpe_ratios({v: results[v].returns for v in variants},
                                       periods=ppy, risk_free=rf)
    for variant, value in dsr.items():
        table[variant]["dsr"] = value
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "strategy"

    boot = dict(periods=ppy, n_boot=bootstrap.n_boot, block=bootstrap.block,
                method=bootstrap.method, level=bootstrap.level, seed=bootstrap.seed,
                risk_free=rf)
    sharpe_ci = {n: stats.bootstrap_sharpe_ci(r.returns, **boot) for n, r in results.items()}
    main = results[MAIN].returns
    differences = {
        f"{MAIN} - {other}": stats.bootstrap_sharpe_difference_ci(main, results[other].returns,
                                                                  **boot)
        for other in results if other != MAIN
    }

    folds = panel.folds()
    states, source = portfolio_states(panel, state_name)
    by_regime: dict[str, pd.DataFrame] = {}
    theta = panel.by_date([c for c in predictions if c.startswith("theta_")])
    theta_by_state = None
    if states is not None:
        # The return stamped t was earned by the position decided at t-1 (t-2 when filled
        # at the next open): count it in the state that was known then.
        decision_state = states.shift(lag)
        for name, result in results.items():
            by_regime[name] = stats.stats_by_regime(
                result.returns, decision_state, positions=result.positions,
                turnover=result.turnover, benchmark=benchmark_returns, periods=ppy,
                risk_free=rf,
            )
        if not theta.empty:
            theta_by_state = theta.groupby(states).mean()
            theta_by_state.index.name = states.name

    return RunAnalysis(
        settings=settings, bootstrap=bootstrap, periods_per_year=ppy, results=results,
        stats=frame, sharpe_ci=sharpe_ci, differences=differences, regime_states=states,
        regime_source=source, by_regime=by_regime,
        by_fold=_by_fold(results, folds, ppy, lag, rf), theta=theta,
        regime_inputs=panel.by_date([c for c in predictions if c.startswith("regime_")]),
        theta_by_state=theta_by_state, folds=folds,
        bar_name=bar_name or frequency.bar_name(None, panel.index),
        state_labels={float(k): str(v) for k, v in (state_labels or {}).items()}
        if "state" in predictions else {},
        extra={"other_execution": other},
        diagnostics=variant_diagnostics(rows, {v: sized[v].rows for v in variants},
                                        variants, sensitivity),
        assets=panel.assets,
        row_positions={name: positions.rows for name, positions in sized.items()},
        per_asset=per_asset_statistics(panel, sized, settings, ppy),
        baselines=baselines,
        baseline_note=baseline_note,
        prediction_kind=kind,
    )


def _other_execution(panel: AssetPanel, positions: StrategyPositions,
                     settings: BacktestConfig, ppy: float) -> dict[str, Any]:
    """The regime model's Sharpe under the execution not chosen, so that a result that
    exists only when filling at the very close the model read is visible."""
    other = "next_open" if settings.execution == "close" else "close"
    if other == "next_open" and "open" not in panel.rows:
        return {"execution": other, "sharpe": None,
                "note": "predictions.csv has no open column (a run from tradenn 0.1)"}
    result = backtest(panel, positions, settings, ppy, execution=other)
    return {"execution": other,
            "sharpe": stats.sharpe_ratio(result.returns, ppy, risk_free=settings.risk_free)}


def portfolio_states(panel: AssetPanel,
                     state_name: str | None = None) -> tuple[pd.Series | None, str]:
    """`regime_states` of the portfolio's dates: those of the one asset, or, when pooled,
    of the state (or regime input) shared by every asset on every date."""
    if not panel.pooled:
        return regime_states(panel.rows, state_name)
    candidates = ["state"] + [c for c in panel.rows if c.startswith("regime_")]
    present = [c for c in candidates if c in panel.rows]
    shared = {c: panel.shared(c) for c in present}
    usable = pd.DataFrame({c: s for c, s in shared.items() if s is not None},
                          index=panel.index)
    if "state" in present and shared["state"] is None:
        return None, ("each asset has its own regime state (the state column differs "
                      "between assets on the same date), so the portfolio has no single "
                      "state to group its returns by; no by-regime table")
    states, source = regime_states(usable, state_name)
    if states is None and present and usable.empty:
        return None, ("each asset has its own regime inputs (they differ between assets on "
                      "the same date), so the portfolio has no single regime to group its "
                      "returns by; no by-regime table")
    return states, source


def regime_states(predictions: pd.DataFrame,
                  state_name: str | None = None) -> tuple[pd.Series | None, str]:
    """The discrete regime of each date and a sentence saying where it comes from.

    The run's ``state`` column when it has one; otherwise the terciles of its first
    ``regime_*`` column over the whole backtest. Those terciles use the whole period, so
    they describe the run after the fact; they never feed a position.
    """
    if "state" in predictions and predictions["state"].notna().any():
        name = state_name or "state"
        states = predictions["state"].rename(name)
        return states, f"the run's regime state column ({name})"
    regime_columns = [c for c in predictions if c.startswith("regime_")]
    for column in regime_columns:
        values = predictions[column]
        if values.notna().sum() >= 30 and values.nunique() >= 3:
            edges = values.quantile([1 / 3, 2 / 3]).to_numpy()
            states = pd.Series(np.where(values.isna(), np.nan, np.searchsorted(edges, values)),
                               index=values.index, name=f"{column.removeprefix('regime_')} tercile")
            return states, (
                f"terciles of {column} over the backtest (0 = lowest third); the run has no "
                "discrete state column, and these after-the-fact groups only describe the "
                "results, they are not used to trade"
            )
    return None, "the run has neither a state column nor a regime input to group by"


def _by_fold(results: dict[str, BacktestResult], folds: pd.Series, ppy: float,
             lag: int = 1, risk_free: float = 0.0) -> pd.DataFrame:
    """Sharpe ratio and total return of each strategy within each fold's test span."""
    # A return stamped t belongs to the fold that decided its position at t-lag.
    owner = folds.shift(lag).fillna(folds.iloc[0]).astype(int)
    rows = []
    for fold, dates in owner.groupby(owner).groups.items():
        row: dict[tuple[str, str], float] = {}
        for name, result in results.items():
            r = result.returns.loc[dates]
            row[("sharpe", name)] = stats.sharpe_ratio(r, ppy, risk_free=risk_free)
            row[("total_return", name)] = stats.total_return(r)
        rows.append(pd.Series(row, name=int(fold)))
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "fold"
    return frame


def sharpe_ci_text(ci: stats.ConfidenceInterval) -> str:
    if math.isnan(ci.low):
        return "—"
    return f"[{ci.low:.2f}, {ci.high:.2f}]"
