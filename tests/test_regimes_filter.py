"""The forward filter behind the HMM and Markov-switching regimes, against hmmlearn and
statsmodels, and the HMM's state labelling, determinism and speed."""

from __future__ import annotations

import functools
import re
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from tradenn.data import load_bars
from tradenn.regimes import HmmRegime, MarkovRegime
from tradenn.regimes.filtering import (
    gaussian_log_emission,
    stationary_distribution,
)


@functools.cache
def spy() -> pd.DataFrame:
    return load_bars("SPY", provider="bundled")


@functools.cache
def hmm3() -> HmmRegime:
    return HmmRegime(n_states=3, seed=0).fit(spy().iloc[:2520])


def hmmlearn_twin(regime: HmmRegime):
    """hmmlearn's GaussianHMM with the regime's fitted parameters and its start."""
    from hmmlearn.hmm import GaussianHMM

    k = regime.config.n_states
    model = GaussianHMM(n_components=k, covariance_type="full", init_params="", params="")
    model.startprob_ = stationary_distribution(regime.transmat)
    model.transmat_ = regime.transmat
    model.means_ = regime.means
    model.covars_ = regime.covars
    return model


def test_stationary_distribution_is_invariant():
    transmat = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.3, 0.7]])
    pi = stationary_distribution(transmat)
    np.testing.assert_allclose(pi @ transmat, pi, atol=1e-12)
    assert pi.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(pi, [0.6, 0.3, 0.1], atol=1e-12)  # solved by hand


def test_gaussian_log_emission_matches_scipy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 2))
    values[7] = np.nan
    means = np.array([[0.0, 0.0], [1.0, -1.0]])
    covars = np.array([[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.2]]])
    got = gaussian_log_emission(values, means, covars)
    for k in range(2):
        expected = multivariate_normal(means[k], covars[k]).logpdf(np.nan_to_num(values))
        np.testing.assert_allclose(np.delete(got[:, k], 7), np.delete(expected, 7), rtol=1e-12)
    assert (got[7] == 0).all()  # a missing observation: prediction only


def test_filter_of_a_prefix_is_hmmlearns_posterior_at_its_end():
    """At the last observation, smoothing has no future to use: hmmlearn's posterior of the
    prefix's last row is the filtered probability. Check it for several cut points."""
    regime = hmm3()
    bars = spy().iloc[:4000]
    observed = regime.scaler.transform(regime.observations(bars)).dropna()
    frame = regime.transform(bars).loc[observed.index]
    twin = hmmlearn_twin(regime)
    for t in (1, 2, 50, 999, 2600, 3999 - 21):
        expected = twin.predict_proba(observed.to_numpy()[:t])[-1]
        np.testing.assert_allclose(frame[regime.model_columns].iloc[t - 1], expected, atol=1e-9)


def test_hmmlearns_own_probabilities_would_leak():
    """Why predict_proba is not used: over the whole sequence it differs from the filter."""
    regime = hmm3()
    bars = spy().iloc[:4000]
    observed = regime.scaler.transform(regime.observations(bars)).dropna()
    filtered = regime.transform(bars).loc[observed.index, regime.model_columns].to_numpy()
    smoothed = hmmlearn_twin(regime).predict_proba(observed.to_numpy())
    assert np.abs(filtered - smoothed).max() > 0.5


def test_markov_filter_matches_statsmodels():
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    # Three states on 1500 bars is a hard likelihood: the fit stops short, and says so.
    with pytest.warns(
        UserWarning,
        match=r"markov regime: the Markov-switching fit on 1500 bars to 2003-01-29 did not converge",
    ):
        regime = MarkovRegime(n_states=3, max_train=1500).fit(spy().iloc[:2520])
    assert regime.to_dict()["fitted"]["converged"] is False
    bars = spy().iloc[:5000]
    returns = 100 * np.log(bars["close"]).diff().dropna()
    model = MarkovRegression(returns.to_numpy(), k_regimes=3, trend="c", switching_variance=True)
    params = []
    for name in model.param_names:
        if match := re.fullmatch(r"p\[(\d)->(\d)\]", name):
            params.append(regime.transmat[int(match[1]), int(match[2])])
        else:
            kind, k = re.fullmatch(r"(const|sigma2)\[(\d)\]", name).groups()
            params.append((regime.means if kind == "const" else regime.variances)[int(k)])
    expected = model.filter(np.array(params)).filtered_marginal_probabilities
    got = regime.transform(bars).iloc[1:][regime.model_columns].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-8)
    assert list(regime.variances) == sorted(regime.variances)


@pytest.mark.parametrize("n_states", [2, 3])
def test_hmm_states_are_numbered_by_variance(n_states):
    regime = HmmRegime(n_states=n_states, seed=3).fit(spy().iloc[:3000])
    variances = regime.covars[:, 0, 0]
    assert list(variances) == sorted(variances)
    vols = regime.state_volatility()
    assert vols == sorted(vols) and 0.03 < vols[0] < vols[-1] < 0.6
    # The labelled state really is the turbulent one: realized returns agree.
    frame = regime.transform(spy())
    returns = np.log(spy()["close"]).diff()
    by_state = returns.groupby(frame["hmm_state"]).std()
    assert by_state.is_monotonic_increasing


def test_hmm_labels_are_stable_across_refits():
    """Refitting on a longer window keeps state 0 calm and state 1 turbulent: the two fits
    agree on most days' state (they would disagree on most if labels were swapped)."""
    bars = spy()
    short = HmmRegime(seed=0).fit(bars.iloc[:2520]).transform(bars)["hmm_state"]
    longer = HmmRegime(seed=0).fit(bars.iloc[:4000]).transform(bars)["hmm_state"]
    agreement = (short == longer)[short.notna()].mean()
    assert agreement > 0.85


def test_hmm_is_deterministic_with_its_seed():
    one = HmmRegime(n_states=3, seed=7).fit(spy().iloc[:2520]).to_dict()
    two = HmmRegime(n_states=3, seed=7).fit(spy().iloc[:2520]).to_dict()
    assert one == two
    assert one["fitted"]["train_last"] == str(spy().index[2519].date())


def test_hmm_fit_and_transform_of_the_full_history_is_fast():
    HmmRegime().fit(spy().iloc[:500])  # import hmmlearn / scikit-learn outside the timing
    start = time.perf_counter()
    regime = HmmRegime(n_states=2).fit(spy())
    frame = regime.transform(spy())
    elapsed = time.perf_counter() - start
    assert frame["hmm_p0"].notna().sum() == len(spy()) - 21
    assert elapsed < 5.0, f"fit + transform took {elapsed:.2f}s"
