"""Causal features from bars, the next-period target, and windowing.

Every feature stamped t is computed from bars dated <= t only (rolling windows look back,
never forward). Windows are counted in bars: ``volatility_21`` and ``return_21`` keep their
daily names and 21-bar windows; ``volatility_w`` and ``return_w`` take ``w`` from
``features.lookback`` and annualize with the data's bars per year, at any frequency.

The target stamped t is the return from t to t + horizon (`make_target`), or that return
scaled by the ex-ante volatility known at t (`vol_scaled_return`): the label the model
learns to predict at t, and the only future-looking series in tradenn.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from tradenn.errors import ConfigError, DataError
from tradenn.frequency import is_intraday_index

TRADING_DAYS = 252  # daily bars per year: annualizes volatilities here and in the regimes


def _log_close(bars: pd.DataFrame) -> pd.Series:
    return np.log(bars["close"])


def log_return(bars: pd.DataFrame) -> pd.Series:
    """Log return of close from t-1 to t."""
    return _log_close(bars).diff()


def return_5(bars: pd.DataFrame) -> pd.Series:
    """Log return over the last 5 bars."""
    return _log_close(bars).diff(5)


def return_21(bars: pd.DataFrame) -> pd.Series:
    """Log return over the last 21 bars (about a month)."""
    return _log_close(bars).diff(21)


def volatility_21(bars: pd.DataFrame) -> pd.Series:
    """Annualized standard deviation of the last 21 daily log returns."""
    return log_return(bars).rolling(21).std() * np.sqrt(TRADING_DAYS)


def return_w(bars: pd.DataFrame, lookback: int = 21) -> pd.Series:
    """Log return over the last ``lookback`` bars."""
    return _log_close(bars).diff(lookback)


def volatility_w(
    bars: pd.DataFrame, lookback: int = 21, bars_per_year: float = TRADING_DAYS
) -> pd.Series:
    """Standard deviation of the last ``lookback`` log returns, annualized by
    sqrt(bars per year)."""
    return log_return(bars).rolling(lookback).std() * np.sqrt(bars_per_year)


def session_starts(index: pd.DatetimeIndex) -> np.ndarray:
    """True on the first bar of each session: after a break longer than 1.5 times the
    typical spacing (a night, a weekend). Every bar of daily data starts a session."""
    if not is_intraday_index(index):
        return np.ones(len(index), dtype=bool)
    steps = np.diff(index.to_numpy())
    typical = np.median(steps)
    return np.concatenate([[True], steps > 1.5 * typical])


def session_gap(bars: pd.DataFrame) -> pd.Series:
    """log(first open of the session / last close of the previous session), held through
    the session (known from the session's first bar on); NaN in the first session."""
    starts = session_starts(bars.index)
    gap = np.log(bars["open"] / bars["close"].shift(1)).where(starts)
    session = pd.Series(np.cumsum(starts), index=bars.index)
    return gap.groupby(session).transform("first")


def _day_fraction(bars: pd.DataFrame) -> np.ndarray:
    """Time of day of each stamp as a fraction of 24 hours (in the index's own zone)."""
    index = bars.index
    return (index.hour * 3600 + index.minute * 60 + index.second).to_numpy() / 86400.0


def time_of_day_sin(bars: pd.DataFrame) -> pd.Series:
    """sin(2 pi x time of day): with the cosine, a smooth clock with no midnight jump."""
    return pd.Series(np.sin(2 * np.pi * _day_fraction(bars)), index=bars.index)


def time_of_day_cos(bars: pd.DataFrame) -> pd.Series:
    """cos(2 pi x time of day)."""
    return pd.Series(np.cos(2 * np.pi * _day_fraction(bars)), index=bars.index)


def intraday_range(bars: pd.DataFrame) -> pd.Series:
    """log(high / low) of the bar: a one-bar volatility estimate."""
    return np.log(bars["high"] / bars["low"])


def overnight_gap(bars: pd.DataFrame) -> pd.Series:
    """log(open_t / close_{t-1})."""
    return np.log(bars["open"] / bars["close"].shift(1))


def volume_z(bars: pd.DataFrame) -> pd.Series:
    """log volume against its trailing 63-bar mean and standard deviation."""
    log_volume = np.log(bars["volume"].where(bars["volume"] > 0))
    mean = log_volume.rolling(63).mean()
    std = log_volume.rolling(63).std()
    return (log_volume - mean) / std


def close_ma_ratio(bars: pd.DataFrame) -> pd.Series:
    """log(close / 50-bar moving average of close)."""
    return np.log(bars["close"] / bars["close"].rolling(50).mean())


FEATURES: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "log_return": log_return,
    "return_5": return_5,
    "return_21": return_21,
    "volatility_21": volatility_21,
    "range": intraday_range,
    "gap": overnight_gap,
    "volume_z": volume_z,
    "close_ma_ratio": close_ma_ratio,
    "return_w": return_w,
    "volatility_w": volatility_w,
    "session_gap": session_gap,
    "time_of_day_sin": time_of_day_sin,
    "time_of_day_cos": time_of_day_cos,
}


