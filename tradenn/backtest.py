"""Positions → net returns, with trading costs; equal-risk portfolios. Pure numpy / pandas.

Sizing (predictions → positions) lives in `tradenn.sizing` and is re-exported here.

The convention, binding across tradenn:

* A position ``w[t]`` (a fraction of equity, negative for short) is decided at the close of
  t from information dated <= t and earns the close-to-close return from t to t+1:
  ``gross[t+1] = w[t] * (close[t+1] / close[t] - 1)``, stamped t+1.
* Changing the position at the close of t costs ``(cost_bps + slippage_bps) / 1e4`` per unit
  of traded notional, ``|w[t] - w[t-1]|`` (with ``w[-1] = 0``: the first bar pays its entry).
  The cost is charged when the trade happens, so it is part of the return stamped t.
* ``net[t] = sum_assets(w[t-1] * r[t]) - cost * sum_assets(|w[t] - w[t-1]|)``.

Weights are rebalanced to ``w[t]`` at every close (no drift between bars), and a cost is a
fraction of the previous close's equity: both are first-order exact, differing from a
share-level simulation by about ``cost * r`` (1e-6 at 1 bp and a 1% move) per bar.

That is ``execution="close"`` (market-on-close, the default). With ``execution="next_open"``
the position decided at the close of t is filled at the open of t+1 and earns open-to-open
returns until the next fill; costs are charged at the fills:

* ``gross[t+2] = w[t] * (open[t+2] / open[t+1] - 1)``, stamped t+2 (the open it is realized);
* ``cost[t+1] = rate * |w[t] - w[t-1]|``, stamped t+1 (the open the trade happens).

That is the close convention applied to opens with positions one bar later, and is how it
is computed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from tradenn import stats
from tradenn.errors import BacktestInputError

# Sizing lives in tradenn.sizing; these names stay importable from here as before.
from tradenn.sizing import (
    PREDICTION_KINDS,
    SIZINGS,
    PredictionKind,
    Sizing,
    positions_from_predictions,
)

__all__ = [
    "EXECUTIONS", "PREDICTION_KINDS", "SIZINGS", "BacktestInputError", "BacktestResult",
    "Execution", "PredictionKind", "Sizing", "buy_and_hold", "equal_risk_weights",
    "positions_from_predictions", "run_backtest",
]

Execution = Literal["close", "next_open"]
EXECUTIONS = ("close", "next_open")

Frame = pd.Series | pd.DataFrame


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of `run_backtest`.

    Attributes:
        returns: net strategy return stamped at the end of each period (the first bar holds
            only the entry cost).
        gross_returns: the same before costs.
        costs: what was charged, as a (positive) fraction of equity.
        equity: growth of 1 invested before the first bar, ``(1 + returns).cumprod()``.
        positions: the validated positions (Series or DataFrame like the input).
        turnover: ``sum_assets |w[t] - w[t-1]|`` stamped t (the close the trade happens).
        asset_returns: per-asset net contribution (DataFrame input only, else None).
        periods_per_year: annualization factor used by `stats`.
        risk_free: annual risk-free rate of ``.stats``' Sharpe, Sortino and PSR.
    """

    returns: pd.Series
    gross_returns: pd.Series
    costs: pd.Series
    equity: pd.Series
    positions: Frame
    turnover: pd.Series
    asset_returns: pd.DataFrame | None = None
    periods_per_year: float = field(default=252.0)
    risk_free: float = 0.0

    @cached_property
    def stats(self) -> dict[str, float]:
        """`tradenn.stats.performance_summary` of this backtest."""
        return stats.performance_summary(
            self.returns,
            positions=self.positions,
            turnover=self.turnover,
            periods=self.periods_per_year,
            risk_free=self.risk_free,
        )


# ----------------------------------------------------------------------------- engine


