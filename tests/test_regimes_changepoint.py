"""The changepoint regime: the run-length filter against a plain reference, a planted change,
causality (and a leaky control the check catches), serialization, config errors, real SPY."""

from __future__ import annotations

import functools
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tradenn.config import load_config
from tradenn.data import load_bars
from tradenn.errors import ConfigError, DataError
from tradenn.regimes import (
    ChangepointRegime,
    CompositeRegime,
    build_regime,
    check_causal,
    regime_from_dict,
)
from tradenn.regimes.bocpd import (
    NormalInverseGamma,
    changepoint_summaries,
    run_length_posterior,
)
from tradenn.regimes.causality import perturb_after

TRAIN = 1500  # bars of the causality fits; the 2003-2012 series has ~2500


@functools.cache
def spy() -> pd.DataFrame:
    return load_bars("SPY", provider="bundled")


@functools.cache
def spy_2003_2012() -> pd.DataFrame:
    return load_bars("SPY", "2003-01-01", "2012-12-31", provider="bundled")


def bars_from_returns(returns: np.ndarray, start: str = "2001-01-02") -> pd.DataFrame:
    """Bars whose close-to-close log returns are ``returns`` (one more bar than returns)."""
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    index = pd.bdate_range(start, periods=len(close), name="date")
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1e6}, index=index
    )


# ----------------------------------------------------------------------- the filter itself


def reference_posterior(x, prior, hazard, max_run_length):
    """Adams & MacKay's Algorithm 1 as plain loops over t and run lengths.

    A run of length r at t holds x[t-r:t] (capped runs: the last R observations); its
    Normal-Inverse-Gamma posterior comes from the one-observation updates applied in
    turn, its predictive is the Student-t density written out, and the top run length R
    absorbs the mass that would grow past it.
    """
    posteriors = []
    previous = [1.0] + [0.0] * max_run_length  # P(r_{t-1} = r | x before t)
    for t in range(len(x)):
        predictive = []
        for r in range(max_run_length + 1):
            mu, kappa, alpha, beta = prior.mu0, prior.kappa0, prior.alpha0, prior.beta0
            for value in x[max(0, t - r) : t]:
                beta += kappa * (value - mu) ** 2 / (2 * (kappa + 1))
                mu = (kappa * mu + value) / (kappa + 1)
                kappa += 1
                alpha += 0.5
            nu = 2 * alpha
            scale2 = beta * (kappa + 1) / (alpha * kappa)
            density = (
                math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2))
                / math.sqrt(nu * math.pi * scale2)
                * (1 + (x[t] - mu) ** 2 / (nu * scale2)) ** (-(nu + 1) / 2)
            )
            predictive.append(density)
        joint = [0.0] * (max_run_length + 1)
        for r in range(max_run_length + 1):
            joint[0] += previous[r] * predictive[r] * hazard
            joint[min(r + 1, max_run_length)] += previous[r] * predictive[r] * (1 - hazard)
        evidence = sum(joint)
        previous = [p / evidence for p in joint]
        posteriors.append(previous)
    return np.array(posteriors)


UNIT_PRIOR = NormalInverseGamma(mu0=0.0, kappa0=1.0, alpha0=2.0, beta0=1.0)


def shifted_series(n: int = 60, seed: int = 0) -> np.ndarray:
    """N(0, 1) for the first half, N(1.5, 3^2) for the second."""
    rng = np.random.default_rng(seed)
    half = n // 2
    return np.concatenate([rng.normal(0.0, 1.0, half), rng.normal(1.5, 3.0, n - half)])


