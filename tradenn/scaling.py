"""The one standardizer: column means and standard deviations fitted on training rows.

Features, targets and the regime detectors all scale with it, fitted on a training window
only, and it serializes into a run's JSON (no scikit-learn object to pickle). The standard
deviation is the population one (ddof 0, as scikit-learn's StandardScaler); NaNs are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Standardizer:
    """Per-column ``(x - mean) / std``, on arrays or, with named ``columns``, on frames.

    Example:
        >>> scaler = Standardizer.fit(train_frame)          # a DataFrame: columns remembered
        >>> scaler.transform(test_frame)                    # a DataFrame, same columns
        >>> Standardizer.from_dict(scaler.to_dict()) == scaler
        True
    """

    mean: np.ndarray
    std: np.ndarray
    columns: list[str] | None = None

    @classmethod
    def fit(cls, values: np.ndarray | pd.DataFrame) -> Standardizer:
        columns = [str(c) for c in values.columns] if isinstance(values, pd.DataFrame) else None
        array = np.asarray(values, dtype="float64")
        mean = np.nanmean(array, axis=0)
        std = np.nanstd(array, axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant column scales to zero, not to NaN
        return cls(mean=mean, std=std, columns=columns)

    @classmethod
    def identity(cls) -> Standardizer:
        """Leaves values as they are: the Sharpe loss's target, whose mean is the signal."""
        return cls(mean=np.float64(0.0), std=np.float64(1.0))

    def transform(self, values: Any) -> Any:
        if isinstance(values, pd.DataFrame):
            frame = values[self.columns] if self.columns is not None else values
            return (frame - self.mean) / self.std
        return (np.asarray(values, dtype="float64") - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype="float64") * self.std + self.mean

    def std_of(self, column: str) -> float:
        """The fitted standard deviation of a named column."""
        if self.columns is None or column not in self.columns:
            raise KeyError(column)
        return float(np.atleast_1d(self.std)[self.columns.index(column)])

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mean": np.atleast_1d(self.mean).tolist(),
                                "std": np.atleast_1d(self.std).tolist()}
        if self.columns is not None:
            data["columns"] = list(self.columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        mean = np.asarray(data["mean"], dtype="float64")
        std = np.asarray(data["std"], dtype="float64")
        columns = data.get("columns")
        if mean.shape != std.shape or (columns is not None and len(columns) != mean.size):
            raise ValueError("mean, std and columns must have one entry per column")
        return cls(mean=mean, std=std, columns=None if columns is None else list(columns))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Standardizer) and self.columns == other.columns
                and np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std))
