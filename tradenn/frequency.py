"""Bar intervals and how many bars make a year: the one place that knows about frequency.

Windows in tradenn are counted in bars; only annualization needs to know how many bars a
year holds. It comes from the data (`bars_per_year`) or from ``data.bars_per_year`` in the
config. Daily and slower bars keep `tradenn.stats.periods_per_year`'s answer (252 for stock
days, 365 when weekends trade, 52 weekly ...), so daily results do not move.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from tradenn.stats import periods_per_year

Interval = Literal["1d", "1wk", "1h", "30m", "15m", "5m", "1m"]
INTERVALS: tuple[str, ...] = ("1d", "1wk", "1h", "30m", "15m", "5m", "1m")
INTRADAY: tuple[str, ...] = ("1h", "30m", "15m", "5m", "1m")
# What a bar of each interval is called in reports ("Sharpe, trailing 6240 hourly bars").
BAR_NAMES = {"1d": "daily", "1wk": "weekly", "1h": "hourly", "30m": "30-minute",
             "15m": "15-minute", "5m": "5-minute", "1m": "1-minute"}
# A median spacing below this many days means intraday bars.
_INTRADAY_SPACING_DAYS = 0.75
# Sessions per year: stock exchanges (holidays off), round the clock on weekdays (FX), every day.
_EXCHANGE_DAYS, _WEEKDAYS, _EVERY_DAY = 252.0, 5.0 * 52.0, 365.0


def is_intraday(interval: str) -> bool:
    return interval in INTRADAY


def typical_spacing(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The median time between consecutive bars (a zero Timedelta for fewer than 2 bars)."""
    if len(index) < 2:
        return pd.Timedelta(0)
    return pd.Timedelta(np.median(np.diff(index.to_numpy())))


def is_intraday_index(index: pd.Index) -> bool:
    """True when the bars of ``index`` are typically less than a day apart."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return False
    return typical_spacing(index) < pd.Timedelta(days=_INTRADAY_SPACING_DAYS)


def bars_per_year(index: pd.Index) -> float:
    """Bars per year implied by ``index``.

    Daily and slower bars: `tradenn.stats.periods_per_year` (252 for stock days). Intraday
    bars: the median number of bars per calendar day (in the index's own zone) times the
    sessions per year: 365 when weekends carry more than 10% of the bars (crypto), 5 x 52
    when the typical day is traded round the clock (24 x 5 x 52 = 6240 hourly FX bars),
    else 252 exchange sessions (US equities' 6.5-hour session in 30-minute bars: 13 x 252).
    """
    if not is_intraday_index(index):
        return periods_per_year(index)
    days = pd.Series(1, index=index).groupby(index.normalize()).size()
    per_day = float(days.median())
    weekend_share = float(np.isin(index.day_of_week, (5, 6)).mean())
    if weekend_share > 0.1:
        sessions = _EVERY_DAY
    elif per_day * typical_spacing(index) >= pd.Timedelta(hours=20):
        sessions = _WEEKDAYS
    else:
        sessions = _EXCHANGE_DAYS
    return per_day * sessions


def resolve_bars_per_year(index: pd.Index, stated: float | None = None) -> float:
    """``data.bars_per_year`` when the config states it, else what the bars imply."""
    return float(stated) if stated else bars_per_year(index)


def bar_name(interval: str | None, index: pd.Index | None = None) -> str:
    """``hourly``, ``daily`` ...: what one bar is, from the interval or else the index."""
    if interval in BAR_NAMES:
        return BAR_NAMES[interval]
    if index is not None and is_intraday_index(index):
        minutes = round(typical_spacing(index) / pd.Timedelta(minutes=1))
        return "hourly" if minutes == 60 else f"{minutes}-minute"
    return "daily"
