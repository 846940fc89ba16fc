"""Pooled runs: the equal-risk portfolio of several assets, late starts and gaps, per-asset
statistics, and `tradenn backtest` on a fake pooled run directory."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn.backtest import equal_risk_weights, positions_from_predictions, run_backtest
from tradenn.config import BacktestConfig
from tradenn.errors import BacktestInputError, RunError
from tradenn.report import BootstrapSettings, analyze_predictions, backtest_run
from tradenn.report.panel import asset_panel

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from fake_pooled_run import ASSETS, TLT_GAP, make_fake_pooled_run  # noqa: E402

FAST = BootstrapSettings(n_boot=50)
ROOT = Path(__file__).resolve().parent.parent


def days(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2021-01-04", periods=n, name="date")


def long_rows(assets: dict[str, dict[str, list[float | None]]], index: pd.DatetimeIndex,
              extra: dict[str, float] | None = None) -> pd.DataFrame:
    """A long predictions frame from {asset: {column: values per date (None: no row)}}."""
    rows = []
    for t, date in enumerate(index):
        for asset, columns in sorted(assets.items()):
            if columns["close"][t] is None:
                continue
            row = {"date": date, "asset": asset, "fold": 0, **(extra or {})}
            row.update({c: v[t] for c, v in columns.items()})
            rows.append(row)
    frame = pd.DataFrame(rows).set_index("date")
    frame["target"] = np.nan  # only the diagnostics read it
    return frame


# Three assets over six dates: B starts on the third date, C has no row on the third.
# The predictions are positions (a Sharpe-loss model's output), sized by `model`: x itself.
X = None
HAND = {
    "A": {"close": [100.0, 101.0, 102.0, 100.0, 99.0, 100.0],
          "prediction": [1.0, 0.5, 0.5, -1.0, -1.0, 0.0]},
    "B": {"close": [X, X, 50.0, 51.0, 50.0, 52.0],
          "prediction": [X, X, 1.0, 1.0, 0.5, 0.5]},
    "C": {"close": [20.0, 21.0, X, 22.0, 21.0, 21.0],
          "prediction": [0.6, 0.6, X, 0.3, 0.3, 0.3]},
}


@pytest.fixture(scope="module")
def hand_analysis():
    predictions = long_rows(HAND, days(6))
    settings = BacktestConfig(sizing="model", cost_bps=10.0)
    return analyze_predictions(predictions, settings, kind="position", bootstrap=FAST,
                               periods_per_year=252)


def test_equal_risk_portfolio_by_hand(hand_analysis) -> None:
    result = hand_analysis.results["regime"]
    # Held: A and C from the start (N = 2), B from the third date (N = 3); C keeps its
    # weight over its missing third date (no bar, no trade), and stays one of the three.
    expected_weights = np.array([
        [1.0 / 2, 0.0, 0.6 / 2],
        [0.5 / 2, 0.0, 0.6 / 2],
        [0.5 / 3, 1.0 / 3, 0.6 / 2],  # C: the weight of the second date, carried
        [-1.0 / 3, 1.0 / 3, 0.3 / 3],
        [-1.0 / 3, 0.5 / 3, 0.3 / 3],
        [0.0, 0.5 / 3, 0.3 / 3],
    ])
    assert list(result.positions.columns) == ["A", "B", "C"]
    np.testing.assert_allclose(result.positions.to_numpy(), expected_weights, atol=1e-15)
    # Returns (C's price carried over its gap: 0 on the third date, 22/21 - 1 on the fourth).
    r_a = [0.0, 101 / 100 - 1, 102 / 101 - 1, 100 / 102 - 1, 99 / 100 - 1, 100 / 99 - 1]
    r_b = [0.0, 0.0, 0.0, 51 / 50 - 1, 50 / 51 - 1, 52 / 50 - 1]
    r_c = [0.0, 21 / 20 - 1, 0.0, 22 / 21 - 1, 21 / 22 - 1, 0.0]
    gross = [0.0,
             0.5 * r_a[1] + 0.3 * r_c[1],
             0.25 * r_a[2] + 0.3 * r_c[2],
             (0.5 / 3) * r_a[3] + (1 / 3) * r_b[3] + 0.3 * r_c[3],
             (-1 / 3) * r_a[4] + (1 / 3) * r_b[4] + 0.1 * r_c[4],
             (-1 / 3) * r_a[5] + (0.5 / 3) * r_b[5] + 0.1 * r_c[5]]
    turnover = [0.5 + 0.3,
                0.25,
                abs(0.5 / 3 - 0.25) + 1 / 3,          # C not traded on its gap
                abs(-1 / 3 - 0.5 / 3) + abs(0.1 - 0.3),  # C's first bar after the gap
                abs(0.5 / 3 - 1 / 3),
                1 / 3]
    np.testing.assert_allclose(result.gross_returns.to_numpy(), gross, atol=1e-15)
    np.testing.assert_allclose(result.turnover.to_numpy(), turnover, atol=1e-15)
    np.testing.assert_allclose(result.costs.to_numpy(), 1e-3 * np.array(turnover), atol=1e-15)
    np.testing.assert_allclose(result.returns.to_numpy(),
                               np.array(gross) - 1e-3 * np.array(turnover), atol=1e-15)
    # Buy and hold: 1/N of each asset held, C's weight carried over its gap as well.
    bh = hand_analysis.results["buy_and_hold"].positions.to_numpy()
    np.testing.assert_allclose(bh[:2], [[0.5, 0.0, 0.5]] * 2)
    np.testing.assert_allclose(bh[2], [1 / 3, 1 / 3, 0.5])
    np.testing.assert_allclose(bh[3:], [[1 / 3] * 3] * 3)


def test_per_asset_is_the_asset_traded_alone(hand_analysis) -> None:
    table = hand_analysis.per_asset
    assert list(table.index.get_level_values("asset").unique()) == ["A", "B", "C"]
    # B alone, on its own four dates: long 1, 1, 0.5, 0.5 at 10 bp.
    b = pd.Series([1.0, 1.0, 0.5, 0.5], index=days(6)[2:])
    close_b = pd.Series([50.0, 51.0, 50.0, 52.0], index=b.index)
    alone = run_backtest(close_b, b, cost_bps=10.0, periods_per_year=252)
    net = np.array([-1e-3, 0.02, (50 / 51 - 1) - 0.5e-3, 0.5 * 0.04])
    np.testing.assert_allclose(alone.returns.to_numpy(), net, atol=1e-15)
    row = table.loc[("B", "regime")]
    assert row["sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * np.sqrt(252))
    assert row["total_return"] == pytest.approx(np.prod(1 + net) - 1)
    assert row["share_long"] == 1.0 and row["periods"] == 4
    assert table.loc[("A", "regime"), "share_short"] == pytest.approx(2 / 6)
    assert table.loc[("C", "buy_and_hold"), "total_return"] == pytest.approx(
        0.999 * 21 / 20 - 1)


def test_late_start_and_gap_leave_the_other_assets_rows(hand_analysis) -> None:
    """A's contribution is its own backtest scaled by 1/N_t on every one of its dates."""
    rng = np.random.default_rng(5)
    index = days(60)
    closes = {a: list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 60)))) for a in "ABC"}
    preds = {a: list(rng.uniform(-1, 1, 60)) for a in "ABC"}
    for t in range(20):  # B starts on the 21st date
        closes["B"][t] = preds["B"][t] = None
    for t in (30, 31, 32):  # C has no rows on three dates
        closes["C"][t] = preds["C"][t] = None
    assets = {a: {"close": closes[a], "prediction": preds[a]} for a in "ABC"}
    settings = BacktestConfig(sizing="model", cost_bps=0.0)
    pooled = analyze_predictions(long_rows(assets, index), settings, kind="position",
                                 bootstrap=FAST, periods_per_year=252)
    result = pooled.results["regime"]
    assert result.returns.index.equals(index)  # no date dropped
    held = np.where(np.arange(60) < 20, 2, 3)  # C stays held over its gap
    a_alone = run_backtest(pd.Series(closes["A"], index=index),
                           pd.Series(preds["A"], index=index).clip(-1, 1))
    expected_a = a_alone.gross_returns.to_numpy()[1:] / held[:-1]
    np.testing.assert_allclose(result.asset_returns["A"].to_numpy()[1:], expected_a,
                               rtol=1e-12)
    # Without C at all, A earns the same moves, divided by the smaller N_t of A and B.
    without_c = analyze_predictions(
        long_rows({a: assets[a] for a in "AB"}, index), settings, kind="position",
        bootstrap=FAST, periods_per_year=252).results["regime"]
    n_without = np.where(np.arange(60) < 20, 1, 2)
    np.testing.assert_allclose(result.asset_returns["A"].to_numpy()[1:] * held[:-1],
                               without_c.asset_returns["A"].to_numpy()[1:] * n_without[:-1],
                               rtol=1e-12)
    assert (without_c.asset_returns["A"] != 0).sum() == (result.asset_returns["A"] != 0).sum()
    # C over its gap: earns nothing on the missing dates, then the whole move since its
    # last bar on the weight it held then.
    c = result.asset_returns["C"].to_numpy()
    assert c[30] == 0.0 and c[31] == 0.0 and c[32] == 0.0
    w_c = np.clip(preds["C"][29], -1, 1) / 3
    assert c[33] == pytest.approx(w_c * (closes["C"][33] / closes["C"][29] - 1), rel=1e-12)
    assert result.positions["C"].iloc[30:33].tolist() == [w_c] * 3


