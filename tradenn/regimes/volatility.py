"""Realized-volatility regime: how turbulent the market is now against its own history."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import VolatilityRegimeConfig
from tradenn.regimes.base import (
    RegimeDetector,
    expanding_percentile,
    expanding_zscore,
    realized_volatility,
    require_rows,
    state_from_thresholds,
)


class VolatilityRegime(RegimeDetector):
    """Annualized realized volatility, scored against the history available at each date.

    Columns (prefix ``vol`` by default):

    - ``vol_annual``: standard deviation of the last ``window`` log returns x sqrt(bars
      per year) (252 for daily bars; see `RegimeDetector.fit`).
    - ``vol_z``: z-score of log(vol_annual) against all its values dated <= t (expanding
      mean and standard deviation; NaN until ``min_history`` values exist). The log makes
      the heavy right tail of volatility roughly symmetric, so crises score about +3, not +8.
    - ``vol_pct``: percentile of vol_annual among its values dated <= t, in (0, 1].
    - ``vol_level`` (only if ``levels`` > 0): 0 .. levels-1, by thresholds at the
      1/levels, 2/levels, ... quantiles of vol_annual in the training window.

    The z-score and percentile need no fit: they use only the past of the series being
    transformed. ``fit`` learns the level thresholds (if any) and checks there is data.

    Example:
        >>> regime = VolatilityRegime(window=21, levels=3).fit(train_bars)
        >>> regime.transform(bars)[["vol_z", "vol_level"]].tail()
    """

    kind = "volatility"
    config_class = VolatilityRegimeConfig

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.thresholds: list[float] = []

    @property
    def columns(self) -> list[str]:
        names = [self._name(s) for s in ("annual", "z", "pct")]
        return names + ([self._name("level")] if self.config.levels else [])

    @property
    def model_columns(self) -> list[str]:
        return [self._name("z")]

    @property
    def state_column(self) -> str | None:
        return self._name("level") if self.config.levels else None

    def state_labels(self) -> dict[int, str]:
        if not self.config.levels:
            return {}
        named = {2: ["calm", "turbulent"], 3: ["calm", "normal", "turbulent"]}
        names = named.get(self.config.levels)
        if names is None:
            return {k: f"{self.prefix} level {k}" for k in range(self.config.levels)}
        return dict(enumerate(names))

    @property
    def warmup(self) -> int:
        # One bar for the first return, `window` returns, then `min_history` values.
        return self.config.window + self.config.min_history - 1

    def _fit(self, bars: pd.DataFrame) -> None:
        vol = realized_volatility(bars, self.config.window, self.bars_per_year)
        require_rows(vol, max(2, self.config.levels), f"{self.kind} regime fit")
        levels = self.config.levels
        if levels:
            quantiles = np.arange(1, levels) / levels
            self.thresholds = [float(q) for q in vol.dropna().quantile(quantiles)]

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        vol = realized_volatility(bars, self.config.window, self.bars_per_year)
        min_history = self.config.min_history
        frame = pd.DataFrame(
            {
                self._name("annual"): vol,
                self._name("z"): expanding_zscore(np.log(vol), min_history),
                self._name("pct"): expanding_percentile(vol, min_history),
            },
            index=bars.index,
        )
        if self.config.levels:
            frame[self._name("level")] = state_from_thresholds(vol, self.thresholds)
        return frame

    def _fitted_state(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds)}

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.thresholds = [float(t) for t in state["thresholds"]]
