"""VIX regime: an exogenous fear gauge aligned causally to the traded asset's calendar."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import VixRegimeConfig
from tradenn.data import load_index_closes
from tradenn.errors import DataError
from tradenn.regimes.base import RegimeDetector, expanding_percentile, require_rows
from tradenn.scaling import Standardizer


class VixRegime(RegimeDetector):
    """The close of an index such as CBOE's VIX, as of each bar's date.

    The value at bar date t is the index's last close dated <= t (with ``lag`` > 0, the
    close ``lag`` index sessions before that one). Dates where the index has no row of its
    own (CBOE's file misses 4 NYSE sessions: 1991-03-01, 1997-01-31, 1997-11-26 and
    1999-12-31) carry the previous close forward, but only while it is at most
    ``max_stale_days`` calendar days old; older values become NaN rather than pretending
    to be current. ``vix_age`` says how old the value in use is.

    CBOE's VIX closes at 16:15 New York time, 15 minutes after the NYSE close, so the
    default ``lag: 1`` uses the previous VIX session's close: a position decided at the
    equity close of t could not have seen VIX's close of t. ``lag: 0`` uses it anyway
    (a 15-minute look-ahead, for comparison with studies that do).

    Columns (prefix ``vix`` by default):

    - ``vix_level``: the index close (VIX points).
    - ``vix_z``: log(vix_level) standardized with the training window's mean and
      standard deviation (learned in ``fit``).
    - ``vix_pct``: percentile of the close among all index closes dated <= its date
      (from the index's first row, NaN until ``min_history`` closes exist), in (0, 1].
    - ``vix_age``: calendar days between the bar's date and the date of the close used.

    Args:
        series: the index closes indexed by date, instead of loading ``source`` (tests,
            notebooks); not stored by `to_dict`, so a restored detector loads ``source``.
        **params: the ``vix`` config keys (source, provider, min_history, max_stale_days,
            lag, prefix).

    Example:
        >>> regime = VixRegime(max_stale_days=5).fit(train_bars)
        >>> regime.transform(bars)["vix_level"].loc["2020-03-16"]
        82.69
    """

    kind = "vix"
    config_class = VixRegimeConfig

    def __init__(self, series: pd.Series | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._series = None if series is None else _clean_series(series, "vix series")
        self.scaler: Standardizer | None = None

    @property
    def columns(self) -> list[str]:
        return [self._name(s) for s in ("level", "z", "pct", "age")]

    @property
    def model_columns(self) -> list[str]:
        return [self._name("z")]

    def series(self) -> pd.Series:
        """The index closes by date, read from ``source`` on first use in this process.

        Never stored in `to_dict`: a detector restored from a run reads its source again, so
        it sees closes newer than the training run.
        """
        if self._series is None:
            cfg = self.config
            closes = load_index_closes(cfg.source, provider=cfg.provider)
            self._series = _clean_series(closes, f"vix source {cfg.source!r}")
        return self._series

    def _aligned(self, bars: pd.DataFrame) -> pd.DataFrame:
        cfg = self.config
        closes = self.series()
        level = closes.shift(cfg.lag) if cfg.lag else closes
        # The date of the close actually used: with a lag, an earlier session's.
        observed = closes.index.to_series().shift(cfg.lag) if cfg.lag else closes.index.to_series()
        by_index_date = pd.DataFrame(
            {
                "level": level,
                "pct": expanding_percentile(level, cfg.min_history),
                "observed": observed,
            },
            index=closes.index,
        ).dropna(subset=["level"])
        # Backward as-of join: each bar takes the index row dated on or before it.
        aligned = by_index_date.reindex(
            by_index_date.index.union(bars.index), method="ffill"
        ).reindex(bars.index)
        age = (bars.index.to_series() - aligned["observed"]).dt.days.astype("float64")
        fresh = age <= cfg.max_stale_days
        return pd.DataFrame(
            {
                self._name("level"): aligned["level"].where(fresh),
                self._name("pct"): aligned["pct"].where(fresh),
                self._name("age"): age,
            },
            index=bars.index,
        )

    def _fit(self, bars: pd.DataFrame) -> None:
        level = self._aligned(bars)[self._name("level")]
        require_rows(level, 2, f"{self.kind} regime fit (source {self.config.source!r})")
        self.scaler = Standardizer.fit(np.log(level).to_frame("log_level"))

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        assert self.scaler is not None
        frame = self._aligned(bars)
        log_level = np.log(frame[self._name("level")]).to_frame("log_level")
        frame[self._name("z")] = self.scaler.transform(log_level)["log_level"]
        return frame

    def _fitted_state(self) -> dict[str, Any]:
        assert self.scaler is not None
        closes = self.series()
        digest = hashlib.sha256(pd.util.hash_pandas_object(closes).to_numpy().tobytes())
        return {
            "scaler": self.scaler.to_dict(),
            "series_first": str(closes.index[0].date()),
            "series_last": str(closes.index[-1].date()),
            "series_hash": digest.hexdigest()[:16],
        }

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.scaler = Standardizer.from_dict(state["scaler"])


def _clean_series(series: pd.Series, name: str) -> pd.Series:
    """Index closes as float64 by strictly increasing dates, NaN rows dropped."""
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise DataError(
            f"{name}: expected a Series of closes indexed by date, got {type(series).__name__}"
        )
    series = series.astype("float64").dropna()
    if series.empty:
        raise DataError(f"{name}: expected closes, got no non-NaN value")
    if not series.index.is_monotonic_increasing or not series.index.is_unique:
        raise DataError(f"{name}: expected strictly increasing dates")
    if (series <= 0).any():
        raise DataError(f"{name}: expected positive closes, got {int((series <= 0).sum())} <= 0")
    return series.rename("close")