def make_features(
    bars: pd.DataFrame,
    columns: list[str],
    *,
    lookback: int = 21,
    bars_per_year: float = TRADING_DAYS,
) -> pd.DataFrame:
    """The named causal features of ``bars``, one column each; warm-up rows are NaN.

    ``lookback`` is the ``w`` of ``return_w`` and ``volatility_w``; ``bars_per_year``
    annualizes ``volatility_w``.
    """
    unknown = [c for c in columns if c not in FEATURES]
    if unknown:
        raise KeyError(f"unknown feature(s) {unknown}; known: {sorted(FEATURES)}")
    functions = dict(FEATURES)
    functions["return_w"] = partial(return_w, lookback=lookback)
    functions["volatility_w"] = partial(volatility_w, lookback=lookback, bars_per_year=bars_per_year)
    return pd.DataFrame({name: functions[name](bars) for name in columns}, index=bars.index)


def make_target(bars: pd.DataFrame, horizon: int = 1) -> pd.Series:
    """Simple return of close from t to t + horizon, stamped t (NaN for the last bars)."""
    close = bars["close"]
    return (close.shift(-horizon) / close - 1.0).rename("target")


def make_windows(values: np.ndarray, window: int) -> np.ndarray:
    """Sliding windows over rows: ``out[i] = values[i : i + window]``.

    The window ending at row j (``out[j - window + 1]``) holds rows j-window+1..j, so it is
    stamped with row j's date. Returns shape ``(rows - window + 1, window, features)``.
    """
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if len(values) < window:
        return np.empty((0, window, values.shape[1]), dtype=values.dtype)
    windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    # sliding_window_view puts the window axis last: (n, features, window) -> (n, window, features)
    return np.ascontiguousarray(windows.transpose(0, 2, 1))


# --- Volatility scaling (Moskowitz, Ooi & Pedersen 2012; Lim, Zohren & Roberts 2019) ---


def ex_ante_volatility(
    close: pd.Series,
    span: int = 60,
    bars_per_year: float = TRADING_DAYS,
    min_periods: int | None = None,
) -> pd.Series:
    """sigma_t: exponentially weighted std of simple returns up to t (span `span`), annualized; NaN in warm-up.

    The ex-ante volatility that scales positions and targets in time-series momentum:
    pandas' ``ewm(span=span, min_periods=min_periods).std()`` of the simple returns
    ``close[t] / close[t-1] - 1`` (decay ``alpha = 2 / (span + 1)``, finite-sample weights
    and the bias correction of pandas' defaults), times ``sqrt(bars_per_year)``.

    Moskowitz, Ooi & Pedersen (2012, eq. 1) use an exponentially weighted variance with a
    center of mass of 60 days (``alpha = 1/61``, memory about 60 days); Lim, Zohren & Roberts
    (2019) and their code use a span of 60 (``alpha = 2/61``, about half that memory). The default follows the second, since its targets are the ones the Sharpe loss
    of `tradenn.losses` was designed for; pass ``span=121`` for MOP's center of mass 60.

    Args:
        close: closes, in time order.
        span: the exponential window's span in bars (>= 2).
        bars_per_year: annualizes the per-bar standard deviation.
        min_periods: returns needed before sigma is reported (>= 2); ``None`` means
            ``span``, so sigma is first known at bar ``span`` (``span + 1`` closes): an
            exponential average over fewer returns than its span is mostly noise.

    Returns:
        sigma stamped t, from closes dated <= t only; NaN before ``min_periods`` returns.

    Example:
        >>> sigma = ex_ante_volatility(bars["close"])
    """
    require_series(close, "close")
    require_setting(span >= 2, "span", ">= 2", span)
    require_setting(bars_per_year > 0, "bars_per_year", "> 0", bars_per_year)
    periods = span if min_periods is None else min_periods
    require_setting(periods >= 2, "min_periods", ">= 2", min_periods)
    returns = close / close.shift(1) - 1.0
    sigma = returns.ewm(span=span, min_periods=periods).std() * np.sqrt(bars_per_year)
    return sigma.rename("ex_ante_volatility")


