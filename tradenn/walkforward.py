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

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from tradenn.config import ExperimentConfig, WalkForwardConfig
from tradenn.errors import ConfigError
from tradenn.features import (
    ex_ante_volatility,
    make_features,
    make_target,
    make_windows,
    vol_scaled_return,
)
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
    # (n,) int: which asset each row is (pooled runs); rows of one asset are contiguous and
    # in time order. None: one asset.
    asset: np.ndarray | None = None

    def inputs(self) -> dict[str, np.ndarray]:
        return {"window": self.window, "regime": self.regime}

    def __len__(self) -> int:
        return len(self.dates)

    def subset(self, rows: slice | np.ndarray) -> Arrays:
        asset = None if self.asset is None else self.asset[rows]
        return Arrays(self.window[rows], self.regime[rows], self.target[rows], self.dates[rows],
                      asset)

    def continues(self) -> np.ndarray:
        """(n,) 0/1: row i is the next row of the same asset as row i-1 (0 for row 0), which
        is where the Sharpe loss counts a position change as turnover."""
        same = np.ones(len(self), dtype="float32")
        if len(same):
            same[0] = 0.0
        if self.asset is not None and len(same) > 1:
            same[1:] = (self.asset[1:] == self.asset[:-1]).astype("float32")
        return same

    @staticmethod
    def concatenate(parts: list[Arrays]) -> Arrays:
        """Rows of several assets one after the other, each part tagged with its position."""
        return Arrays(
            window=np.concatenate([p.window for p in parts]),
            regime=np.concatenate([p.regime for p in parts]),
            target=np.concatenate([p.target for p in parts]),
            dates=pd.DatetimeIndex(np.concatenate([p.dates.to_numpy() for p in parts])),
            asset=np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)]),
        )


@dataclass
class Panel:
    """Everything row-aligned that folds are cut from: unscaled features and labels.

    ``usable`` rows have a complete feature window; regimes come per fold (they are fitted
    per fold), so they are not part of the panel.
    """

    features: pd.DataFrame
    target: pd.Series  # the label the model learns (`features.target`), stamped t
    window: int
    first_usable: int  # first row whose feature window is complete
    returns: pd.Series  # the next simple return stamped t (= target for features.target: return)
    sigma: pd.Series  # ex-ante volatility known at t, annualized

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
        returns = make_target(bars, config.features.horizon)
        spec = config.features
        sigma = ex_ante_volatility(bars["close"], spec.vol_span, bars_per_year).rename("sigma")
        target = returns
        if spec.target == "vol_scaled_return":
            target = vol_scaled_return(
                bars["close"], sigma, horizon=spec.horizon, target_vol=spec.target_vol,
                bars_per_year=bars_per_year, winsorize=spec.winsorize,
            ).rename("target")
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
        return cls(features, target, config.features.window, int(usable[0]), returns, sigma)

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
    scale_target: bool = True,
) -> tuple[Arrays, Arrays, Arrays, FoldScalers]:
    """Train, validation and test arrays of ``fold``, scaled with training rows only.

    ``regime`` holds the model's regime columns over all bars, as transformed by a detector
    fitted on this fold's training window. Rows whose regime is not yet defined (warm-up)
    are left out of training; in the test span they are kept and give NaN inputs, so the
    trainer can report them rather than silently shift dates.

    The last ``horizon`` rows before the validation rows are left out of the fit: their
    labels reach into the validation span.

    ``scale_target`` False leaves the target as it is (the Sharpe loss: centring it would
    remove the drift the strategy earns).

    Returns the train, validation and test arrays and the scalers (the target's turns
    predictions back into returns).
    """
    pooled = pooled_fold_arrays([panel], [regime], [fold], validation_fraction=validation_fraction,
                                horizon=horizon, scale_target=scale_target)
    return pooled.fit, pooled.validation, pooled.test, pooled.scalers[0]


# A pooled asset with fewer rows to fit in a fold (it started late) sits that fold out:
# a year of rows is the least that its scalers and its share of the model should rest on.
MIN_POOLED_FIT_ROWS = 252


@dataclass
class PooledArrays:
    """One fold's arrays over several assets; ``Arrays.asset`` indexes ``assets``."""

    fit: Arrays
    validation: Arrays
    test: Arrays
    scalers: list[FoldScalers]  # per entry of ``assets``
    assets: list[int]  # positions (in the panels given) of the assets in this fold


