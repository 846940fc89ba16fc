"""A run's predictions asset by asset, and as one column per asset over the union of dates.

A pooled run (one model trained on several assets) writes ``predictions.csv`` in long
format: one row per (date, asset) the asset traded, with an ``asset`` column. A run with one
asset, or an older run without that column, is one asset: its frames stay Series indexed
by date, exactly as before pooling existed, so its numbers do not move.

In a pooled run the portfolio's dates are every date some asset traded. An asset is *held*
from its first row on: before it, it is not in the portfolio (weight 0, earning nothing).
On a later date where it has no row (a gap in its data, a holiday of its own market, or
the end of its data) its price is carried forward, so it earns nothing that day and the
return across a gap is earned when it trades again; its weight is carried forward too,
since it cannot be traded without a bar. It stays one of the N_t assets held: whether it
will trade again is not known on the day, so counting it out would make today's weights
depend on the future. A gap therefore neither drops the other assets' rows nor rescales
(and so trades) them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from tradenn.errors import RunError

ASSET = "asset"
Frame = pd.Series | pd.DataFrame


@dataclass(frozen=True)
class AssetPanel:
    """The predictions of one run, by asset.

    Attributes:
        rows: the predictions, one row per (date, asset): indexed by date for one asset (the
            frame as read), by a RangeIndex with a ``date`` column when pooled.
        assets: the asset names, sorted (one name for a single-asset run).
        frames: each asset's own rows, indexed by date.
        index: the portfolio's dates (every date some asset has a row).
    """

    rows: pd.DataFrame
    assets: list[str]
    frames: dict[str, pd.DataFrame]
    index: pd.DatetimeIndex

    @property
    def pooled(self) -> bool:
        """Two or more assets: positions and prices are DataFrames (dates x assets)."""
        return len(self.assets) > 1

    @cached_property
    def traded(self) -> pd.DataFrame:
        """True where the asset has a row on the date."""
        return pd.DataFrame({a: self.index.isin(f.index) for a, f in self.frames.items()},
                            index=self.index)

    @cached_property
    def held(self) -> pd.DataFrame:
        """True from the asset's first row on (gaps included): in the portfolio. Causal: it
        depends on the rows up to each date only."""
        return self.traded.cummax()

    def prices(self, column: str) -> Frame:
        """``close`` or ``open``: the Series of a single asset, or dates x assets with each
        price carried forward over gaps (and back over the dates before the asset's first
        row, where it is not held and so earns nothing)."""
        if not self.pooled:
            return self.rows[column].astype("float64")
        wide = pd.DataFrame({a: f[column] for a, f in self.frames.items()}).reindex(self.index)
        return wide.ffill().bfill().astype("float64")

    def wide(self, own: dict[str, pd.Series]) -> pd.DataFrame:
        """Each asset's own values (on its own dates) as dates x assets, NaN where the asset
        has no row."""
        return pd.DataFrame({a: own[a] for a in self.assets}).reindex(self.index)

    def hold_over_gaps(self, weights: pd.DataFrame) -> pd.DataFrame:
        """Portfolio weights with each asset's weight carried forward over the dates it is
        held but has no row (it cannot be traded without a bar), and 0 where not held."""
        return weights.where(self.traded).ffill().where(self.held, 0.0)

    def on_rows(self, own: dict[str, pd.Series]) -> pd.Series:
        """Each asset's own values put back on the rows of `rows` (long format)."""
        if not self.pooled:
            return own[self.assets[0]]
        out = pd.Series(float("nan"), index=self.rows.index, dtype="float64")
        for asset in self.assets:
            mask = (self.rows[ASSET] == asset).to_numpy()
            out[mask] = own[asset].to_numpy()
        return out

    def by_date(self, columns: list[str]) -> pd.DataFrame:
        """The columns per date: as they are for one asset, their mean over the assets
        trading that date when pooled."""
        if not self.pooled:
            return self.rows[columns]
        if not columns:
            return pd.DataFrame(index=self.index)
        return self.rows.groupby("date")[columns].mean().reindex(self.index)

    def shared(self, column: str) -> pd.Series | None:
        """The column per date when every asset has the same value on every date (a regime
        shared by the assets); None when some date has two values (NaN counts as one)."""
        if not self.pooled:
            return self.rows[column]
        grouped = self.rows.groupby("date")[column]
        if (grouped.nunique(dropna=False) > 1).any():
            return None
        return grouped.first().reindex(self.index).rename(column)

    def folds(self) -> pd.Series:
        """The walk-forward fold of each date (the latest fold of any asset trading then)."""
        if not self.pooled:
            return self.rows["fold"]
        return self.rows.groupby("date")["fold"].max().reindex(self.index)


def asset_panel(predictions: pd.DataFrame, *, default_asset: str = "asset",
                source: str = "predictions") -> AssetPanel:
    """Split a run's predictions by asset.

    Args:
        predictions: ``predictions.csv`` indexed by date, with or without an ``asset``
            column.
        default_asset: the name of the one asset of a run without an ``asset`` column.
        source: what the predictions are, for error messages.

    Raises:
        RunError: a pooled run with a missing asset name, or an asset twice on one date.
    """
    names = predictions.get(ASSET)
    if names is None or names.nunique(dropna=False) <= 1:
        name = default_asset if names is None else str(names.iloc[0])
        return AssetPanel(rows=predictions, assets=[name], frames={name: predictions},
                          index=pd.DatetimeIndex(predictions.index))
    if names.isna().any():
        first = predictions.index[names.isna().to_numpy()][0]
        raise RunError(f"{source}: expected an asset name on every row, got none on {first}")
    rows = predictions.reset_index()
    if "date" not in rows:
        rows = rows.rename(columns={rows.columns[0]: "date"})
    rows[ASSET] = rows[ASSET].astype(str)
    twice = rows.duplicated(["date", ASSET])
    if twice.any():
        row = rows[twice].iloc[0]
        raise RunError(f"{source}: expected one row per date and asset, got {row[ASSET]} "
                       f"more than once on {row['date']}")
    ordered = rows.sort_values(["date", ASSET], kind="stable", ignore_index=True)
    if not ordered[["date", ASSET]].equals(rows[["date", ASSET]]):
        warnings.warn(f"{source}: rows are not sorted by date and asset; sorting them",
                      UserWarning, stacklevel=2)
    rows = ordered
    assets = sorted(rows[ASSET].unique())
    frames = {a: rows[rows[ASSET] == a].set_index("date") for a in assets}
    index = pd.DatetimeIndex(rows["date"].drop_duplicates(), name="date")
    return AssetPanel(rows=rows, assets=assets, frames=frames, index=index)