def run_backtest(
    prices: Frame,
    positions: Frame,
    *,
    cost_bps: float = 0.0,
    slippage_bps: float = 0.0,
    periods_per_year: float | None = None,
    execution: Execution = "close",
    open: Frame | None = None,  # noqa: A002 (the bars' name for it)
    risk_free: float = 0.0,
) -> BacktestResult:
    """Net returns of holding ``positions`` over ``prices`` (see the module's convention).

    Args:
        prices: adjusted closes, a Series (one asset) or a DataFrame (columns = assets),
            strictly positive, indexed by increasing dates.
        positions: weights decided at each close, same type, index and columns as
            ``prices``; 1.0 is fully long, -1.0 fully short, 0.0 flat.
        cost_bps: commission in basis points of traded notional.
        slippage_bps: slippage in basis points of traded notional, added to ``cost_bps``.
        periods_per_year: annualization for ``.stats``; None infers it from the index.
        execution: ``"close"`` fills each position at the close it is decided on;
            ``"next_open"`` at the next bar's open (needs ``open``).
        open: opening prices like ``prices``, for ``execution="next_open"``.
        risk_free: annual risk-free rate for ``.stats`` (Sharpe, Sortino, PSR).

    Returns:
        A `BacktestResult`. Under ``next_open``, ``positions`` is still the decision at each
        close; ``turnover`` and ``costs`` are stamped at the open of the fill.

    Raises:
        BacktestInputError: mismatched index or columns, NaN or infinite positions, NaN or
            non-positive prices, negative costs.

    Example:
        >>> closes = pd.Series([100.0, 110.0, 99.0])
        >>> run_backtest(closes, pd.Series([1.0, 1.0, 0.0]), cost_bps=10).returns.round(4).tolist()
        [-0.001, 0.1, -0.101]
    """
    prices, positions = _validate(prices, positions)
    decided = positions
    if execution not in EXECUTIONS:
        raise BacktestInputError(f"execution: expected one of {list(EXECUTIONS)}, got {execution!r}")
    if execution == "next_open":
        if open is None:
            raise BacktestInputError("execution 'next_open': expected the bars' open prices, got none")
        prices, _ = _validate(open, positions)
        # What is held from the open of t is what was decided at the close of t-1.
        positions = positions.shift(1).fillna(0.0)
    for name, value in (("cost_bps", cost_bps), ("slippage_bps", slippage_bps)):
        if not np.isfinite(value) or value < 0:
            raise BacktestInputError(f"{name}: expected a non-negative number, got {value!r}")
    rate = (cost_bps + slippage_bps) / 1e4

    p = _as_2d(prices)
    w = _as_2d(positions)
    asset_gross = np.zeros_like(p)
    asset_gross[1:] = w[:-1] * (p[1:] / p[:-1] - 1.0)
    traded = np.abs(np.diff(w, axis=0, prepend=0.0))
    asset_net = asset_gross - rate * traded

    index = prices.index
    gross = pd.Series(asset_gross.sum(axis=1), index=index, name="gross_return")
    costs = pd.Series(rate * traded.sum(axis=1), index=index, name="cost")
    net = pd.Series(asset_net.sum(axis=1), index=index, name="return")
    turnover = pd.Series(traded.sum(axis=1), index=index, name="turnover")
    equity = (1.0 + net).cumprod().rename("equity")
    per_asset = (
        pd.DataFrame(asset_net, index=index, columns=prices.columns)
        if isinstance(prices, pd.DataFrame)
        else None
    )
    ppy = periods_per_year or stats.periods_per_year(index)
    return BacktestResult(net, gross, costs, equity, decided, turnover, per_asset, ppy,
                          risk_free)


def _as_2d(frame: Frame) -> np.ndarray:
    values = frame.to_numpy(dtype="float64")
    return values.reshape(-1, 1) if values.ndim == 1 else values


