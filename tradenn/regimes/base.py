"""The regime detector interface and the causal building blocks detectors share.

A detector is fitted on a training window (``fit``) and then maps any bars to a frame of
regime columns (``transform``) whose row t is a function of bars dated <= t only. Whatever
``fit`` learns (thresholds, scalers, HMM parameters) comes from the bars it was given and
nothing else; ``transform`` never changes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from tradenn.config import format_validation_error
from tradenn.errors import ConfigError, DataError, NotFittedError
from tradenn.features import TRADING_DAYS
from tradenn.frequency import bars_per_year as implied_bars_per_year


class RegimeDetector(ABC):
    """Base class of a regime detector: ``fit`` on training bars, ``transform`` any bars.

    Subclasses set ``kind`` and ``config_class`` (the pydantic model of their config
    section) and implement ``_fit``, ``_transform``, ``columns`` and the fitted-state
    round trip ``_fitted_state`` / ``_load_fitted_state``.

    Args:
        **params: the detector's config keys (see ``config_class``); missing keys take the
            config defaults, unknown or invalid ones raise `ConfigError`.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type[BaseModel]]

    def __init__(self, **params: Any) -> None:
        params.setdefault("kind", self.kind)
        try:
            self.config = self.config_class(**params)
        except ValidationError as exc:
            raise ConfigError(f"{self.kind} regime: {format_validation_error(exc)}") from None
        self._fitted = False
        # Annualizes volatilities and slopes; set by `fit` (from the training bars' spacing
        # unless given) and stored with the fitted state.
        self.bars_per_year = float(TRADING_DAYS)

    @classmethod
    def from_config(cls, config: BaseModel) -> RegimeDetector:
        """A detector from its already validated config section."""
        return cls(**config.model_dump())

    @property
    def prefix(self) -> str:
        return str(self.config.prefix)

    # ----------------------------------------------------------------- interface

    def fit(self, bars: pd.DataFrame, *, bars_per_year: float | None = None) -> RegimeDetector:
        """Learn the detector's parameters from ``bars`` (the training window) only.

        Args:
            bars: the training window.
            bars_per_year: annualization of volatilities and slopes; None: implied by the
                spacing of ``bars`` (252 for daily stock bars, 6240 for hourly FX bars).

        Returns:
            ``self``, fitted.

        Raises:
            DataError: ``bars`` is not a bars frame or is too short to fit.
        """
        check_bars(bars, f"{self.kind} regime fit")
        self.bars_per_year = float(bars_per_year or implied_bars_per_year(bars.index))
        self._fit(bars)
        self._fitted = True
        return self

    def transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        """The regime columns of ``bars``: row t uses bars dated <= t only.

        Returns:
            A float64 frame indexed like ``bars`` with the columns ``self.columns``; rows
            of the warm-up (not enough history yet) are NaN.

        Raises:
            NotFittedError: ``fit`` was not called.
            DataError: ``bars`` is not a bars frame.
        """
        self._require_fitted()
        check_bars(bars, f"{self.kind} regime transform")
        frame = self._transform(bars)
        return frame[self.columns].astype("float64").set_axis(bars.index)

    def fit_transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        return self.fit(bars).transform(bars)

    @property
    @abstractmethod
    def columns(self) -> list[str]:
        """Every column ``transform`` returns, in order (known before fitting)."""

    @property
    @abstractmethod
    def model_columns(self) -> list[str]:
        """The columns that enter the model's regime input by default."""

    @property
    def state_column(self) -> str | None:
        """The integer state column (values 0..K-1 stored as float, NaN in warm-up)."""
        return None

    def state_labels(self) -> dict[int, str]:
        """Readable names of the states of ``state_column`` (default: the numbers)."""
        return {}

    @property
    def warmup(self) -> int:
        """Leading bars whose regime is NaN at least, whatever the data (0 if unknown)."""
        return 0

    @property
    def is_fitted(self) -> bool:
        return self._fitted

    def to_dict(self) -> dict[str, Any]:
        """The detector's config and fitted state as JSON-able data (for the run record)."""
        self._require_fitted()
        return {
            "kind": self.kind,
            "config": self.config.model_dump(mode="json"),
            "fitted": self._fitted_state(),
            "bars_per_year": self.bars_per_year,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegimeDetector:
        """A fitted detector from `to_dict`'s output."""
        detector = cls(**data["config"])
        detector._load_fitted_state(data["fitted"])
        detector.bars_per_year = float(data.get("bars_per_year", TRADING_DAYS))  # older runs: daily
        detector._fitted = True
        return detector

    def __repr__(self) -> str:
        state = "fitted" if self._fitted else "not fitted"
        params = ", ".join(f"{k}={v!r}" for k, v in self.config.model_dump().items() if k != "kind")
        return f"{type(self).__name__}({params}) [{state}]"

    # ----------------------------------------------------------------- for subclasses

    @abstractmethod
    def _fit(self, bars: pd.DataFrame) -> None: ...

    @abstractmethod
    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame: ...

    def _fitted_state(self) -> dict[str, Any]:
        return {}

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        return None

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise NotFittedError(
                f"{self.kind} regime: call fit(training bars) before transform or to_dict"
            )

    def _name(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"


# --------------------------------------------------------------------------- helpers


def check_bars(bars: Any, what: str) -> None:
    """Raise `DataError` unless ``bars`` is a non-empty, date-indexed frame with ``close``."""
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{what}: expected a bars DataFrame, got {type(bars).__name__}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise DataError(
            f"{what}: expected a DatetimeIndex of dates, got {type(bars.index).__name__}"
        )
    if "close" not in bars.columns:
        raise DataError(f"{what}: expected a 'close' column, got columns {list(bars.columns)}")
    if len(bars) == 0:
        raise DataError(f"{what}: expected at least one bar, got an empty frame")
    if not bars.index.is_monotonic_increasing or not bars.index.is_unique:
        raise DataError(f"{what}: expected strictly increasing dates (see tradenn.data.load_bars)")


def require_rows(values: pd.Series | pd.DataFrame | np.ndarray, needed: int, what: str) -> None:
    """Raise `DataError` if fewer than ``needed`` usable (non-NaN) rows were given to fit."""
    frame = pd.DataFrame(values)
    usable = int(frame.notna().all(axis=1).sum())
    if usable < needed:
        raise DataError(
            f"{what}: expected at least {needed} bars with a value after warm-up to fit on, "
            f"got {usable} of {len(frame)}; give fit a longer training window"
        )


def log_returns(bars: pd.DataFrame) -> pd.Series:
    """Log return of close from t-1 to t (NaN on the first bar)."""
    return np.log(bars["close"].astype("float64")).diff()


def realized_volatility(
    bars: pd.DataFrame, window: int, bars_per_year: float = TRADING_DAYS
) -> pd.Series:
    """Standard deviation of the last ``window`` log returns x sqrt(bars per year)."""
    return log_returns(bars).rolling(window).std() * np.sqrt(bars_per_year)


def expanding_zscore(values: pd.Series, min_periods: int) -> pd.Series:
    """(x_t - mean(x_<=t)) / std(x_<=t): each value against the history available at t."""
    expanding = values.expanding(min_periods=min_periods)
    std = expanding.std()
    return (values - expanding.mean()) / std.where(std > 0)


def expanding_percentile(values: pd.Series, min_periods: int) -> pd.Series:
    """Share of values dated <= t that are below x_t (ties count half), in (0, 1]."""
    return values.expanding(min_periods=min_periods).rank(pct=True)


def state_from_thresholds(values: pd.Series, thresholds: list[float]) -> pd.Series:
    """0 below the first threshold, 1 up to the next, ...; NaN where ``values`` is NaN."""
    states = np.searchsorted(
        np.asarray(thresholds, dtype="float64"), values.to_numpy(), side="right"
    )
    return pd.Series(states.astype("float64"), index=values.index).where(values.notna())
