"""The step after the backtest: tomorrow's signal from a finished run's latest model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tradenn.config import asset_name
from tradenn.data import load_bars
from tradenn.errors import DataError, RunError
from tradenn.runs import MAIN_VARIANT, open_complete_run
from tradenn.walkforward import Panel, rows_to_arrays


@dataclass
class Signal:
    """The model's call for the session after ``asof``, for one asset."""

    source: str
    asof: pd.Timestamp
    # The predicted return from the close of asof to the next close, or (a run trained with
    # the Sharpe loss) the model's position in [-1, 1].
    prediction: float
    position: float
    fold: int
    trained_through: str
    regime: dict[str, float]
    is_position: bool = False

    def describe(self) -> str:
        side = "long" if self.position > 0 else "short" if self.position < 0 else "flat"
        regime = ", ".join(f"{k}={v:.3g}" for k, v in self.regime.items())
        call = (f"model position {self.prediction:+.3f}" if self.is_position else
                f"predicted next-session return {self.prediction:+.3%}")
        return (
            f"{self.source} as of {self.asof.date()}: {call}; position {self.position:+.2f} "
            f"({side}) from the close of {self.asof.date()}\nmodel: fold {self.fold}, trained "
            f"on bars through {self.trained_through}; regime: {regime}"
        )


def predict_next(run_dir: str | Path, *, asof: str | None = None, provider: str = "auto") -> Signal:
    """Predict the next session with the last fold's models (mean over seeds).

    Bars come from ``provider`` (the cache or yfinance for fresh data). The date must lie
    after the last fold's training window: an earlier date would be predicted by a model
    that had seen its future. A pooled run's first asset; `predict_assets` gives them all.

    Raises:
        RunError: the run is not complete, or ``asof`` falls inside the model's training data.
        DataError: no bars up to ``asof``.
    """
    return predict_assets(run_dir, asof=asof, provider=provider)[0]


def predict_assets(run_dir: str | Path, *, asof: str | None = None,
                   provider: str = "auto") -> list[Signal]:
    """`predict_next` for every asset of the run (one for a single-asset run). A position
    is the asset's own sized position, before a pooled portfolio divides it by the number
    of assets."""
    run = open_complete_run(run_dir)
    config = run.config()
    fold = run.manifest["folds"][-1]
    bars_per_year = run.manifest["data"].get("bars_per_year")
    pooled = config.data.pooled
    shared = None
    if config.regime.source is not None:
        shared = load_bars(config.regime.source, config.data.start, asof,
                           provider=config.regime.provider or provider,
                           interval=config.data.interval)
    history = run.predictions()
    signals = []
    for source in config.data.sources:
        name = asset_name(source)
        bars = load_bars(source, config.data.start, asof, provider=provider,
                         interval=config.data.interval)
        asset_history = history[history["asset"] == name] if "asset" in history else history
        signals.append(_predict_asset(run, config, fold, bars, asset_history, shared,
                                      name if pooled else None, bars_per_year))
    return signals


def _predict_asset(run, config, fold: dict, bars: pd.DataFrame, history: pd.DataFrame,
                   shared: pd.DataFrame | None, asset: str | None,
                   bars_per_year: float | None) -> Signal:
    date = bars.index[-1]
    if date <= pd.Timestamp(fold["train_end"]):
        raise RunError(
            f"--asof {date.date()} is inside the last fold's training data (through "
            f"{fold['train_end']}); its prediction would use the future — read the run's "
            f"predictions.csv for earlier dates"
        )
    scalers = run.load_scalers(asset=asset)
    regime_detector = run.load_regime(asset=asset)
    # The run's own annualization, so volatility_w is scaled as the scalers expect.
    panel = Panel.from_bars(bars, config, bars_per_year=bars_per_year)
    if shared is None:
        regime = regime_detector.transform(bars)[regime_detector.model_columns]
    else:  # one regime for every asset: its last value known at each of the asset's dates
        regime = (regime_detector.transform(shared)[regime_detector.model_columns]
                  .reindex(bars.index, method="ffill"))
    if regime.iloc[-1].isna().any():
        raise DataError(f"the regime is undefined on {date.date()} (missing input data?)")
    # Every bar after the model's training data, through asof: the sizing below needs the
    # predictions as one unbroken daily series, however long after the run asof is.
    rows = np.flatnonzero(bars.index > pd.Timestamp(fold["train_end"]))
    arrays = rows_to_arrays(panel, regime, scalers, rows)
    outputs = [
        run.load_model(variant=MAIN_VARIANT, seed=seed).predict(arrays.inputs(), verbose=0)
        .reshape(-1)
        for seed in config.train.seeds
    ]
    fresh = pd.Series(scalers.target.inverse(np.mean(outputs, axis=0)), index=arrays.dates)
    past = history["prediction"]
    predictions = pd.concat([past[past.index < fresh.index[0]], fresh])
    is_position = config.train.loss == "sharpe"
    position = _position(config, bars, predictions, panel.sigma, is_position)
    return Signal(
        source=asset or str(config.data.source),
        asof=date,
        prediction=float(fresh.iloc[-1]),
        position=position,
        fold=int(fold["index"]),
        trained_through=fold["train_end"],
        regime={k: float(v) for k, v in regime.iloc[-1].items()},
        is_position=is_position,
    )


def _position(config, bars: pd.DataFrame, predictions: pd.Series, sigma: pd.Series,
              is_position: bool) -> float:
    """The last date's position, sized exactly as the backtest sizes the run: sizings that
    scale by past predictions or past volatility see the same history."""
    from tradenn.backtest import positions_from_predictions

    settings = config.backtest
    positions = positions_from_predictions(
        predictions,
        sizing=settings.sizing,
        long_only=settings.long_only,
        threshold=settings.threshold,
        leverage=settings.leverage,
        target_vol=settings.target_vol,
        vol_window=settings.vol_window,
        prices=bars["close"].reindex(predictions.index),
        kind="position" if is_position else "return",
        sigma=sigma.reindex(predictions.index),
    )
    return float(positions.iloc[-1])
