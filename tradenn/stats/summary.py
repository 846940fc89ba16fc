"""Every statistic of a strategy at once: overall, by regime state, over a rolling window."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tradenn.stats.core import Frame, _clean, _periods, per_period_risk_free
from tradenn.stats.inference import probabilistic_sharpe_ratio
from tradenn.stats.performance import (
    annual_turnover,
    annual_volatility,
    beta_alpha,
    cagr,
    calmar_ratio,
    exposure,
    held_exposure,
    hit_rate,
    max_drawdown,
    max_drawdown_duration,
    number_of_trades,
    sharpe_ratio,
    sortino_ratio,
    time_in_market,
    total_return,
)


def performance_summary(
    returns: pd.Series,
    *,
    positions: Frame | None = None,
    turnover: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods: float | None = None,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """Every statistic of one strategy, as a flat dict of floats.

    Args:
        returns: net returns per period.
        positions: weights decided at each date, aligned to ``returns`` (adds hit rate
            over held periods, exposure, time in market, trades).
        turnover: traded notional per period (adds annual turnover).
        benchmark: returns of the benchmark (adds beta and alpha).
        periods: periods per year; None infers it from the index.
        risk_free: annual risk-free rate of the Sharpe and Sortino ratios and the PSR.
    """
    p = _periods(returns, periods)
    out: dict[str, float] = {
        "periods": float(_clean(returns).size),
        "total_return": total_return(returns),
        "cagr": cagr(returns, p),
        "annual_volatility": annual_volatility(returns, p),
        "sharpe": sharpe_ratio(returns, p, risk_free=risk_free),
        "sortino": sortino_ratio(returns, p, risk_free=risk_free),
        "max_drawdown": max_drawdown(returns),
        "max_drawdown_periods": float(max_drawdown_duration(returns)),
        "calmar": calmar_ratio(returns, p),
        "psr": probabilistic_sharpe_ratio(returns, 0.0, p, risk_free=risk_free),
        "hit_rate": hit_rate(returns, positions),
    }
    if positions is not None:
        out["exposure"] = exposure(positions)
        out["time_in_market"] = time_in_market(positions)
        out["trades"] = float(number_of_trades(positions))
    if turnover is not None:
        out["annual_turnover"] = annual_turnover(turnover, p)
    if benchmark is not None:
        out["beta"], out["alpha"] = beta_alpha(returns, benchmark, p)
    return out


def stats_by_regime(
    returns: pd.Series,
    states: pd.Series,
    *,
    positions: Frame | None = None,
    turnover: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods: float | None = None,
    risk_free: float = 0.0,
) -> pd.DataFrame:
    """`performance_summary` over the periods of each regime state, one row per state.

    ``states`` is aligned to ``returns``: the return stamped t is counted in ``states[t]``
    (pass ``state.shift(1)`` to attribute each return to the state in force when its
    position was decided). Periods with a NaN state are left out. Annualization comes from
    the full series, since a state's periods are not contiguous. Drawdowns are those of the
    state's returns chained together. Adds ``share``: the state's fraction of the periods.
    """
    p = _periods(returns, periods)
    aligned = states.reindex(returns.index)
    held = held_exposure(positions) if positions is not None else None
    changes = None
    if positions is not None:
        values = np.asarray(positions, dtype="float64").reshape(len(positions), -1)
        changes = pd.Series((np.diff(values, axis=0, prepend=0.0) != 0).sum(axis=1),
                            index=returns.index)
    rows = {}
    known = aligned.notna()
    for state in sorted(aligned[known].unique()):
        mask = (aligned == state).to_numpy()
        sub = returns[mask]
        row = performance_summary(sub, turnover=None if turnover is None else turnover[mask],
                                  benchmark=None if benchmark is None else benchmark[mask],
                                  periods=p, risk_free=risk_free)
        row["share"] = float(mask.sum() / known.sum())
        if held is not None and changes is not None:
            held_sub = held[mask].to_numpy()
            active = held_sub > 0
            row["hit_rate"] = float(np.mean(sub.to_numpy()[active] > 0)) if active.any() else math.nan
            row["exposure"] = float(held_sub.mean())
            row["time_in_market"] = float(active.mean())
            row["trades"] = float(changes[mask].sum())
        rows[state] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = states.name or "state"
    return frame


def rolling_sharpe(returns: pd.Series, window: int | None = None,
                   periods: float | None = None, *, risk_free: float = 0.0) -> pd.Series:
    """Annualized Sharpe ratio over a trailing window (default: one year of periods)."""
    p = _periods(returns, periods)
    window = window or round(p)
    mean = returns.rolling(window, min_periods=window).mean() - per_period_risk_free(risk_free, p)
    std = returns.rolling(window, min_periods=window).std()
    return (mean / std.where(std > 0) * np.sqrt(p)).rename("rolling_sharpe")
