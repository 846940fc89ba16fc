"""Several detectors as one regime vector, and the choice of its model and state columns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tradenn.errors import ConfigError
from tradenn.regimes.base import RegimeDetector, check_bars


class CompositeRegime:
    """Detectors side by side: their columns concatenated into one regime frame.

    It has a detector's interface (``fit``, ``transform``, ``model_columns``,
    ``state_column``, ``to_dict``), so training code treats one detector and several alike.

    Args:
        detectors: the detectors, in column order; their column names must not collide
            (give two detectors of the same kind different ``prefix`` values).
        columns: the columns that enter the model's regime input; ``None`` takes every
            detector's default ``model_columns``.
        state: the discrete column used for per-regime reports; ``None`` takes the first
            detector's state column that exists (there may be none).

    Raises:
        ConfigError: colliding column names, an unknown entry of ``columns`` (named
            ``regime.columns``) or a ``state`` that is not a state column (``regime.state``).

    Example:
        >>> regime = CompositeRegime([VolatilityRegime(), HmmRegime(n_states=2)])
        >>> regime.fit(train_bars).transform(bars)[regime.model_columns]
    """

    kind = "composite"

    def __init__(
        self,
        detectors: list[RegimeDetector],
        columns: list[str] | None = None,
        state: str | None = None,
    ) -> None:
        if not detectors:
            raise ConfigError("regime.detectors: expected at least one detector, got none")
        self.detectors = list(detectors)
        self._check_collisions()
        self._model_columns = self._choose_columns(columns)
        self._state_column = self._choose_state(state)

    def _check_collisions(self) -> None:
        seen: dict[str, int] = {}
        for position, detector in enumerate(self.detectors):
            for column in detector.columns:
                if column in seen:
                    raise ConfigError(
                        f"regime.detectors: detectors {seen[column]} and {position} both "
                        f"produce column {column!r}; give one of them a different `prefix`"
                    )
                seen[column] = position

    def _choose_columns(self, columns: list[str] | None) -> list[str]:
        if columns is None:
            return [c for d in self.detectors for c in d.model_columns]
        if not columns:
            raise ConfigError("regime.columns: expected at least one column or null, got []")
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise ConfigError(
                f"regime.columns: unknown column(s) {unknown}; the detectors produce {self.columns}"
            )
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        if duplicated:
            raise ConfigError(f"regime.columns: column(s) {duplicated} listed more than once")
        return list(columns)

    def _choose_state(self, state: str | None) -> str | None:
        available = [d.state_column for d in self.detectors if d.state_column]
        if state is None:
            return available[0] if available else None
        if state not in available:
            hint = ("none (give a volatility detector levels, or add trend, hmm, markov or "
                    "changepoint)")
            raise ConfigError(
                f"regime.state: {state!r} is not a state column; available: {available or hint}"
            )
        return state

    # ----------------------------------------------------------------- interface

    @property
    def columns(self) -> list[str]:
        """Every column of `transform`, detector by detector."""
        return [c for d in self.detectors for c in d.columns]

    @property
    def model_columns(self) -> list[str]:
        return list(self._model_columns)

    @property
    def state_column(self) -> str | None:
        return self._state_column

    @property
    def warmup(self) -> int:
        """Leading bars during which some detector is certainly NaN."""
        return max(d.warmup for d in self.detectors)

    @property
    def is_fitted(self) -> bool:
        return all(d.is_fitted for d in self.detectors)

    def state_labels(self) -> dict[int, str]:
        """Readable names of ``state_column``'s values (empty if there is none)."""
        for detector in self.detectors:
            if detector.state_column and detector.state_column == self._state_column:
                return detector.state_labels()
        return {}

    def fit(self, bars: pd.DataFrame, *, bars_per_year: float | None = None) -> CompositeRegime:
        """Fit every detector on ``bars`` (the training window); returns ``self``.
        ``bars_per_year`` as in `RegimeDetector.fit`."""
        check_bars(bars, "regime fit")
        for detector in self.detectors:
            detector.fit(bars, bars_per_year=bars_per_year)
        return self

    def transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        """All detectors' columns of ``bars``; row t uses bars dated <= t only."""
        frames = [detector.transform(bars) for detector in self.detectors]
        return pd.concat(frames, axis=1)

    def fit_transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        return self.fit(bars).transform(bars)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detectors": [d.to_dict() for d in self.detectors],
            "columns": self.model_columns,
            "state": self.state_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompositeRegime:
        from tradenn.regimes.registry import REGIMES

        detectors = [REGIMES[d["kind"]].from_dict(d) for d in data["detectors"]]
        return cls(detectors, columns=data["columns"], state=data["state"])

    def __repr__(self) -> str:
        inner = ", ".join(repr(d) for d in self.detectors)
        return (
            f"CompositeRegime([{inner}], columns={self.model_columns}, state={self.state_column!r})"
        )
