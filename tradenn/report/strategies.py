"""Every strategy of a run's report, sized alike: the model's variants, the classical
baselines and buy-and-hold, on one asset or as an equal-risk portfolio of several.

Each asset's position is sized on that asset's own series (its predictions, closes and
ex-ante volatility, its own dates); a pooled run's portfolio then holds each asset's
position divided by the number of assets held that date (`equal_risk_weights`), keeping an
asset's weight over the dates it has no bar (`AssetPanel.hold_over_gaps`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from tradenn import stats
from tradenn.backtest import (
    BacktestResult,
    PredictionKind,
    buy_and_hold,
    equal_risk_weights,
    positions_from_predictions,
    run_backtest,
)
from tradenn.config import BacktestConfig
from tradenn.report.panel import AssetPanel, Frame

BENCHMARK = "buy_and_hold"
# Classical strategies computed by the trainer from each asset's full history, causally:
# time-series momentum (the sign of the 12-month return; Moskowitz, Ooi & Pedersen 2012)
# and a MACD trend signal (Baz et al. 2015). Both are positions, like a Sharpe-loss output.
BASELINES = {"tsmom": "signal_tsmom", "macd": "signal_macd"}
# Always long, sized like the models: with a sizing that scales by volatility this is not
# buy-and-hold, and it is what a model that only learned "be long" would earn.
SIZED_LONG = "long"
# The column `size_strategy` reads as a signal of +1 on every row.
ALWAYS_LONG = "+1"
SIZINGS_THAT_SCALE = ("vol_scaled", "vol_target")
BASELINE_LABELS = {"tsmom": "TSMOM", "macd": "MACD", SIZED_LONG: "long (sized)"}
# Statistics of each asset traded alone (`per_asset_statistics`).
PER_ASSET_STATS = ("sharpe", "cagr", "annual_volatility", "max_drawdown", "total_return")


@dataclass(frozen=True)
class StrategyPositions:
    """One strategy's positions.

    Attributes:
        weights: what the backtest holds: the asset's position for one asset; dates x
            assets, each asset's position divided by the number held, for a pooled run.
        own: each asset's own position on its own dates (not divided), by asset.
        rows: the same on each row of the predictions (for diagnostics and shares).
    """

    weights: pd.Series | pd.DataFrame
    own: dict[str, pd.Series]
    rows: pd.Series


def size_strategy(
    panel: AssetPanel,
    column: str | None,
    settings: BacktestConfig,
    *,
    kind: PredictionKind = "return",
    periods_per_year: float | None = None,
    expect_nan: bool = False,
) -> StrategyPositions:
    """Size one column of the predictions on every asset and combine them.

    Args:
        panel: the run's predictions by asset.
        column: the predictions' column to size (``prediction``, ``signal_tsmom`` ...);
            `ALWAYS_LONG` sizes a signal of +1; None is buy-and-hold (1 on each asset).
        settings: the run's sizing settings.
        kind: whether the column holds predicted returns or positions.
        periods_per_year: annualization of ``vol_target`` sizing.
        expect_nan: NaN values are expected (a baseline's warm-up): no warning for them.
    """
    own = {}
    for asset, frame in panel.frames.items():
        if column is None:
            own[asset] = buy_and_hold(frame["close"])
            continue
        with warnings.catch_warnings():
            if expect_nan:
                warnings.filterwarnings("ignore", message=r"predictions: \d+ NaN prediction")
            signal = (pd.Series(1.0, index=frame.index) if column == ALWAYS_LONG
                      else frame[column])
            own[asset] = positions_from_predictions(
                signal, sizing=settings.sizing, long_only=settings.long_only,
                threshold=settings.threshold, leverage=settings.leverage,
                target_vol=settings.target_vol, vol_window=settings.vol_window,
                prices=frame["close"].astype("float64"), periods_per_year=periods_per_year,
                kind=kind, sigma=frame.get("sigma"),
            )
    if panel.pooled:
        divided = equal_risk_weights(panel.wide(own).fillna(0.0), panel.held)
        weights = panel.hold_over_gaps(divided)
    else:
        weights = own[panel.assets[0]]
    return StrategyPositions(weights=weights, own=own, rows=panel.on_rows(own))


def available_baselines(columns: pd.Index) -> tuple[list[str], str | None]:
    """The baselines whose signal column the predictions have, and a sentence on the rest."""
    present = [name for name, column in BASELINES.items() if column in columns]
    absent = [name for name in BASELINES if name not in present]
    if not absent:
        return present, None
    what = ("no classical baselines" if not present
            else f"no {BASELINE_LABELS[absent[0]]} baseline")
    return present, (
        f"{what}: predictions.csv has no {' or '.join(BASELINES[n] for n in absent)} column "
        "(a run written before the baselines were added; train it again to compare with them)")


def backtest(panel: AssetPanel, positions: StrategyPositions | pd.Series, settings:
             BacktestConfig, periods_per_year: float, execution: str | None = None,
             ) -> BacktestResult:
    """The portfolio's backtest of one strategy's weights (costs on each asset's changes)."""
    weights = positions.weights if isinstance(positions, StrategyPositions) else positions
    opens = panel.prices("open") if "open" in panel.rows else None
    return _run(panel.prices("close"), opens, weights, settings, periods_per_year, execution)


def _run(close: Frame, opens: Frame | None, weights: Frame, settings: BacktestConfig,
         periods_per_year: float, execution: str | None = None) -> BacktestResult:
    """`run_backtest` with the run's costs, execution and risk-free rate."""
    return run_backtest(close, weights, cost_bps=settings.cost_bps,
                        slippage_bps=settings.slippage_bps, periods_per_year=periods_per_year,
                        execution=execution or settings.execution, open=opens,
                        risk_free=settings.risk_free)


def per_asset_statistics(panel: AssetPanel, sized: dict[str, StrategyPositions],
                         settings: BacktestConfig, periods_per_year: float) -> pd.DataFrame:
    """Each strategy traded on each asset alone: its own position (not divided by the
    number of assets) on the asset's own dates, with the run's costs and execution.

    Returns:
        Rows (asset, strategy); columns `PER_ASSET_STATS` plus ``share_long``,
        ``share_short`` (of the asset's dates) and ``periods``.
    """
    rows = {}
    for asset, frame in panel.frames.items():
        close = frame["close"].astype("float64")
        opens = frame["open"].astype("float64") if "open" in frame else None
        for name, positions in sized.items():
            own = positions.own[asset]
            result = _run(close, opens, own, settings, periods_per_year)
            summary = stats.performance_summary(result.returns, periods=periods_per_year,
                                                risk_free=settings.risk_free)
            rows[(asset, name)] = {
                **{key: summary[key] for key in PER_ASSET_STATS},
                "share_long": float((own > 0).mean()),
                "share_short": float((own < 0).mean()),
                "periods": float(len(own)),
            }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["asset", "strategy"])
    return table
