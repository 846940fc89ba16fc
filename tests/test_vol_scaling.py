"""Volatility scaling (tradenn.features.ex_ante_volatility, vol_scaled_return): values by
hand, causality of sigma, the target's use of sigma at t, and the winsorization bound."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from tradenn.data import load_bars
from tradenn.errors import ConfigError, DataError
from tradenn.features import ex_ante_volatility, vol_scaled_return

# Simple returns 0.1, -0.1, 0.1, 0, 0.1 (closes are exact multiples).
CLOSES = pd.Series([100.0, 110.0, 99.0, 108.9, 108.9, 119.79],
                   index=pd.date_range("2020-01-01", periods=6, freq="B", name="date"))


def ew_std(returns: np.ndarray, span: int) -> float:
    """Bias-corrected exponentially weighted std of all of ``returns``, written out:
    weights (1 - alpha)^age, alpha = 2 / (span + 1)."""
    alpha = 2.0 / (span + 1)
    weights = (1 - alpha) ** np.arange(len(returns))[::-1]
    mean = np.sum(weights * returns) / weights.sum()
    biased = np.sum(weights * (returns - mean) ** 2) / weights.sum()
    return np.sqrt(biased * weights.sum() ** 2 / (weights.sum() ** 2 - np.sum(weights**2)))


def test_ex_ante_volatility_by_hand():
    sigma = ex_ante_volatility(CLOSES, span=3, bars_per_year=252)
    # min_periods defaults to the span: 3 returns, so bars 0-2 are warm-up.
    assert sigma.iloc[:3].isna().all()
    # Returns (0.1, -0.1, 0.1), weights (1/4, 1/2, 1): biased var 1/122.5, correction 1.75,
    # var 1/70 a bar; times 252 a year: 3.6.
    assert sigma.iloc[3] == pytest.approx(np.sqrt(3.6), rel=1e-12)
    # Returns (0.1, -0.1, 0.1, 0), weights (1/8, 1/4, 1/2, 1): var 0.048/7 a bar -> 1.728.
    assert sigma.iloc[4] == pytest.approx(np.sqrt(1.728), rel=1e-12)
    returns = CLOSES.to_numpy()[1:] / CLOSES.to_numpy()[:-1] - 1
    assert sigma.iloc[5] == pytest.approx(ew_std(returns, 3) * np.sqrt(252), rel=1e-12)
    assert sigma.index.equals(CLOSES.index)


def test_min_periods_sets_the_warm_up():
    sigma = ex_ante_volatility(CLOSES, span=3, min_periods=2)
    assert sigma.iloc[:2].isna().all() and np.isfinite(sigma.iloc[2])
    default = ex_ante_volatility(pd.Series(np.linspace(100, 130, 80)))
    assert default.iloc[:60].isna().all() and np.isfinite(default.iloc[60])


def test_vol_scaled_return_by_hand():
    sigma = ex_ante_volatility(CLOSES, span=3)
    target = vol_scaled_return(CLOSES, sigma, target_vol=0.15, winsorize=100.0)
    # Bar 4: return to bar 5 is 0.1; sigma at 4 is sqrt(1.728).
    assert target.iloc[4] == pytest.approx(0.1 * 0.15 / np.sqrt(1.728), rel=1e-12)
    assert target.iloc[3] == pytest.approx(0.0, abs=1e-15)  # 108.9 -> 108.9
    assert target.iloc[:3].isna().all()  # sigma unknown
    assert np.isnan(target.iloc[5])  # future unknown
    two = vol_scaled_return(CLOSES, sigma, horizon=2, target_vol=0.15, winsorize=100.0)
    assert two.iloc[3] == pytest.approx((119.79 / 108.9 - 1) * 0.15 / np.sqrt(3.6), rel=1e-12)
    assert two.iloc[4:].isna().all()


def test_target_at_t_uses_sigma_at_t():
    closes = pd.Series([100.0, 102.0, 101.0, 104.0, 103.0])
    sigma = pd.Series([0.10, 0.20, 0.30, 0.40, 0.50])
    target = vol_scaled_return(closes, sigma, target_vol=0.15, winsorize=100.0)
    forward = closes.shift(-1) / closes - 1
    expected = forward * 0.15 / sigma
    pd.testing.assert_series_equal(target, expected, check_names=False, rtol=1e-14)
    # sigma after t does not reach the target at t.
    moved = sigma.copy()
    moved.iloc[3:] *= 7.0
    again = vol_scaled_return(closes, moved, target_vol=0.15, winsorize=100.0)
    pd.testing.assert_series_equal(again.iloc[:3], target.iloc[:3])
    assert again.iloc[3] != pytest.approx(target.iloc[3])


@pytest.mark.parametrize("horizon", [1, 4])
def test_winsorization_clips_exactly_at_the_bound(horizon):
    closes = pd.Series([100.0] * 4 + [150.0] * 4 + [60.0] * 4 + [60.6] * 6)
    sigma = pd.Series(0.15, index=closes.index)  # scaled return = raw return here
    target = vol_scaled_return(closes, sigma, horizon=horizon, target_vol=0.15,
                               bars_per_year=252, winsorize=5.0)
    bound = 5.0 * 0.15 * np.sqrt(horizon / 252)  # 5 standard deviations of a scaled return
    up, down = closes.index[3], closes.index[7]  # +50% and -60% ahead
    assert target[up] == bound and target[down] == -bound
    assert target.abs().max() == bound
    small = closes.index[11]  # 60 -> 60.6: 1%, inside the bound
    assert target[small] == pytest.approx(0.01, rel=1e-12)
    assert abs(target[small]) < bound


def test_zero_sigma_is_unknown_not_infinite():
    closes = pd.Series([100.0, 101.0, 102.0])
    target = vol_scaled_return(closes, pd.Series([0.0, 0.2, 0.2]))
    assert np.isnan(target.iloc[0]) and np.isfinite(target.iloc[1])


@functools.cache
def spy_close() -> pd.Series:
    return load_bars("SPY", "2005-01-01", "2010-12-31", provider="bundled")["close"]


@pytest.mark.parametrize("t", [70, 400, 900, 1400])
def test_ex_ante_volatility_is_causal(t):
    close = spy_close()
    full = ex_ante_volatility(close)
    rng = np.random.default_rng(t)
    perturbed = close.copy()
    perturbed.iloc[t + 1:] *= rng.uniform(0.5, 1.5, len(close) - t - 1)
    moved = ex_ante_volatility(perturbed)
    pd.testing.assert_series_equal(moved.iloc[: t + 1], full.iloc[: t + 1], rtol=1e-12)
    assert abs(moved.iloc[t + 1] - full.iloc[t + 1]) > 1e-6  # the perturbation reaches t+1
    pd.testing.assert_series_equal(ex_ante_volatility(close.iloc[: t + 1]), full.iloc[: t + 1])


def test_spy_volatility_is_plausible():
    sigma = ex_ante_volatility(spy_close())
    assert 0.08 < sigma.loc["2006"].median() < 0.15  # a calm year
    assert sigma.loc["2008-10"].max() > 0.6  # the crash
    target = vol_scaled_return(spy_close(), sigma).dropna()
    # Scaled to 15% a year, a daily target has a std near 0.15 / sqrt(252) = 0.0094.
    assert 0.007 < target.std() < 0.013


def test_bad_input_is_named():
    with pytest.raises(DataError, match="close must be a pandas Series"):
        ex_ante_volatility(CLOSES.to_numpy())
    with pytest.raises(ConfigError, match="span must be >= 2"):
        ex_ante_volatility(CLOSES, span=1)
    with pytest.raises(DataError, match="sigma must be on close's index"):
        vol_scaled_return(CLOSES, ex_ante_volatility(CLOSES).iloc[1:])
    with pytest.raises(ConfigError, match="winsorize must be > 0"):
        vol_scaled_return(CLOSES, ex_ante_volatility(CLOSES, span=3), winsorize=0)
