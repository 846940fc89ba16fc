"""Loading bars: bundled files, Yahoo and yfinance layouts, the cache, and validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradenn.data import (
    BUNDLED_DIR,
    bars_hash,
    check_bars_file,
    load_bars,
    normalize_bars,
)
from tradenn.errors import DataError

YAHOO_FILES = ["SPY", "QQQ", "TLT", "GLD"]


# ----------------------------------------------------------------- bundled files


@pytest.mark.parametrize("ticker", YAHOO_FILES)
def test_yahoo_layout_is_scaled_by_adj_close(ticker):
    raw = pd.read_csv(BUNDLED_DIR / f"{ticker}.csv", index_col="Date", parse_dates=True)
    bars = load_bars(BUNDLED_DIR / f"{ticker}.csv")
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index.name == "date" and bars.index.is_monotonic_increasing
    assert len(bars) == len(raw)
    factor = raw["Adj Close"] / raw["Close"]
    np.testing.assert_allclose(bars["close"], raw["Adj Close"], rtol=1e-12)
    np.testing.assert_allclose(bars["open"], raw["Open"] * factor, rtol=1e-12)
    np.testing.assert_allclose(bars["low"], raw["Low"] * factor, rtol=1e-12)


@pytest.mark.parametrize("ticker", YAHOO_FILES)
def test_bundled_ticker_is_the_adjusted_file_and_agrees_with_yahoo_layout(ticker):
    adjusted = load_bars(ticker, provider="bundled")
    yahoo = load_bars(BUNDLED_DIR / f"{ticker}.csv")
    assert adjusted.index[-1] == pd.Timestamp("2026-03-27")
    common = adjusted.index.intersection(yahoo.index)
    ratio = adjusted.loc[common, "close"] / yahoo.loc[common, "close"]
    # Independent downloads, equal up to one constant factor (data/README.md: within 2e-4).
    assert (ratio / ratio.median() - 1).abs().max() < 2e-4


def test_spot_values_from_the_data_readme():
    spy = load_bars(BUNDLED_DIR / "SPY.csv")
    assert spy.loc["1993-01-29", "close"] == pytest.approx(24.840683)
    assert spy.loc["1993-01-29", "open"] == pytest.approx(43.968750 * 24.840683 / 43.9375)
    gld = load_bars("GLD", provider="bundled")
    assert gld.loc["2024-12-31", "close"] == pytest.approx(242.13, abs=0.01)


def test_vix_loads_with_missing_volume_and_repairs_bad_prints():
    with pytest.warns(UserWarning, match=r"do not bracket open/close in 47 row"):
        vix = load_bars(BUNDLED_DIR / "VIX.csv", allow_missing_volume=True)
    assert vix.loc["2020-03-16", "close"] == pytest.approx(82.69)
    assert vix["volume"].isna().all()
    assert (vix["high"] >= vix[["open", "close"]].max(axis=1)).all()
    with pytest.raises(DataError, match=r"missing required column\(s\) \['volume'\]"):
        load_bars(BUNDLED_DIR / "VIX.csv")


def test_start_and_end_are_inclusive_and_checked():
    bars = load_bars("SPY", "2020-03-02", "2020-03-06", provider="bundled")
    assert [str(d.date()) for d in bars.index] == [
        "2020-03-02", "2020-03-03", "2020-03-04", "2020-03-05", "2020-03-06"]
    with pytest.raises(DataError, match="start 2021-01-01 is after end 2020-01-01"):
        load_bars("SPY", "2021-01-01", "2020-01-01", provider="bundled")
    with pytest.raises(DataError, match="no bars between"):
        load_bars("SPY", "1980-01-01", "1980-02-01", provider="bundled")
    with pytest.raises(DataError, match="not a date"):
        load_bars("SPY", "yesterday-ish", provider="bundled")


def test_bars_hash_changes_with_any_value():
    bars = load_bars("SPY", "2020-01-01", "2020-12-31", provider="bundled")
    changed = bars.copy()
    changed.iloc[100, 3] *= 1.0000001
    assert bars_hash(bars) == bars_hash(bars.copy())
    assert bars_hash(bars) != bars_hash(changed)


def test_parquet_round_trip(tmp_path):
    bars = load_bars("TLT", "2010-01-01", "2010-12-31", provider="bundled")
    bars.to_parquet(tmp_path / "tlt.parquet")
    pd.testing.assert_frame_equal(load_bars(tmp_path / "tlt.parquet"), bars, check_freq=False)


# ----------------------------------------------------------------- validation

GOOD = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,100
2024-01-03,10.5,11.5,10,11,120
2024-01-04,11,11.2,10.1,10.2,90
"""


