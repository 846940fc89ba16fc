"""Look at an experiment's regime before training: fit it, describe it, draw it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tradenn.config import ExperimentConfig
from tradenn.data import load_bars
from tradenn.errors import DataError
from tradenn.features import make_features
from tradenn.files import write_atomic
from tradenn.regimes.composite import CompositeRegime
from tradenn.regimes.plot import plot_regimes
from tradenn.regimes.registry import build_regime
from tradenn.regimes.summary import regime_table

FIGURE_NAME = "regimes.png"
CSV_NAME = "regimes.csv"
TABLE_NAME = "regimes_table.csv"


@dataclass
class RegimeAnalysis:
    """What `analyze_regimes` computed and wrote."""

    frame: pd.DataFrame  # every regime column over the whole history
    table: pd.DataFrame  # `regime_table` of the state column (or terciles)
    figure_path: Path
    csv_path: Path
    table_path: Path
    fit_start: pd.Timestamp  # first bar of the first training window (after warm-up)
    fit_end: pd.Timestamp  # last bar the regime was fitted on
    regime: CompositeRegime = field(repr=False)

    @property
    def state_column(self) -> str | None:
        return self.regime.state_column

    @property
    def model_columns(self) -> list[str]:
        return self.regime.model_columns


def first_fit_window(
    bars: pd.DataFrame, config: ExperimentConfig, regime: CompositeRegime
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date of the first training window: ``walk_forward.min_train`` bars
    starting at the first bar where every feature is defined and the regime's static
    warm-up (``regime.warmup``) has passed.

    Raises:
        DataError: the bars are too short for the warm-up plus ``min_train`` bars.
    """
    features = make_features(bars, list(config.features.columns), lookback=config.features.lookback)
    ready = features.notna().all(axis=1).to_numpy()
    if not ready.any():
        raise DataError(
            f"{regime_source(config)}: no bar has every feature {list(config.features.columns)} "
            f"defined; got {len(bars)} bars"
        )
    start = max(int(ready.argmax()), regime.warmup)
    min_train = config.walk_forward.min_train
    end = start + min_train - 1
    if end >= len(bars):
        raise DataError(
            f"walk_forward.min_train: expected at least {min_train} bars after a warm-up of "
            f"{start} bars, got {len(bars) - start} ({regime_source(config)} has {len(bars)} bars "
            f"from {bars.index[0].date()})"
        )
    return bars.index[start], bars.index[end]


def regime_source(config: ExperimentConfig) -> str:
    """The series a config's regime is computed from: ``regime.source``, else the (first)
    asset's bars (a pooled run without a shared regime computes one per asset)."""
    return config.regime.source or config.data.sources[0]


def analyze_regimes(config: ExperimentConfig, out_dir: str | os.PathLike[str]) -> RegimeAnalysis:
    """Fit the experiment's regime on its first training window and describe the history.

    Loads the config's bars, fits the regime on bars up to the end of the first training
    window (`first_fit_window`), transforms the whole history, and writes into ``out_dir``
    (each file atomically): ``regimes.png`` (price with states shaded, model columns
    below), ``regimes.csv`` (close and every regime column by date, with an
    ``in_fit_window`` flag) and ``regimes_table.csv`` (`regime_table`).

    Values after ``fit_end`` are out of sample for the fitted parameters; values before it
    are still causal (each uses bars dated <= its date) but the parameters saw them.

    Raises:
        DataError: the bars cannot be loaded or are too short.
        ConfigError: the regime section names unknown columns.
        RunError: ``out_dir`` cannot be written.
    """
    data = config.data
    source = regime_source(config)
    bars = load_bars(source, data.start, data.end, provider=config.regime.provider or data.provider,
                     interval=data.interval)
    regime = build_regime(config.regime)
    fit_start, fit_end = first_fit_window(bars, config, regime)
    regime.fit(bars.loc[:fit_end], bars_per_year=data.bars_per_year)
    frame = regime.transform(bars)
    labels = regime.state_labels()
    table = regime_table(
        bars, frame, regime.state_column, labels=labels, tercile_column=regime.model_columns[0],
        bars_per_year=data.bars_per_year,
    )
    figure = plot_regimes(
        bars,
        frame,
        regime.state_column,
        regime.model_columns,
        labels=labels,
        fit_end=fit_end,
        title=f"{config.name}: {source} regime (fitted {fit_start.date()} to {fit_end.date()})",
    )
    out = Path(out_dir)
    csv = pd.concat([bars["close"], frame], axis=1)
    csv["in_fit_window"] = (csv.index <= fit_end).astype(int)
    figure_path, csv_path, table_path = out / FIGURE_NAME, out / CSV_NAME, out / TABLE_NAME
    write_atomic(figure_path, lambda tmp: figure.savefig(tmp, format="png", dpi=110))
    write_atomic(csv_path, lambda tmp: csv.to_csv(tmp, float_format="%.8g"))
    write_atomic(table_path, lambda tmp: table.to_csv(tmp, float_format="%.8g"))
    return RegimeAnalysis(
        frame=frame,
        table=table,
        figure_path=figure_path,
        csv_path=csv_path,
        table_path=table_path,
        fit_start=fit_start,
        fit_end=fit_end,
        regime=regime,
    )


