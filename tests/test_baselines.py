"""Classical trend signals (tradenn.baselines): TSMOM and the Baz et al. MACD by hand,
the response's peak, causality, and the sign of TSMOM on SPY's history."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tradenn.baselines import macd_indicator, macd_response, macd_signal, tsmom_signal
from tradenn.data import load_bars
from tradenn.errors import ConfigError, DataError


def test_tsmom_by_hand():
    close = pd.Series([10.0, 11.0, 9.0, 12.0, 12.0, 8.0, 12.0])
    signal = tsmom_signal(close, lookback=2)
    # 9/10, 12/11, 12/9, 8/12, 12/12: down, up, up, down, flat.
    expected = pd.Series([np.nan, np.nan, -1.0, 1.0, 1.0, -1.0, 0.0])
    pd.testing.assert_series_equal(signal, expected, check_names=False)
    assert signal.name == "tsmom"
    # lookback 1 needs 2 closes: only bar 0 is NaN.
    assert tsmom_signal(close, lookback=1).isna().sum() == 1


# A short series with a turn in it, so q and y change sign.
SHORT = pd.Series([10.0, 10.5, 11.2, 11.0, 11.8, 12.5, 12.1, 11.4, 10.9, 11.3, 10.2, 9.8,
                   10.4, 11.1])


def ewma_by_paper(close: np.ndarray, timescale: int) -> np.ndarray:
    """Baz et al.'s exponentially weighted mean with time scale n: half-life
    log(0.5) / log(1 - 1/n), each value the weighted mean of all closes so far."""
    halflife = np.log(0.5) / np.log(1 - 1 / timescale)
    out = np.empty(len(close))
    for t in range(len(close)):
        weights = 0.5 ** (np.arange(t, -1, -1) / halflife)
        out[t] = np.sum(weights * close[: t + 1]) / weights.sum()
    return out


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for t in range(window - 1, len(values)):
        out[t] = np.std(values[t - window + 1 : t + 1], ddof=1)
    return out


def macd_by_hand(close: np.ndarray, short: int, long: int, price_window: int,
                 signal_window: int) -> np.ndarray:
    macd = ewma_by_paper(close, short) - ewma_by_paper(close, long)
    q = macd / rolling_std(close, price_window)
    return q / rolling_std(q, signal_window)


def test_macd_indicator_step_by_step():
    y = macd_indicator(SHORT, 2, 4, price_window=3, signal_window=3)
    expected = macd_by_hand(SHORT.to_numpy(), 2, 4, 3, 3)
    # Warm-up: q needs 3 closes (bar 2), y needs 3 values of q (bar 4).
    assert y.iloc[:4].isna().all() and np.isfinite(y.iloc[4:]).all()
    np.testing.assert_allclose(y.to_numpy()[4:], expected[4:], rtol=1e-10)
    assert (y.iloc[4:] > 0).any() and (y.iloc[4:] < 0).any()  # the test covers both signs


def test_macd_signal_is_the_mean_response_over_pairs():
    one = macd_signal(SHORT, pairs=((2, 4),), price_window=3, signal_window=3)
    y = macd_by_hand(SHORT.to_numpy(), 2, 4, 3, 3)
    np.testing.assert_allclose(one.to_numpy()[4:], y[4:] * np.exp(-y[4:] ** 2 / 4) / 0.89,
                               rtol=1e-10)
    two = macd_signal(SHORT, pairs=((2, 4), (3, 6)), price_window=3, signal_window=3)
    y2 = macd_by_hand(SHORT.to_numpy(), 3, 6, 3, 3)
    phi = lambda v: v * np.exp(-(v**2) / 4) / 0.89  # noqa: E731
    np.testing.assert_allclose(two.to_numpy()[4:], (phi(y[4:]) + phi(y2[4:])) / 2, rtol=1e-10)
    assert two.iloc[:4].isna().all()


def test_response_peaks_near_one_at_root_two():
    grid = np.linspace(-6, 6, 120001)
    response = macd_response(grid)
    assert grid[np.argmax(response)] == pytest.approx(np.sqrt(2), abs=1e-4)
    # 0.89 rounds the peak sqrt(2) * exp(-1/2) = 0.858 so that it is about 1 (0.964).
    assert response.max() == pytest.approx(np.sqrt(2) * np.exp(-0.5) / 0.89, rel=1e-9)
    assert 0.95 < response.max() < 1.0
    np.testing.assert_allclose(macd_response(-grid), -response)  # odd: shorts mirror longs
    assert macd_response(6.0) < 0.1  # an extreme trend is faded


@functools.cache
def spy_close() -> pd.Series:
    return load_bars("SPY", "2004-01-01", "2020-12-31", provider="bundled")["close"]


def perturbed_after(close: pd.Series, t: int) -> pd.Series:
    rng = np.random.default_rng(t)
    out = close.copy()
    out.iloc[t + 1 :] *= rng.uniform(0.5, 1.5, len(close) - t - 1)
    return out


@pytest.mark.parametrize("t", [400, 1200, 2500])
@pytest.mark.parametrize("signal", [tsmom_signal, macd_signal])
def test_signals_are_causal(signal, t):
    close = spy_close()
    full = signal(close)
    moved = signal(perturbed_after(close, t))
    assert full.iloc[: t + 1].notna().iloc[-1]  # t is past the warm-up
    pd.testing.assert_series_equal(moved.iloc[: t + 1], full.iloc[: t + 1], rtol=1e-12)
    pd.testing.assert_series_equal(signal(close.iloc[: t + 1]), full.iloc[: t + 1], rtol=1e-12)
    # The perturbation reaches the future, so the check above could fail. (TSMOM is a sign:
    # compare over the rest of the series, where some sign flips.)
    assert (moved.iloc[t + 1 :] != full.iloc[t + 1 :]).any()


def test_macd_warm_up_and_range_on_spy():
    signal = macd_signal(spy_close())
    warm_up = 63 + 252 - 2
    assert signal.iloc[:warm_up].isna().all() and signal.iloc[warm_up:].notna().all()
    assert signal.abs().max() < 0.97  # |phi| <= 0.964
    # Trend-following: long through the 2013-2017 rise, short in late 2008.
    assert signal.loc["2013":"2017"].mean() > 0.2
    assert signal.loc["2008-09":"2008-12"].mean() < -0.2


def test_tsmom_on_spy_follows_the_trend():
    signal = tsmom_signal(spy_close())
    assert (signal.loc["2013":"2019"] == 1).mean() > 0.8
    assert (signal.loc["2008-09":"2008-12"] == -1).mean() > 0.9


def test_bad_input_is_named():
    with pytest.raises(DataError, match="close must be a pandas Series"):
        tsmom_signal([1.0, 2.0])
    with pytest.raises(ConfigError, match="lookback must be >= 1"):
        tsmom_signal(SHORT, lookback=0)
    with pytest.raises(ConfigError, match="long time scale L must be > S = 8"):
        macd_signal(SHORT, pairs=((8, 8),))
    with pytest.raises(ConfigError, match="pairs"):
        macd_signal(SHORT, pairs=())


def test_baselines_never_import_tensorflow():
    code = ("import sys, tradenn.baselines\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_baseline_signals_are_the_default_signals_on_daily_bars_and_stretch_for_hourly():
    from tradenn.baselines import baseline_signals

    close = load_bars("SPY", "2015-01-01", "2019-12-31", provider="bundled")["close"]
    daily = baseline_signals(close)
    pd.testing.assert_series_equal(daily["signal_tsmom"], tsmom_signal(close), check_names=False)
    pd.testing.assert_series_equal(daily["signal_macd"], macd_signal(close), check_names=False)
    hourly = baseline_signals(close, bars_per_year=252 * 2)  # two bars a day: windows double
    assert hourly["signal_tsmom"].first_valid_index() == close.index[504]
    pd.testing.assert_series_equal(hourly["signal_macd"], macd_signal(
        close, pairs=((16, 48), (32, 96), (64, 192)), price_window=126, signal_window=504),
        check_names=False)
