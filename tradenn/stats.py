"""Performance statistics: pure functions over numpy / pandas.

Returns are simple (not log) per-period returns; NaN returns are ignored. Annualization
uses ``periods`` when given, else `periods_per_year` of the returns' index (252 for daily
stock bars). The risk-free rate is zero throughout. Each formula names its source; the
ones shared with empyrical follow its conventions (sample std with ddof=1, equity starting
at 1 for drawdowns) so the two can be checked against each other.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

Frame = pd.Series | pd.DataFrame
BootstrapMethod = Literal["stationary", "circular"]

# ----------------------------------------------------------------------------- frequency


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


def _clean(returns: Frame | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype="float64").ravel()
    return values[~np.isnan(values)]


def _periods(returns: Frame | np.ndarray, periods: float | None) -> float:
    if periods is not None:
        return float(periods)
    index = getattr(returns, "index", None)
    return periods_per_year(index) if index is not None else 252.0


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


def sharpe_ratio(returns: Frame | np.ndarray, periods: float | None = None) -> float:
    """Annualized Sharpe ratio, zero risk-free rate: mean / std(ddof=1) * sqrt(periods).

    Source: Sharpe (1994), "The Sharpe Ratio", J. Portfolio Management; as empyrical.
    """
    r = _clean(returns)
    return float(_per_period_sharpe(r) * np.sqrt(_periods(returns, periods)))


def _per_period_sharpe(r: np.ndarray) -> float:
    if r.size < 2:
        return math.nan
    std = np.std(r, ddof=1)
    return float(np.mean(r) / std) if std > 0 else math.nan


def sortino_ratio(returns: Frame | np.ndarray, periods: float | None = None) -> float:
    """Annualized Sortino ratio with a zero target.

    mean(r) * P / (sqrt(mean(min(r, 0)^2)) * sqrt(P)). Source: Sortino & Price (1994),
    "Performance Measurement in a Downside Risk Framework", J. of Investing; the downside
    deviation over all periods as in empyrical's ``downside_risk``.
    """
    r = _clean(returns)
    if r.size < 2:
        return math.nan
    p = _periods(returns, periods)
    downside = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * np.sqrt(p)
    return float(np.mean(r) * p / downside) if downside > 0 else math.nan


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


# ----------------------------------------------------------------------------- inference


def probabilistic_sharpe_ratio(
    returns: Frame | np.ndarray, benchmark_sharpe: float = 0.0, periods: float | None = None
) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark_sharpe`` (annualized).

    PSR = Φ((SR - SR*) sqrt(n - 1) / sqrt(1 - γ3 SR + (γ4 - 1) / 4 SR²)) with per-period
    SR, skewness γ3 and (non-excess) kurtosis γ4 of the returns. Source: Bailey & López de
    Prado (2012), "The Sharpe Ratio Efficient Frontier", J. of Risk 15(2), eq. 11.
    """
    r = _clean(returns)
    sr = _per_period_sharpe(r)
    if math.isnan(sr) or r.size < 3:
        return math.nan
    target = benchmark_sharpe / np.sqrt(_periods(returns, periods))
    skew = scipy_stats.skew(r)
    kurt = scipy_stats.kurtosis(r, fisher=False)
    denominator = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denominator <= 0:
        return math.nan
    return float(scipy_stats.norm.cdf((sr - target) * np.sqrt(r.size - 1) / np.sqrt(denominator)))


@dataclass(frozen=True)
class ConfidenceInterval:
    """A bootstrap percentile interval around an estimate."""

    estimate: float
    low: float
    high: float
    level: float
    share_above_zero: float  # share of resamples whose statistic is > 0
    method: str
    block: int
    n_boot: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def default_block_length(n: int) -> int:
    """n^(1/3), the rate of the optimal block length (Hall, Horowitz & Jing 1995)."""
    return max(1, round(n ** (1.0 / 3.0)))


