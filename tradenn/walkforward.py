"""Walk-forward folds and the arrays each fold trains and predicts on.

No TensorFlow here: this module decides *which* rows a model may see, which is where
look-ahead hides, so it is kept small and tested on its own.

A fold's rows, in bar order::

    |---- train (fit) ----|- gap -|-- validation --|- purge -|------ test ------|
    ^ train_start                                            ^ test_start      ^ test_end

Validation is the tail of the training window (for early stopping). The purge drops the
last ``purge`` (>= ``horizon``) training rows, whose labels (returns up to ``horizon`` bars
ahead) would overlap the test span; the gap does the same, ``horizon`` rows, between the
rows the model fits and the rows early stopping judges it on. Everything fitted for a fold
(regime, scalers, model) sees the same window, ``train_start`` to the purge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tradenn.config import ExperimentConfig, WalkForwardConfig
from tradenn.errors import ConfigError
from tradenn.features import make_features, make_target, make_windows
from tradenn.frequency import resolve_bars_per_year
from tradenn.scaling import Standardizer


@dataclass(frozen=True)
class Fold:
    """Row positions (into the usable rows) of one fold; ends are exclusive."""

    index: int
    train_start: int
    train_end: int  # first row after the training window, purge included
    test_start: int
    test_end: int

    def to_dict(self, dates: pd.DatetimeIndex) -> dict[str, object]:
        """Boundaries as ISO dates (inclusive ends) for the run manifest."""
        return {
            "index": self.index,
            "train_start": str(dates[self.train_start].date()),
            "train_end": str(dates[self.train_end - 1].date()),
            "test_start": str(dates[self.test_start].date()),
            "test_end": str(dates[self.test_end - 1].date()),
            **{f"rows_{k}": v for k, v in asdict(self).items() if k != "index"},
        }


def make_folds(n_rows: int, config: WalkForwardConfig, *, horizon: int = 1) -> list[Fold]:
    """Split ``n_rows`` chronologically ordered rows into walk-forward folds.

    ``expanding``: every training window starts at row 0. ``rolling``: the training window
    holds the last ``train_window`` rows before the test span. ``single``: one fold whose test
    span is everything after ``min_train``.

    Raises:
        ConfigError: there are too few rows for one fold.
    """
    purge = horizon if config.purge is None else config.purge
    if n_rows <= config.min_train + 1:
        raise ConfigError(
            f"walk_forward.min_train: {config.min_train} training rows requested but only "
            f"{n_rows} usable rows after warm-up; lower min_train or load more history"
        )
    test_size = n_rows - config.min_train if config.scheme == "single" else config.test_size
    folds = []
    test_start = config.min_train
    while test_start < n_rows:
        test_end = min(test_start + test_size, n_rows)
        train_end = test_start - purge
        train_start = 0
        if config.scheme == "rolling":
            train_start = max(0, test_start - (config.train_window or config.min_train))
        folds.append(Fold(len(folds), train_start, train_end, test_start, test_end))
        test_start = test_end
    return folds


@dataclass
class Arrays:
    """Model inputs and targets for a set of rows."""

    window: np.ndarray  # (n, window, features) float32, standardized
    regime: np.ndarray  # (n, R) float32
    target: np.ndarray  # (n,) float32, standardized; NaN where the label is not known yet
    dates: pd.DatetimeIndex

    def inputs(self) -> dict[str, np.ndarray]:
        return {"window": self.window, "regime": self.regime}

    def __len__(self) -> int:
        return len(self.dates)

    def subset(self, rows: slice | np.ndarray) -> Arrays:
        return Arrays(self.window[rows], self.regime[rows], self.target[rows], self.dates[rows])


@dataclass
class Panel:
    """Everything row-aligned that folds are cut from: unscaled features and labels.

    ``usable`` rows have a complete feature window; regimes come per fold (they are fitted
    per fold), so they are not part of the panel.
    """

    features: pd.DataFrame
    target: pd.Series
    window: int
    first_usable: int  # first row whose feature window is complete

    @classmethod
    def from_bars(
        cls, bars: pd.DataFrame, config: ExperimentConfig, *, bars_per_year: float | None = None
    ) -> Panel:
        """The panel of ``bars``; ``bars_per_year`` (None: ``data.bars_per_year`` or what
        the bars imply) annualizes ``volatility_w``."""
        if bars_per_year is None:
            bars_per_year = resolve_bars_per_year(bars.index, config.data.bars_per_year)
        features = make_features(
            bars, list(config.features.columns),
            lookback=config.features.lookback, bars_per_year=bars_per_year,
        )
        target = make_target(bars, config.features.horizon)
        complete = features.notna().all(axis=1).to_numpy()
        # A window ending at row j is usable when rows j-window+1..j are all complete.
        run = np.convolve(complete.astype(int), np.ones(config.features.window, int))[: len(complete)]
        usable = np.flatnonzero(run == config.features.window)
        if len(usable) == 0:
            raise ConfigError(
                f"features.window: {config.features.window} bars per window but the data has "
                f"only {len(bars)} bars"
            )
        if not complete[usable[0]:].all():
            bad = features.index[usable[0]:][~complete[usable[0]:]]
            raise ConfigError(
                f"features: {len(bad)} incomplete feature row(s) after warm-up, first "
                f"{bad[0].date()} (zero volume? choose other features.columns)"
            )
        return cls(features, target, config.features.window, int(usable[0]))

    @property
    def dates(self) -> pd.DatetimeIndex:
        return self.features.index[self.first_usable:]


@dataclass
class FoldScalers:
    """Fitted on a fold's training rows; kept with the run so `predict` scales the same way."""

    features: Standardizer
    target: Standardizer

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {"features": self.features.to_dict(), "target": self.target.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, list[float]]]) -> FoldScalers:
        return cls(Standardizer.from_dict(data["features"]), Standardizer.from_dict(data["target"]))


