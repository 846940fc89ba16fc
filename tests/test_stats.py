"""Performance statistics: golden values on a committed SPY slice, checked against empyrical."""

from __future__ import annotations

from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from tradenn import stats

FIXTURE = Path(__file__).parent / "fixtures" / "spy_close_2015_2019.csv"


@pytest.fixture(scope="module")
def spy_returns() -> pd.Series:
    close = pd.read_csv(FIXTURE, index_col="date", parse_dates=["date"])["close"]
    return close.pct_change().dropna()


# Pinned on tests/fixtures/spy_close_2015_2019.csv (adjusted SPY closes 2015-2019, 1257
# returns). A change here is a change of definition: say why in the commit.
GOLDEN = {
    "total_return": 0.7289487051701034,
    "cagr": 0.11601471656941631,
    "annual_volatility": 0.13427467628956744,
    "sharpe_ratio": 0.8848823578975472,
    "sortino_ratio": 1.2328154148816726,
    "max_drawdown": -0.19348912042988342,
    "max_drawdown_duration": 187,  # 2015-07-21 .. 2016-04-15 under the May 2015 high
    "calmar_ratio": 0.5995929709725344,
    "probabilistic_sharpe_ratio": 0.974159356344148,
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_values(spy_returns: pd.Series, name: str) -> None:
    assert getattr(stats, name)(spy_returns) == pytest.approx(GOLDEN[name], rel=1e-10)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (stats.cagr, empyrical.annual_return),
        (stats.annual_volatility, empyrical.annual_volatility),
        (stats.sharpe_ratio, empyrical.sharpe_ratio),
        (stats.sortino_ratio, empyrical.sortino_ratio),
        (stats.max_drawdown, empyrical.max_drawdown),
        (stats.calmar_ratio, empyrical.calmar_ratio),
    ],
)
def test_agrees_with_empyrical(spy_returns: pd.Series, ours, theirs) -> None:
    assert ours(spy_returns) == pytest.approx(float(theirs(spy_returns)), rel=1e-9)


def test_total_return_is_the_price_ratio(spy_returns: pd.Series) -> None:
    close = pd.read_csv(FIXTURE, index_col="date")["close"]
    assert stats.total_return(spy_returns) == pytest.approx(close.iloc[-1] / close.iloc[0] - 1)


def test_beta_alpha_against_empyrical(spy_returns: pd.Series) -> None:
    rng = np.random.default_rng(0)
    strategy = 0.6 * spy_returns + rng.normal(0.0002, 0.004, len(spy_returns))
    beta, alpha = stats.beta_alpha(strategy, spy_returns)
    their_alpha, their_beta = empyrical.alpha_beta(strategy, spy_returns)
    assert beta == pytest.approx(their_beta, rel=1e-9)
    assert alpha == pytest.approx(their_alpha, rel=1e-9)
    assert 0.55 < beta < 0.65  # and it recovers the beta that was put in


def test_periods_per_year_from_the_index(spy_returns: pd.Series) -> None:
    assert stats.periods_per_year(spy_returns.index) == 252
    assert stats.periods_per_year(spy_returns.resample("W").last().index) == 52
    assert stats.periods_per_year(spy_returns.resample("ME").last().index) == 12
    assert stats.periods_per_year(pd.date_range("2020-01-01", periods=30, freq="D")) == 365
    hourly = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in spy_returns.index[:20]
                               for h in range(10, 17)])
    assert stats.periods_per_year(hourly) == 252 * 7
    assert stats.periods_per_year(pd.RangeIndex(10)) == 252


def test_drawdown_duration_by_hand() -> None:
    # equity 1.1, 0.99, 1.0395, 1.14345, 0.571725: under water at 1-2 and at 4.
    r = pd.Series([0.1, -0.1, 0.05, 0.1, -0.5])
    assert stats.max_drawdown_duration(r) == 2
    assert stats.max_drawdown(r) == pytest.approx(-0.5)
    assert stats.max_drawdown_duration(pd.Series([-0.01, -0.01, 0.0])) == 3  # unrecovered
    np.testing.assert_allclose(stats.drawdown(r).to_numpy(), [0, -0.1, -0.055, 0, -0.5])


def test_trading_statistics() -> None:
    index = pd.bdate_range("2021-01-01", periods=6)
    positions = pd.Series([1.0, 1.0, 0.0, -1.0, -1.0, 0.0], index=index)
    returns = pd.Series([0.0, 0.01, -0.02, 0.0, 0.03, -0.01], index=index)
    # Held in periods 1, 2 (long), 4, 5 (short): 0.01 and 0.03 positive of 4.
    assert stats.hit_rate(returns, positions) == pytest.approx(0.5)
    assert stats.hit_rate(returns) == pytest.approx(2 / 4)
    assert stats.exposure(positions) == pytest.approx(4 / 6)
    assert stats.number_of_trades(positions) == 4  # entry, exit, short entry, exit
    assert stats.annual_turnover(pd.Series([1.0, 0.0, 1.0, 1.0]), periods=252) == 189