def bootstrap_indices(
    n: int,
    n_boot: int,
    *,
    block: int,
    method: BootstrapMethod = "stationary",
    rng: np.random.Generator,
) -> np.ndarray:
    """Resampled row positions, shape (n_boot, n), that keep blocks of neighbours together.

    ``stationary``: blocks of geometric length with mean ``block`` starting anywhere,
    wrapping around the end (Politis & Romano 1994, "The Stationary Bootstrap", JASA).
    ``circular``: blocks of exactly ``block`` rows, wrapping around (Politis & Romano 1992).
    """
    if method == "stationary":
        starts = rng.integers(0, n, size=(n_boot, n))
        new_block = rng.random((n_boot, n)) < 1.0 / block
        new_block[:, 0] = True
        steps = np.arange(n)
        # Index of the most recent block start at or before each position.
        last = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
        first = np.take_along_axis(starts, last, axis=1)
        return (first + steps - last) % n
    if method == "circular":
        k = -(-n // block)
        starts = rng.integers(0, n, size=(n_boot, k, 1))
        return ((starts + np.arange(block)) % n).reshape(n_boot, k * block)[:, :n]
    raise ValueError(f"method: expected 'stationary' or 'circular', got {method!r}")


def _bootstrap(
    columns: list[np.ndarray],
    statistic,  # (n_boot, n) arrays -> (n_boot,) values
    *,
    n_boot: int,
    block: int | None,
    method: BootstrapMethod,
    seed: int,
) -> tuple[np.ndarray, int]:
    n = columns[0].size
    block = block or default_block_length(n)
    rng = np.random.default_rng(seed)
    values = []
    chunk = max(1, 2_000_000 // max(n, 1))  # bound memory: ~16 MB of float64 per chunk
    for start in range(0, n_boot, chunk):
        idx = bootstrap_indices(n, min(chunk, n_boot - start), block=block, method=method, rng=rng)
        values.append(statistic(*[c[idx] for c in columns]))
    return np.concatenate(values), block


def _rowwise_sharpe(x: np.ndarray) -> np.ndarray:
    std = x.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, x.mean(axis=1) / std, np.nan)


def _interval(estimate: float, draws: np.ndarray, level: float, method: str, block: int,
              n_boot: int) -> ConfidenceInterval:
    draws = draws[~np.isnan(draws)]
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail]) if draws.size else (math.nan,) * 2
    share = float(np.mean(draws > 0)) if draws.size else math.nan
    return ConfidenceInterval(float(estimate), float(low), float(high), level, share, method,
                              block, n_boot)


