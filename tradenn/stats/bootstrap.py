"""Block-bootstrap confidence intervals of the Sharpe ratio and of a Sharpe difference.

Blocks keep the serial dependence (volatility clustering, autocorrelation) that an iid
bootstrap would destroy. Their length is chosen from the data by Politis & White (2004)
with the correction of Patton, Politis & White (2009), as computed by
``arch.bootstrap.optimal_block_length``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from tradenn.stats.core import Frame, _clean, _per_period_sharpe, _periods, per_period_risk_free

BootstrapMethod = Literal["stationary", "circular"]

MIN_POLITIS_WHITE = 20  # fewer returns than this: too few autocorrelations to judge by


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
    """n^(1/3), the rate of the optimal block length (Hall, Horowitz & Jing 1995).

    The fallback of `politis_white_block_length` when the data cannot pick a length.
    """
    return max(1, round(n ** (1.0 / 3.0)))


def politis_white_block_length(
    returns: Frame | np.ndarray, method: BootstrapMethod = "stationary"
) -> int:
    """The block length that the data call for: Politis & White (2004), corrected.

    Politis & White (2004), "Automatic Block-Length Selection for the Dependent
    Bootstrap", Econometric Reviews 23(1), with the correction of Patton, Politis & White
    (2009), Econometric Reviews 28(4): b = (2 G² / D)^(1/3) n^(1/3), G and D from the
    flat-top-kernel weighted autocovariances; the expected block length for the
    ``stationary`` bootstrap, the fixed one for ``circular``. Computed by
    ``arch.bootstrap.optimal_block_length`` and rounded to a whole number of at least 1.
    Columns of a 2-D input (resampled together) take the longest of their lengths. Series
    shorter than 20, or constant, fall back to `default_block_length`.
    """
    if method not in ("stationary", "circular"):
        raise ValueError(f"method: expected 'stationary' or 'circular', got {method!r}")
    values = np.asarray(returns, dtype="float64")
    values = values.reshape(len(values), -1)
    values = values[~np.isnan(values).any(axis=1)]
    n = len(values)
    if n < MIN_POLITIS_WHITE or (values.std(axis=0) == 0).any():
        return default_block_length(max(n, 1))
    from arch.bootstrap import optimal_block_length  # imported here: arch takes ~1 s to load

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lengths = optimal_block_length(values)[method].to_numpy()
    if not np.isfinite(lengths).all():
        return default_block_length(n)
    return max(1, round(float(lengths.max())))


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
    block = block or politis_white_block_length(np.column_stack(columns), method)
    rng = np.random.default_rng(seed)
    values = []
    chunk = max(1, 2_000_000 // max(n, 1))  # bound memory: ~16 MB of float64 per chunk
    for start in range(0, n_boot, chunk):
        idx = bootstrap_indices(n, min(chunk, n_boot - start), block=block, method=method, rng=rng)
        values.append(statistic(*[c[idx] for c in columns]))
    return np.concatenate(values), block


def _rowwise_sharpe(x: np.ndarray, rf: float) -> np.ndarray:
    std = x.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, (x.mean(axis=1) - rf) / std, np.nan)


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
    risk_free: float = 0.0,
) -> ConfidenceInterval:
    """Block-bootstrap percentile interval of the annualized Sharpe ratio.

    Blocks keep the serial dependence (volatility clustering) that an iid bootstrap would
    destroy. ``block`` defaults to `politis_white_block_length`; ``seed`` makes it
    reproducible; ``risk_free`` is annual, as in `sharpe_ratio`.
    """
    r = _clean(returns)
    p = _periods(returns, periods)
    scale, rf = np.sqrt(p), per_period_risk_free(risk_free, p)
    draws, block = _bootstrap([r], lambda x: _rowwise_sharpe(x, rf) * scale, n_boot=n_boot,
                              block=block, method=method, seed=seed)
    return _interval(_per_period_sharpe(r, rf) * scale, draws, level, method, block, n_boot)


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
    risk_free: float = 0.0,
) -> ConfidenceInterval:
    """Interval of Sharpe(returns) - Sharpe(other), both annualized, resampled in pairs.

    The same resampled dates are used for both series so that their correlation (two
    variants of a model trade the same market) narrows the interval as it should
    (Ledoit & Wolf 2008, "Robust performance hypothesis testing with the Sharpe ratio").
    """
    pair = pd.concat([returns, other], axis=1, join="inner").dropna()
    a, b = pair.iloc[:, 0].to_numpy(), pair.iloc[:, 1].to_numpy()
    p = _periods(returns, periods)
    scale, rf = np.sqrt(p), per_period_risk_free(risk_free, p)
    draws, block = _bootstrap(
        [a, b], lambda x, y: (_rowwise_sharpe(x, rf) - _rowwise_sharpe(y, rf)) * scale,
        n_boot=n_boot, block=block, method=method, seed=seed,
    )
    estimate = (_per_period_sharpe(a, rf) - _per_period_sharpe(b, rf)) * scale
    return _interval(estimate, draws, level, method, block, n_boot)
