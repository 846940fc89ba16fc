"""The forward (Hamilton) filter of a hidden Markov chain: state probabilities given the past.

hmmlearn's ``predict_proba`` / ``predict`` and statsmodels' smoothed probabilities condition
on the whole sequence, so the state they give for date t depends on bars after t. The
filtered probability P(state_t | x_1..x_t) used here depends on x_1..x_t only.
"""

from __future__ import annotations

import numpy as np


def stationary_distribution(transmat: np.ndarray) -> np.ndarray:
    """The distribution ``pi`` with ``pi @ transmat == pi`` (rows of transmat sum to 1).

    Solved as a least-squares system with the normalization row appended, which is well
    defined even when a state is (nearly) absorbing.
    """
    transmat = np.asarray(transmat, dtype="float64")
    k = transmat.shape[0]
    system = np.vstack([transmat.T - np.eye(k), np.ones((1, k))])
    target = np.zeros(k + 1)
    target[-1] = 1.0
    pi = np.linalg.lstsq(system, target, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def forward_filter(
    log_emission: np.ndarray, transmat: np.ndarray, initial: np.ndarray
) -> np.ndarray:
    """Filtered state probabilities P(s_t | x_1..x_t) of a hidden Markov chain.

    The recursion (Hamilton 1989; Rabiner 1989, eq. 19-20, normalized each step):
    ``prior_t = post_{t-1} @ transmat``, ``post_t ∝ prior_t * p(x_t | s_t)``. Each row's
    emission log-likelihoods are shifted by their maximum before exponentiating; the shift
    cancels in the normalization and keeps the largest term at exactly 1 (no underflow).

    Args:
        log_emission: ``(T, K)`` log p(x_t | s_t = k). A row of zeros (e.g. a missing
            observation) leaves the prediction un-updated.
        transmat: ``(K, K)`` with ``transmat[i, j] = P(s_t = j | s_{t-1} = i)``.
        initial: ``(K,)`` the prior of the first state, P(s_1).

    Returns:
        ``(T, K)`` filtered probabilities; each row sums to 1.
    """
    log_emission = np.asarray(log_emission, dtype="float64")
    transmat = np.asarray(transmat, dtype="float64")
    emission = np.exp(log_emission - log_emission.max(axis=1, keepdims=True))
    out = np.empty_like(emission)
    prior = np.asarray(initial, dtype="float64")
    # The recursion is sequential in t; each step is a (K,) x (K, K) product.
    for t in range(len(emission)):
        post = prior * emission[t]
        total = post.sum()
        # Only an observation impossible under every state the prior allows gets here;
        # keep the prediction rather than dividing by zero.
        post = post / total if total > 0 else prior
        out[t] = post
        prior = post @ transmat
    return out


def gaussian_log_emission(values: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """log N(x_t; mean_k, cov_k) for every row t and state k; NaN rows give 0 (no update).

    Args:
        values: ``(T, D)`` observations.
        means: ``(K, D)``.
        covars: ``(K, D, D)`` positive-definite covariance matrices.

    Returns:
        ``(T, K)`` log densities.
    """
    values = np.asarray(values, dtype="float64")
    means = np.asarray(means, dtype="float64")
    covars = np.asarray(covars, dtype="float64")
    missing = np.isnan(values).any(axis=1)
    filled = np.where(missing[:, None], 0.0, values)
    dim = values.shape[1]
    out = np.empty((len(values), len(means)))
    for k in range(len(means)):  # K is at most a handful; each pass is vectorized over T
        chol = np.linalg.cholesky(covars[k])
        # Solve L z = (x - mu) for all rows at once: the Mahalanobis term is |z|^2.
        z = np.linalg.solve(chol, (filled - means[k]).T)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, k] = -0.5 * ((z**2).sum(axis=0) + log_det + dim * np.log(2 * np.pi))
    out[missing] = 0.0
    return out