def pooled_fold_arrays(
    panels: list[Panel],
    regimes: list[pd.DataFrame],
    folds: list[Fold | None],
    *,
    validation_fraction: float,
    horizon: int = 1,
    scale_target: bool = True,
) -> PooledArrays:
    """`fold_arrays` over several assets: each asset's rows, scaled with its own training
    rows, one asset after another.

    ``folds[i]`` is the fold in asset i's own rows (`asset_fold`; None: the asset has no
    rows in it). Validation is cut by date, the same for every asset: the last
    ``validation_fraction`` of the training dates of all assets together, so no asset is
    validated on a date another one is fitted on. With several assets, one with fewer than
    `MIN_POOLED_FIT_ROWS` rows to fit sits the fold out; a single asset with too few rows is
    an error.
    """
    single = len(panels) == 1
    train_rows = [None if f is None else _training_rows(p, r, f, strict=single)
                  for p, r, f in zip(panels, regimes, folds, strict=True)]
    known = [p.features.index[rows] for p, rows in zip(panels, train_rows, strict=True)
             if rows is not None]
    dates = known[0] if known else pd.DatetimeIndex([])  # every asset's training dates
    for more in known[1:]:
        dates = dates.union(more)
    index = next(f.index for f in folds if f is not None)
    if len(dates) == 0:
        raise ConfigError(f"fold {index}: no asset has training rows with a defined regime")
    n_val = max(1, int(round(len(dates) * validation_fraction)))
    validation_start = dates[-n_val]

    kept, scalers, parts = [], [], []
    for i, (panel, regime, fold, rows) in enumerate(zip(panels, regimes, folds, train_rows,
                                                         strict=True)):
        if rows is None:
            continue
        row_dates = panel.features.index[rows]
        val_rows = rows[row_dates >= validation_start]
        # Labels of the last `horizon` rows before validation reach into it.
        first_val = panel.features.index.searchsorted(validation_start)
        fit_rows = rows[(row_dates < validation_start) & (rows < first_val - horizon)]
        if single and len(fit_rows) < 10:
            raise ConfigError(
                f"fold {fold.index}: only {len(fit_rows)} rows left to fit before the validation "
                f"rows; lower train.validation_fraction or raise walk_forward.min_train"
            )
        if not single and len(fit_rows) < MIN_POOLED_FIT_ROWS:
            continue
        target = panel.target.to_numpy(dtype="float64")
        # Scalers see the asset's training rows only, never a test row nor another asset's.
        fold_scalers = FoldScalers(
            Standardizer.fit(panel.features.to_numpy(dtype="float64")[rows]),
            Standardizer.fit(target[rows]) if scale_target else Standardizer.identity(),
        )
        test_rows = np.arange(fold.test_start, fold.test_end) + panel.first_usable
        parts.append([rows_to_arrays(panel, regime, fold_scalers, r)
                      for r in (fit_rows, val_rows, test_rows)])
        kept.append(i)
        scalers.append(fold_scalers)
    if not kept:
        raise ConfigError(
            f"fold {index}: no asset has {MIN_POOLED_FIT_ROWS} rows to fit before the "
            "validation rows; raise walk_forward.min_train"
        )
    fit, validation, test = (Arrays.concatenate([p[k] for p in parts]) for k in range(3))
    return PooledArrays(fit, validation, test, scalers, kept)


def _training_rows(panel: Panel, regime: pd.DataFrame, fold: Fold, *, strict: bool) -> np.ndarray:
    """Bar rows of the fold's training window whose regime and label are known."""
    rows = np.arange(fold.train_start, fold.train_end) + panel.first_usable
    rows = rows[~np.isnan(regime.to_numpy(dtype="float64")[rows]).any(axis=1)]
    rows = rows[~np.isnan(panel.target.to_numpy(dtype="float64")[rows])]
    if strict and len(rows) < 10:
        raise ConfigError(
            f"fold {fold.index}: only {len(rows)} training rows have a defined regime; "
            f"lower the regime's warm-up or raise walk_forward.min_train"
        )
    return rows


def asset_fold(fold: Fold, dates: pd.DatetimeIndex, panel: Panel, *, purge: int) -> Fold | None:
    """``fold`` (row positions into ``dates``, the union of the assets' usable dates) in one
    asset's own usable rows: the same date boundaries, the purge counted in the asset's own
    rows. None when the asset has no training rows in it (it has not started yet)."""
    own = panel.dates
    train_start = int(own.searchsorted(dates[fold.train_start]))
    test_start = int(own.searchsorted(dates[fold.test_start]))
    test_end = int(own.searchsorted(dates[fold.test_end - 1], side="right"))
    train_end = test_start - purge
    if train_end <= train_start:
        return None
    return Fold(fold.index, train_start, train_end, test_start, test_end)


def rows_to_arrays(
    panel: Panel, regime: pd.DataFrame, scalers: FoldScalers, rows: np.ndarray
) -> Arrays:
    """Scaled model inputs for bar rows ``rows`` (ascending): the window ending at each row."""
    if len(rows) == 0:
        n_features, n_regime = panel.features.shape[1], regime.shape[1]
        return Arrays(np.empty((0, panel.window, n_features), "float32"),
                      np.empty((0, n_regime), "float32"), np.empty(0, "float32"),
                      panel.features.index[:0])
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
    return replace(arrays, regime=arrays.regime[rng.permutation(len(arrays))])


def resample_regime(arrays: Arrays, pool: np.ndarray, rng: np.random.Generator) -> Arrays:
    """The same rows with regime rows drawn at random from ``pool`` (the training regimes).

    The test span of the ``shuffled_regime`` ablation cannot be permuted within itself:
    that would hand a date a regime from its own future.
    """
    drawn = pool[rng.integers(0, len(pool), size=len(arrays))]
    return replace(arrays, regime=drawn)