def bootstrap_sharpe_ci(
    returns: Frame | np.ndarray,
    *,
    periods: float | None = None,
    n_boot: int = 1000,
    block: int | None = None,
    method: BootstrapMethod = "stationary",
    level: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Block-bootstrap percentile interval of the annualized Sharpe ratio.

    Blocks keep the serial dependence (volatility clustering) that an iid bootstrap would
    destroy. ``block`` defaults to `default_block_length`; ``seed`` makes it reproducible.
    """
    r = _clean(returns)
    scale = np.sqrt(_periods(returns, periods))
    draws, block = _bootstrap([r], lambda x: _rowwise_sharpe(x) * scale, n_boot=n_boot,
                              block=block, method=method, seed=seed)
    return _interval(_per_period_sharpe(r) * scale, draws, level, method, block, n_boot)


def bootstrap_sharpe_difference_ci(
    returns: pd.Series,
    other: pd.Series,
    *,
    periods: float | None = None,
    n_boot: int = 1000,
    block: int | None = None,
    method: BootstrapMethod = "stationary",
    level: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Interval of Sharpe(returns) - Sharpe(other), both annualized, resampled in pairs.

    The same resampled dates are used for both series so that their correlation (two
    variants of a model trade the same market) narrows the interval as it should
    (Ledoit & Wolf 2008, "Robust performance hypothesis testing with the Sharpe ratio").
    """
    pair = pd.concat([returns, other], axis=1, join="inner").dropna()
    a, b = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    scale = np.sqrt(_periods(returns, periods))
    draws, block = _bootstrap(
        [a, b], lambda x, y: (_rowwise_sharpe(x) - _rowwise_sharpe(y)) * scale,
        n_boot=n_boot, block=block, method=method, seed=seed,
    )
    estimate = (_per_period_sharpe(a) - _per_period_sharpe(b)) * scale
    return _interval(estimate, draws, level, method, block, n_boot)


# ----------------------------------------------------------------------------- summaries


def performance_summary(
    returns: pd.Series,
    *,
    positions: Frame | None = None,
    turnover: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods: float | None = None,
) -> dict[str, float]:
    """Every statistic of one strategy, as a flat dict of floats.

    Args:
        returns: net returns per period.
        positions: weights decided at each date, aligned to ``returns`` (adds hit rate
            over held periods, exposure, time in market, trades).
        turnover: traded notional per period (adds annual turnover).
        benchmark: returns of the benchmark (adds beta and alpha).
        periods: periods per year; None infers it from the index.
    """
    p = _periods(returns, periods)
    out: dict[str, float] = {
        "periods": float(_clean(returns).size),
        "total_return": total_return(returns),
        "cagr": cagr(returns, p),
        "annual_volatility": annual_volatility(returns, p),
        "sharpe": sharpe_ratio(returns, p),
        "sortino": sortino_ratio(returns, p),
        "max_drawdown": max_drawdown(returns),
        "max_drawdown_periods": float(max_drawdown_duration(returns)),
        "calmar": calmar_ratio(returns, p),
        "psr": probabilistic_sharpe_ratio(returns, 0.0, p),
        "hit_rate": hit_rate(returns, positions),
    }
    if positions is not None:
        out["exposure"] = exposure(positions)
        out["time_in_market"] = time_in_market(positions)
        out["trades"] = float(number_of_trades(positions))
    if turnover is not None:
        out["annual_turnover"] = annual_turnover(turnover, p)
    if benchmark is not None:
        out["beta"], out["alpha"] = beta_alpha(returns, benchmark, p)
    return out


def stats_by_regime(
    returns: pd.Series,
    states: pd.Series,
    *,
    positions: Frame | None = None,
    turnover: pd.Series | None = None,
    benchmark: pd.Series | None = None,
    periods: float | None = None,
) -> pd.DataFrame:
    """`performance_summary` over the periods of each regime state, one row per state.

    ``states`` is aligned to ``returns``: the return stamped t is counted in ``states[t]``
    (pass ``state.shift(1)`` to attribute each return to the state in force when its
    position was decided). Periods with a NaN state are left out. Annualization comes from
    the full series, since a state's periods are not contiguous. Drawdowns are those of the
    state's returns chained together. Adds ``share``: the state's fraction of the periods.
    """
    p = _periods(returns, periods)
    aligned = states.reindex(returns.index)
    held = held_exposure(positions) if positions is not None else None
    changes = None
    if positions is not None:
        values = np.asarray(positions, dtype="float64").reshape(len(positions), -1)
        changes = pd.Series((np.diff(values, axis=0, prepend=0.0) != 0).sum(axis=1),
                            index=returns.index)
    rows = {}
    known = aligned.notna()
    for state in sorted(aligned[known].unique()):
        mask = (aligned == state).to_numpy()
        sub = returns[mask]
        row = performance_summary(sub, turnover=None if turnover is None else turnover[mask],
                                  benchmark=None if benchmark is None else benchmark[mask],
                                  periods=p)
        row["share"] = float(mask.sum() / known.sum())
        if held is not None and changes is not None:
            held_sub = held[mask].to_numpy()
            active = held_sub > 0
            row["hit_rate"] = float(np.mean(sub.to_numpy()[active] > 0)) if active.any() else math.nan
            row["exposure"] = float(held_sub.mean())
            row["time_in_market"] = float(active.mean())
            row["trades"] = float(changes[mask].sum())
        rows[state] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = states.name or "state"
    return frame


def rolling_sharpe(returns: pd.Series, window: int | None = None,
                   periods: float | None = None) -> pd.Series:
    """Annualized Sharpe ratio over a trailing window (default: one year of periods)."""
    p = _periods(returns, periods)
    window = window or round(p)
    mean = returns.rolling(window, min_periods=window).mean()
    std = returns.rolling(window, min_periods=window).std()
    return (mean / std.where(std > 0) * np.sqrt(p)).rename("rolling_sharpe")
