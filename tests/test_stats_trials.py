"""Statistics for many trials: the deflated Sharpe ratio, the probability of backtest overfitting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tradenn import stats

FIXTURE = Path(__file__).parent / "fixtures" / "spy_close_2015_2019.csv"
EULER_GAMMA = 0.5772156649015329


@pytest.fixture(scope="module")
def spy_returns() -> pd.Series:
    close = pd.read_csv(FIXTURE, index_col="date", parse_dates=["date"])["close"]
    return close.pct_change().dropna()


# ----------------------------------------------------------------------------- DSR


def hand_dsr(r: np.ndarray, n_trials: int, sharpe_std: float, rf_annual: float = 0.0,
             periods: float = 252.0) -> float:
    """The DSR written out from Bailey & López de Prado (2014), apart from tradenn.stats.

    Expected maximum Sharpe of N trials whose Sharpe ratios have variance V:
        SR0 = sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))), γ Euler–Mascheroni.
    DSR = PSR(SR0) = Φ((SR - SR0) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1)/4 SR²)), with the
    per-period SR (mean excess return over the sample std, ddof=1), the skewness γ3 = m3 /
    m2^1.5 and the non-excess kurtosis γ4 = m4 / m2² from central moments m_k.
    """
    rf = (1.0 + rf_annual) ** (1.0 / periods) - 1.0
    t = len(r)
    mean = sum(r) / t
    dev = r - mean
    sr = (mean - rf) / math.sqrt(sum(dev**2) / (t - 1))
    m2, m3, m4 = (sum(dev**k) / t for k in (2, 3, 4))
    skew, kurt = m3 / m2**1.5, m4 / m2**2
    sr0 = sharpe_std * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / n_trials)
                        + EULER_GAMMA * norm.ppf(1 - 1 / (n_trials * math.e)))
    return float(norm.cdf((sr - sr0) * math.sqrt(t - 1)
                          / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)))


# Pinned on tests/fixtures/spy_close_2015_2019.csv (1257 daily SPY returns: per-period
# Sharpe 0.05574, skewness -0.4696, kurtosis 6.950). A change is a change of definition.
DSR_GOLDEN = [
    # (n_trials, sharpe_std per period, annual risk-free, DSR)
    (20, 0.015, 0.0, 0.8290883032437147),
    (20, 0.015, 0.02, 0.7350062978710123),
    (100, 0.01, 0.0, 0.855979779752138),
]


@pytest.mark.parametrize(("n_trials", "sharpe_std", "risk_free", "expected"), DSR_GOLDEN)
def test_dsr_golden_values(spy_returns: pd.Series, n_trials: int, sharpe_std: float,
                           risk_free: float, expected: float) -> None:
    r = spy_returns.to_numpy()
    assert hand_dsr(r, n_trials, sharpe_std, risk_free) == pytest.approx(expected, rel=1e-10)
    got = stats.deflated_sharpe_ratio(spy_returns, n_trials=n_trials, sharpe_std=sharpe_std,
                                      risk_free=risk_free)
    assert got == pytest.approx(expected, rel=1e-10)


def test_dsr_of_one_trial_is_the_psr(spy_returns: pd.Series) -> None:
    psr = stats.probabilistic_sharpe_ratio(spy_returns)
    assert stats.deflated_sharpe_ratio(spy_returns, n_trials=1, sharpe_std=0.05) == psr
    assert stats.deflated_sharpe_ratio(spy_returns, n_trials=50, sharpe_std=0.0) == psr
    # More trials, or more dispersed ones, raise the bar.
    values = [stats.deflated_sharpe_ratio(spy_returns, n_trials=n, sharpe_std=0.01)
              for n in (2, 10, 100, 1000)]
    assert psr > values[0] and np.all(np.diff(values) < 0)


def test_expected_maximum_sharpe_matches_simulation() -> None:
    # E[max of N standard normals] by simulation; the paper's approximation is within 3% for
    # N >= 10 (2.3% high at N = 10, under 1% at N = 1000).
    rng = np.random.default_rng(0)
    for n in (10, 100, 1000):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert stats.expected_maximum_sharpe(n, 1.0) == pytest.approx(simulated, rel=0.03)
    assert stats.expected_maximum_sharpe(100, 0.02) == pytest.approx(
        0.02 * stats.expected_maximum_sharpe(100, 1.0))
    assert stats.expected_maximum_sharpe(1, 0.3) == 0.0
    for n_trials, sharpe_std, message in [(0, 0.1, "n_trials"), (2.5, 0.1, "n_trials"),
                                          (3, -0.1, "sharpe_std"), (3, math.nan, "sharpe_std")]:
        with pytest.raises(ValueError, match=message):
            stats.expected_maximum_sharpe(n_trials, sharpe_std)


def test_dsr_corrects_for_picking_the_best_of_many() -> None:
    # 20 trials of pure noise (t(5) returns, true Sharpe 0): the best one's PSR claims
    # significance most of the time, its DSR (the 20 trials as the trials) almost never.
    rng = np.random.default_rng(3)
    psr, dsr = [], []
    for _ in range(200):
        trials = pd.DataFrame(rng.standard_t(5, (500, 20)) * 0.01)
        best = (trials.mean() / trials.std()).idxmax()
        psr.append(stats.probabilistic_sharpe_ratio(trials[best], 0.0, 252))
        dsr.append(stats.deflated_sharpe_ratios(trials, periods=252)[best])
    assert np.mean(np.array(psr) > 0.95) > 0.5
    assert np.mean(np.array(dsr) > 0.95) < 0.05


def test_deflated_sharpe_ratios_uses_the_trials_dispersion(spy_returns: pd.Series) -> None:
    trials = {"a": spy_returns, "b": spy_returns * 0.5 + 0.0003, "c": -spy_returns}
    sharpe = np.array([stats.sharpe_ratio(r, 252) / np.sqrt(252) for r in trials.values()])
    got = stats.deflated_sharpe_ratios(trials, periods=252, risk_free=0.01)
    sharpe_rf = np.array([stats.sharpe_ratio(r, 252, risk_free=0.01) / np.sqrt(252)
                          for r in trials.values()])
    assert sharpe_rf[0] < sharpe[0]
    for name, r in trials.items():
        assert got[name] == pytest.approx(stats.deflated_sharpe_ratio(
            r, n_trials=3, sharpe_std=float(np.std(sharpe_rf, ddof=1)), periods=252,
            risk_free=0.01))
    # A trial without a Sharpe ratio (flat) counts as a trial but not in the dispersion.
    flat = {**trials, "flat": spy_returns * 0.0}
    with_flat = stats.deflated_sharpe_ratios(flat, periods=252)
    assert math.isnan(with_flat["flat"])
    assert with_flat["a"] == pytest.approx(stats.deflated_sharpe_ratio(
        spy_returns, n_trials=4, sharpe_std=float(np.std(sharpe, ddof=1))))
    one = stats.deflated_sharpe_ratios({"a": spy_returns})
    assert one["a"] == stats.probabilistic_sharpe_ratio(spy_returns)
    assert stats.deflated_sharpe_ratios({}) == {}


# ----------------------------------------------------------------------------- PBO


def test_pbo_tiny_case_by_hand() -> None:
    # 8 rows in S = 4 blocks of 2 rows; 3 trials. C(4, 2) = 6 splits, in the order
    # (0,1) (0,2) (0,3) (1,2) (1,3) (2,3) of the in-sample blocks.
    #   a: lucky early, +3% a bar in blocks 0-1, -3% in 2-3 (±0.5% within each block);
    #   b: steady, +0.15% ± 0.05% every block;
    #   c: lucky late, -3.5% in blocks 0-1, +3.5% in 2-3 (±0.5%).
    a = [0.035, 0.025] * 2 + [-0.025, -0.035] * 2
    b = [0.002, 0.001] * 4
    c = [-0.03, -0.04] * 2 + [0.04, 0.03] * 2
    matrix = np.column_stack([a, b, c])
    result = stats.probability_of_backtest_overfitting(matrix, n_partitions=4)
    # In sample {0,1}: a's Sharpe 0.03 / (0.01/sqrt 3) = 3 sqrt 3 beats b's 1.5 sqrt 3; out
    # of sample {2,3} a is last of 3: omega = 1/4, logit = ln(1/3). In sample {2,3}: c wins
    # (3.5 sqrt 3) and is last on {0,1}: ln(1/3) again. In every mixed split a and c have
    # mean 0, so b wins in sample and out of sample: omega = 3/4, logit = ln 3.
    ln3 = math.log(3.0)
    np.testing.assert_allclose(result.logits, [-ln3, ln3, ln3, ln3, ln3, -ln3], rtol=1e-12)
    assert result.pbo == pytest.approx(2 / 6)
    assert result.best_trial.tolist() == [0, 1, 1, 1, 1, 2]
    sqrt3 = math.sqrt(3.0)
    np.testing.assert_allclose(result.in_sample_sharpe,
                               [3 * sqrt3] + [1.5 * sqrt3] * 4 + [3.5 * sqrt3], rtol=1e-9)
    np.testing.assert_allclose(result.out_of_sample_sharpe,
                               [-3 * sqrt3] + [1.5 * sqrt3] * 4 + [-3.5 * sqrt3], rtol=1e-9)
    assert (result.n_partitions, result.n_trials) == (4, 3)

    # The same by brute force over the listed splits, with plain numpy.
    blocks = [[0, 1], [2, 3], [4, 5], [6, 7]]
    splits = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    logits = []
    for chosen in splits:
        train = [row for k in chosen for row in blocks[k]]
        test = [row for k in range(4) if k not in chosen for row in blocks[k]]
        sr_in = matrix[train].mean(0) / matrix[train].std(0, ddof=1)
        sr_out = matrix[test].mean(0) / matrix[test].std(0, ddof=1)
        best = int(np.argmax(sr_in))
        omega = (1 + np.sum(sr_out < sr_out[best])) / 4
        logits.append(math.log(omega / (1 - omega)))
    np.testing.assert_allclose(result.logits, logits, rtol=1e-12)


def test_pbo_is_low_when_one_trial_is_truly_best() -> None:
    # 10 trials of noise (daily vol 1%), one of them with a per-period Sharpe of 0.2.
    rng = np.random.default_rng(1)
    matrix = pd.DataFrame(rng.normal(0.0, 0.01, (1000, 10)))
    matrix[3] += 0.002
    result = stats.probability_of_backtest_overfitting(matrix)
    assert len(result.logits) == math.comb(16, 8)
    assert result.pbo < 0.1
    assert np.mean(result.best_trial == 3) > 0.8


def test_pbo_of_pure_noise_is_one_half() -> None:
    """Noise: the in-sample winner's out-of-sample rank is uniform, so PBO = 0.5 in expectation.

    One matrix's PBO is noisy (its splits share data; sd about 0.23 here), so the test
    averages 200 independent matrices (500 x 10, S = 8): the mean's standard error is about
    0.016, and the accepted band is 0.5 ± 0.06. With an even number of trials no logit is 0.
    """
    rng = np.random.default_rng(0)
    pbos = [stats.probability_of_backtest_overfitting(rng.normal(0.0, 0.01, (500, 10)),
                                                      n_partitions=8).pbo
            for _ in range(200)]
    assert abs(np.mean(pbos) - 0.5) < 0.06


def test_pbo_edge_cases() -> None:
    rng = np.random.default_rng(2)
    same = np.repeat(rng.normal(size=(40, 1)), 4, axis=1)
    # Identical trials tie everywhere: mean rank, omega = 1/2, logit 0, counted as overfit.
    tied = stats.probability_of_backtest_overfitting(same, n_partitions=4)
    assert np.all(tied.logits == 0) and tied.pbo == 1.0
    # Flat trials have Sharpe 0 rather than NaN.
    flat = np.column_stack([np.zeros(40), rng.normal(0.01, 0.01, 40)])
    assert stats.probability_of_backtest_overfitting(flat, n_partitions=4).pbo == 0.0
    for matrix, s, message in [
        (rng.normal(size=40), 4, "2-D"),
        (rng.normal(size=(40, 1)), 4, "at least 2 trials"),
        (rng.normal(size=(40, 3)), 3, "even"),
        (rng.normal(size=(40, 3)), 0, "even"),
        (rng.normal(size=(15, 3)), 8, "at least 2 rows per partition"),
        (np.where(np.eye(40, 3) == 1, np.nan, 0.01), 4, "finite"),
    ]:
        with pytest.raises(ValueError, match=message):
            stats.probability_of_backtest_overfitting(matrix, n_partitions=s)


# ----------------------------------------------------------------------------- in the report


def test_report_gives_each_variant_its_dsr_and_uses_the_risk_free_rate(tmp_path: Path) -> None:
    import sys

    from pydantic import ValidationError

    from tradenn.config import BacktestConfig
    from tradenn.report import html
    from tradenn.report.analysis import BootstrapSettings, analyze_predictions

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    from fake_run import VARIANTS, make_fake_run

    run = make_fake_run(tmp_path, start="2014-01-01", end="2017-12-31")
    predictions = pd.read_csv(run / "predictions.csv", index_col="date", parse_dates=["date"])
    boot = BootstrapSettings(n_boot=100)
    base = analyze_predictions(predictions, BacktestConfig(), variants=VARIANTS, bootstrap=boot)
    rf = analyze_predictions(predictions, BacktestConfig(risk_free=0.03), variants=VARIANTS,
                             bootstrap=boot)
    ppy = base.periods_per_year
    for analysis, rate in ((base, 0.0), (rf, 0.03)):
        returns = {v: analysis.results[v].returns for v in VARIANTS}
        expected = stats.deflated_sharpe_ratios(returns, periods=ppy, risk_free=rate)
        for variant in VARIANTS:
            assert analysis.stats.loc[variant, "dsr"] == pytest.approx(expected[variant])
            assert analysis.stats.loc[variant, "dsr"] < analysis.stats.loc[variant, "psr"]
        assert math.isnan(analysis.stats.loc["buy_and_hold", "dsr"])  # not a trial
    regime = rf.results["regime"]
    assert rf.stats.loc["regime", "sharpe"] == pytest.approx(
        stats.sharpe_ratio(regime.returns, ppy, risk_free=0.03))
    assert rf.stats.loc["regime", "sharpe"] < base.stats.loc["regime", "sharpe"]
    assert rf.stats.loc["regime", "sortino"] < base.stats.loc["regime", "sortino"]
    assert rf.stats.loc["regime", "psr"] < base.stats.loc["regime", "psr"]
    assert regime.stats["sharpe"] == pytest.approx(rf.stats.loc["regime", "sharpe"])
    assert rf.sharpe_ci["regime"].estimate == pytest.approx(rf.stats.loc["regime", "sharpe"])
    assert (rf.by_fold[("sharpe", "regime")] < base.by_fold[("sharpe", "regime")]).all()
    by_regime = rf.by_regime["regime"]["sharpe"]
    assert (by_regime < base.by_regime["regime"]["sharpe"]).all()
    page = html.run_report(rf, {}, "")
    assert "<th>DSR</th>" in page and "3.00% a year" in page
    with pytest.raises(ValidationError, match="risk_free"):
        BacktestConfig(risk_free=3.0)  # a percentage where a fraction belongs