def fold_arrays(
    panel: Panel,
    regime: pd.DataFrame,
    fold: Fold,
    *,
    validation_fraction: float,
    horizon: int = 1,
) -> tuple[Arrays, Arrays, Arrays, FoldScalers]:
    """Train, validation and test arrays of ``fold``, scaled with training rows only.

    ``regime`` holds the model's regime columns over all bars, as transformed by a detector
    fitted on this fold's training window. Rows whose regime is not yet defined (warm-up)
    are left out of training; in the test span they are kept and give NaN inputs, so the
    trainer can report them rather than silently shift dates.

    The last ``horizon`` rows before the validation rows are left out of the fit: their
    labels reach into the validation span.

    Returns the train, validation and test arrays and the scalers (the target's turns
    predictions back into returns).
    """
    offset = panel.first_usable
    features = panel.features.to_numpy(dtype="float64")
    regimes = regime.to_numpy(dtype="float64")
    target = panel.target.to_numpy(dtype="float64")
    train_rows = np.arange(fold.train_start, fold.train_end) + offset
    train_rows = train_rows[~np.isnan(regimes[train_rows]).any(axis=1)]
    train_rows = train_rows[~np.isnan(target[train_rows])]
    if len(train_rows) < 10:
        raise ConfigError(
            f"fold {fold.index}: only {len(train_rows)} training rows have a defined regime; "
            f"lower the regime's warm-up or raise walk_forward.min_train"
        )
    test_rows = np.arange(fold.test_start, fold.test_end) + offset

    # Scalers see the training rows of the feature table only, never a test row.
    scalers = FoldScalers(Standardizer.fit(features[train_rows]), Standardizer.fit(target[train_rows]))
    n_val = max(1, int(round(len(train_rows) * validation_fraction)))
    val_rows = train_rows[-n_val:]
    fit_rows = train_rows[: -n_val][train_rows[: -n_val] < val_rows[0] - horizon]
    if len(fit_rows) < 10:
        raise ConfigError(
            f"fold {fold.index}: only {len(fit_rows)} rows left to fit before the validation "
            f"rows; lower train.validation_fraction or raise walk_forward.min_train"
        )
    fit, validation, test = (
        rows_to_arrays(panel, regime, scalers, rows) for rows in (fit_rows, val_rows, test_rows)
    )
    return fit, validation, test, scalers


def rows_to_arrays(
    panel: Panel, regime: pd.DataFrame, scalers: FoldScalers, rows: np.ndarray
) -> Arrays:
    """Scaled model inputs for bar rows ``rows`` (ascending): the window ending at each row."""
    scaled = scalers.features.transform(panel.features.to_numpy(dtype="float64"))
    windows = make_windows(scaled[rows[0] - panel.window + 1 : rows[-1] + 1], panel.window)
    return Arrays(
        window=windows[rows - rows[0]].astype("float32"),
        regime=regime.to_numpy(dtype="float64")[rows].astype("float32"),
        target=scalers.target.transform(panel.target.to_numpy()[rows]).astype("float32").reshape(-1),
        dates=panel.features.index[rows],
    )


def shuffled_regime_arrays(
    fit: Arrays, validation: Arrays, test: Arrays, rng: np.random.Generator
) -> tuple[Arrays, Arrays, Arrays]:
    """The ``shuffled_regime`` ablation's arrays: the regime's link to time cut, its
    distribution kept.

    Fit rows get their own regimes permuted. Validation and test rows both stand for the
    unseen future, so both draw regimes from the fit rows' pool: permuting within a span
    would hand a date a regime from later in that span.
    """
    return (
        shuffle_regime(fit, rng),
        resample_regime(validation, fit.regime, rng),
        resample_regime(test, fit.regime, rng),
    )


def shuffle_regime(arrays: Arrays, rng: np.random.Generator) -> Arrays:
    """The same rows with their regime rows permuted in time: the signal gone, its
    distribution kept (the ``shuffled_regime`` ablation, on training rows)."""
    return Arrays(arrays.window, arrays.regime[rng.permutation(len(arrays))], arrays.target,
                  arrays.dates)


def resample_regime(arrays: Arrays, pool: np.ndarray, rng: np.random.Generator) -> Arrays:
    """The same rows with regime rows drawn at random from ``pool`` (the training regimes).

    The test span of the ``shuffled_regime`` ablation cannot be permuted within itself:
    that would hand a date a regime from its own future.
    """
    drawn = pool[rng.integers(0, len(pool), size=len(arrays))]
    return Arrays(arrays.window, drawn, arrays.target, arrays.dates)