def write(tmp_path, text, name="bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows_with(line_index: int, replacement: str) -> str:
    lines = GOOD.splitlines()
    lines[line_index] = replacement
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"the file is empty"),
        ("Date,Open,High,Low,Close,Volume\n", r"has a header but no rows"),
        (GOOD.replace(",Volume", ",Vol"), r"missing required column\(s\) \['volume'\]"),
        (GOOD.replace("Date,", "When,"), r"missing required column 'Date'"),
        (rows_with(2, "2024-13-45,10.5,11.5,10,11,120"), r"1 unparsable date\(s\), first \['2024-13-45'\]"),
        (rows_with(2, "2024-01-02,10.5,11.5,10,11,120"), r"1 duplicate date\(s\), first 2024-01-02"),
        (rows_with(2, "2024-01-03,10.5,11.5,10,,120"), r"missing \(NaN\) 'close' in 1 row\(s\), first 2024-01-03"),
        (rows_with(2, "2024-01-03,10.5,abc,10,11,120"), r"'high' is not a number in 1 row\(s\), first 2024-01-03 \('abc'\)"),
        (rows_with(2, "2024-01-03,10.5,11.5,10,11,lots"), r"'volume' is not a number in 1 row\(s\), first 2024-01-03 \('lots'\)"),
        (rows_with(2, "2024-01-03,10.5,inf,10,11,120"), r"infinite 'high' in 1 row\(s\), first 2024-01-03"),
        (rows_with(2, "2024-01-03,10.5,11.5,10,11,-inf"), r"infinite 'volume' in 1 row\(s\), first 2024-01-03"),
        ("\n", r"the file is empty \(only whitespace\)"),
        (" \t \r\n\n  ", r"the file is empty \(only whitespace\)"),
        ("\ufeffDate,Open,High,Low,Close,Volume\n", r"has a header but no rows"),
        (GOOD.replace("Volume", "Volume,Adj Close,adj_close"), r"column\(s\) \['adj close'\] appear more than once"),
        (rows_with(3, "2024-01-04,11,11.2,10.1,-1,90"), r"'close' <= 0 in 1 row\(s\), first 2024-01-04"),
        (rows_with(1, "2024-01-02,10,9,11,10.5,100"), r"high < low in 1 row\(s\), first 2024-01-02"),
    ],
    ids=["empty", "header-only", "missing-volume", "missing-date", "bad-date", "duplicate",
         "nan-price", "non-numeric", "text-volume", "inf-price", "inf-volume", "newline-only",
         "whitespace-only", "bom-header-only", "repeated-column", "non-positive",
         "high-below-low"],
)
def test_bad_files_raise_one_clear_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_bars(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_a_byte_order_mark_is_read_past(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_bars(path)["close"].tolist() == [10.5, 11, 10.2]


def test_unsorted_dates_are_sorted_with_a_warning(tmp_path):
    lines = GOOD.splitlines()
    path = write(tmp_path, "\n".join([lines[0], lines[3], lines[1], lines[2]]) + "\n")
    with pytest.warns(UserWarning, match="not in increasing order"):
        bars = load_bars(path)
    assert bars.index.is_monotonic_increasing
    assert bars["close"].tolist() == [10.5, 11, 10.2]


def test_unbracketed_high_low_is_widened_with_a_warning(tmp_path):
    path = write(tmp_path, rows_with(2, "2024-01-03,10.5,10.8,10,11,120"))
    with pytest.warns(UserWarning, match=r"1 row\(s\), first 2024-01-03"):
        bars = load_bars(path)
    assert bars.loc["2024-01-03", "high"] == 11


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_bars(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        load_bars(str(tmp_path) + "/")


def test_binary_garbage_is_a_data_error(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DataError):
        load_bars(path)


def test_check_summarizes_gaps_and_problems():
    check = check_bars_file(BUNDLED_DIR / "SPY.csv")
    assert check.usable and check.rows == 7835
    assert (check.first, check.last) == ("1993-01-29", "2024-03-12")
    assert ("2001-09-10", "2001-09-17", 7) in check.gaps
    bad = check_bars_file(BUNDLED_DIR / "missing.csv")
    assert not bad.usable and "no such file" in bad.error


# ----------------------------------------------------------------- yfinance


def yfinance_frame(bars: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """A frame in yfinance >= 0.2.51's download layout: (Price, Ticker) MultiIndex columns."""
    frame = bars.rename(columns=str.capitalize)[["Close", "High", "Low", "Open", "Volume"]]
    frame.columns = pd.MultiIndex.from_product([frame.columns, [ticker]], names=["Price", "Ticker"])
    frame.index = pd.DatetimeIndex(bars.index, name="Date")
    return frame


@pytest.fixture
def fake_download(monkeypatch):
    import yfinance

    calls = []
    source = load_bars("QQQ", "2020-01-01", "2020-06-30", provider="bundled")

    def download(ticker, **kwargs):
        calls.append((ticker, kwargs))
        return yfinance_frame(source, ticker)

    monkeypatch.setattr(yfinance, "download", download)
    return calls, source


def test_yfinance_layout_is_normalized():
    source = load_bars("SPY", "2021-01-01", "2021-02-01", provider="bundled")
    frame = yfinance_frame(source, "SPY")
    frame.index = frame.index.tz_localize("America/New_York")
    pd.testing.assert_frame_equal(normalize_bars(frame), source, check_freq=False)


def test_ticker_downloads_once_then_reads_the_cache(tmp_path, fake_download):
    calls, source = fake_download
    first = load_bars("QQQ", provider="auto", cache_dir=tmp_path)
    assert len(calls) == 1 and calls[0][1]["auto_adjust"] is True
    assert (tmp_path / "QQQ.parquet").is_file()
    second = load_bars("QQQ", "2020-03-01", provider="auto", cache_dir=tmp_path)
    assert len(calls) == 1  # served from the cache
    pd.testing.assert_frame_equal(first, source, check_freq=False)
    assert second.index[0] == pd.Timestamp("2020-03-02")


def test_several_tickers_in_one_frame_are_rejected():
    a = yfinance_frame(load_bars("SPY", "2021-01-01", "2021-01-10", provider="bundled"), "SPY")
    b = yfinance_frame(load_bars("QQQ", "2021-01-01", "2021-01-10", provider="bundled"), "QQQ")
    with pytest.raises(DataError, match="several tickers"):
        normalize_bars(pd.concat([a, b], axis=1))


@pytest.fixture
def offline(monkeypatch):
    """yfinance as it behaves offline: it logs the failure and returns an empty frame."""
    import yfinance

    columns = pd.MultiIndex.from_product(
        [["Adj Close", "Close", "High", "Low", "Open", "Volume"], ["X"]], names=["Price", "Ticker"])
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame(columns=columns))


def test_offline_ticker_falls_back_to_bundled_with_a_warning(tmp_path, offline):
    with pytest.warns(UserWarning, match="yfinance returned no data.*using the bundled SPY.csv"):
        bars = load_bars("SPY", cache_dir=tmp_path)
    assert bars.index[-1] == pd.Timestamp("2026-03-27")
    assert not (tmp_path / "SPY.parquet").exists()


def test_offline_unknown_ticker_says_what_was_tried(tmp_path, offline):
    with pytest.raises(DataError) as info:
        load_bars("NOSUCH", cache_dir=tmp_path)
    message = str(info.value)
    assert "no cache file" in message and "yfinance returned no data" in message
    assert "no bundled file for NOSUCH" in message


def test_yfinance_only_provider_raises_offline(tmp_path, offline):
    with pytest.raises(DataError, match="yfinance returned no data for 'SPY'"):
        load_bars("SPY", provider="yfinance", cache_dir=tmp_path)


def test_yfinance_exception_becomes_data_error(tmp_path, monkeypatch):
    import yfinance

    def boom(*args, **kwargs):
        raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")

    monkeypatch.setattr(yfinance, "download", boom)
    with pytest.raises(DataError, match="Could not resolve host"):
        load_bars("SPY", provider="yfinance", cache_dir=tmp_path)


def test_fetch_passes_an_inclusive_end_to_yfinance(tmp_path, fake_download):
    from tradenn.data import fetch_yfinance

    calls, _ = fake_download
    fetch_yfinance("QQQ", cache_dir=tmp_path)
    fetch_yfinance("QQQ", end="2020-06-30", cache_dir=tmp_path)
    fetch_yfinance("QQQ", start="2020-01-01", cache_dir=tmp_path)
    ranges = [{k: v for k, v in kwargs.items() if k in ("period", "start", "end")}
              for _, kwargs in calls]
    assert ranges == [{"period": "max"}, {"start": "1900-01-01", "end": "2020-07-01"},
                      {"start": "2020-01-01", "end": None}]