def vol_scaled_return(
    close: pd.Series,
    sigma: pd.Series,
    *,
    horizon: int = 1,
    target_vol: float = 0.15,
    bars_per_year: float = TRADING_DAYS,
    winsorize: float = 5.0,
) -> pd.Series:
    """Stamped t: (close[t+h]/close[t] - 1) * target_vol / sigma[t], clipped to
    +- winsorize * target_vol * sqrt(h / bars_per_year) (i.e. `winsorize` standard deviations of the scaled return); NaN where unknown.

    The return a position of ``target_vol / sigma_t`` units, decided at the close of t,
    earns over the next ``horizon`` bars, the volatility-scaled return of time-series
    momentum (Lim, Zohren & Roberts 2019; sigma is known at t, so the position is too). Scaled to ``target_vol`` a year, such a return has a
    standard deviation of about ``target_vol * sqrt(horizon / bars_per_year)``; clipping at
    ``winsorize`` of those keeps a day when sigma underestimated the move (a crash after a
    calm spell) from dominating a batch's Sharpe ratio. Like `make_target`, this is a label:
    it looks ``horizon`` bars ahead on purpose.

    Args:
        close: closes, in time order.
        sigma: annualized ex-ante volatility on ``close``'s index (`ex_ante_volatility`).
        horizon: bars ahead (>= 1).
        target_vol: annualized volatility the scaled return targets (> 0).
        bars_per_year: bars per year, as used to annualize ``sigma``.
        winsorize: the clip, in standard deviations of the scaled return (> 0).

    Returns:
        The scaled return stamped t; NaN for the last ``horizon`` bars and where sigma is
        NaN or not positive.

    Example:
        >>> target = vol_scaled_return(bars["close"], ex_ante_volatility(bars["close"]))
    """
    require_series(close, "close")
    require_series(sigma, "sigma")
    if not sigma.index.equals(close.index):
        raise DataError(
            f"sigma must be on close's index ({len(close)} stamps from {_first(close)}); got "
            f"{len(sigma)} stamps from {_first(sigma)}"
        )
    require_setting(horizon >= 1, "horizon", ">= 1", horizon)
    require_setting(target_vol > 0, "target_vol", "> 0", target_vol)
    require_setting(bars_per_year > 0, "bars_per_year", "> 0", bars_per_year)
    require_setting(winsorize > 0, "winsorize", "> 0", winsorize)
    forward = make_target(close.to_frame("close"), horizon)
    scaled = forward * target_vol / sigma.where(sigma > 0)
    bound = winsorize * target_vol * np.sqrt(horizon / bars_per_year)
    return scaled.clip(-bound, bound).rename("vol_scaled_return")


def require_series(values: object, name: str) -> None:
    """A `DataError` unless ``values`` is a Series (shared with `tradenn.baselines`)."""
    if not isinstance(values, pd.Series):
        raise DataError(f"{name} must be a pandas Series; got {type(values).__name__}")


def require_setting(ok: bool, name: str, expected: str, got: object) -> None:
    """A `ConfigError` naming the setting unless ``ok``."""
    if not ok:
        raise ConfigError(f"{name} must be {expected}; got {got!r}")


def _first(values: pd.Series) -> str:
    return str(values.index[0]) if len(values) else "nowhere (empty)"
