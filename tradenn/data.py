"""Load market bars and hold them to the bars contract.

Bars are a DataFrame with a ``DatetimeIndex`` named ``date``, strictly increasing, and float
columns ``open, high, low, close, volume`` adjusted for splits and dividends. Daily (and
weekly) bars are stamped with tz-naive dates; intraday bars keep their full timestamps, in
the source's time zone when it gives one, tz-naive (as written) when it does not.

A source is a path to a CSV or Parquet file, or a ticker. A ticker resolves, in order, to
the on-disk cache, a yfinance download (then written to the cache), and the file bundled in
``data/``. Every entry point validates what it read, so downstream code can trust the frame.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from tradenn.errors import DataError
from tradenn.files import write_parquet_atomic
from tradenn.frequency import INTRADAY, is_intraday, is_intraday_index, typical_spacing

BAR_COLUMNS = ["open", "high", "low", "close", "volume"]
PRICE_COLUMNS = ["open", "high", "low", "close"]
Provider = Literal["auto", "cache", "yfinance", "bundled"]

# The bundled bars ship inside the package (and so inside the wheel); the repository's
# data/ is a link to this folder.
BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
# Relative tolerance for "high brackets open and close": adjusted files carry float ulps.
_BRACKET_RTOL = 1e-9
# Gaps of more than this many calendar days are listed by `check_bars` (a long weekend is 4).
_GAP_DAYS = 4
# An intraday break whose length (in typical spacings) recurs this often is part of the
# market's calendar (nights, weekends), not a gap.
_REGULAR_BREAK_COUNT = 3
# How far back Yahoo serves intraday bars (days before today), and the most one request may
# span; daily and weekly bars have no limit.
_YAHOO_HISTORY_DAYS = {"1m": 30, "5m": 60, "15m": 60, "30m": 60, "1h": 730}
_YAHOO_REQUEST_DAYS = {"1m": 7, "5m": 60, "15m": 60, "30m": 60, "1h": 730}


def default_cache_dir() -> Path:
    """The yfinance cache: ``$TRADENN_CACHE_DIR`` or ``~/.cache/tradenn``."""
    return Path(os.environ.get("TRADENN_CACHE_DIR", Path.home() / ".cache" / "tradenn"))


def bundled_path(ticker: str, interval: str = "1d") -> Path | None:
    """The bundled file for ``ticker``: the fully adjusted set first, then Yahoo's layout;
    intraday bars live in ``intraday/TICKER_INTERVAL.csv``."""
    if is_intraday(interval):
        candidate = BUNDLED_DIR / "intraday" / f"{ticker}_{interval}.csv"
        return candidate if candidate.is_file() else None
    if interval != "1d":
        return None
    for candidate in (BUNDLED_DIR / "adjusted" / f"{ticker}.csv", BUNDLED_DIR / f"{ticker}.csv"):
        if candidate.is_file():
            return candidate
    return None


def cache_path(ticker: str, interval: str = "1d", cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache file of ``ticker`` at ``interval`` (daily bars keep the plain ``TICKER.parquet``)."""
    name = f"{ticker}.parquet" if interval == "1d" else f"{ticker}_{interval}.parquet"
    return Path(cache_dir or default_cache_dir()) / name


def _looks_like_path(source: str) -> bool:
    return source.lower().endswith((".csv", ".parquet", ".pq")) or os.sep in source or "/" in source


