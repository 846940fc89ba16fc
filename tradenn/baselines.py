"""Classical trend strategies' signals on the same closes as the models: TSMOM and MACD.

Each signal stamped t is a position decided at the close of t from closes dated <= t only
(trailing windows and recursive averages; nothing is back-filled). Pure numpy/pandas: no
TensorFlow, so a baseline costs nothing next to a model run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradenn.errors import ConfigError
from tradenn.features import require_series, require_setting

# Baz et al. (2015) divide the response by its maximum, sqrt(2) * exp(-1/2) = 0.858, rounded
# to 0.89, so its peak is about 0.96: "roughly [-1, 1]".
RESPONSE_SCALE = 0.89
# Baz et al. (2015)'s three short / long time scales S, L, in days.
MACD_PAIRS = ((8, 24), (16, 48), (32, 96))


def tsmom_signal(close: pd.Series, lookback: int = 252) -> pd.Series:
    """Time-series momentum (Moskowitz, Ooi & Pedersen 2012): sign of the return over the last `lookback` bars, stamped t; values -1/0/+1; NaN until lookback+1 closes exist.

    MOP take the sign of the 12-month *excess* return; here the price return
    ``close[t] / close[t - lookback] - 1`` is used (no risk-free rate on the bars), which
    differs only when the trend is weaker than cash.

    Args:
        close: closes, in time order.
        lookback: bars in the return (>= 1); 252 is MOP's 12 months of daily bars.

    Returns:
        -1, 0 or +1 stamped t; NaN for the first ``lookback`` bars.

    Example:
        >>> tsmom_signal(bars["close"]).value_counts()
    """
    require_series(close, "close")
    require_setting(lookback >= 1, "lookback", ">= 1", lookback)
    past_return = close / close.shift(lookback) - 1.0
    return np.sign(past_return).rename("tsmom")


def macd_response(y: np.ndarray | pd.Series | float) -> np.ndarray | pd.Series | float:
    """phi(y) = y * exp(-y**2 / 4) / 0.89, the response of Baz et al. (2015).

    Odd, largest at y = sqrt(2) (about 0.96): the position grows with a moderate trend
    and fades for an extreme one, which is more likely to revert.
    """
    return y * np.exp(-(y**2) / 4.0) / RESPONSE_SCALE


def macd_indicator(
    close: pd.Series,
    short: int,
    long: int,
    price_window: int = 63,
    signal_window: int = 252,
) -> pd.Series:
    """The normalized MACD y_t(S, L) of Baz et al. (2015), before the response phi.

    ``macd = m(S) - m(L)``, where ``m(n)`` is the exponentially weighted mean of the
    closes "with time scale n": Baz et al. define its half-life as
    ``log(0.5) / log(1 - 1/n)``, i.e. ``alpha = 1 - exp(log(0.5) / halflife) = 1/n``;
    pandas' finite-sample weights (``adjust=True``), as in Lim et al.'s code.
    ``q = macd / std(close[t - price_window + 1 .. t])`` and
    ``y = q / std(q[t - signal_window + 1 .. t])`` (sample standard deviations).

    Lim et al.'s code back-fills the first standard deviations (``fillna(method="bfill")``),
    which copies later prices into the warm-up; here the warm-up stays NaN.

    Args:
        close: closes, in time order.
        short: S, the fast time scale (>= 1).
        long: L, the slow time scale (> S).
        price_window: bars in the price standard deviation (>= 2).
        signal_window: values of q in its standard deviation (>= 2).

    Returns:
        y stamped t; NaN for the first ``price_window + signal_window - 2`` bars.
    """
    require_series(close, "close")
    require_setting(short >= 1, "short time scale S", ">= 1", short)
    require_setting(long > short, "long time scale L", f"> S = {short}", long)
    require_setting(price_window >= 2, "price_window", ">= 2", price_window)
    require_setting(signal_window >= 2, "signal_window", ">= 2", signal_window)
    macd = close.ewm(alpha=1.0 / short).mean() - close.ewm(alpha=1.0 / long).mean()
    price_std = close.rolling(price_window).std()
    q = macd / price_std.where(price_std > 0)
    q_std = q.rolling(signal_window).std()
    return (q / q_std.where(q_std > 0)).rename(f"macd_{short}_{long}")


def macd_signal(
    close: pd.Series,
    pairs: tuple[tuple[int, int], ...] = MACD_PAIRS,
    price_window: int = 63,
    signal_window: int = 252,
) -> pd.Series:
    """The trend signal of Baz, Granger, Harvey, Le Roux & Rattray (2015), "Dissecting Investment Strategies in the Cross Section and Time Series", as a baseline in Lim, Zohren & Roberts (2019).

    For each (S, L) in ``pairs``: y = `macd_indicator` (close, S, L), then the response
    ``phi(y) = y * exp(-y**2 / 4) / 0.89`` (`macd_response`); the signal is the mean over
    pairs of phi(y). The defaults are Baz et al.'s S in (8, 16, 32), L in (24, 48, 96),
    63- and 252-bar windows.

    Args:
        close: closes, in time order.
        pairs: the (S, L) time-scale pairs, S < L.
        price_window: bars in the price standard deviation.
        signal_window: values of q in its standard deviation.

    Returns:
        The signal stamped t, roughly in [-1, 1] (|phi| <= 0.964); NaN for the first
        ``price_window + signal_window - 2`` bars.

    Example:
        >>> positions = macd_signal(bars["close"])
    """
    require_series(close, "close")
    if not pairs:
        raise ConfigError("macd_signal: pairs must hold at least one (S, L); got none")
    responses = [
        macd_response(macd_indicator(close, short, long, price_window, signal_window))
        for short, long in pairs
    ]
    return (sum(responses) / len(responses)).rename("macd")


def baseline_signals(close: pd.Series, bars_per_year: float = 252.0) -> pd.DataFrame:
    """Both baselines' signals, ``signal_tsmom`` and ``signal_macd``, with their windows
    (set in days) stretched to the same time span for bars of another frequency."""
    stretch = bars_per_year / 252.0

    def bars(days: int) -> int:
        return max(1, round(days * stretch))

    return pd.DataFrame({
        "signal_tsmom": tsmom_signal(close, lookback=bars(252)),
        "signal_macd": macd_signal(close, pairs=tuple((bars(s), bars(n)) for s, n in MACD_PAIRS),
                                   price_window=max(2, bars(63)),
                                   signal_window=max(2, bars(252))),
    }, index=close.index)