def _validate(prices: Any, positions: Any) -> tuple[Frame, Frame]:
    """Check prices and positions where they enter; repair what can be repaired, with a warning."""
    for name, value in (("prices", prices), ("positions", positions)):
        if not isinstance(value, pd.Series | pd.DataFrame):
            raise BacktestInputError(
                f"{name}: expected a pandas Series or DataFrame, got {type(value).__name__}"
            )
    if isinstance(prices, pd.Series) != isinstance(positions, pd.Series):
        raise BacktestInputError(
            f"positions: expected a {type(prices).__name__} like prices, "
            f"got a {type(positions).__name__}"
        )
    if len(prices) == 0:
        raise BacktestInputError("prices: expected at least one bar, got none")
    if isinstance(prices, pd.DataFrame) and list(prices.columns) != list(positions.columns):
        if set(prices.columns) != set(positions.columns):
            raise BacktestInputError(
                f"positions: expected the columns of prices {list(prices.columns)}, "
                f"got {list(positions.columns)}"
            )
        positions = positions[prices.columns]
    for name, value in (("prices", prices), ("positions", positions)):
        if not value.index.is_unique:
            dup = value.index[value.index.duplicated()][0]
            raise BacktestInputError(f"{name}: expected unique dates, got {dup} more than once")
    if not prices.index.equals(positions.index):
        if len(prices.index) == len(positions.index) and prices.index.sort_values().equals(
            positions.index.sort_values()
        ):
            warnings.warn(
                "positions: dates are in another order than prices; aligning them by date",
                UserWarning,
                stacklevel=3,
            )
            positions = positions.reindex(prices.index)
        else:
            missing = prices.index.difference(positions.index)
            extra = positions.index.difference(prices.index)
            raise BacktestInputError(
                "positions: expected the same dates as prices; "
                f"{len(missing)} price date(s) have no position"
                + (f" (first {missing[0]})" if len(missing) else "")
                + f", {len(extra)} position date(s) have no price"
                + (f" (first {extra[0]})" if len(extra) else "")
            )
    if not prices.index.is_monotonic_increasing:
        warnings.warn(
            "prices: dates are not in increasing order; sorting them", UserWarning, stacklevel=3
        )
        prices, positions = prices.sort_index(), positions.sort_index()
    prices = _numeric(prices, "prices")
    positions = _numeric(positions, "positions")
    p, w = _as_2d(prices), _as_2d(positions)
    if np.isnan(p).any() or (p <= 0).any() or np.isinf(p).any():
        row, col = np.argwhere(~(p > 0) | np.isinf(p))[0]
        raise BacktestInputError(
            f"prices: expected finite prices above zero, got {p[row, col]} "
            f"on {prices.index[row]}{_asset(prices, col)}"
        )
    if not np.isfinite(w).all():
        row, col = np.argwhere(~np.isfinite(w))[0]
        raise BacktestInputError(
            f"positions: expected finite weights, got {w[row, col]} on "
            f"{positions.index[row]}{_asset(positions, col)}; fill NaN positions (e.g. with "
            "0.0 for flat) before backtesting"
        )
    return prices, positions


def _numeric(frame: Frame, name: str) -> Frame:
    try:
        return frame.astype("float64")
    except (TypeError, ValueError) as exc:
        raise BacktestInputError(f"{name}: expected numbers, got {exc}") from None


def _asset(frame: Frame, col: int) -> str:
    return f" for {frame.columns[col]!r}" if isinstance(frame, pd.DataFrame) else ""


# ----------------------------------------------------------------------------- portfolios


def buy_and_hold(prices: Frame, held: pd.DataFrame | None = None) -> Frame:
    """Positions of a fully invested, equal-weight long portfolio.

    Args:
        prices: a Series (one asset: always 1.0) or a DataFrame (columns = assets).
        held: for a DataFrame, which assets are in the portfolio on each date (True/False,
            like ``prices``); each date's weight is ``1 / N_t`` over the ``N_t`` assets held
            then. None holds every column on every date (``1 / n``).
    """
    if isinstance(prices, pd.DataFrame):
        if held is None:
            return pd.DataFrame(1.0 / prices.shape[1], index=prices.index, columns=prices.columns)
        ones = pd.DataFrame(1.0, index=prices.index, columns=prices.columns)
        return equal_risk_weights(ones, held)
    return pd.Series(1.0, index=prices.index, name="position")


def equal_risk_weights(positions: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Portfolio weights that give every asset held the same share: ``x[t, a] / N_t``.

    ``x[t, a]`` is asset a's position sized on its own series (e.g. volatility-scaled, so
    each asset carries about the same risk) and ``N_t`` the number of assets held on t: the
    time-series momentum portfolio ``r_p[t+1] = 1/N_t * sum_a x[t, a] * r_a[t+1]`` of
    Moskowitz, Ooi & Pedersen (2012, "Time series momentum", JFE 104(2), eq. 5) and Lim,
    Zohren & Roberts (2019, "Enhancing time-series momentum strategies using deep neural
    networks", eq. 1). An asset not held on t gets 0.

    Args:
        positions: each asset's own position, dates x assets.
        held: True where the asset is in the portfolio, same index and columns.

    Returns:
        The weights, like ``positions``.

    Raises:
        BacktestInputError: ``held`` is not shaped like ``positions``.
    """
    if not (isinstance(positions, pd.DataFrame) and isinstance(held, pd.DataFrame)):
        raise BacktestInputError(
            "equal_risk_weights: expected DataFrames of positions and held assets, got "
            f"{type(positions).__name__} and {type(held).__name__}")
    if not (held.index.equals(positions.index) and list(held.columns) == list(positions.columns)):
        raise BacktestInputError(
            "held: expected the dates and assets of the positions "
            f"{list(positions.columns)}, got {list(held.columns)} over {len(held)} dates")
    mask = held.astype(bool)
    count = mask.sum(axis=1).replace(0, np.nan)
    weights = positions.astype("float64").where(mask, 0.0).div(count, axis=0)
    return weights.fillna(0.0) + 0.0
