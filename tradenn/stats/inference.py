"""How much a Sharpe ratio can be trusted: PSR for one trial, DSR and PBO for many.

A trial is one backtested configuration (a variant, a point of a sweep). Picking the best of
many trials inflates its Sharpe ratio even when none has any skill; the Deflated Sharpe
Ratio raises the bar by the best Sharpe that luck alone would give, and the Probability of
Backtest Overfitting measures how often the in-sample winner loses out of sample.

Every Sharpe ratio here is per period (not annualized), as in the papers' formulas.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from tradenn.stats.core import Frame, _clean, _per_period_sharpe, _periods, per_period_risk_free

EULER_GAMMA = 0.5772156649015329  # the Euler–Mascheroni constant γ


def probabilistic_sharpe_ratio(
    returns: Frame | np.ndarray,
    benchmark_sharpe: float = 0.0,
    periods: float | None = None,
    *,
    risk_free: float = 0.0,
) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark_sharpe`` (annualized).

    PSR = Φ((SR - SR*) sqrt(n - 1) / sqrt(1 - γ3 SR + (γ4 - 1) / 4 SR²)) with per-period
    SR (in excess of the per-period ``risk_free``), skewness γ3 and (non-excess) kurtosis γ4
    of the returns. Source: Bailey & López de Prado (2012), "The Sharpe Ratio Efficient
    Frontier", J. of Risk 15(2), eq. 11.
    """
    r = _clean(returns)
    p = _periods(returns, periods)
    return _psr(r, benchmark_sharpe / np.sqrt(p), per_period_risk_free(risk_free, p))


def _psr(r: np.ndarray, target: float, rf: float) -> float:
    """PSR of returns ``r`` against a per-period Sharpe ``target``, per-period ``rf``."""
    sr = _per_period_sharpe(r, rf)
    if math.isnan(sr) or r.size < 3:
        return math.nan
    # Sample skewness and non-excess kurtosis from central moments (scipy.stats' biased
    # skew / kurtosis(fisher=False), written out: those cost a millisecond a call).
    dev = r - r.mean()
    m2 = np.mean(dev**2)
    skew = np.mean(dev**3) / m2**1.5
    kurt = np.mean(dev**4) / m2**2
    denominator = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denominator <= 0:
        return math.nan
    return float(scipy_stats.norm.cdf((sr - target) * np.sqrt(r.size - 1) / np.sqrt(denominator)))


def expected_maximum_sharpe(n_trials: int, sharpe_std: float) -> float:
    """Expected largest of ``n_trials`` Sharpe ratios when every true Sharpe ratio is zero.

    SR0 = sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))), V = ``sharpe_std``²,
    γ the Euler–Mascheroni constant: the approximation of the expected maximum of N
    normal draws in Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J.
    Portfolio Management 40(5). One trial is not a selection: SR0 = 0.
    """
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1:
        raise ValueError(f"n_trials: expected a whole number of at least 1, got {n_trials!r}")
    if not math.isfinite(sharpe_std) or sharpe_std < 0:
        raise ValueError(f"sharpe_std: expected a number >= 0, got {sharpe_std!r}")
    if n_trials == 1:
        return 0.0
    quantiles = scipy_stats.norm.ppf([1.0 - 1.0 / n_trials, 1.0 - 1.0 / (n_trials * math.e)])
    return float(sharpe_std * ((1.0 - EULER_GAMMA) * quantiles[0] + EULER_GAMMA * quantiles[1]))


