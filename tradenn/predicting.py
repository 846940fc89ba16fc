"""The step after the backtest: tomorrow's signal from a finished run's latest model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tradenn.data import load_bars
from tradenn.errors import DataError, RunError
from tradenn.runs import MAIN_VARIANT, open_complete_run
from tradenn.walkforward import Panel, rows_to_arrays


@dataclass
class Signal:
    """The model's call for the session after ``asof``."""

    source: str
    asof: pd.Timestamp
    prediction: float  # predicted return from the close of asof to the next close
    position: float
    fold: int
    trained_through: str
    regime: dict[str, float]

    def describe(self) -> str:
        side = "long" if self.position > 0 else "short" if self.position < 0 else "flat"
        regime = ", ".join(f"{k}={v:.3g}" for k, v in self.regime.items())
        return (
            f"{self.source} as of {self.asof.date()}: predicted next-session return "
            f"{self.prediction:+.3%}; position {self.position:+.2f} ({side}) from the close of "
            f"{self.asof.date()}\nmodel: fold {self.fold}, trained on bars through "
            f"{self.trained_through}; regime: {regime}"
        )


def predict_next(run_dir: str | Path, *, asof: str | None = None, provider: str = "auto") -> Signal:
    """Predict the next session with the last fold's models (mean over seeds).

    Bars come from ``provider`` (the cache or yfinance for fresh data). The date must lie
    after the last fold's training window: an earlier date would be predicted by a model
    that had seen its future.

    Raises:
        RunError: the run is not complete, or ``asof`` falls inside the model's training data.
        DataError: no bars up to ``asof``.
    """
    run = open_complete_run(run_dir)
    config = run.config()
    bars = load_bars(config.data.source, config.data.start, asof, provider=provider,  # type: ignore[arg-type]
                     interval=config.data.interval)
    fold = run.manifest["folds"][-1]
    date = bars.index[-1]
    if date <= pd.Timestamp(fold["train_end"]):
        raise RunError(
            f"--asof {date.date()} is inside the last fold's training data (through "
            f"{fold['train_end']}); its prediction would use the future — read the run's "
            f"predictions.csv for earlier dates"
        )
    scalers = run.load_scalers()
    regime_detector = run.load_regime()
    # The run's own annualization, so volatility_w is scaled as the scalers expect.
    panel = Panel.from_bars(bars, config, bars_per_year=run.manifest["data"].get("bars_per_year"))
    regime = regime_detector.transform(bars)[regime_detector.model_columns]
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
    history = run.predictions()["prediction"]
    predictions = pd.concat([history[history.index < fresh.index[0]], fresh])
    position = _position(config, bars, predictions)
    prediction = float(fresh.iloc[-1])
    return Signal(
        source=config.data.source,
        asof=date,
        prediction=prediction,
        position=position,
        fold=int(fold["index"]),
        trained_through=fold["train_end"],
        regime={k: float(v) for k, v in regime.iloc[-1].items()},
    )


def _position(config, bars: pd.DataFrame, predictions: pd.Series) -> float:
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
    )
    return float(positions.iloc[-1])
