"""Bayesian online changepoint detection: the run-length filter, vectorized over run lengths.

Adams & MacKay (2007), "Bayesian Online Changepoint Detection", arXiv:0710.3742, Algorithm 1,
with Gaussian observations of unknown mean and variance (a Normal-Inverse-Gamma prior, so
the predictive of a run is a Student-t) and a constant hazard H. The run length r_t is the
number of observations in the current run after x_t has been seen: r_t = k means the run
is x_{t-k+1} .. x_t, and r_t = 0 that a new run starts after x_t. For each t:

    predictive   pi_t(r) = p(x_t | the run x_{t-r} .. x_{t-1})                 (Student-t)
    growth       P(r_t = r + 1, x_1..t) = P(r_{t-1} = r, x_1..t-1) pi_t(r) (1 - H)
    changepoint  P(r_t = 0, x_1..t)     = sum_r P(r_{t-1} = r, x_1..t-1) pi_t(r) H
    posterior    P(r_t | x_1..t)        = the above, normalized over r_t

starting from P(r_0 = 0) = 1 before the first observation. Everything at t uses x_1..x_t
only: the filter is causal by construction.

Truncation at R = ``max_run_length``: run lengths 0..R are tracked, and the top one absorbs,
P(r_t = R) = (1 - H) [P(r_{t-1} = R - 1) pi_t(R - 1) + P(r_{t-1} = R) pi_t(R)], where a run
of R or more is represented by its last R observations. Dropping the mass that would grow
past R instead would throw away most of the posterior in every long calm stretch (that is
where it sits) and renormalize it onto the young runs: a false alarm every bar.

Since every run is "the last r observations", a run's sufficient statistics are
differences of cumulative sums, so the predictive of every (t, r) is computed in blocks of
whole arrays; the only Python loop is the recursion over t.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Time steps whose predictive densities are computed in one array operation: bounds the
# memory at _BLOCK x (R + 1) floats.
_BLOCK = 256


@dataclass(frozen=True)
class NormalInverseGamma:
    """The prior of a run's mean mu and variance s2: s2 ~ InvGamma(alpha0, beta0) and
    mu | s2 ~ N(mu0, s2 / kappa0) (the detector's defaults are in `ChangepointRegimeConfig`)."""

    mu0: float
    kappa0: float
    alpha0: float
    beta0: float


def nig_posterior(
    prior: NormalInverseGamma, count: np.ndarray, total: np.ndarray, total_sq: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Normal-Inverse-Gamma posterior after ``count`` observations with sum ``total``
    and sum of squares ``total_sq`` (arrays of one shape; count may be 0).

    Murphy (2007), "Conjugate Bayesian analysis of the Gaussian distribution", section 3
    (the normal-gamma prior on the precision, the same four parameters):
    kappa_n = kappa0 + n, mu_n = (kappa0 mu0 + sum x) / kappa_n, alpha_n = alpha0 + n / 2,
    beta_n = beta0 + (sum x^2 + kappa0 mu0^2 - kappa_n mu_n^2) / 2.

    Returns:
        ``(mu_n, kappa_n, alpha_n, beta_n)``.
    """
    kappa = prior.kappa0 + count
    mu = (prior.kappa0 * prior.mu0 + total) / kappa
    alpha = prior.alpha0 + count / 2.0
    beta = prior.beta0 + 0.5 * (total_sq + prior.kappa0 * prior.mu0**2 - kappa * mu**2)
    # The difference is a sum of squares (>= 0) computed by cancellation: keep rounding
    # from taking beta below its exact lower bound beta0.
    return mu, kappa, alpha, np.maximum(beta, prior.beta0)


def student_t_log_density(
    x: np.ndarray, mu: np.ndarray, kappa: np.ndarray, alpha: np.ndarray, beta: np.ndarray,
    log_normalizer: np.ndarray,
) -> np.ndarray:
    """log p(x | a run with posterior (mu, kappa, alpha, beta)): the Student-t predictive.

    Murphy (2007), section 3: x ~ t_{2 alpha}(mu, beta (kappa + 1) / (alpha kappa)). The
    Gamma-function terms depend on alpha only and come precomputed in ``log_normalizer``
    (see `_Predictive`).
    """
    scale2 = beta * (kappa + 1.0) / (alpha * kappa)
    nu = 2.0 * alpha
    return (log_normalizer - 0.5 * np.log(scale2)
            - (alpha + 0.5) * np.log1p((x - mu) ** 2 / (nu * scale2)))


class _Predictive:
    """log pi_t(r) in blocks of time steps, from cumulative sums of x and x**2.

    Run length r at t holds the observations x_{t-r} .. x_{t-1}; where r > t (impossible,
    it gets no posterior mass) the run is all t observations so far, which keeps every
    value finite.
    """

    def __init__(self, x: np.ndarray, prior: NormalInverseGamma, max_run_length: int) -> None:
        self.x, self.prior = x, prior
        zero = np.zeros(1)
        self.total = np.concatenate([zero, np.cumsum(x)])  # total[k] = sum(x[:k])
        self.total_sq = np.concatenate([zero, np.cumsum(x * x)])
        self.lengths = np.arange(max_run_length + 1)
        # lgamma(alpha + 1/2) - lgamma(alpha) - log(2 alpha pi) / 2 for runs of 0..R
        # observations: the Student-t terms that depend on the count only.
        alphas = prior.alpha0 + self.lengths / 2.0
        self.normalizers = np.array([
            math.lgamma(a + 0.5) - math.lgamma(a) - 0.5 * math.log(2.0 * a * math.pi)
            for a in alphas
        ])

    def block(self, start: int, stop: int) -> np.ndarray:
        """log pi_t(r) for t in start..stop-1, shape (stop - start, R + 1)."""
        times = np.arange(start, stop)[:, None]
        count = np.minimum(self.lengths[None, :], times)
        first = times - count
        mu, kappa, alpha, beta = nig_posterior(
            self.prior, count, self.total[times] - self.total[first],
            self.total_sq[times] - self.total_sq[first],
        )
        return student_t_log_density(
            self.x[start:stop, None], mu, kappa, alpha, beta, self.normalizers[count]
        )


def run_length_filter(
    x: np.ndarray, prior: NormalInverseGamma, hazard: float, max_run_length: int
) -> Iterator[np.ndarray]:
    """Yield P(r_t = r | x_1..t) for r = 0..R, one new array per observation x_t.

    Args:
        x: finite observations (standardized returns), in time order.
        prior: the Normal-Inverse-Gamma prior of a fresh run.
        hazard: the prior probability of a change at each step, in (0, 1).
        max_run_length: R, the longest run length tracked (the top one absorbs).

    Raises:
        ValueError: ``x`` has a non-finite value, or hazard / R are out of range (the
            detector's config validates them first; this guards direct use).
    """
    x = np.asarray(x, dtype="float64")
    if not np.isfinite(x).all():
        raise ValueError("run_length_filter: expected finite observations, got nan or inf")
    if not 0.0 < hazard < 1.0 or max_run_length < 1:
        raise ValueError(f"run_length_filter: expected 0 < hazard < 1 and max_run_length >= 1, "
                         f"got {hazard} and {max_run_length}")
    predictive = _Predictive(x, prior, max_run_length)
    # log P(r_{t-1} = r | x_1..t-1); before the first observation the run is empty.
    log_mass = np.full(max_run_length + 1, -np.inf)
    log_mass[0] = 0.0
    joint = np.empty(max_run_length + 1)
    for start in range(0, len(x), _BLOCK):
        for row in predictive.block(start, min(start + _BLOCK, len(x))):
            weighted = log_mass + row
            # Scaled so that the largest term is exactly 1: the sum never underflows.
            weighted = np.exp(weighted - weighted.max())
            joint[0] = hazard * weighted.sum()
            joint[1:] = weighted[:-1]
            joint[-1] += weighted[-1]  # the top run length absorbs
            joint[1:] *= 1.0 - hazard
            posterior = joint / joint.sum()
            with np.errstate(divide="ignore"):  # run lengths not reached yet: log 0
                log_mass = np.log(posterior)
            yield posterior


def run_length_posterior(
    x: np.ndarray, prior: NormalInverseGamma, hazard: float, max_run_length: int
) -> np.ndarray:
    """The whole run-length posterior, shape (len(x), R + 1): row t is P(r_t | x_1..t)."""
    rows = list(run_length_filter(x, prior, hazard, max_run_length))
    return np.array(rows) if rows else np.empty((0, max_run_length + 1))


def changepoint_summaries(
    x: np.ndarray, prior: NormalInverseGamma, hazard: float, max_run_length: int, recent: int
) -> tuple[np.ndarray, np.ndarray]:
    """P(r_t < recent | x_1..t) and E[r_t | x_1..t] for every t (arrays of len(x)).

    The full posterior is never stored: memory stays O(R), whatever the length of ``x``.
    """
    recent_mass = np.empty(len(x))
    expected = np.empty(len(x))
    lengths = np.arange(max_run_length + 1, dtype="float64")
    for t, posterior in enumerate(run_length_filter(x, prior, hazard, max_run_length)):
        recent_mass[t] = posterior[:recent].sum()
        expected[t] = posterior @ lengths
    return recent_mass, expected
