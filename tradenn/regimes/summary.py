"""Describe regimes: how often each state occurs, how long it lasts, what the market did."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from tradenn.errors import DataError
from tradenn.frequency import resolve_bars_per_year

TERCILE_LABELS = {0: "low", 1: "mid", 2: "high"}


def tercile_states(values: pd.Series) -> pd.Series:
    """0 / 1 / 2 for values in the low / mid / high third of ``values`` (NaN stays NaN).

    The terciles are those of the whole series passed in, so this is a description of a
    history, not a causal signal: never feed it to a model.
    """
    valid = values.dropna()
    if valid.empty:
        return pd.Series(np.nan, index=values.index, name=values.name)
    cuts = valid.quantile([1 / 3, 2 / 3]).to_numpy()
    states = np.searchsorted(cuts, values.to_numpy(), side="right").astype("float64")
    return pd.Series(states, index=values.index, name=values.name).where(values.notna())


def run_lengths(states: pd.Series) -> pd.DataFrame:
    """Maximal runs of consecutive equal states: one row per run with ``state`` and ``length``.

    A NaN (unknown) state ends a run and belongs to none; a run cut by the end of the
    series counts with the length seen so far.
    """
    values = states.to_numpy(dtype="float64")
    starts = np.ones(len(values), dtype=bool)
    starts[1:] = values[1:] != values[:-1]  # NaN != NaN, so NaN rows never extend a run
    run_id = np.cumsum(starts)
    known = ~np.isnan(values)
    runs = pd.DataFrame({"run": run_id[known], "state": values[known]})
    return (
        runs.groupby("run")
        .agg(state=("state", "first"), length=("state", "size"))
        .reset_index(drop=True)
    )


def regime_table(
    bars: pd.DataFrame,
    regimes: pd.DataFrame,
    state_column: str | None,
    *,
    labels: dict[int, str] | None = None,
    tercile_column: str | None = None,
    returns: Literal["next", "same"] = "next",
    bars_per_year: float | None = None,
) -> pd.DataFrame:
    """Per state: share of days, mean daily return, annualized volatility, mean duration.

    Args:
        bars: the bars the regimes were computed on.
        regimes: regime columns indexed like ``bars`` (e.g. a detector's ``transform``).
        state_column: the integer state column; ``None`` describes terciles of
            ``tercile_column`` (default: the first column of ``regimes``) instead, labelled
            low / mid / high. Terciles use the whole history shown, so they are descriptive.
        labels: names of the states, e.g. ``detector.state_labels()``.
        returns: ``"next"`` (default) describes the close-to-close return from t to t+1
            after a day in the state, what a position taken at t's close with the state
            known would earn; ``"same"`` the return from t-1 to t, the day that was
            classified (flattering for detectors that classify from that very return).
        bars_per_year: annualizes the volatility; None: what the bars imply (252 for
            daily bars, 6240 for hourly FX).

    Returns:
        One row per state (index ``state``) with ``label``, ``days``, ``share`` (of days
        with a known state), ``mean_return`` (mean daily simple return), ``ann_volatility``
        (its standard deviation x sqrt(bars per year)), ``episodes`` and ``avg_duration`` (mean run
        length in bars).

    Raises:
        DataError: ``regimes`` is not indexed like ``bars`` or lacks the column.
    """
    if not regimes.index.equals(bars.index):
        raise DataError(
            f"regime table: expected regimes indexed like the bars ({len(bars)} rows from "
            f"{bars.index[0].date()}), got {len(regimes)} rows"
        )
    if state_column is None:
        column = tercile_column or regimes.columns[0]
        _require_column(regimes, column)
        states = tercile_states(regimes[column])
        labels = {k: f"{column} {name}" for k, name in TERCILE_LABELS.items()}
    else:
        _require_column(regimes, state_column)
        states = regimes[state_column].astype("float64")
    labels = labels or {}
    annualize = np.sqrt(resolve_bars_per_year(bars.index, bars_per_year))
    close = bars["close"].astype("float64")
    daily = close.shift(-1) / close - 1.0 if returns == "next" else close.pct_change()
    runs = run_lengths(states)
    known = states.notna()
    rows = []
    for state in sorted(states[known].unique()):
        in_state = states == state
        state_returns = daily[in_state].dropna()
        state_runs = runs.loc[runs["state"] == state, "length"]
        rows.append(
            {
                "state": int(state),
                "label": labels.get(int(state), str(int(state))),
                "days": int(in_state.sum()),
                "share": float(in_state.sum() / known.sum()),
                "mean_return": float(state_returns.mean()) if len(state_returns) else np.nan,
                "ann_volatility": float(state_returns.std() * annualize)
                if len(state_returns) > 1
                else np.nan,
                "episodes": len(state_runs),
                "avg_duration": float(state_runs.mean()),
            }
        )
    columns = [
        "state",
        "label",
        "days",
        "share",
        "mean_return",
        "ann_volatility",
        "episodes",
        "avg_duration",
    ]
    return pd.DataFrame(rows, columns=columns).set_index("state")


def _require_column(regimes: pd.DataFrame, column: str) -> None:
    if column not in regimes.columns:
        raise DataError(
            f"regime table: no column {column!r} in the regimes; got {list(regimes.columns)}"
        )