def test_information_coefficient() -> None:
    rng = np.random.default_rng(2)
    index = pd.bdate_range("2020-01-01", periods=200)
    realized = pd.Series(rng.normal(size=200), index=index)
    pred = pd.Series(realized.to_numpy() ** 3 + rng.normal(size=200), index=index)
    assert stats.information_coefficient(pred, realized) == pytest.approx(
        np.corrcoef(pred, realized)[0, 1])
    assert stats.information_coefficient(pred, realized, "spearman") == pytest.approx(
        scipy_stats.spearmanr(pred, realized).statistic)
    # Pairs are formed by date, not by position.
    assert stats.information_coefficient(pred.iloc[::-1], realized) == pytest.approx(
        np.corrcoef(pred, realized)[0, 1])
    realized.iloc[:10] = np.nan
    assert stats.information_coefficient(pred, realized) == pytest.approx(
        np.corrcoef(pred[10:], realized[10:])[0, 1])


# ----------------------------------------------------------------------------- risk-free rate


def test_risk_free_rate_against_empyrical(spy_returns: pd.Series) -> None:
    # An annual 3% compounds down to (1.03)^(1/252) - 1 a day, empyrical's per-period rate.
    daily = 1.03 ** (1 / 252) - 1
    assert stats.per_period_risk_free(0.03, 252) == pytest.approx(daily, rel=1e-12)
    assert stats.sharpe_ratio(spy_returns, risk_free=0.03) == pytest.approx(
        float(empyrical.sharpe_ratio(spy_returns, risk_free=daily)), rel=1e-9)
    assert stats.sortino_ratio(spy_returns, risk_free=0.03) == pytest.approx(
        float(empyrical.sortino_ratio(spy_returns, required_return=daily)), rel=1e-9)
    assert stats.sharpe_ratio(spy_returns, risk_free=0.03) < GOLDEN["sharpe_ratio"]
    # PSR of the excess returns: the same as shifting the returns down by the daily rate.
    assert stats.probabilistic_sharpe_ratio(spy_returns, risk_free=0.03) == pytest.approx(
        stats.probabilistic_sharpe_ratio(spy_returns - daily), rel=1e-12)
    ci = stats.bootstrap_sharpe_ci(spy_returns, n_boot=200, risk_free=0.03)
    assert ci.estimate == pytest.approx(stats.sharpe_ratio(spy_returns, risk_free=0.03))
    summary = stats.performance_summary(spy_returns, risk_free=0.03)
    assert summary["sharpe"] == stats.sharpe_ratio(spy_returns, risk_free=0.03)
    assert summary["cagr"] == GOLDEN["cagr"]  # growth does not depend on the rate
    rolling = stats.rolling_sharpe(spy_returns, risk_free=0.03)
    assert rolling.iloc[-1] == pytest.approx(
        stats.sharpe_ratio(spy_returns.iloc[-252:], risk_free=0.03))


def test_risk_free_rate_edge_cases() -> None:
    # Earning exactly the risk-free rate is a Sharpe of 0; a flat strategy keeps an
    # undefined Sharpe ratio (not rounding noise divided by zero).
    steady = pd.Series(np.full(300, 1.02 ** (1 / 252) - 1)) + np.tile([1e-4, -1e-4], 150)
    assert stats.sharpe_ratio(steady, 252, risk_free=0.02) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(stats.sharpe_ratio(pd.Series(np.zeros(300)), 252, risk_free=0.02))
    assert stats.per_period_risk_free(0.0, 252) == 0.0
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="risk_free"):
            stats.per_period_risk_free(bad, 252)


# ----------------------------------------------------------------------------- PSR


def test_psr_is_one_half_at_its_own_sharpe(spy_returns: pd.Series) -> None:
    sharpe = stats.sharpe_ratio(spy_returns)
    assert stats.probabilistic_sharpe_ratio(spy_returns, sharpe) == pytest.approx(0.5)
    assert stats.probabilistic_sharpe_ratio(spy_returns, 0.5) == pytest.approx(0.8013136257525012)


def test_psr_is_calibrated_under_the_null() -> None:
    # iid returns with a true Sharpe of zero: PSR(0) > 0.95 should happen ~5% of the time.
    rng = np.random.default_rng(11)
    draws = rng.standard_t(df=5, size=(2000, 500)) * 0.01
    psr = np.array([stats.probabilistic_sharpe_ratio(row, 0.0, 252) for row in draws])
    assert 0.035 < np.mean(psr > 0.95) < 0.065
    assert 0.45 < np.mean(psr > 0.5) < 0.55


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_seeded(spy_returns: pd.Series) -> None:
    a = stats.bootstrap_sharpe_ci(spy_returns, n_boot=300, seed=4)
    b = stats.bootstrap_sharpe_ci(spy_returns, n_boot=300, seed=4)
    c = stats.bootstrap_sharpe_ci(spy_returns, n_boot=300, seed=5)
    assert a == b and a.low != c.low
    assert a.estimate == pytest.approx(GOLDEN["sharpe_ratio"])
    # SPY's daily returns are nearly uncorrelated: Politis–White asks for blocks of 1.4 days.
    assert a.low < a.estimate < a.high and a.block == 1