def load_bars(
    source: str | os.PathLike[str],
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    provider: Provider = "auto",
    cache_dir: str | os.PathLike[str] | None = None,
    allow_missing_volume: bool = False,
    interval: str | None = None,
) -> pd.DataFrame:
    """Load validated bars from a file or a ticker.

    Args:
        source: a path to a CSV (Yahoo's layout or ``date,open,...``) or Parquet file, or a
            ticker such as ``"SPY"``.
        start: first date to keep (inclusive); ``None`` keeps everything before ``end``.
        end: last date to keep (inclusive).
        provider: for a ticker, where to look: ``"auto"`` tries the cache, then yfinance, then
            the bundled file; the other values use only that place.
        cache_dir: the yfinance cache; defaults to `default_cache_dir()`.
        allow_missing_volume: accept a file without volume (an index such as VIX); its
            volume column is then NaN.
        interval: the bars' interval (``"1d"``, ``"1h"`` ...): daily and weekly bars are
            stamped with dates, intraday bars keep their timestamps. For a ticker it picks
            the cache file and yfinance's interval (default ``"1d"``); for a file, None
            infers it (timestamps with a time of day are kept as intraday bars).

    Returns:
        The bars frame of the bars contract, restricted to ``[start, end]`` (an ``end``
        without a time of day includes that whole day).

    Raises:
        DataError: the source cannot be found or read, or its bars are not usable.

    Example:
        >>> bars = load_bars("SPY", start="2010-01-01", provider="bundled")
        >>> list(bars.columns)
        ['open', 'high', 'low', 'close', 'volume']
    """
    source = os.fspath(source)
    if _looks_like_path(source) or Path(source).is_file():
        bars = read_bars_file(source, allow_missing_volume=allow_missing_volume, interval=interval)
    else:
        bars = _load_ticker(source, provider, cache_dir, allow_missing_volume, interval or "1d")
    return slice_dates(bars, start, end, name=source)


def slice_dates(
    bars: pd.DataFrame,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    *,
    name: str = "bars",
) -> pd.DataFrame:
    """Rows of ``bars`` dated within ``[start, end]``; an empty result is a `DataError`."""
    start_ts = _parse_bound(start, "start")
    end_ts = _parse_bound(end, "end")
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise DataError(f"{name}: start {start_ts.date()} is after end {end_ts.date()}")
    if isinstance(bars.index, pd.DatetimeIndex) and is_intraday_index(bars.index):
        start_ts, end_ts = (_in_zone(b, bars.index.tz) for b in (start_ts, end_ts))
        if end_ts is not None and end_ts == end_ts.normalize():
            end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")  # the whole end day
    sliced = bars.loc[start_ts:end_ts]
    if sliced.empty:
        raise DataError(
            f"{name}: no bars between {start_ts and start_ts.date()} and "
            f"{end_ts and end_ts.date()}; the data covers "
            f"{bars.index[0].date()} to {bars.index[-1].date()}"
        )
    return sliced


def _in_zone(bound: pd.Timestamp | None, tz: object) -> pd.Timestamp | None:
    """A bound compared with a tz-aware index is read in the index's own zone."""
    if bound is None or tz is None:
        return bound.tz_localize(None) if bound is not None and bound.tz is not None else bound
    return bound.tz_localize(tz) if bound.tz is None else bound.tz_convert(tz)


def _parse_bound(value: str | pd.Timestamp | None, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what} date {value!r} is not a date (expected YYYY-MM-DD)") from exc


# --------------------------------------------------------------------------- tickers


def _load_ticker(
    ticker: str,
    provider: Provider,
    cache_dir: str | os.PathLike[str] | None,
    allow_missing_volume: bool,
    interval: str = "1d",
) -> pd.DataFrame:
    cache_file = cache_path(ticker, interval, cache_dir)
    tried: list[str] = []
    if provider in ("auto", "cache"):
        if cache_file.is_file():
            return read_bars_file(cache_file, allow_missing_volume=allow_missing_volume, interval=interval)
        tried.append(f"no cache file {cache_file}")
    if provider in ("auto", "yfinance"):
        try:
            return fetch_yfinance(ticker, cache_dir=cache_dir, interval=interval)
        except DataError as exc:
            if provider == "yfinance":
                raise
            tried.append(str(exc))
    if provider in ("auto", "bundled"):
        path = bundled_path(ticker, interval)
        if path is not None:
            if provider == "auto":
                warnings.warn(
                    f"{ticker}: {'; '.join(tried)}; using the bundled {path.name}",
                    stacklevel=3,
                )
            return read_bars_file(path, allow_missing_volume=allow_missing_volume, interval=interval)
        where = BUNDLED_DIR / "intraday" if is_intraday(interval) else BUNDLED_DIR
        what = "" if interval == "1d" else f"{interval} "
        tried.append(f"no bundled {what}file for {ticker} in {where}")
    raise DataError(f"cannot load ticker {ticker!r}: " + "; ".join(tried))