@pytest.mark.parametrize("max_run_length", [12, 80])  # truncated at 12; 80 > 60: never
def test_run_length_posterior_matches_the_reference_loops(max_run_length):
    x = shifted_series()
    prior = NormalInverseGamma(mu0=0.2, kappa0=0.5, alpha0=1.5, beta0=0.8)
    got = run_length_posterior(x, prior, 0.05, max_run_length)
    expected = reference_posterior(x, prior, 0.05, max_run_length)
    assert got.shape == (60, max_run_length + 1)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    # The textbook P(r_t = 0 | x_1..t) is the hazard at every t (why cp_prob is not it),
    # while the mass on short runs moves.
    np.testing.assert_allclose(got[:, 0], 0.05, atol=1e-12)
    assert np.ptp(got[12:, :5].sum(axis=1)) > 0.5


def test_truncation_changes_the_posterior_only_once_runs_reach_it():
    x = shifted_series()
    prior = UNIT_PRIOR
    short, full = run_length_posterior(x, prior, 0.05, 12), run_length_posterior(x, prior, 0.05, 80)
    # Before t = 12 no run is longer than 12: identical.
    np.testing.assert_allclose(short[:12], full[:12, :13], atol=1e-14)
    # Later the capped runs forget their oldest returns, and the posterior differs.
    assert np.abs(short[20:, :12] - full[20:, :12]).max() > 1e-3
    assert (short[20:, 12] > 0).all()  # the top run length keeps its mass


def test_summaries_are_the_posterior_mass_and_mean():
    x = shifted_series()
    prior = UNIT_PRIOR
    posterior = run_length_posterior(x, prior, 0.02, 40)
    recent, expected = changepoint_summaries(x, prior, 0.02, 40, recent=5)
    np.testing.assert_allclose(recent, posterior[:, :5].sum(axis=1), atol=1e-14)
    np.testing.assert_allclose(expected, posterior @ np.arange(41), atol=1e-12)


def test_the_filter_refuses_non_finite_observations():
    with pytest.raises(ValueError, match="expected finite observations"):
        run_length_posterior(np.array([0.1, np.nan]), UNIT_PRIOR, 0.1, 10)


# ----------------------------------------------------------------------- a planted change


def test_a_variance_jump_is_detected_right_after_it():
    """Daily returns of 1% volatility, then 4% from return 400 on: the detector, fitted on
    the calm part, stays "stable" before the jump, turns "changing" within days after it,
    and dates the new run from the jump."""
    rng = np.random.default_rng(7)
    jump = 400
    returns = np.concatenate([rng.normal(0, 0.01, jump), rng.normal(0, 0.04, 200)])
    bars = bars_from_returns(returns)  # return i is stamped at bar i + 1
    at = jump + 1  # the first bar of the volatile run
    regime = ChangepointRegime().fit(bars.iloc[:300])
    frame = regime.transform(bars)
    prob, run_length = frame["cp_prob"], frame["cp_run_length"] * 500
    before = prob.iloc[regime.warmup : at]
    assert before.notna().all() and before.max() < 0.5
    assert (frame["cp_state"].iloc[regime.warmup : at] == 1).all()
    assert run_length.iloc[at - 1] > 250  # a long calm run
    first_changing = int(np.argmax(frame["cp_state"].to_numpy()[at:] == 0))
    assert first_changing <= 10
    assert prob.iloc[at + 5 : at + 15].min() > 0.9
    # 20 bars on, the run holds the 21 returns since the jump: E[r_t] says about that.
    assert run_length.iloc[at + 20] == pytest.approx(21, abs=4)


def test_a_missing_close_skips_its_returns_and_leaves_their_rows_nan():
    bars = spy_2003_2012().iloc[:400].copy()
    bars.iloc[200, bars.columns.get_loc("close")] = np.nan  # returns 200 and 201 are NaN
    regime = ChangepointRegime().fit(bars.iloc[:150])
    frame = regime.transform(bars)
    assert frame.iloc[[200, 201]].isna().all().all()
    body = frame.drop(index=bars.index[[200, 201]]).iloc[regime.warmup :]
    assert body.notna().all().all()
    # The filter runs on the returns that exist, as if the two missing ones never were.
    returns = np.log(bars["close"]).diff().to_numpy()
    scaler = regime.to_dict()["fitted"]["scaler"]
    observed = (returns[np.isfinite(returns)] - scaler["mean"][0]) / scaler["std"][0]
    cfg = regime.config
    prob, _ = changepoint_summaries(observed, regime.prior, cfg.hazard, cfg.max_run_length,
                                    cfg.recent)
    np.testing.assert_allclose(frame["cp_prob"].dropna().to_numpy(), prob[cfg.recent - 1 :],
                               rtol=1e-12)


