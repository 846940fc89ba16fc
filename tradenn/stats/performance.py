"""Statistics of one return series: growth, risk-adjusted ratios, drawdowns, trading.

Returns are simple (not log) per-period returns; NaN returns are ignored. Annualization
uses ``periods`` when given, else `periods_per_year` of the returns' index. The Sharpe and
Sortino ratios take an annual, constant ``risk_free`` rate (default 0), compounded down to
one period by `per_period_risk_free`; the other statistics do not use it. The formulas
shared with empyrical follow its conventions (sample std with ddof=1, equity starting at 1
for drawdowns) so the two can be checked against each other.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from tradenn.stats.core import (
    Frame,
    _clean,
    _per_period_sharpe,
    _periods,
    per_period_risk_free,
)

# ----------------------------------------------------------------------------- returns


def total_return(returns: Frame | np.ndarray) -> float:
    """Compounded return over the whole series: prod(1 + r) - 1."""
    r = _clean(returns)
    return float(np.prod(1.0 + r) - 1.0) if r.size else math.nan


def cagr(returns: Frame | np.ndarray, periods: float | None = None) -> float:
    """Compound annual growth rate: (1 + total)^(periods / n) - 1 (empyrical annual_return)."""
    r = _clean(returns)
    if not r.size:
        return math.nan
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return -1.0
    return growth ** (_periods(returns, periods) / r.size) - 1.0


def annual_volatility(returns: Frame | np.ndarray, periods: float | None = None) -> float:
    """Sample standard deviation (ddof=1) times sqrt(periods per year)."""
    r = _clean(returns)
    if r.size < 2:
        return math.nan
    return float(np.std(r, ddof=1) * np.sqrt(_periods(returns, periods)))


def sharpe_ratio(
    returns: Frame | np.ndarray, periods: float | None = None, *, risk_free: float = 0.0
) -> float:
    """Annualized Sharpe ratio: (mean(r) - rf) / std(r) * sqrt(periods), std with ddof=1.

    ``rf`` is the per-period rate compounding to the annual ``risk_free``. Source: Sharpe
    (1994), "The Sharpe Ratio", J. Portfolio Management; as empyrical with that ``rf``.
    """
    r = _clean(returns)
    p = _periods(returns, periods)
    return float(_per_period_sharpe(r, per_period_risk_free(risk_free, p)) * np.sqrt(p))


def sortino_ratio(
    returns: Frame | np.ndarray, periods: float | None = None, *, risk_free: float = 0.0
) -> float:
    """Annualized Sortino ratio with the risk-free rate as its target.

    With x = r - rf: mean(x) * P / (sqrt(mean(min(x, 0)^2)) * sqrt(P)). Source: Sortino &
    Price (1994), "Performance Measurement in a Downside Risk Framework", J. of Investing;
    the downside deviation over all periods as in empyrical's ``downside_risk``, whose
    ``required_return`` is our per-period ``rf``.
    """
    r = _clean(returns)
    if r.size < 2:
        return math.nan
    p = _periods(returns, periods)
    x = r - per_period_risk_free(risk_free, p)
    downside = np.sqrt(np.mean(np.minimum(x, 0.0) ** 2)) * np.sqrt(p)
    return float(np.mean(x) * p / downside) if downside > 0 else math.nan


# ----------------------------------------------------------------------------- drawdowns


def drawdown(returns: pd.Series) -> pd.Series:
    """Equity over its running peak, minus 1 (0 at a new high); the peak starts at 1."""
    equity = (1.0 + returns.fillna(0.0)).cumprod()
    peak = np.maximum(equity.cummax(), 1.0)
    return (equity / peak - 1.0).rename("drawdown")


def max_drawdown(returns: Frame | np.ndarray) -> float:
    """Worst peak-to-trough loss, a number <= 0 (empyrical max_drawdown)."""
    r = _clean(returns)
    if not r.size:
        return math.nan
    equity = np.cumprod(1.0 + r)
    peak = np.maximum(np.maximum.accumulate(equity), 1.0)
    return float(np.min(equity / peak - 1.0).clip(max=0.0))


def max_drawdown_duration(returns: Frame | np.ndarray) -> int:
    """Longest run of consecutive periods spent below a previous equity peak.

    A drawdown that has not recovered by the last period counts up to the end.
    """
    r = _clean(returns)
    if not r.size:
        return 0
    equity = np.cumprod(1.0 + r)
    peak = np.maximum(np.maximum.accumulate(equity), 1.0)
    under = np.concatenate([[False], equity < peak * (1 - 1e-12), [False]]).astype(np.int8)
    edges = np.diff(under)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max()) if starts.size else 0


def calmar_ratio(returns: Frame | np.ndarray, periods: float | None = None) -> float:
    """CAGR / |max drawdown|. Source: Young (1991), "Calmar Ratio"; as empyrical."""
    mdd = max_drawdown(returns)
    if not mdd or math.isnan(mdd):
        return math.nan
    return cagr(returns, periods) / abs(mdd)


# ----------------------------------------------------------------------------- trading


def hit_rate(returns: Frame | np.ndarray, positions: Frame | None = None) -> float:
    """Share of periods with a positive return among the periods a position was held.

    With ``positions`` (weights decided at t, aligned to the returns) a period t counts
    when ``w[t-1] != 0``; without them, when ``r[t] != 0``.
    """
    r = np.asarray(returns, dtype="float64").ravel()
    active = r != 0 if positions is None else held_exposure(positions).to_numpy() > 0
    active &= ~np.isnan(r)
    return float(np.mean(r[active] > 0)) if active.any() else math.nan


def held_exposure(positions: Frame) -> pd.Series:
    """Gross weight held during each period: sum |w[t-1]| over assets (0 on the first)."""
    gross = positions.abs() if isinstance(positions, pd.Series) else positions.abs().sum(axis=1)
    return gross.shift(1).fillna(0.0).rename("exposure")


def exposure(positions: Frame) -> float:
    """Mean gross exposure held per period: mean of sum |w[t-1]| (1.0 = fully invested)."""
    return float(held_exposure(positions).mean())


def time_in_market(positions: Frame) -> float:
    """Share of periods during which some position was held."""
    return float((held_exposure(positions) > 0).mean())


def number_of_trades(positions: Frame) -> int:
    """Position changes (per asset, summed), counting the entry from flat on the first bar."""
    values = np.asarray(positions, dtype="float64")
    values = values.reshape(len(values), -1)
    return int((np.diff(values, axis=0, prepend=0.0) != 0).sum())


def annual_turnover(turnover: pd.Series, periods: float | None = None) -> float:
    """Mean traded notional per period (sum |dw|) times periods per year."""
    t = _clean(turnover)
    return float(np.mean(t) * _periods(turnover, periods)) if t.size else math.nan


# ----------------------------------------------------------------------------- relations


def information_coefficient(
    predictions: pd.Series, realized: pd.Series, method: Literal["pearson", "spearman"] = "pearson"
) -> float:
    """Correlation of predictions with the returns they predicted, over rows where both exist.

    ``pearson`` is the linear IC; ``spearman`` the rank IC (Pearson correlation of ranks,
    Grinold & Kahn, "Active Portfolio Management", ch. 6 / 16).
    """
    pair = pd.concat([predictions, realized], axis=1, join="inner").dropna()
    if len(pair) < 3:
        return math.nan
    x, y = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    if method == "spearman":
        x, y = scipy_stats.rankdata(x), scipy_stats.rankdata(y)
    elif method != "pearson":
        raise ValueError(f"method: expected 'pearson' or 'spearman', got {method!r}")
    if np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def beta_alpha(
    returns: pd.Series, benchmark: pd.Series, periods: float | None = None
) -> tuple[float, float]:
    """CAPM beta and annualized alpha against a benchmark, zero risk-free rate.

    beta = cov(r, b) / var(b); alpha = (1 + mean(r - beta * b))^P - 1 (empyrical
    alpha_beta: population moments, compounded annualization).
    """
    pair = pd.concat([returns, benchmark], axis=1, join="inner").dropna()
    if len(pair) < 3:
        return math.nan, math.nan
    r, b = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    centered = b - b.mean()
    var = np.mean(centered**2)
    if var == 0:
        return math.nan, math.nan
    beta = float(np.mean(centered * r) / var)
    alpha = (1.0 + np.mean(r - beta * b)) ** _periods(returns, periods) - 1.0
    return beta, float(alpha)
