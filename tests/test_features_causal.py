"""Every feature stamped t is a function of bars dated <= t (tradenn.features).

For random cut dates t: the features of the bars up to t equal the rows <= t of the
features of all bars, and multiplying every price and volume after t by random factors
changes nothing <= t. The target, the one deliberately forward-looking series, fails the
same check, which shows the check can fail.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradenn.data import load_bars
from tradenn.features import FEATURES, make_features, make_target

ALL = list(FEATURES)


@functools.cache
def spy() -> pd.DataFrame:
    return load_bars("SPY", "2004-01-01", "2010-12-31", provider="bundled")


@functools.cache
def full_features() -> pd.DataFrame:
    return make_features(spy(), ALL)


def perturb_after(bars: pd.DataFrame, t: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = bars.copy()
    n = len(bars) - t
    price_factor = rng.uniform(0.5, 1.5, size=n)
    columns = ["open", "high", "low", "close"]
    out.iloc[t:, out.columns.get_indexer(columns)] = (
        out.iloc[t:][columns].to_numpy() * price_factor[:, None]
    )
    # Widen the high too, so that the bar's range (high / low) moves as well as its level.
    out.iloc[t:, out.columns.get_loc("high")] = out["high"].iloc[t:].to_numpy() * rng.uniform(
        1.0, 1.05, size=n
    )
    out.iloc[t:, out.columns.get_loc("volume")] = out["volume"].iloc[t:].to_numpy() * rng.uniform(
        0.2, 5, size=n
    )
    return out


def assert_same_past(got: pd.DataFrame, expected: pd.DataFrame, t: int) -> None:
    pd.testing.assert_frame_equal(
        got.iloc[:t], expected.iloc[:t], check_exact=False, rtol=1e-12, atol=1e-15
    )


@settings(max_examples=40, deadline=None)
@given(t=st.integers(min_value=1, max_value=1700), seed=st.integers(0, 2**31))
def test_features_of_a_prefix_are_the_prefix_of_the_features(t, seed):
    bars = spy()
    assert_same_past(make_features(bars.iloc[:t], ALL), full_features(), t)
    assert_same_past(make_features(perturb_after(bars, t, seed), ALL), full_features(), t)


# The time of day is a function of the stamp alone: no price perturbation can move it.
PRICE_FEATURES = [n for n in ALL if not n.startswith("time_of_day")]


@pytest.mark.parametrize("name", PRICE_FEATURES)
def test_each_feature_reacts_to_its_own_bar(name):
    """The perturbation reaches every price feature at t itself: a feature that ignored the
    perturbed rows would make the test above vacuous."""
    bars = spy()
    t = 1500
    moved = make_features(perturb_after(bars, t, seed=7), [name])[name]
    assert abs(moved.iloc[t] - full_features()[name].iloc[t]) > 1e-6


def test_the_target_fails_the_check():
    """make_target looks one bar ahead by design: the same check must flag it."""
    bars = spy()
    t = 1000
    target = make_target(bars).to_frame()
    with pytest.raises(AssertionError):
        assert_same_past(make_target(perturb_after(bars, t, seed=1)).to_frame(), target, t)
    # ...and it is exactly the last row before t that sees the perturbed close.
    assert_same_past(make_target(perturb_after(bars, t, seed=1)).to_frame(), target, t - 1)
