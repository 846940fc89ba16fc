"""The backtest engine: the t -> t+1 convention, costs, sizing, validation, causality."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn.backtest import (
    BacktestInputError,
    buy_and_hold,
    positions_from_predictions,
    run_backtest,
)
from tradenn.errors import TradennError

FIXTURE = Path(__file__).parent / "fixtures" / "spy_close_2015_2019.csv"


@pytest.fixture(scope="module")
def spy() -> pd.Series:
    return pd.read_csv(FIXTURE, index_col="date", parse_dates=["date"])["close"]


def days(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n, name="date")


# ----------------------------------------------------------------------------- convention


def test_hand_computed_returns_and_costs() -> None:
    index = days(5)
    prices = pd.Series([100.0, 110.0, 99.0, 99.0, 108.9], index=index)
    positions = pd.Series([1.0, -1.0, 0.0, 1.0, 1.0], index=index)
    result = run_backtest(prices, positions, cost_bps=10, slippage_bps=5)
    # rate 15 bp. t0: entry 1 -> -0.0015. t1: long earns +10%, flip costs 2 units.
    # t2: short earns -(-10%), exit costs 1. t3: flat, entry costs 1. t4: long earns +10%.
    expected = [-0.0015, 0.1 - 0.003, 0.1 - 0.0015, -0.0015, 0.1]
    np.testing.assert_allclose(result.returns.to_numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.gross_returns.to_numpy(), [0, 0.1, 0.1, 0, 0.1], atol=1e-12)
    np.testing.assert_allclose(result.costs.to_numpy(), [0.0015, 0.003, 0.0015, 0.0015, 0.0])
    np.testing.assert_allclose(result.turnover.to_numpy(), [1, 2, 1, 1, 0])
    np.testing.assert_allclose(result.equity.to_numpy(), np.cumprod(1 + np.array(expected)))
    assert result.returns.index.equals(index)


def test_next_open_execution_hand_computed() -> None:
    """Decided at the close of t, filled at the open of t+1, earning open to open."""
    index = days(5)
    opens = pd.Series([50.0, 100.0, 110.0, 99.0, 108.9], index=index)
    closes = pd.Series([51.0, 104.0, 100.0, 101.0, 107.0], index=index)  # must not matter
    positions = pd.Series([1.0, -1.0, 0.0, 1.0, 1.0], index=index)
    result = run_backtest(closes, positions, cost_bps=10, slippage_bps=5,
                          execution="next_open", open=opens)
    # rate 15 bp. Held from each open: [0, 1, -1, 0, 1] (the previous close's decision).
    # t0: nothing held or traded. t1: entry at the open costs 1 unit; the open-to-open
    # return 50 -> 100 came before the fill, so none of it. t2: long earns 100 -> 110 = +10%,
    # the flip costs 2 units. t3: short earns -(99/110 - 1) = +10%, the exit costs 1 unit.
    # t4: flat earns nothing; the entry at this open costs 1 unit.
    expected = [0.0, -0.0015, 0.1 - 0.003, 0.1 - 0.0015, -0.0015]
    np.testing.assert_allclose(result.returns.to_numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.gross_returns.to_numpy(), [0, 0, 0.1, 0.1, 0], atol=1e-12)
    np.testing.assert_allclose(result.turnover.to_numpy(), [0, 1, 2, 1, 1])
    pd.testing.assert_series_equal(result.positions, positions)  # the decisions, unshifted
    at_close = run_backtest(closes, positions, cost_bps=10, slippage_bps=5)
    assert not np.allclose(at_close.returns.to_numpy(), expected)
    with pytest.raises(BacktestInputError, match="next_open': expected the bars' open prices"):
        run_backtest(closes, positions, execution="next_open")
    with pytest.raises(BacktestInputError, match="execution: expected one of"):
        run_backtest(closes, positions, execution="tomorrow")


def test_two_assets_hand_computed() -> None:
    index = days(3)
    prices = pd.DataFrame({"A": [10.0, 11.0, 12.1], "B": [20.0, 18.0, 18.0]}, index=index)
    positions = pd.DataFrame({"A": [0.5, 0.5, 0.0], "B": [-0.5, 0.25, 0.25]}, index=index)
    result = run_backtest(prices, positions, cost_bps=100)
    # t0: trades 0.5 + 0.5 -> -0.01. t1: A +10% * 0.5, B -10% * -0.5, B trades 0.75.
    # t2: A +10% * 0.5, B 0% ; A trades 0.5.
    expected = [-0.01, 0.05 + 0.05 - 0.0075, 0.05 - 0.005]
    np.testing.assert_allclose(result.returns.to_numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(result.asset_returns["B"].to_numpy(), [-0.005, 0.05 - 0.0075, 0.0])
    np.testing.assert_allclose(result.turnover.to_numpy(), [1.0, 0.75, 0.5])


def test_matches_a_loop_reference_on_random_portfolios() -> None:
    rng = np.random.default_rng(7)
    n, k = 300, 4
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, k)), axis=0)),
                          index=days(n), columns=list("ABCD"))
    positions = pd.DataFrame(rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], (n, k)),
                             index=prices.index, columns=prices.columns)
    result = run_backtest(prices, positions, cost_bps=3, slippage_bps=2)
    equity, previous, reference = 1.0, np.zeros(k), []
    for t in range(n):
        weights = positions.iloc[t].to_numpy()
        move = prices.iloc[t].to_numpy() / prices.iloc[t - 1].to_numpy() - 1 if t else np.zeros(k)
        r = previous @ move - 5e-4 * np.abs(weights - previous).sum()
        equity *= 1 + r
        reference.append(equity)
        previous = weights
    np.testing.assert_allclose(result.equity.to_numpy(), reference, rtol=1e-12)


def test_buy_and_hold_tracks_the_price(spy: pd.Series) -> None:
    result = run_backtest(spy, buy_and_hold(spy))
    assert result.equity.iloc[-1] == pytest.approx(spy.iloc[-1] / spy.iloc[0], rel=1e-12)
    assert result.stats["trades"] == 1
    costly = run_backtest(spy, buy_and_hold(spy), cost_bps=10)
    # Only the entry is paid: 10 bp once.
    assert costly.equity.iloc[-1] == pytest.approx(0.999 * spy.iloc[-1] / spy.iloc[0], rel=1e-12)


def test_a_position_moves_nothing_stamped_before_it(spy: pd.Series) -> None:
    rng = np.random.default_rng(1)
    positions = pd.Series(rng.choice([-1.0, 0.0, 1.0], len(spy)), index=spy.index)
    base = run_backtest(spy, positions, cost_bps=5).returns
    t = 600
    changed = positions.copy()
    changed.iloc[t] = 0.5 if positions.iloc[t] != 0.5 else -0.5
    moved = run_backtest(spy, changed, cost_bps=5).returns
    pd.testing.assert_series_equal(base.iloc[:t], moved.iloc[:t])
    assert base.iloc[t] != moved.iloc[t]  # the trade's cost, at the close of t
    assert base.iloc[t + 1] != moved.iloc[t + 1]  # what the position earned, stamped t+1


# ----------------------------------------------------------------------------- sizing


def test_sign_threshold_and_long_only() -> None:
    pred = pd.Series([0.02, -0.001, 0.0, -0.03, 0.004], index=days(5))
    sign = positions_from_predictions(pred, leverage=2)
    assert sign.tolist() == [2.0, -2.0, 0.0, -2.0, 2.0]
    band = positions_from_predictions(pred, sizing="threshold", threshold=0.003)
    assert band.tolist() == [1.0, 0.0, 0.0, -1.0, 1.0]
    long_only = positions_from_predictions(pred, sizing="threshold", threshold=0.003,
                                           long_only=True)
    assert long_only.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_proportional_divides_by_the_expanding_rms() -> None:
    pred = pd.Series([1.0, -2.0, 0.5, 4.0], index=days(4))
    # RMS of predictions up to t: 1, sqrt(5/2), sqrt(5.25/3), sqrt(21.25/4).
    scale = np.sqrt(np.cumsum(pred**2) / np.arange(1, 5))
    expected = 0.5 * np.clip(pred / scale, -1, 1)
    got = positions_from_predictions(pred, sizing="proportional", leverage=0.5)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())
    assert got.iloc[2] == pytest.approx(0.5 * 0.5 / np.sqrt(1.75))


def test_vol_target_uses_trailing_volatility(spy: pd.Series) -> None:
    pred = pd.Series(np.where(np.arange(len(spy)) % 3, 1.0, -1.0), index=spy.index)
    got = positions_from_predictions(pred, sizing="vol_target", prices=spy, target_vol=0.1,
                                     vol_window=10, leverage=1.5)
    log_r = np.log(spy.to_numpy())
    for t in (9, 10, 11, 400, 1257):
        if t < 10:
            assert got.iloc[t] == 0.0  # not enough returns yet: flat
            continue
        vol = np.std(np.diff(log_r[t - 10 : t + 1]), ddof=1) * np.sqrt(252)
        expected = np.sign(pred.iloc[t]) * min(0.1 / vol, 1.5)
        assert got.iloc[t] == pytest.approx(expected, rel=1e-9)
    assert got.abs().max() <= 1.5


@pytest.mark.parametrize("sizing", ["sign", "threshold", "proportional", "vol_target"])
@pytest.mark.parametrize("long_only", [False, True])
def test_perturbing_after_t_changes_no_position_up_to_t(
    spy: pd.Series, sizing: str, long_only: bool
) -> None:
    rng = np.random.default_rng(3)
    pred = pd.Series(rng.normal(0, 0.01, len(spy)), index=spy.index)
    kwargs = dict(sizing=sizing, long_only=long_only, threshold=0.005, vol_window=21)
    base = positions_from_predictions(pred, prices=spy, **kwargs)
    for t in (30, 500, 1200):
        pred2, spy2 = pred.copy(), spy.copy()
        pred2.iloc[t + 1 :] = rng.normal(0, 0.5, len(spy) - t - 1)  # much larger: moves any scale
        spy2.iloc[t + 1 :] *= np.exp(rng.normal(0, 0.2, len(spy) - t - 1))
        moved = positions_from_predictions(pred2, prices=spy2, **kwargs)
        pd.testing.assert_series_equal(base.iloc[: t + 1], moved.iloc[: t + 1])
        assert not base.iloc[t + 1 :].equals(moved.iloc[t + 1 :])


def test_dataframe_predictions_size_each_asset() -> None:
    pred = pd.DataFrame({"A": [0.1, -0.1], "B": [-0.2, 0.0]}, index=days(2))
    got = positions_from_predictions(pred, long_only=True)
    assert got.to_numpy().tolist() == [[1.0, 0.0], [0.0, 0.0]]


# ----------------------------------------------------------------------------- validation


def test_nan_position_is_an_error_naming_the_date() -> None:
    prices = pd.Series([1.0, 2.0, 3.0], index=days(3))
    positions = pd.Series([1.0, np.nan, 0.0], index=days(3))
    with pytest.raises(BacktestInputError, match="2020-01-02") as info:
        run_backtest(prices, positions)
    assert isinstance(info.value, TradennError) and isinstance(info.value, ValueError)


def test_misaligned_index_is_an_error() -> None:
    prices = pd.Series([1.0, 2.0, 3.0], index=days(3))
    positions = pd.Series([1.0, 1.0, 0.0], index=days(4)[1:])
    with pytest.raises(BacktestInputError, match=r"1 price date\(s\) have no position"):
        run_backtest(prices, positions)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_non_positive_or_missing_price_is_an_error(bad: float) -> None:
    prices = pd.DataFrame({"A": [1.0, 2.0], "B": [1.0, bad]}, index=days(2))
    with pytest.raises(BacktestInputError, match="for 'B'"):
        run_backtest(prices, prices * 0 + 1)


def test_other_bad_inputs() -> None:
    prices = pd.Series([1.0, 2.0], index=days(2))
    with pytest.raises(BacktestInputError, match="cost_bps"):
        run_backtest(prices, prices * 0, cost_bps=-1)
    with pytest.raises(BacktestInputError, match="expected a Series like prices"):
        run_backtest(prices, prices.to_frame())
    with pytest.raises(BacktestInputError, match="columns of prices"):
        frame = prices.to_frame("A")
        run_backtest(frame, frame.rename(columns={"A": "B"}))
    with pytest.raises(BacktestInputError, match="sizing: expected one of"):
        positions_from_predictions(prices, sizing="kelly")
    with pytest.raises(BacktestInputError, match="vol_target sizing needs the closes"):
        positions_from_predictions(prices, sizing="vol_target")
    with pytest.raises(BacktestInputError, match="leverage"):
        positions_from_predictions(prices, leverage=0)


def test_repairable_inputs_warn() -> None:
    prices = pd.Series([1.0, 2.0, 4.0], index=days(3))
    shuffled = pd.Series([0.0, 1.0, 1.0], index=days(3)).iloc[[2, 0, 1]]
    with pytest.warns(UserWarning, match="another order"):
        result = run_backtest(prices, shuffled)
    assert result.returns.iloc[-1] == pytest.approx(1.0)  # long from t1: 2 -> 4
    with pytest.warns(UserWarning, match="1 NaN prediction"):
        got = positions_from_predictions(pd.Series([0.1, np.nan, -0.1], index=days(3)))
    assert got.tolist() == [1.0, 0.0, -1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_backtest(prices, prices * 0 + 1)  # clean input: no warning


def test_backtest_stats_and_report_never_import_tensorflow() -> None:
    code = (
        "import sys, tradenn.backtest, tradenn.stats, tradenn.report\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------- new sizings


def test_model_sizing_trades_the_position_output() -> None:
    x = pd.Series([0.4, -2.0, 0.0, 1.5, -0.25], index=days(5))
    got = positions_from_predictions(x, sizing="model", kind="position", leverage=2.0)
    assert got.tolist() == [0.8, -2.0, 0.0, 2.0, -0.5]
    long_only = positions_from_predictions(x, sizing="model", kind="position", long_only=True)
    assert long_only.tolist() == [0.4, 0.0, 0.0, 1.0, 0.0]
    with pytest.raises(BacktestInputError, match="sizing 'model' trades a position output"):
        positions_from_predictions(x, sizing="model")  # kind "return" by default
    with pytest.raises(BacktestInputError, match="kind: expected one of return, position"):
        positions_from_predictions(x, sizing="model", kind="weights")


def test_vol_scaled_sizing_by_hand() -> None:
    index = days(5)
    sigma = pd.Series([0.10, 0.30, 0.20, np.nan, 0.0], index=index)
    returns = pd.Series([0.01, -0.02, 0.0, 0.03, 0.01], index=index)
    # sign(x) * 15% / sigma, capped at the leverage; flat where sigma is unknown or 0.
    got = positions_from_predictions(returns, sizing="vol_scaled", sigma=sigma)
    np.testing.assert_allclose(got.to_numpy(), [1.0, -0.5, 0.0, 0.0, 0.0])
    got = positions_from_predictions(returns, sizing="vol_scaled", sigma=sigma, leverage=2.0,
                                     target_vol=0.10)
    np.testing.assert_allclose(got.to_numpy(), [1.0, -1 / 3, 0.0, 0.0, 0.0])
    positions = pd.Series([0.5, -0.2, 2.0, 0.4, 0.9], index=index)
    sigma = pd.Series([0.15, 0.30, 0.10, 0.20, 0.60], index=index)
    # clip(x, -1, 1) * 15% / sigma: 0.5, -0.1, 1.5 -> 1.2 (the cap), 0.3, 0.225.
    got = positions_from_predictions(positions, sizing="vol_scaled", kind="position",
                                     sigma=sigma, leverage=1.2)
    np.testing.assert_allclose(got.to_numpy(), [0.5, -0.1, 1.2, 0.3, 0.225])
    frame = pd.DataFrame({"A": positions, "B": -positions})
    sigmas = pd.DataFrame({"A": sigma, "B": 2 * sigma})
    got = positions_from_predictions(frame, sizing="vol_scaled", kind="position", sigma=sigmas,
                                     long_only=True)
    np.testing.assert_allclose(got["A"].to_numpy(), [0.5, 0.0, 1.0, 0.3, 0.225])
    np.testing.assert_allclose(got["B"].to_numpy(), [0.0, 0.05, 0.0, 0.0, 0.0])


def test_vol_scaled_sizing_errors() -> None:
    x = pd.Series([0.1, -0.1, 0.2], index=days(3))
    with pytest.raises(BacktestInputError, match="sigma column of predictions.csv.*trained again"):
        positions_from_predictions(x, sizing="vol_scaled")
    with pytest.raises(BacktestInputError, match="sigma: expected volatilities with the same"):
        positions_from_predictions(x, sizing="vol_scaled", sigma=x.iloc[:2].abs())
    with pytest.raises(BacktestInputError, match="at least 0"):
        positions_from_predictions(x, sizing="vol_scaled", sigma=x)  # a negative sigma


@pytest.mark.parametrize("sizing", ["sign", "threshold", "proportional", "vol_target"])
def test_position_outputs_are_sized_as_signals(spy: pd.Series, sizing: str) -> None:
    """The older sizings read a position output exactly as they read a predicted return."""
    rng = np.random.default_rng(4)
    x = pd.Series(np.tanh(rng.normal(0, 1, len(spy))), index=spy.index)
    kwargs = dict(sizing=sizing, threshold=0.3, prices=spy)
    as_position = positions_from_predictions(x, kind="position", **kwargs)
    pd.testing.assert_series_equal(as_position, positions_from_predictions(x, **kwargs))
    assert as_position.abs().max() > 0