@pytest.mark.parametrize("sizing", ["proportional", "vol_target", "vol_scaled"])
def test_the_portfolio_stamped_t_ignores_every_row_after_t(sizing: str) -> None:
    """Perturb every asset after t, end two assets' data (one while it has a gap at t),
    start a new one: nothing stamped <= t moves."""
    rng = np.random.default_rng(8)
    index = days(80)

    def asset(start: int, stop: int = 80) -> dict[str, list[float | None]]:
        close = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80))))
        pred = list(rng.normal(0, 0.01, 80))
        sigma = list(rng.uniform(0.05, 0.3, 80))
        for t in [*range(start), *range(stop, 80)]:
            close[t] = pred[t] = sigma[t] = None
        return {"close": close, "prediction": pred, "sigma": sigma}

    assets = {"A": asset(0), "B": asset(10), "C": asset(0)}
    for t in (30, 31, 32, 39, 40, 41, 42):  # two gaps in C, the second across t = 40
        assets["C"]["close"][t] = assets["C"]["prediction"][t] = assets["C"]["sigma"][t] = None
    settings = BacktestConfig(sizing=sizing, vol_window=5, cost_bps=2.0)
    run = dict(kind="return", bootstrap=FAST, periods_per_year=252)
    base = analyze_predictions(long_rows(assets, index), settings, **run)
    t = 40
    later = {name: {c: list(v) for c, v in columns.items()} for name, columns in assets.items()}
    for columns in later.values():
        for u in range(t + 1, 80):
            if columns["close"][u] is not None:
                columns["close"][u] *= float(np.exp(rng.normal(0, 0.1)))
                columns["prediction"][u] = float(rng.normal(0, 0.05))
                columns["sigma"][u] = float(rng.uniform(0.01, 1.0))
    for column in later["A"].values():  # A's data ends after t + 5
        column[t + 6:] = [None] * (80 - t - 6)
    for column in later["C"].values():  # C never comes back from its gap at t
        column[t - 1:] = [None] * (80 - t + 1)
    later["D"] = asset(t + 1)  # D starts after t
    moved = analyze_predictions(long_rows(later, index), settings, **run)
    for name in ("regime", "buy_and_hold"):
        past, now = base.results[name], moved.results[name]
        pd.testing.assert_frame_equal(past.positions.loc[:index[t]],
                                      now.positions.loc[:index[t], ["A", "B", "C"]])
        assert (now.positions["D"].loc[:index[t]] == 0).all()
        pd.testing.assert_series_equal(past.returns.loc[:index[t]], now.returns.loc[:index[t]])
        assert not past.returns.loc[index[t + 1]:].equals(now.returns.loc[index[t + 1]:])