def deflated_sharpe_ratio(
    returns: Frame | np.ndarray,
    *,
    n_trials: int,
    sharpe_std: float,
    periods: float | None = None,
    risk_free: float = 0.0,
) -> float:
    """Probability that the true Sharpe ratio is above zero, given that it is the best of many.

    The PSR of ``returns`` against `expected_maximum_sharpe` (n_trials, sharpe_std) instead
    of zero: DSR = Φ((SR - SR0) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1) / 4 SR²)), with the
    per-period SR (in excess of ``risk_free``), skewness γ3 and non-excess kurtosis γ4 of
    ``returns``. Source: Bailey & López de Prado (2014), "The Deflated Sharpe Ratio:
    Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio
    Management 40(5).

    Args:
        returns: the selected trial's per-period returns.
        n_trials: how many (independent) trials the selection was made from.
        sharpe_std: standard deviation of the trials' per-period (not annualized) Sharpe
            ratios.
        periods: periods per year, for ``risk_free`` only; None infers it from the index.
        risk_free: annual risk-free rate.
    """
    r = _clean(returns)
    p = _periods(returns, periods)
    bar = expected_maximum_sharpe(n_trials, sharpe_std)
    return _psr(r, bar, per_period_risk_free(risk_free, p))


def deflated_sharpe_ratios(
    trials: Mapping[Any, Frame | np.ndarray] | pd.DataFrame,
    *,
    periods: float | None = None,
    risk_free: float = 0.0,
) -> dict[Any, float]:
    """Each trial's DSR, with all of ``trials`` as the trials it was selected from.

    n_trials = len(trials); sharpe_std = sample standard deviation (ddof=1) of the trials'
    per-period Sharpe ratios (those that are defined), 0 with fewer than two. A single
    trial's DSR is its PSR against zero.

    Args:
        trials: name -> per-period returns, or a DataFrame with one column per trial.
        periods, risk_free: as in `deflated_sharpe_ratio`.
    """
    series = dict(trials.items()) if isinstance(trials, pd.DataFrame) else dict(trials)
    if not series:
        return {}
    sharpe = {}
    for name, returns in series.items():
        rf = per_period_risk_free(risk_free, _periods(returns, periods))
        sharpe[name] = _per_period_sharpe(_clean(returns), rf)
    defined = np.array([s for s in sharpe.values() if not math.isnan(s)])
    std = float(np.std(defined, ddof=1)) if defined.size >= 2 else 0.0
    return {
        name: deflated_sharpe_ratio(returns, n_trials=len(series), sharpe_std=std,
                                    periods=periods, risk_free=risk_free)
        for name, returns in series.items()
    }


# ----------------------------------------------------------------------------- PBO


@dataclass(frozen=True)
class BacktestOverfitting:
    """Outcome of `probability_of_backtest_overfitting`; arrays have one entry per split.

    Attributes:
        pbo: share of splits whose in-sample best trial ranks at or below the median out of
            sample (logit <= 0).
        logits: λ = ln(ω / (1 - ω)), ω the out-of-sample rank of the in-sample best trial
            divided by (n_trials + 1).
        best_trial: column position of the in-sample best trial.
        in_sample_sharpe: its per-period Sharpe ratio in sample.
        out_of_sample_sharpe: its per-period Sharpe ratio out of sample.
        n_partitions: S, the number of blocks of rows.
        n_trials: N, the number of columns.
    """

    pbo: float
    logits: np.ndarray
    best_trial: np.ndarray
    in_sample_sharpe: np.ndarray
    out_of_sample_sharpe: np.ndarray
    n_partitions: int
    n_trials: int


