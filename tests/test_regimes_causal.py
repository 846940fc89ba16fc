"""No regime value stamped t depends on bars after t, and fit uses only what it is given.

Each detector is fitted on a training window of real SPY bars, then for many cut dates t
(drawn by hypothesis): transforming the bars up to t gives exactly the rows <= t of the
full transform, and multiplying every price after t by random factors moves nothing <= t.
That check is `tradenn.regimes.check_causal`, the one training applies to plugin detectors;
deliberately leaky detectors show that it does catch a look-ahead, and names the first date.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradenn.data import load_bars
from tradenn.regimes import (
    ChangepointRegime,
    CompositeRegime,
    HmmRegime,
    MarkovRegime,
    RegimeDetector,
    TrendRegime,
    VixRegime,
    VolatilityRegime,
    check_causal,
)
from tradenn.regimes.causality import perturb_after

TRAIN = 1500  # bars in the fitted window; the test series has ~2500


@functools.cache
def spy() -> pd.DataFrame:
    return load_bars("SPY", "2003-01-01", "2012-12-31", provider="bundled")


@functools.cache
def vix_closes() -> pd.Series:
    return VixRegime().series()


def fresh(kind: str) -> RegimeDetector | CompositeRegime:
    """An unfitted detector of each kind (short windows, so the test series is enough)."""
    detectors = {
        "volatility": lambda: VolatilityRegime(window=21, min_history=100, levels=3),
        "trend": lambda: TrendRegime(fast=20, slow=100, slope_window=10, flat_band=0.01),
        "vix": lambda: VixRegime(series=vix_closes(), min_history=100, lag=1),
        "hmm": lambda: HmmRegime(n_states=2, n_iter=50, seed=0),
        "hmm3_diag": lambda: HmmRegime(n_states=3, covariance_type="diag", n_iter=50, seed=1),
        "markov": lambda: MarkovRegime(n_states=2, max_train=1000),
        "changepoint": lambda: ChangepointRegime(max_run_length=300, recent=5),
        "composite": lambda: CompositeRegime(
            [
                VolatilityRegime(min_history=100),
                TrendRegime(fast=20, slow=100),
                HmmRegime(n_iter=30),
            ]
        ),
    }
    return detectors[kind]()


def make(kind: str) -> RegimeDetector | CompositeRegime:
    """A detector of each kind, fitted on the first TRAIN bars."""
    return fresh(kind).fit(spy().iloc[:TRAIN])


@functools.cache
def fitted(kind: str):
    detector = make(kind)
    return detector, detector.transform(spy())


def assert_same_past(got: pd.DataFrame, expected: pd.DataFrame, t: int) -> None:
    pd.testing.assert_frame_equal(
        got.iloc[:t], expected.iloc[:t], check_exact=False, rtol=1e-12, atol=1e-12
    )


FAST_KINDS = ["volatility", "trend", "vix", "changepoint", "composite"]
MODEL_KINDS = ["hmm", "hmm3_diag", "markov"]
ALL_KINDS = FAST_KINDS + MODEL_KINDS
cut = st.integers(min_value=2, max_value=2400)
seeds = st.integers(min_value=0, max_value=2**31)


def check_prefix_and_perturbation(kind: str, t: int, seed: int) -> None:
    detector, _ = fitted(kind)
    bars = spy()
    t = min(t, len(bars) - 1)
    assert detector.transform(bars.iloc[:t]).index.equals(bars.index[:t])
    assert check_causal(detector, bars, cuts=[t], seed=seed) is None


@pytest.mark.parametrize("kind", FAST_KINDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=cut, seed=seeds)
def test_transform_is_causal(kind, t, seed):
    check_prefix_and_perturbation(kind, t, seed)


@pytest.mark.parametrize("kind", MODEL_KINDS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=cut, seed=seeds)
def test_filtered_probabilities_are_causal(kind, t, seed):
    check_prefix_and_perturbation(kind, t, seed)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_perturbing_the_future_does_change_the_future(kind):
    """The perturbation has teeth: values after t move, so 'nothing moved <= t' means something."""
    detector, full = fitted(kind)
    t = 1800
    moved = detector.transform(perturb_after(spy(), t, seed=3))
    if kind == "vix":  # exogenous: SPY's prices do not enter it at all
        pd.testing.assert_frame_equal(moved, full)
        return
    after = (moved.iloc[t:] - full.iloc[t:]).abs().to_numpy()
    assert np.nanmax(after) > 1e-3


def test_vix_ignores_index_values_after_t():
    """Perturbing the VIX itself after t leaves every value <= t unchanged."""
    closes = vix_closes()
    bars = spy()
    t = 1700
    cut_date = bars.index[t - 1]
    rng = np.random.default_rng(0)
    later = closes.index > cut_date
    shaken = closes.copy()
    shaken[later] = shaken[later] * rng.uniform(0.5, 2.0, size=int(later.sum()))
    regime = VixRegime(series=closes, min_history=100).fit(bars.iloc[:TRAIN])
    # The training window ends before t, so the fit cannot see the shaken values either.
    moved = VixRegime(series=shaken, min_history=100).fit(bars.iloc[:TRAIN])
    assert moved.to_dict()["fitted"]["scaler"] == regime.to_dict()["fitted"]["scaler"]
    full = regime.transform(bars)
    assert_same_past(moved.transform(bars), full, t)
    assert not moved.transform(bars).iloc[t:].equals(full.iloc[t:])


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_transform_leaves_the_fit_unchanged(kind):
    detector = make(kind)
    before = detector.to_dict()
    detector.transform(spy())
    detector.transform(perturb_after(spy(), 100, seed=1))
    assert detector.to_dict() == before


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_fit_is_a_function_of_the_training_window(kind):
    """The same window gives the same fit (seeded); another window gives another fit, so
    the comparison can fail. (What each fit learns from its window is pinned in
    test_regimes.py.)"""
    reference = fitted(kind)[0].to_dict()
    assert fresh(kind).fit(spy().iloc[:TRAIN]).to_dict() == reference
    assert fresh(kind).fit(spy().iloc[200 : TRAIN + 200]).to_dict() != reference


# ----------------------------------------------------------------------- the check can fail


class LeakyVolatility(VolatilityRegime):
    """A centered rolling window: the textbook look-ahead."""

    kind = "volatility"

    def _transform(self, bars):
        frame = super()._transform(bars)
        frame["vol_annual"] = frame["vol_annual"].rolling(11, center=True).mean()
        return frame


class SmoothedHmm(HmmRegime):
    """hmmlearn's predict_proba (forward-backward smoothing) instead of the forward filter."""

    def _fit(self, bars):
        from hmmlearn.hmm import GaussianHMM

        super()._fit(bars)
        model = GaussianHMM(
            n_components=self.config.n_states, covariance_type="full", init_params=""
        )
        model.startprob_ = np.full(self.config.n_states, 1 / self.config.n_states)
        model.transmat_, model.means_, model.covars_ = self.transmat, self.means, self.covars
        self.model = model

    def _transform(self, bars):
        frame = super()._transform(bars)
        observed = self.scaler.transform(self.observations(bars)).dropna()
        smoothed = self.model.predict_proba(observed.to_numpy())
        frame.loc[observed.index, self.model_columns] = smoothed
        return frame


@pytest.mark.parametrize("leaky", [LeakyVolatility(min_history=100), SmoothedHmm(n_iter=30)])
def test_the_checks_catch_a_look_ahead(leaky):
    leaky.fit(spy().iloc[:TRAIN])
    bars = spy()
    t = 1800
    found = check_causal(leaky, bars, cuts=[t], seed=2)
    assert found is not None
    # A centered 11-bar window reaches 5 bars ahead: the first changed value is 5 bars
    # before the cut. Backward smoothing reaches back to the start of the series.
    first = {"volatility": t - 5, "hmm": 0}[leaky.kind]
    assert found.date <= bars.index[t - 1]
    if leaky.kind == "volatility":
        assert found.date == bars.index[first] and found.column == "vol_annual"
    else:
        assert found.date < bars.index[TRAIN]
    assert found.cut == bars.index[t - 1]