# ----------------------------------------------------------------------- causality


@functools.cache
def fitted_on_spy() -> ChangepointRegime:
    return ChangepointRegime().fit(spy_2003_2012().iloc[:TRAIN])


@pytest.mark.parametrize("cuts", [[20, 600, 1501, 2100, 2480], [1000, 1800, 2300]])
def test_transform_is_causal(cuts):
    detector = fitted_on_spy()
    assert check_causal(detector, spy_2003_2012(), cuts=cuts, seed=cuts[0]) is None


def test_perturbing_the_future_does_change_the_future():
    detector, bars, t = fitted_on_spy(), spy_2003_2012(), 1800
    full = detector.transform(bars)
    moved = detector.transform(perturb_after(bars, t, seed=3))
    pd.testing.assert_frame_equal(moved.iloc[:t], full.iloc[:t], check_exact=True)
    assert np.nanmax((moved.iloc[t:] - full.iloc[t:]).abs().to_numpy()) > 0.1


class PeekingChangepoint(ChangepointRegime):
    """Stamps at t the value computed at t + 1: one bar of look-ahead."""

    def _transform(self, bars):
        return super()._transform(bars).shift(-1)


class SmoothedChangepoint(ChangepointRegime):
    """A centered 5-bar average of cp_prob: the smoother's look-ahead (two bars)."""

    def _transform(self, bars):
        frame = super()._transform(bars)
        frame["cp_prob"] = frame["cp_prob"].rolling(5, center=True).mean()
        return frame


@pytest.mark.parametrize("leaky, reach", [(PeekingChangepoint, 1), (SmoothedChangepoint, 2)])
def test_the_check_catches_a_leaky_changepoint(leaky, reach):
    bars, t = spy_2003_2012(), 1800
    detector = leaky().fit(bars.iloc[:TRAIN])
    found = check_causal(detector, bars, cuts=[t], seed=2)
    assert found is not None
    assert found.date == bars.index[t - reach] and found.column == "cp_prob"


# ----------------------------------------------------------------------- records and config


def test_fit_learns_the_training_returns_scale_only():
    train = spy_2003_2012().iloc[:TRAIN]
    record = fitted_on_spy().to_dict()
    returns = np.log(train["close"]).diff().dropna()
    assert record["fitted"]["scaler"]["mean"] == pytest.approx([returns.mean()], rel=1e-12)
    assert record["fitted"]["scaler"]["std"] == pytest.approx([returns.std(ddof=0)], rel=1e-12)
    assert record["fitted"]["train_rows"] == TRAIN - 1
    assert record["fitted"]["train_volatility"] == pytest.approx(returns.std(ddof=0) * math.sqrt(252))
    # A detector fitted elsewhere scales differently, so its values differ.
    other = ChangepointRegime().fit(spy_2003_2012().iloc[TRAIN:])
    assert not np.allclose(other.transform(train)["cp_prob"].iloc[20:],
                           fitted_on_spy().transform(train)["cp_prob"].iloc[20:])


def test_round_trip_through_json():
    detector = fitted_on_spy()
    regime = CompositeRegime([detector])
    record = json.loads(json.dumps(regime.to_dict(), allow_nan=False))
    restored = regime_from_dict(record)
    bars = spy_2003_2012()
    pd.testing.assert_frame_equal(restored.transform(bars), regime.transform(bars), check_exact=True)
    assert restored.to_dict() == record
    alone = ChangepointRegime.from_dict(json.loads(json.dumps(detector.to_dict())))
    assert alone.config == detector.config and alone.state_labels() == {0: "changing", 1: "stable"}