def probability_of_backtest_overfitting(
    returns_matrix: pd.DataFrame | np.ndarray, *, n_partitions: int = 16
) -> BacktestOverfitting:
    """PBO by combinatorially symmetric cross-validation (CSCV).

    The T rows are cut into ``n_partitions`` (S) consecutive blocks of equal size (the
    first T mod S blocks one row longer). Each of the C(S, S/2) ways of choosing S/2 blocks
    is a split: the chosen blocks are in sample, the others out of sample (so each split's
    complement is a split too). In each split the trial with the highest in-sample Sharpe
    ratio is picked; ω is its rank among the N out-of-sample Sharpe ratios (1 = lowest,
    ties share their mean rank) over N + 1, and λ = ln(ω / (1 - ω)). PBO is the share of
    splits with λ <= 0: the in-sample winner was no better than the median trial out of
    sample. A trial with constant returns in a span has Sharpe ratio ±inf (0 if flat).
    Source: Bailey, Borwein, López de Prado & Zhu (2015), "The Probability of Backtest
    Overfitting", J. Computational Finance 20(4).

    Args:
        returns_matrix: per-period returns, rows = dates in order, columns = trials (at
            least 2); no NaN (drop or fill those rows first). Rank by excess returns to
            account for a risk-free rate.
        n_partitions: S, even, with at least 2 rows per block.

    Raises:
        ValueError: a matrix or ``n_partitions`` that does not satisfy the above.
    """
    values = np.asarray(returns_matrix, dtype="float64")
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(
            f"returns_matrix: expected a 2-D (dates x trials) matrix with at least 2 trials, "
            f"got shape {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError("returns_matrix: expected finite returns; drop or fill NaN rows first")
    n_rows, n_trials = values.shape
    s = n_partitions
    if isinstance(s, bool) or int(s) != s or s < 2 or s % 2:
        raise ValueError(f"n_partitions: expected an even number of at least 2, got {s!r}")
    if n_rows < 2 * s:
        raise ValueError(
            f"returns_matrix: expected at least 2 rows per partition ({2 * s} rows for "
            f"{s} partitions), got {n_rows}"
        )
    # Per-block sums of centred returns (centring keeps the variances accurate).
    centre = values.mean(axis=0)
    blocks = np.array_split(values - centre, s)
    count = np.array([len(b) for b in blocks], dtype="float64")
    total = np.array([b.sum(axis=0) for b in blocks])
    squares = np.array([(b**2).sum(axis=0) for b in blocks])

    combos = np.array(list(itertools.combinations(range(s), s // 2)))
    chosen = np.zeros((len(combos), s))
    np.put_along_axis(chosen, combos, 1.0, axis=1)
    out = {k: [] for k in ("best", "logit", "is", "oos")}
    chunk = max(1, 1_000_000 // n_trials)
    for start in range(0, len(chosen), chunk):
        mask = chosen[start:start + chunk]
        train = _sharpe_from_sums(mask @ count, mask @ total, mask @ squares, centre)
        test = _sharpe_from_sums((1 - mask) @ count, (1 - mask) @ total, (1 - mask) @ squares,
                                 centre)
        best = np.argmax(np.where(np.isnan(train), -np.inf, train), axis=1)
        rows = np.arange(len(mask))
        picked = test[rows, best][:, None]
        rank = 1.0 + (test < picked).sum(axis=1) + ((test == picked).sum(axis=1) - 1) / 2.0
        omega = rank / (n_trials + 1.0)
        out["best"].append(best)
        out["logit"].append(np.log(omega / (1.0 - omega)))
        out["is"].append(train[rows, best])
        out["oos"].append(picked[:, 0])
    logits = np.concatenate(out["logit"])
    return BacktestOverfitting(
        pbo=float(np.mean(logits <= 0)), logits=logits, best_trial=np.concatenate(out["best"]),
        in_sample_sharpe=np.concatenate(out["is"]),
        out_of_sample_sharpe=np.concatenate(out["oos"]), n_partitions=int(s),
        n_trials=n_trials,
    )


def _sharpe_from_sums(n: np.ndarray, total: np.ndarray, squares: np.ndarray,
                      centre: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratios (ddof=1) from row counts and sums of centred returns."""
    n = n[:, None]
    mean_centred = total / n
    variance = np.clip((squares - n * mean_centred**2) / (n - 1.0), 0.0, None)
    mean = mean_centred + centre
    std = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        constant = np.where(mean == 0, 0.0, np.sign(mean) * np.inf)
        return np.where(std > 0, mean / std, constant)
