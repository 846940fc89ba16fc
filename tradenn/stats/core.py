"""What every statistic shares: the annualization factor, NaN handling, the risk-free rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Frame = pd.Series | pd.DataFrame


def periods_per_year(index: pd.Index) -> float:
    """Bars per year implied by a date index: 252 for stock days, 52 weekly, 12 monthly ...

    Daily bars that include weekends (crypto) give 365; intraday bars give 252 times the
    median number of bars per day. A non-date index, or fewer than 3 dates, gives 252.
    """
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return 252.0
    # Timedeltas, not .asi8: pandas 3 indexes may be in us or s, not ns.
    days = np.diff(index.to_numpy()) / np.timedelta64(1, "D")
    spacing = float(np.median(days))
    if spacing < 0.75:  # intraday: sessions per year times bars per session
        per_day = pd.Series(1, index=index).groupby(index.normalize()).size().median()
        return 252.0 * float(per_day)
    if spacing <= 4:
        weekend = np.isin(index.day_of_week, (5, 6)).mean()
        return 365.0 if weekend > 0.1 else 252.0
    for upper, periods in ((10, 52.0), (40, 12.0), (120, 4.0), (400, 1.0)):
        if spacing <= upper:
            return periods
    return 365.25 / spacing


def per_period_risk_free(risk_free: float, periods: float) -> float:
    """The per-period rate that compounds to the annual ``risk_free``: (1 + rf)^(1/P) - 1.

    Compounded like `cagr`, so a strategy that earns exactly the risk-free rate every
    period has a CAGR of ``risk_free`` and a Sharpe ratio of 0.
    """
    if not math.isfinite(risk_free) or risk_free <= -1.0:
        raise ValueError(f"risk_free: expected an annual rate above -1, got {risk_free!r}")
    return (1.0 + risk_free) ** (1.0 / periods) - 1.0 if risk_free else 0.0


def _clean(returns: Frame | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype="float64").ravel()
    return values[~np.isnan(values)]


def _periods(returns: Frame | np.ndarray, periods: float | None) -> float:
    if periods is not None:
        return float(periods)
    index = getattr(returns, "index", None)
    return periods_per_year(index) if index is not None else 252.0


def _per_period_sharpe(r: np.ndarray, rf: float = 0.0) -> float:
    """(mean(r) - rf) / std(r), ddof=1, for per-period ``rf``.

    The deviation is that of the returns themselves, not of ``r - rf``: subtracting a
    constant could turn the exact zero deviation of a strategy that never trades into
    rounding noise, and its Sharpe ratio into a huge number.
    """
    if r.size < 2:
        return math.nan
    std = np.std(r, ddof=1)
    return float((np.mean(r) - rf) / std) if std > 0 else math.nan