def fetch_yfinance(
    ticker: str,
    start: str | None = None,
    end: str | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    interval: str = "1d",
    today: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Download bars from Yahoo with yfinance and write them to the cache as Parquet.

    Without ``start`` the whole history is downloaded (for intraday bars, as much as Yahoo
    keeps: 7 days of 1-minute bars, 60 days of 5- to 30-minute bars, 730 days of hourly
    bars). ``end`` is inclusive here (yfinance's own ``end`` is exclusive). A ``start``
    older than Yahoo keeps for ``interval``, offline, or an unknown ticker raises a
    `DataError`; ``today`` is the date those limits count back from (default: now).
    """
    import yfinance as yf

    if interval not in _YAHOO_HISTORY_DAYS and interval not in ("1d", "1wk"):
        raise DataError(f"yfinance interval {interval!r}: expected one of 1d, 1wk, {', '.join(INTRADAY)}")
    available = _yahoo_available(interval, today)
    # yfinance reports failures by logging and returns an empty frame; we report them once.
    logging.getLogger("yfinance").setLevel(logging.CRITICAL)
    kwargs: dict[str, object] = {"period": "max"}  # yfinance's way to say "from the start"
    if is_intraday(interval):
        kwargs = {"period": f"{_YAHOO_REQUEST_DAYS[interval]}d"}
    if start or end:
        if available is not None and start and pd.Timestamp(start) < available[0]:
            raise DataError(
                f"yfinance keeps {interval} bars for the last {_YAHOO_HISTORY_DAYS[interval]} "
                f"days only: start {start} is before the available range "
                f"{available[0].date()} to {available[1].date()}"
            )
        yf_end = None if end is None else (pd.Timestamp(end) + pd.Timedelta(days=1)).date()
        first = start or (available[0].date().isoformat() if available else "1900-01-01")
        kwargs = {"start": first, "end": yf_end and yf_end.isoformat()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = yf.download(ticker, progress=False, auto_adjust=True, timeout=10,
                              interval=interval, **kwargs)
    except Exception as exc:  # yfinance raises many kinds; all mean "no data"
        raise DataError(f"yfinance download of {ticker!r} ({interval}) failed: {exc}") from exc
    if raw is None or raw.empty:
        limit = "" if available is None else (
            f"; Yahoo serves {interval} bars only from {available[0].date()} to {available[1].date()}"
        )
        raise DataError(
            f"yfinance returned no {'' if interval == '1d' else interval + ' '}data for "
            f"{ticker!r} (offline, or unknown ticker?){limit}"
        )
    bars = normalize_bars(raw, name=f"yfinance {ticker} {interval}", interval=interval)
    write_parquet_atomic(cache_path(ticker, interval, cache_dir), bars)
    return bars


def _yahoo_available(interval: str, today: pd.Timestamp | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day Yahoo serves ``interval`` bars for (None: no limit)."""
    if interval not in _YAHOO_HISTORY_DAYS:
        return None
    now = pd.Timestamp(today if today is not None else pd.Timestamp.now()).tz_localize(None).normalize()
    return now - pd.Timedelta(days=_YAHOO_HISTORY_DAYS[interval] - 1), now


# --------------------------------------------------------------------------- files


def read_bars_file(
    path: str | os.PathLike[str], *, allow_missing_volume: bool = False, interval: str | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file of bars and validate it (``interval`` as in `load_bars`)."""
    raw = _read_raw(Path(path))
    return normalize_bars(raw, name=str(path), allow_missing_volume=allow_missing_volume,
                          interval=interval)


def _read_raw(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _parse(path, lambda: pd.read_parquet(path))
    try:
        # utf-8-sig drops a byte-order mark, which would otherwise glue itself to "Date".
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text (byte {exc.start}); expected a CSV file") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty (only whitespace)")
    if "\x00" in text:
        raise DataError(f"{path}: holds NUL bytes; expected a text CSV file")
    # sep=None sniffs the delimiter (comma, semicolon, tab, ...) from the first lines.
    return _parse(path, lambda: pd.read_csv(io.StringIO(text), sep=None, engine="python"))


def _parse(path: Path, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run a pandas reader; whatever it raises on a malformed file becomes one DataError.

    pandas' readers raise many types for bad input (ParserError, csv.Error, ValueError,
    IndexError from the sniffer, pyarrow's errors...): a file boundary is where they all
    mean the same thing to the user.
    """
    try:
        frame = read()
    except (ValueError, OSError, IndexError, TypeError, csv.Error, pd.errors.ParserError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path}: cannot be parsed as a table ({first_line})") from None
    except Exception as exc:  # pyarrow.ArrowInvalid and kin: not importable without pyarrow
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{path}: expected a table, got {type(frame).__name__}")
    return frame


def _flatten_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """yfinance gives (Price, Ticker) MultiIndex columns; keep the Price level of one ticker."""
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame
    fields = {"open", "high", "low", "close", "adj close", "volume"}
    for level in range(frame.columns.nlevels):
        values = {str(v).lower() for v in frame.columns.get_level_values(level)}
        if values & fields:
            others = [lvl for lvl in range(frame.columns.nlevels) if lvl != level]
            tickers = {frame.columns[i][others[0]] for i in range(len(frame.columns))} if others else set()
            if len(tickers) > 1:
                raise DataError(
                    f"{name}: holds several tickers {sorted(map(str, tickers))}; load one at a time"
                )
            flat = frame.copy()
            flat.columns = frame.columns.get_level_values(level)
            return flat
    raise DataError(f"{name}: no price columns in MultiIndex columns {list(frame.columns)[:6]}")


def normalize_bars(
    raw: pd.DataFrame,
    *,
    name: str = "bars",
    allow_missing_volume: bool = False,
    interval: str | None = None,
) -> pd.DataFrame:
    """Turn a frame in Yahoo's CSV layout, yfinance's layout or ours into validated bars.

    Daily bars (``interval`` ``1d`` or ``1wk``, or None with every stamp at midnight) are
    stamped with their tz-naive date; intraday bars keep their timestamps and time zone
    (yfinance's intraday ``Datetime`` index is tz-aware, in the exchange's zone).

    When the frame has ``Adj Close``, open/high/low/close are scaled by ``Adj Close / Close``
    so that all four are adjusted for dividends as well as splits.
    """
    if raw.empty and len(raw.columns) == 0:
        raise DataError(f"{name}: the file is empty")
    frame = _flatten_columns(raw, name)
    frame = frame.rename(columns=lambda c: str(c).strip().lower().replace("_", " "))
    repeated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if repeated:
        raise DataError(f"{name}: column(s) {repeated} appear more than once")
    frame = _move_dates_to_index(frame, name, interval)
    if len(frame) == 0:
        raise DataError(f"{name}: has a header but no rows")

    required = PRICE_COLUMNS + ([] if allow_missing_volume else ["volume"])
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{name}: missing required column(s) {missing}; found {list(frame.columns)}"
        )
    if "volume" not in frame.columns:
        frame["volume"] = np.nan

    bars = pd.DataFrame(
        {c: _numbers(frame[c], c, name) for c in BAR_COLUMNS}, index=frame.index
    )
    if "adj close" in frame.columns:
        adj = _numbers(frame["adj close"], "Adj Close", name)
        _require(adj.notna() & (adj > 0), bars.index, name, "Adj Close missing or not positive")
        _check_prices(bars, name)
        factor = adj / bars["close"]
        bars[PRICE_COLUMNS] = bars[PRICE_COLUMNS].mul(factor, axis=0)
    return validate_bars(bars, name=name)


def _numbers(values: pd.Series, column: str, name: str) -> pd.Series:
    """A column as float64; text that is not a number, or an infinity, is a `DataError`
    naming the first date and value (an empty cell stays NaN for the checks that follow)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    blank = values.isna() | values.astype(str).str.strip().eq("")
    text = numbers.isna() & ~blank
    if text.any():
        first = values[text].iloc[0]
        raise DataError(
            f"{name}: {column!r} is not a number in {int(text.sum())} row(s), first "
            f"{_stamp(values.index[text][0])} ({str(first)[:40]!r})"
        )
    _require(~np.isinf(numbers), values.index, name, f"infinite {column!r}")
    return numbers


def _move_dates_to_index(frame: pd.DataFrame, name: str, interval: str | None = None) -> pd.DataFrame:
    if "date" in frame.columns or "datetime" in frame.columns:
        column = "date" if "date" in frame.columns else "datetime"
        raw_dates = frame[column]
        frame = frame.drop(columns=[column])
    elif isinstance(frame.index, pd.DatetimeIndex):
        raw_dates = frame.index.to_series()
    else:
        raise DataError(
            f"{name}: missing required column 'Date' (or a date index); found {list(frame.columns)}"
        )
    try:
        dates = pd.to_datetime(raw_dates, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. mixed time zones
        raise DataError(f"{name}: dates cannot be parsed ({str(exc)[:80]})") from None
    bad = dates.isna().to_numpy()
    if bad.any():
        examples = [str(v) for v in np.asarray(raw_dates)[bad][:3]]
        raise DataError(f"{name}: {int(bad.sum())} unparsable date(s), first {examples}")
    index = pd.DatetimeIndex(dates)
    if is_intraday(interval or "") or (interval is None and _has_times(index)):
        return frame.set_axis(index.rename("date"), axis=0)  # timestamps, zone as given
    if index.tz is not None:
        index = index.tz_localize(None)  # a daily bar's date is the exchange's local date
    frame = frame.set_axis(index.normalize().rename("date"), axis=0)
    return frame


def _has_times(index: pd.DatetimeIndex) -> bool:
    """True when some stamp has a time of day (in its own zone): intraday bars."""
    return bool((index != index.normalize()).any())


def _require(ok: pd.Series, index: pd.Index, name: str, problem: str) -> None:
    bad = ~ok.to_numpy()
    if bad.any():
        raise DataError(f"{name}: {problem} in {int(bad.sum())} row(s), first {_dates(index[bad])}")


def _dates(index: pd.Index, limit: int = 3) -> str:
    return ", ".join(_stamp(d) for d in index[:limit])


def _stamp(moment: pd.Timestamp) -> str:
    """A bar's stamp for messages: its date, or its full timestamp for an intraday bar."""
    return str(moment.date()) if moment == moment.normalize() else str(moment)


def _check_prices(bars: pd.DataFrame, name: str) -> None:
    """Prices must be present, finite and > 0."""
    for column in PRICE_COLUMNS:
        values = bars[column]
        _require(values.notna(), bars.index, name, f"missing (NaN) {column!r}")
        _require(~np.isinf(values), bars.index, name, f"infinite {column!r}")
        _require(values > 0, bars.index, name, f"{column!r} <= 0")


def validate_bars(bars: pd.DataFrame, *, name: str = "bars") -> pd.DataFrame:
    """Check the bars contract; raise `DataError` or warn and repair what is repairable.

    Works on timestamps as well as dates. Errors: duplicate stamps, NaN or non-positive
    prices, high < low. Repaired with a warning:
    unsorted dates (sorted), high/low that do not bracket open/close (widened to do so), and
    NaN volume (kept).
    """
    _check_prices(bars, name)
    _require(~np.isinf(bars["volume"]), bars.index, name, "infinite 'volume'")
    duplicated = bars.index.duplicated(keep=False)
    if duplicated.any():
        dup_dates = bars.index[duplicated].unique()
        raise DataError(
            f"{name}: {len(dup_dates)} duplicate date(s), first {_dates(dup_dates)}"
        )
    if not bars.index.is_monotonic_increasing:
        warnings.warn(f"{name}: dates were not in increasing order; sorted them", stacklevel=3)
        bars = bars.sort_index()
    _require(bars["high"] >= bars["low"], bars.index, name, "high < low")

    top = bars[["open", "close"]].max(axis=1)
    bottom = bars[["open", "close"]].min(axis=1)
    unbracketed = (bars["high"] < top * (1 - _BRACKET_RTOL)) | (bars["low"] > bottom * (1 + _BRACKET_RTOL))
    if unbracketed.any():
        warnings.warn(
            f"{name}: high/low do not bracket open/close in {int(unbracketed.sum())} row(s), "
            f"first {_dates(bars.index[unbracketed])}; widened high/low to cover them",
            stacklevel=3,
        )
        bars = bars.copy()
        bars["high"] = np.maximum(bars["high"], top)
        bars["low"] = np.minimum(bars["low"], bottom)
    volume_na = bars["volume"].isna()
    if volume_na.any() and not volume_na.all():
        warnings.warn(
            f"{name}: volume missing in {int(volume_na.sum())} row(s), first "
            f"{_dates(bars.index[volume_na])}",
            stacklevel=3,
        )
    bars.index.name = "date"
    return bars


def bars_hash(bars: pd.DataFrame) -> str:
    """A short content hash of ``bars`` (dates and values), stored with every run."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(bars, index=True).to_numpy().tobytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- checking


@dataclass
class BarsCheck:
    """What `check_bars_file` found: a summary to print and whether the file is usable."""

    path: str
    rows: int = 0
    first: str | None = None
    last: str | None = None
    # (last bar before, first bar after, length): calendar days for daily bars, typical
    # spacings (missing bars + 1) for intraday bars.
    gaps: list[tuple[str, str, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    spacing: str | None = None  # intraday bars: their typical spacing, e.g. "0 days 01:00:00"

    @property
    def usable(self) -> bool:
        return self.error is None


def check_bars_file(
    path: str | os.PathLike[str],
    *,
    loader: Callable[..., pd.DataFrame] = read_bars_file,
) -> BarsCheck:
    """Validate a bars file and summarize it: range, rows, gaps and problems."""
    result = BarsCheck(path=os.fspath(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            bars = loader(path, allow_missing_volume=True)
        except DataError as exc:
            result.error = str(exc)
            bars = None
    result.warnings = [str(w.message) for w in caught]
    if bars is None:
        return result
    result.rows = len(bars)
    result.first = _stamp(bars.index[0])
    result.last = _stamp(bars.index[-1])
    result.gaps = find_gaps(bars.index)
    if is_intraday_index(bars.index):
        result.spacing = str(typical_spacing(bars.index))
    if bars["volume"].isna().all():
        result.warnings.append("no volume column (fine for an index such as VIX)")
    return result


def find_gaps(index: pd.DatetimeIndex) -> list[tuple[str, str, int]]:
    """Gaps in ``index``, judged against the series' own calendar.

    Daily bars: steps of more than 4 calendar days (a long weekend is 4), with their length
    in days. Intraday bars: steps longer than 1.5 typical spacings whose length, in typical
    spacings, is not within an hour of a length that recurs at least 3 times (a recurring
    break is a night or a weekend; the hour allows for clock changes), with their length in
    typical spacings.
    """
    if len(index) < 2:
        return []
    if not is_intraday_index(index):
        steps = index.to_series().diff().dt.days
        return [
            (_stamp(index[index.get_loc(date) - 1]), _stamp(date), int(days))
            for date, days in steps[steps > _GAP_DAYS].items()
        ]
    spacing = typical_spacing(index)
    lengths = pd.Series(np.diff(index.to_numpy()) / spacing.to_timedelta64()).round().astype(int)
    breaks = lengths[lengths > 1]
    counts = breaks.value_counts()
    regular = np.array(sorted(counts[counts >= _REGULAR_BREAK_COUNT].index))
    # A clock change moves a night or weekend by an hour: still the same break.
    slack = max(1, round(pd.Timedelta(hours=1) / spacing))
    return [
        (_stamp(index[i]), _stamp(index[i + 1]), int(length))
        for i, length in breaks.items()
        if not (regular.size and np.abs(regular - length).min() <= slack)
    ]


def load_index_closes(
    source: str | os.PathLike[str], *, provider: Provider = "bundled"
) -> pd.Series:
    """The closes of an index such as CBOE's VIX (a file or ticker, volume optional).

    Only closes are returned, so the loader's repair of rows whose open/high/low do not
    bracket the close (CBOE's file has some) is not worth a warning here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*do not bracket open/close.*")
        bars = load_bars(source, provider=provider, allow_missing_volume=True)
    return bars["close"]