@pytest.mark.parametrize("method", ["stationary", "circular"])
def test_bootstrap_width_matches_the_iid_standard_error(method: str) -> None:
    # With iid normal returns, se(annual SR) = sqrt((1 + SR^2 / 2) / n) * sqrt(252) (Lo 2002).
    rng = np.random.default_rng(5)
    r = rng.normal(0.0005, 0.01, 2000)
    ci = stats.bootstrap_sharpe_ci(r, periods=252, n_boot=2000, method=method, seed=0)
    sr = ci.estimate / np.sqrt(252)
    se = np.sqrt((1 + sr**2 / 2) / 2000) * np.sqrt(252)
    assert (ci.high - ci.low) / (2 * 1.959964 * se) == pytest.approx(1.0, abs=0.12)


def test_blocks_widen_the_interval_of_a_dependent_series() -> None:
    # AR(1) returns with phi = 0.5: an iid bootstrap understates the uncertainty.
    rng = np.random.default_rng(9)
    noise = rng.normal(0, 0.01, 3000)
    r = np.empty_like(noise)
    r[0] = noise[0]
    for t in range(1, len(r)):
        r[t] = 0.5 * r[t - 1] + noise[t]
    r += 0.0003
    iid = stats.bootstrap_sharpe_ci(r, periods=252, block=1, n_boot=1000)
    blocks = stats.bootstrap_sharpe_ci(r, periods=252, block=30, n_boot=1000)
    assert (blocks.high - blocks.low) > 1.4 * (iid.high - iid.low)  # theory: sqrt(3) ~ 1.73


def test_bootstrap_indices_block_structure() -> None:
    rng = np.random.default_rng(0)
    idx = stats.bootstrap_indices(1000, 200, block=20, method="stationary", rng=rng)
    breaks = np.mean(np.diff(idx, axis=1) % 1000 != 1)
    assert breaks == pytest.approx(1 / 20, rel=0.1)  # geometric blocks of mean length 20
    idx = stats.bootstrap_indices(1000, 5, block=20, method="circular", rng=rng)
    steps = np.diff(idx, axis=1) % 1000
    assert idx.shape == (5, 1000) and np.all(steps[:, np.arange(999) % 20 != 19] == 1)


def test_sharpe_difference_is_paired(spy_returns: pd.Series) -> None:
    same = stats.bootstrap_sharpe_difference_ci(spy_returns, spy_returns.copy(), n_boot=200)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    levered = stats.bootstrap_sharpe_difference_ci(spy_returns + 0.0004, spy_returns, n_boot=500)
    # A constant daily edge of 4 bp: the Sharpe rises by ~0.0004 / 0.0085 * sqrt(252) ~ 0.75
    # in every resample, so the paired interval is narrow and above zero.
    assert levered.low > 0.6 and levered.high < 0.9 and levered.share_above_zero == 1.0


# ----------------------------------------------------------------------------- summaries


def test_performance_summary_and_regimes(spy_returns: pd.Series) -> None:
    state = pd.Series(np.arange(len(spy_returns)) % 2, index=spy_returns.index, dtype=float)
    state.iloc[:5] = np.nan
    positions = pd.Series(1.0, index=spy_returns.index)
    table = stats.stats_by_regime(spy_returns, state.rename("vol_level"), positions=positions,
                                  benchmark=spy_returns)
    assert list(table.index) == [0.0, 1.0] and table.index.name == "vol_level"
    odd = spy_returns[state == 1]
    assert table.loc[1.0, "sharpe"] == pytest.approx(stats.sharpe_ratio(odd, periods=252))
    assert table.loc[1.0, "cagr"] == pytest.approx(stats.cagr(odd, periods=252))
    assert table.loc[0.0, "beta"] == pytest.approx(1.0)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["periods"].sum() == len(spy_returns) - 5
    summary = stats.performance_summary(spy_returns, positions=positions, benchmark=spy_returns)
    assert summary["sharpe"] == pytest.approx(GOLDEN["sharpe_ratio"])
    assert summary["exposure"] == pytest.approx(1 - 1 / len(spy_returns))
    assert summary["beta"] == pytest.approx(1.0) and summary["alpha"] == pytest.approx(0.0)


def test_rolling_sharpe_matches_the_full_window(spy_returns: pd.Series) -> None:
    rolling = stats.rolling_sharpe(spy_returns)
    assert rolling.iloc[:251].isna().all()
    assert rolling.iloc[-1] == pytest.approx(stats.sharpe_ratio(spy_returns.iloc[-252:]))
