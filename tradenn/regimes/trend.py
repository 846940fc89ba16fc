"""Trend regime: where the close sits against moving averages, and where they are heading."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import TrendRegimeConfig
from tradenn.regimes.base import RegimeDetector, require_rows
from tradenn.scaling import Standardizer

DOWN, FLAT, UP = 0, 1, 2


class TrendRegime(RegimeDetector):
    """Close against a fast and a slow simple moving average, and the slow one's slope.

    Columns (prefix ``trend`` by default):

    - ``trend_fast``, ``trend_slow``: log(close / SMA) for the fast and slow averages.
    - ``trend_spread``: log(fast SMA / slow SMA).
    - ``trend_slope``: annualized log change of the slow SMA over ``slope_window`` bars.
    - ``trend_slow_z``, ``trend_slope_z``: ``trend_slow`` and ``trend_slope`` standardized
      with the mean and standard deviation of the training window (learned in ``fit``).
    - ``trend_state``: 0 down, 1 flat, 2 up. Up when the spread is above ``flat_band`` and
      the slow average is rising; down when the spread is below ``-flat_band`` and it is
      falling; flat otherwise (the two signals disagree, or the averages are within the band).

    Every value at t uses closes dated <= t (trailing averages only).

    Example:
        >>> regime = TrendRegime(fast=50, slow=200).fit(train_bars)
        >>> regime.transform(bars)["trend_state"].value_counts()
    """

    kind = "trend"
    config_class = TrendRegimeConfig

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.scaler: Standardizer | None = None

    @property
    def columns(self) -> list[str]:
        return [
            self._name(s) for s in ("fast", "slow", "spread", "slope", "slow_z", "slope_z", "state")
        ]

    @property
    def model_columns(self) -> list[str]:
        return [self._name("slow_z"), self._name("slope_z")]

    @property
    def state_column(self) -> str | None:
        return self._name("state")

    def state_labels(self) -> dict[int, str]:
        return {DOWN: "down", FLAT: "flat", UP: "up"}

    @property
    def warmup(self) -> int:
        return self.config.slow + self.config.slope_window - 1

    def _raw(self, bars: pd.DataFrame) -> pd.DataFrame:
        cfg = self.config
        log_close = np.log(bars["close"].astype("float64"))
        fast_ma = bars["close"].rolling(cfg.fast).mean()
        slow_ma = bars["close"].rolling(cfg.slow).mean()
        log_slow = np.log(slow_ma)
        return pd.DataFrame(
            {
                self._name("fast"): log_close - np.log(fast_ma),
                self._name("slow"): log_close - log_slow,
                self._name("spread"): np.log(fast_ma) - log_slow,
                self._name("slope"): log_slow.diff(cfg.slope_window)
                * (self.bars_per_year / cfg.slope_window),
            },
            index=bars.index,
        )

    def _fit(self, bars: pd.DataFrame) -> None:
        raw = self._raw(bars)[[self._name("slow"), self._name("slope")]]
        require_rows(raw, 2, f"{self.kind} regime fit (slow={self.config.slow})")
        self.scaler = Standardizer.fit(raw)

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        assert self.scaler is not None
        frame = self._raw(bars)
        scaled = self.scaler.transform(frame[[self._name("slow"), self._name("slope")]])
        frame[self._name("slow_z")] = scaled[self._name("slow")]
        frame[self._name("slope_z")] = scaled[self._name("slope")]
        spread, slope = frame[self._name("spread")], frame[self._name("slope")]
        band = self.config.flat_band
        state = np.select(
            [(spread > band) & (slope > 0), (spread < -band) & (slope < 0)], [UP, DOWN], FLAT
        ).astype("float64")
        frame[self._name("state")] = pd.Series(state, index=bars.index).where(
            spread.notna() & slope.notna()
        )
        return frame

    def _fitted_state(self) -> dict[str, Any]:
        assert self.scaler is not None
        return {"scaler": self.scaler.to_dict()}

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.scaler = Standardizer.from_dict(state["scaler"])