def test_equal_risk_weights_checks_its_inputs() -> None:
    positions = pd.DataFrame({"A": [1.0, -0.5], "B": [0.4, 0.4]}, index=days(2))
    held = pd.DataFrame({"A": [True, True], "B": [False, True]}, index=days(2))
    weights = equal_risk_weights(positions, held)
    assert weights.to_numpy().tolist() == [[1.0, 0.0], [-0.25, 0.2]]
    with pytest.raises(BacktestInputError, match="held: expected the dates and assets"):
        equal_risk_weights(positions, held[["A"]])
    with pytest.raises(BacktestInputError, match="expected DataFrames"):
        equal_risk_weights(positions["A"], held)


def test_panel_refuses_an_asset_twice_on_a_date_and_sorts_rows() -> None:
    predictions = long_rows(HAND, days(6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sorted by (date, asset) as the trainer writes it
        asset_panel(predictions)
    twice = pd.concat([predictions, predictions.iloc[[0]]])
    with pytest.raises(RunError, match="one row per date and asset, got A more than once"):
        asset_panel(twice)
    shuffled = predictions.iloc[::-1]
    with pytest.warns(UserWarning, match="not sorted by date and asset"):
        panel = asset_panel(shuffled)
    assert panel.assets == ["A", "B", "C"]
    assert panel.frames["C"].index.equals(days(6)[[0, 1, 3, 4, 5]])
    assert panel.held["C"].all() and panel.held["B"].tolist() == [False] * 2 + [True] * 4


# ----------------------------------------------------------------------------- a pooled run


@pytest.fixture(scope="module")
def pooled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fake_pooled_run(tmp_path_factory.mktemp("pooled"))


@pytest.fixture(scope="module")
def pooled(pooled_run: Path):
    return backtest_run(pooled_run, bootstrap=FAST)


def test_pooled_run_portfolio_matches_a_loop(pooled_run: Path, pooled) -> None:
    """The regime model's portfolio against a loop over dates and assets (sign sizing)."""
    rows = pd.read_csv(pooled_run / "predictions.csv", parse_dates=["date"])
    dates = sorted(rows["date"].unique())
    first = rows.groupby("asset")["date"].min()
    by = {a: g.set_index("date") for a, g in rows.groupby("asset")}
    weight = {a: 0.0 for a in ASSETS}
    price = {a: np.nan for a in ASSETS}
    net = []
    for date in dates:
        held = [a for a in ASSETS if first[a] <= date]
        gross, traded, new_weight = 0.0, 0.0, {}
        for a in ASSETS:
            if date in by[a].index:
                close = by[a].loc[date, "close"]
                if weight[a] != 0.0:
                    gross += weight[a] * (close / price[a] - 1)
                price[a] = close
                new_weight[a] = np.sign(by[a].loc[date, "prediction"]) / len(held)
            else:
                new_weight[a] = weight[a] if a in held else 0.0
            traded += abs(new_weight[a] - weight[a])
        net.append(gross - 1e-4 * traded)
        weight = new_weight
    np.testing.assert_allclose(pooled.analysis.results["regime"].returns.to_numpy(), net,
                               atol=1e-12)
    expected = np.mean(net) / np.std(net, ddof=1) * np.sqrt(252)
    doc = json.loads((pooled_run / "backtest.json").read_text())
    assert doc["strategies"]["regime"]["sharpe"] == pytest.approx(expected, rel=1e-9)


def test_pooled_run_report_per_asset_and_regimes(pooled_run: Path, pooled) -> None:
    analysis = pooled.analysis
    assert analysis.assets == sorted(ASSETS) and analysis.pooled
    assert list(analysis.results) == ["regime", "no_regime", "shuffled_regime", "tsmom",
                                      "macd", "buy_and_hold"]
    # GLD joins late: nothing held before its first row.
    gld = analysis.results["regime"].positions["GLD"]
    assert (gld.loc[:"2004-11-17"] == 0).all() and (gld.loc["2004-11-18":] != 0).any()
    # TLT's weight is kept over its missing dates.
    tlt = analysis.results["regime"].positions["TLT"]
    before = tlt.loc[:TLT_GAP[0]].iloc[-2]
    assert (tlt.loc[TLT_GAP[0]:TLT_GAP[-1]] == before).all()
    # GLD's TSMOM is undefined for its first year: flat then, without a warning.
    rows = pd.read_csv(pooled_run / "predictions.csv", index_col="date", parse_dates=["date"])
    is_gld = (rows["asset"] == "GLD").to_numpy()
    warm = rows["signal_tsmom"].isna().to_numpy()[is_gld]
    tsmom = analysis.row_positions["tsmom"].to_numpy()[is_gld]
    assert warm.sum() > 200 and (tsmom[warm] == 0).all() and (tsmom[~warm] != 0).all()
    # Per asset: SPY alone with sign sizing, independently.
    spy = rows[rows["asset"] == "SPY"]
    w = np.sign(spy["prediction"].to_numpy())
    close = spy["close"].to_numpy()
    net = np.r_[0.0, w[:-1] * (close[1:] / close[:-1] - 1)] - 1e-4 * np.abs(
        np.diff(w, prepend=0.0))
    per_asset = pooled.per_asset
    assert per_asset.loc[("SPY", "regime"), "sharpe"] == pytest.approx(
        net.mean() / net.std(ddof=1) * np.sqrt(252), rel=1e-9)
    assert set(per_asset.index.get_level_values("strategy")) == set(analysis.results)
    # A shared regime: the portfolio has its by-regime tables, baselines included.
    assert set(analysis.by_regime) == set(analysis.results)
    assert analysis.regime_source.startswith("the run's regime state column")
    # Diagnostics over every (date, asset) row.
    share = float((rows["prediction"] > 0).mean())
    assert analysis.diagnostics["variants"]["regime"]["share_long"] == pytest.approx(share)
    assert pooled.table().loc["regime model", "long"] == pytest.approx(share)
    daily = pd.read_csv(pooled.returns_path, index_col="date", parse_dates=["date"])
    assert {f"weight_regime_{a}" for a in ASSETS} <= set(daily.columns)
    np.testing.assert_allclose(daily["position_regime"],
                               daily[[f"weight_regime_{a}" for a in ASSETS]].sum(axis=1),
                               atol=1e-9)
    assert set(pooled.figures()) >= {"equity", "positions", "theta", "regime_sharpe"}


def test_per_asset_regimes_skip_the_portfolio_table(tmp_path: Path) -> None:
    path = make_fake_pooled_run(tmp_path, shared_state=False, gap=False, baselines=False,
                                start="2005-01-01", end="2006-12-31")
    summary = backtest_run(path, bootstrap=FAST)
    assert summary.analysis.by_regime == {}
    assert "each asset has its own regime state" in summary.analysis.regime_source
    page = (path / "report.html").read_text()
    assert "each asset has its own regime state" in page
    doc = json.loads((path / "backtest.json").read_text())
    assert "tsmom" not in doc["strategies"] and "no classical baselines" in doc["baselines"]["note"]


def test_cli_backtest_of_a_pooled_run(tmp_path: Path) -> None:
    path = make_fake_pooled_run(tmp_path, start="2005-01-01", end="2006-12-31")
    done = subprocess.run([sys.executable, "-m", "tradenn", "backtest", str(path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equal-risk portfolio of 4 assets" in done.stdout
    page = (path / "report.html").read_text()
    assert "Each asset" in page and all(a in page for a in ASSETS)
    doc = json.loads((path / "backtest.json").read_text())
    assert set(doc["per_asset"]) == set(ASSETS)
    assert {"tsmom", "macd"} <= set(doc["strategies"]) <= set(doc["per_asset"]["SPY"])
    assert {"regime - tsmom", "regime - macd"} <= set(doc["sharpe_differences"])
    assert doc["baselines"] == {"strategies": ["tsmom", "macd"], "note": None}
    assert doc["per_asset"]["GLD"]["regime"]["sharpe"] is not None


def test_new_sizings_move_nothing_before_t() -> None:
    """vol_scaled and model: perturbing predictions and sigma after t moves no position <= t."""
    rng = np.random.default_rng(11)
    index = days(300)
    x = pd.Series(rng.normal(0, 0.6, 300), index=index)
    sigma = pd.Series(rng.uniform(0.05, 0.4, 300), index=index)
    for sizing, kind in (("vol_scaled", "return"), ("vol_scaled", "position"),
                         ("model", "position")):
        # A leverage cap no size reaches here, so that every perturbed row moves.
        base = positions_from_predictions(x, sizing=sizing, kind=kind, sigma=sigma, leverage=5)
        for t in (10, 150, 298):
            x2, s2 = x.copy(), sigma.copy()
            x2.iloc[t + 1:] = rng.uniform(-0.9, 0.9, 299 - t)  # inside the clip: every row moves
            s2.iloc[t + 1:] = rng.uniform(0.05, 1, 299 - t)
            moved = positions_from_predictions(x2, sizing=sizing, kind=kind, sigma=s2,
                                               leverage=5)
            pd.testing.assert_series_equal(base.iloc[:t + 1], moved.iloc[:t + 1])
            assert not base.iloc[t + 1:].equals(moved.iloc[t + 1:])


def test_sized_long_is_always_long_at_the_volatility_target(pooled_run: Path) -> None:
    """Under a volatility sizing the report adds 'long (sized)': +1 on every asset, sized
    like the models, so a model that only learned to be long is seen to be no better."""
    summary = backtest_run(pooled_run, sizing="vol_scaled", leverage=2.0, bootstrap=FAST,
                           write=False)
    analysis = summary.analysis
    assert "long" in analysis.results and "long (sized)" in summary.table().index
    rows = pd.read_csv(pooled_run / "predictions.csv", index_col="date", parse_dates=["date"])
    spy = rows[rows["asset"] == "SPY"]
    expected = (0.15 / spy["sigma"]).clip(upper=2.0).fillna(0.0)
    np.testing.assert_allclose(analysis.row_positions["long"][(rows["asset"] == "SPY").to_numpy()],
                               expected.to_numpy(), rtol=1e-12)
    assert "long" not in backtest_run(pooled_run, bootstrap=FAST, write=False).analysis.results
