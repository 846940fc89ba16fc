"""Draw regimes: the price with the state shaded, the regime series underneath."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tradenn.errors import DataError
from tradenn.regimes.summary import TERCILE_LABELS, tercile_states

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# States are ordered (calm to turbulent, down to up), so their colours run along one scale.
_STATE_CMAP = "coolwarm"


def plot_regimes(
    bars: pd.DataFrame,
    regimes: pd.DataFrame,
    state_column: str | None,
    columns: list[str],
    *,
    labels: dict[int, str] | None = None,
    fit_end: pd.Timestamp | None = None,
    title: str | None = None,
) -> Figure:
    """The close on a log scale with the regime state shaded, and a panel per column below.

    Args:
        bars: the bars the regimes were computed on.
        regimes: regime columns indexed like ``bars``.
        state_column: the state to shade; ``None`` shades terciles of ``columns[0]``
            (descriptive: cut on the whole history shown).
        columns: regime columns drawn in their own panels under the price.
        labels: names of the states for the legend.
        fit_end: last date of the fit window, drawn as a dashed line in every panel.
        title: the figure's title.

    Returns:
        A matplotlib ``Figure`` (not attached to pyplot, so nothing is shown or leaked;
        ``fig.savefig`` renders it with Agg).
    """
    # matplotlib is imported here so that importing tradenn.regimes stays light. A bare
    # Figure (no pyplot) never selects an interactive backend; savefig renders with Agg.
    import matplotlib
    from matplotlib.figure import Figure

    missing = [c for c in [*columns, *([state_column] if state_column else [])] if c not in regimes]
    if missing:
        raise DataError(
            f"plot regimes: no column(s) {missing} in the regimes; got {list(regimes.columns)}"
        )
    if state_column is None and columns:
        states = tercile_states(regimes[columns[0]])
        labels = {k: f"{columns[0]} {name}" for k, name in TERCILE_LABELS.items()}
    else:
        states = regimes[state_column] if state_column else pd.Series(np.nan, index=regimes.index)
    labels = labels or {}

    heights = [3.0] + [1.0] * len(columns)
    fig = Figure(figsize=(12, 3.5 + 1.3 * len(columns)), layout="constrained")
    axes = fig.subplots(
        len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights}, squeeze=False
    )[:, 0]
    dates = bars.index.to_numpy()

    price = axes[0]
    price.plot(dates, bars["close"].to_numpy(), color="black", linewidth=0.8, label="close")
    price.set_yscale("log")
    price.set_ylabel("close (log scale)")
    state_values = states.to_numpy(dtype="float64")
    present = sorted(np.unique(state_values[~np.isnan(state_values)]))
    n_colors = max([len(labels), *(int(v) + 1 for v in present)])
    cmap = matplotlib.colormaps[_STATE_CMAP]
    for state in present:
        key = int(state)
        in_state = state_values == state
        # With step="post" a span ends at its last bar; extending it to the next bar makes
        # neighbouring states meet instead of leaving a one-bar white gap between them.
        in_state[1:] |= in_state[:-1]
        price.fill_between(
            dates,
            0,
            1,
            where=in_state,
            step="post",
            transform=price.get_xaxis_transform(),
            alpha=0.3,
            linewidth=0,
            color=cmap(key / max(n_colors - 1, 1)),
            label=labels.get(key, f"state {key}"),
        )
    price.legend(loc="upper left", fontsize="small", ncols=2)

    for axis, column in zip(axes[1:], columns, strict=True):
        values = regimes[column].to_numpy(dtype="float64")
        axis.plot(dates, values, linewidth=0.7)
        axis.set_ylabel(column, rotation=0, ha="right", va="center")
        finite = values[np.isfinite(values)]
        if finite.size and finite.min() >= 0 and finite.max() <= 1:
            axis.set_ylim(-0.02, 1.02)  # probabilities and percentiles on their full scale
        axis.grid(alpha=0.3)

    if fit_end is not None:
        for axis in axes:
            axis.axvline(
                np.datetime64(pd.Timestamp(fit_end)), color="grey", linestyle="--", linewidth=0.8
            )
        price.annotate(
            "end of fit window",
            xy=(np.datetime64(pd.Timestamp(fit_end)), 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, 4),
            textcoords="offset points",
            fontsize="small",
            color="grey",
        )
    if title:
        fig.suptitle(title)
    return fig