def test_too_short_a_training_window_is_a_data_error():
    with pytest.raises(DataError, match=r"changepoint regime fit: expected at least 100 bars .* got 49 of 50"):
        ChangepointRegime().fit(spy().iloc[:50])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hazard": 0}, r"changepoint regime: hazard: Input should be greater than 0 \(got 0\)"),
        ({"hazard": 1}, r"changepoint regime: hazard: Input should be less than 1 \(got 1\)"),
        ({"hazard": -0.5}, r"hazard: Input should be greater than 0"),
        ({"max_run_length": 1}, r"max_run_length: Input should be greater than or equal to 2"),
        ({"recent": 500}, r"recent \(500\) must be shorter than max_run_length \(500\)"),
        ({"beta0": 0.0}, r"beta0: Input should be greater than 0"),
        ({"kappa0": float("inf")}, r"kappa0: Input should be a finite number"),
        ({"mu0": float("nan")}, r"mu0: Input should be a finite number"),
        ({"hazzard": 0.1}, r"hazzard: unknown key"),
    ],
)
def test_bad_parameters_are_config_errors_naming_the_key(params, message):
    with pytest.raises(ConfigError, match=message):
        ChangepointRegime(**params)


def test_a_config_file_error_names_the_key_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"regime": {"detectors": [{"kind": "changepoint", "hazard": 2}]}}))
    with pytest.raises(ConfigError, match=r"regime.detectors.0.hazard: Input should be less than 1"):
        load_config(path)


# ----------------------------------------------------------------------- end to end, real SPY


@functools.cache
def spy_regime() -> tuple[CompositeRegime, pd.DataFrame]:
    """The regime of a config file that only names the detector, fitted on SPY's first
    ten years and run over its whole history."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text("name: cp\nregime:\n  detectors:\n    - kind: changepoint\n")
        config = load_config(path)
    regime = build_regime(config.regime).fit(spy().iloc[:2520])
    return regime, regime.transform(spy())


def test_a_changepoint_config_fits_and_transforms_spy():
    regime, frame = spy_regime()
    assert regime.model_columns == ["cp_prob", "cp_run_length"]
    assert regime.state_column == "cp_state" and regime.state_labels()[0] == "changing"
    assert list(frame.columns) == ["cp_prob", "cp_run_length", "cp_state"]
    assert frame.iloc[: regime.warmup].isna().all().all()
    body = frame.iloc[regime.warmup :]
    assert body.notna().all().all()
    assert body["cp_prob"].between(0, 1).all() and body["cp_run_length"].between(0, 1).all()
    assert set(body["cp_state"].unique()) == {0.0, 1.0}


def test_spy_breaks_are_seen_when_they_happen():
    """Lehman's failure (2008-09-15) and the Covid crash (from 2020-02-24) each start a new
    run within days; the calm of 2017 starts none."""
    _, frame = spy_regime()
    run_length = frame["cp_run_length"] * 500
    assert run_length.loc["2008-09-12"] > 200 and run_length.loc["2008-09-19"] < 25
    lehman = frame.loc["2008-09-08":"2008-09-30", "cp_state"]
    assert lehman.loc[:"2008-09-16"].eq(1).all() and lehman.loc["2008-09-17":].eq(0).all()
    assert frame.loc["2020-02-21", "cp_state"] == 1 and frame.loc["2020-02-24", "cp_state"] == 0
    assert frame.loc["2020-02-27":"2020-03-06", "cp_prob"].min() > 0.95
    assert run_length.loc["2020-03-31"] < 40
    assert frame.loc["2017", "cp_prob"].max() < 0.4 and run_length.loc["2017"].min() > 100
