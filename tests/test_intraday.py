"""Bars of any frequency: timestamps, yfinance's intraday layout, gaps, bars per year,
interval-neutral features and session features, and causality on real hourly bars."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import pytest

from tradenn.config import load_config
from tradenn.data import BUNDLED_DIR, check_bars_file, fetch_yfinance, load_bars, normalize_bars
from tradenn.errors import ConfigError, DataError
from tradenn.features import FEATURES, make_features
from tradenn.frequency import bar_name, bars_per_year
from tradenn.regimes import CompositeRegime, HmmRegime, VolatilityRegime

EURUSD = BUNDLED_DIR / "intraday" / "EURUSD_1h.csv"


@functools.cache
def eurusd() -> pd.DataFrame:
    return load_bars("EURUSD", provider="bundled", interval="1h")


def yfinance_intraday_frame(ticker: str = "SPY") -> pd.DataFrame:
    """What ``yf.download(ticker, interval="1h")`` returns: (Price, Ticker) MultiIndex
    columns and a tz-aware ``Datetime`` index in the exchange's zone, one bar per hour of
    the regular session (9:30 to 15:30 New York)."""
    days = pd.bdate_range("2025-03-03", periods=10)
    stamps = [d + pd.Timedelta(hours=9, minutes=30) + pd.Timedelta(hours=h)
              for d in days for h in range(7)]
    index = pd.DatetimeIndex(stamps, name="Datetime").tz_localize("America/New_York")
    rng = np.random.default_rng(3)
    close = 580 * np.exp(np.cumsum(rng.normal(0, 0.002, len(index))))
    open_ = close * np.exp(rng.normal(0, 0.001, len(index)))
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    columns = pd.MultiIndex.from_product(
        [["Close", "High", "Low", "Open", "Volume"], [ticker]], names=["Price", "Ticker"]
    )
    values = np.column_stack([close, high, low, open_, rng.integers(1e5, 1e6, len(index))])
    return pd.DataFrame(values, index=index, columns=columns)


# --------------------------------------------------------------------------- data


def test_hourly_file_keeps_its_timestamps_naive_as_written():
    bars = eurusd()
    assert len(bars) == 5000 and bars.index.tz is None
    assert str(bars.index[0]) == "2017-04-19 09:00:00"
    assert str(bars.index[-1]) == "2018-02-07 15:00:00"
    assert bars.index.is_unique and bars.index.is_monotonic_increasing
    assert bars["close"].iloc[0] == pytest.approx(1.07219)


def test_yfinance_intraday_layout_is_read_tz_aware_and_cached_by_interval(tmp_path, monkeypatch):
    import yfinance

    calls = []

    def download(ticker, **kwargs):
        calls.append(kwargs)
        return yfinance_intraday_frame(ticker)

    monkeypatch.setattr(yfinance, "download", download)
    bars = fetch_yfinance("SPY", cache_dir=tmp_path, interval="1h")
    assert calls[0]["interval"] == "1h" and calls[0]["period"] == "730d"
    assert str(bars.index.tz) == "America/New_York"
    assert str(bars.index[0]) == "2025-03-03 09:30:00-05:00"
    assert str(bars.index[6]) == "2025-03-03 15:30:00-05:00"  # not normalized to the date
    assert len(bars) == 70 and bars.index.is_unique
    # The cache is keyed by ticker and interval; daily bars keep SPY.parquet.
    assert (tmp_path / "SPY_1h.parquet").is_file() and not (tmp_path / "SPY.parquet").exists()
    cached = load_bars("SPY", provider="cache", cache_dir=tmp_path, interval="1h")
    pd.testing.assert_frame_equal(cached, bars)
    with pytest.raises(DataError, match="no cache file .*SPY.parquet"):
        load_bars("SPY", provider="cache", cache_dir=tmp_path)
    # Slicing by plain dates reads them in the bars' own zone and keeps the whole end day.
    day = load_bars("SPY", "2025-03-04", "2025-03-04", provider="cache", cache_dir=tmp_path,
                    interval="1h")
    assert [str(t.time()) for t in day.index] == [f"{h:02d}:30:00" for h in range(9, 16)]


def test_daily_bars_from_a_zoned_index_are_still_dates():
    frame = yfinance_intraday_frame()
    daily = frame.groupby(frame.index.normalize()).last()  # midnight, tz-aware: daily layout
    bars = normalize_bars(daily, name="daily")
    assert bars.index.tz is None and (bars.index == bars.index.normalize()).all()
    # Asked for daily bars, intraday stamps collapse to dates and collide: an error that
    # names the date, not a silent merge.
    with pytest.raises(DataError, match="duplicate date.*2025-03-03"):
        normalize_bars(frame, name="hourly as daily", interval="1d")


def test_yfinance_intraday_history_limit_is_one_clear_error(tmp_path, monkeypatch):
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pytest.fail("no download"))
    with pytest.raises(DataError) as error:
        fetch_yfinance("SPY", start="2020-01-01", cache_dir=tmp_path, interval="5m",
                       today=pd.Timestamp("2026-11-29"))
    message = str(error.value)
    assert "5m" in message and "60 days" in message
    assert "2026-10-01 to 2026-11-29" in message and "2020-01-01" in message


def test_yfinance_empty_intraday_answer_names_the_available_range(tmp_path, monkeypatch):
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame())
    with pytest.raises(DataError, match=r"no 1m data .*only from 2026-10-31 to 2026-11-29"):
        fetch_yfinance("SPY", cache_dir=tmp_path, interval="1m", today=pd.Timestamp("2026-11-29"))


def test_gaps_are_judged_against_the_series_own_spacing():
    check = check_bars_file(EURUSD)
    assert check.usable and check.rows == 5000 and check.spacing == "0 days 01:00:00"
    # 40-odd weekends (49 hours, 48 or 50 around clock changes) are the calendar, not gaps;
    # the Christmas and New Year closures are.
    assert check.gaps == [("2017-12-22 21:00:00", "2017-12-25 22:00:00", 73),
                          ("2017-12-29 21:00:00", "2018-01-01 22:00:00", 73)]


def test_timestamp_problems_name_the_timestamp(tmp_path):
    lines = EURUSD.read_text().splitlines()
    duplicated = tmp_path / "dup.csv"
    duplicated.write_text("\n".join(lines[:40] + [lines[30]] + lines[40:60]) + "\n")
    with pytest.raises(DataError, match=r"duplicate date\(s\), first 2017-04-20 14:00:00"):
        load_bars(duplicated)
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join(lines[:10] + [lines[11], lines[10]] + lines[12:60]) + "\n")
    with pytest.warns(UserWarning, match="not in increasing order"):
        assert load_bars(swapped).index.is_monotonic_increasing
    inverted = tmp_path / "inverted.csv"
    stamp, o, h, low, c, v = lines[5].split(",")
    inverted.write_text("\n".join(lines[:5] + [",".join([stamp, o, low, h, c, v])] + lines[6:60]))
    with pytest.raises(DataError, match="high < low in 1 row.*2017-04-19 13:00:00"):
        load_bars(inverted)


# --------------------------------------------------------------------------- frequency


def test_bars_per_year_from_the_data():
    assert bars_per_year(eurusd().index) == 24 * 5 * 52  # round the clock on weekdays
    assert bars_per_year(load_bars("SPY", provider="bundled").index) == 252.0
    # US equities' regular session in 30-minute bars: 13 a day, 252 sessions.
    days = pd.bdate_range("2024-01-02", periods=60)
    session = pd.DatetimeIndex([d + pd.Timedelta(minutes=570 + 30 * k) for d in days for k in range(13)])
    assert bars_per_year(session) == 13 * 252
    crypto = pd.date_range("2024-01-01", periods=24 * 60, freq="h")  # weekends trade too
    assert bars_per_year(crypto) == 24 * 365
    assert bar_name("1h") == "hourly" and bar_name(None, session) == "30-minute"


def test_interval_neutral_features_count_bars_and_annualize_with_the_data():
    bars = eurusd()
    frame = make_features(bars, ["volatility_w", "return_w", "volatility_21"], lookback=24,
                          bars_per_year=6240)
    log_return = np.log(bars["close"]).diff()
    expected = log_return.iloc[1:25].std() * np.sqrt(6240)
    assert np.isnan(frame["volatility_w"].iloc[23])
    assert frame["volatility_w"].iloc[24] == pytest.approx(expected, rel=1e-12)
    assert frame["return_w"].iloc[24] == pytest.approx(np.log(bars["close"].iloc[24] / bars["close"].iloc[0]))
    # The daily name keeps its daily meaning: 21 bars, sqrt(252).
    assert frame["volatility_21"].iloc[21] == pytest.approx(log_return.iloc[1:22].std() * np.sqrt(252))


def test_session_features():
    bars = eurusd()
    frame = make_features(bars, ["session_gap", "time_of_day_sin", "time_of_day_cos"])
    six = bars.index.hour == 6
    np.testing.assert_allclose(frame.loc[six, "time_of_day_sin"], 1.0, atol=1e-12)
    np.testing.assert_allclose(frame.loc[bars.index.hour == 12, "time_of_day_cos"], -1.0, atol=1e-12)
    # A session starts after each weekend: its gap is the first open against Friday's last
    # close, held through the week; the first session has none.
    monday = bars.index.get_loc(pd.Timestamp("2017-04-23 21:00"))
    expected = np.log(bars["open"].iloc[monday] / bars["close"].iloc[monday - 1])
    assert frame["session_gap"].iloc[monday] == pytest.approx(expected)
    assert frame["session_gap"].iloc[monday + 50] == pytest.approx(expected)
    assert frame["session_gap"].iloc[: monday].isna().all()


# --------------------------------------------------------------------------- causality


def perturb_after(bars: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = bars.copy()
    factor = rng.uniform(0.5, 1.5, size=len(bars) - t)
    prices = ["open", "high", "low", "close"]
    out.iloc[t:, out.columns.get_indexer(prices)] = out.iloc[t:][prices].to_numpy() * factor[:, None]
    out.iloc[t:, out.columns.get_loc("volume")] *= rng.uniform(0.2, 5, size=len(bars) - t)
    return out


@pytest.mark.parametrize("t", [30, 700, 2600, 4999])
def test_every_feature_is_causal_on_hourly_bars(t):
    bars = eurusd()
    names = list(FEATURES)
    full = make_features(bars, names, lookback=24, bars_per_year=6240)
    moved = make_features(perturb_after(bars, t, seed=t), names, lookback=24, bars_per_year=6240)
    pd.testing.assert_frame_equal(moved.iloc[:t], full.iloc[:t], rtol=1e-12, atol=1e-15)
    prefix = make_features(bars.iloc[:t], names, lookback=24, bars_per_year=6240)
    pd.testing.assert_frame_equal(prefix, full.iloc[:t], rtol=1e-12, atol=1e-15)
    assert not moved.iloc[t:].equals(full.iloc[t:])


@pytest.mark.parametrize("t", [300, 2600, 4500])
def test_volatility_and_hmm_regimes_are_causal_on_hourly_bars(t):
    bars = eurusd()
    regime = CompositeRegime([VolatilityRegime(window=24, min_history=240, levels=3),
                              HmmRegime(n_iter=30, vol_window=24)]).fit(bars.iloc[:2400])
    assert all(d.bars_per_year == 6240 for d in regime.detectors)
    full = regime.transform(bars)
    moved = regime.transform(perturb_after(bars, t, seed=t))
    pd.testing.assert_frame_equal(moved.iloc[:t], full.iloc[:t], rtol=1e-12, atol=1e-12)
    assert not np.allclose(moved.iloc[t:].fillna(0), full.iloc[t:].fillna(0))
    # Annualized with hourly bars per year: vol_annual of EUR/USD is a few percent, not 0.5%.
    assert 0.02 < full["vol_annual"].median() < 0.2


# --------------------------------------------------------------------------- config


def test_interval_and_bars_per_year_in_the_config(tmp_path):
    config = load_config("configs/eurusd_1h.yaml")
    assert config.data.interval == "1h" and config.data.bars_per_year is None
    with pytest.raises(ConfigError, match=r"data.interval: .*got '2h'"):
        load_config("configs/eurusd_1h.yaml", ["data.interval=2h"])
    with pytest.raises(ConfigError, match="data.bars_per_year"):
        load_config("configs/eurusd_1h.yaml", ["data.bars_per_year=0"])


def test_bundled_intraday_file_is_found_only_for_its_interval():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_bars("EURUSD", provider="bundled", interval="1h")) == 5000
    with pytest.raises(DataError, match="no bundled 5m file for EURUSD"):
        load_bars("EURUSD", provider="bundled", interval="5m")
