"""backtest_run and compare_runs on a fake (trainer-free) run directory of real SPY closes."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradenn import stats
from tradenn.backtest import run_backtest
from tradenn.config import ExperimentConfig
from tradenn.errors import BacktestInputError, ConfigError, RunError
from tradenn.report import BootstrapSettings, backtest_run, compare_runs

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from fake_run import make_fake_run  # noqa: E402

FAST = BootstrapSettings(n_boot=200)
CHARTS = {"chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-positions",
          "chart-theta", "chart-regime-sharpe"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fake_run(tmp_path_factory.mktemp("runs"), start="2012-01-01", end="2017-12-31")


@pytest.fixture(scope="module")
def summary(run_dir: Path):
    return backtest_run(run_dir, bootstrap=FAST)


def test_numbers_match_an_independent_computation(run_dir: Path, summary) -> None:
    predictions = pd.read_csv(run_dir / "predictions.csv", index_col="date", parse_dates=["date"])
    close = predictions["close"].to_numpy()
    doc = json.loads((run_dir / "backtest.json").read_text())
    # Default config: sign sizing, long/short, 1 bp per unit traded.
    for variant, column in (("regime", "prediction"), ("no_regime", "prediction_no_regime")):
        w = np.sign(predictions[column].to_numpy())
        net = np.r_[0.0, w[:-1] * (close[1:] / close[:-1] - 1)]
        net -= 1e-4 * np.abs(np.diff(w, prepend=0.0))
        expected = net.mean() / net.std(ddof=1) * np.sqrt(252)
        assert doc["strategies"][variant]["sharpe"] == pytest.approx(expected, rel=1e-9)
        assert summary.stats.loc[variant, "sharpe"] == pytest.approx(expected, rel=1e-9)
    bh = doc["strategies"]["buy_and_hold"]
    assert bh["total_return"] == pytest.approx(0.9999 * close[-1] / close[0] - 1, rel=1e-9)
    assert bh["beta"] == pytest.approx(1.0)
    ic = predictions["prediction"].corr(predictions["target"])
    assert doc["strategies"]["regime"]["ic_pearson"] == pytest.approx(ic)
    diff = doc["sharpe_differences"]["regime - no_regime"]
    assert diff["estimate"] == pytest.approx(
        doc["strategies"]["regime"]["sharpe"] - doc["strategies"]["no_regime"]["sharpe"])
    assert diff["low"] < diff["estimate"] < diff["high"]
    assert doc["bootstrap"]["n_boot"] == 200 and doc["period"]["bars"] == len(predictions)


def test_files_are_written_into_the_run(run_dir: Path, summary) -> None:
    assert summary.report_path == run_dir / "report.html"
    daily = pd.read_csv(summary.returns_path, index_col="date", parse_dates=["date"])
    assert daily["equity_regime"].iloc[-1] == pytest.approx(
        summary.analysis.results["regime"].equity.iloc[-1])
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_terminal_table(summary) -> None:
    table = summary.table()
    assert list(table.index) == ["regime model", "no_regime", "shuffled_regime", "buy & hold"]
    assert table.loc["regime model", "Sharpe"] == summary.stats.loc["regime", "sharpe"]
    assert re.fullmatch(r"\[-?\d+\.\d\d, -?\d+\.\d\d\]", table.loc["no_regime", "95% CI"])
    assert list(summary.differences().index) == [
        "regime - no_regime", "regime - shuffled_regime", "regime - buy_and_hold"]


def test_per_regime_uses_the_decision_time_state(run_dir: Path, summary) -> None:
    predictions = pd.read_csv(run_dir / "predictions.csv", index_col="date", parse_dates=["date"])
    table = summary.analysis.by_regime["regime"]
    assert list(table.index) == [0.0, 1.0, 2.0]
    returns = summary.analysis.results["regime"].returns
    in_state_2 = returns[(predictions["state"].shift(1) == 2).to_numpy()]
    assert table.loc[2.0, "periods"] == len(in_state_2)
    assert table.loc[2.0, "sharpe"] == pytest.approx(
        in_state_2.mean() / in_state_2.std() * np.sqrt(252))
    doc = json.loads((run_dir / "backtest.json").read_text())
    assert set(doc["by_regime"]["strategies"]) == {"regime", "no_regime", "shuffled_regime",
                                                  "buy_and_hold"}
    assert doc["by_regime"]["theta_by_state"]["2"]["theta_lstm_0.cell"] > \
        doc["by_regime"]["theta_by_state"]["0"]["theta_lstm_0.cell"]


def test_html_is_self_contained(summary) -> None:
    page = summary.report_path.read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert set(re.findall(r'<figure class="chart" id="([^"]+)"', page)) == CHARTS
    text = re.sub(r"<[^>]+>", " ", page)
    for needed in ("Sharpe 95% CI", "PSR", "0123abcd", "theta_lstm_0.cell", "By regime",
                   "regime model − no_regime", "Mean θ by regime state", "Resolved config"):
        assert needed in text


def test_text_from_the_run_is_escaped(tmp_path: Path) -> None:
    path = make_fake_run(tmp_path, start="2015-01-01", end="2016-12-31", with_state=False)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["name"] = "<script>alert(1)</script>"
    manifest["versions"]["evil"] = "<img src=x onerror=alert(2)>"
    (path / "manifest.json").write_text(json.dumps(manifest))
    predictions = pd.read_csv(path / "predictions.csv", index_col="date")
    predictions.rename(columns={"theta_dense_0": "theta_<b>x</b>"}).to_csv(path / "predictions.csv")
    page = backtest_run(path, bootstrap=FAST).report_path.read_text()
    assert "<script>" not in page and "<img" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "theta_&lt;b&gt;x&lt;/b&gt;" in page


def test_overrides_change_the_backtest(run_dir: Path, summary) -> None:
    free = backtest_run(run_dir, cost_bps=0.0, long_only=True, bootstrap=FAST)
    positions = free.analysis.results["regime"].positions
    assert positions.min() == 0.0 and positions.max() == 1.0
    assert free.analysis.settings.cost_bps == 0.0 and free.analysis.settings.long_only
    assert free.stats.loc["buy_and_hold", "total_return"] > \
        summary.stats.loc["buy_and_hold", "total_return"]  # no entry cost
    with pytest.raises(ConfigError, match="sizing"):
        backtest_run(run_dir, sizing="kelly")
    with pytest.raises(ConfigError, match="cost_bps"):
        backtest_run(run_dir, cost_bps=-1.0)
    backtest_run(run_dir, bootstrap=FAST)  # leave the module's run as the fixture wrote it


@pytest.mark.parametrize("sizing", ["threshold", "proportional", "vol_target"])
def test_every_sizing_runs(run_dir: Path, sizing: str) -> None:
    summary = backtest_run(run_dir, sizing=sizing, threshold=0.002,
                           bootstrap=BootstrapSettings(n_boot=50))
    exposure = summary.stats.loc["regime", "exposure"]
    assert 0.0 < exposure < 1.0  # each of these sizes below the full position somewhere


def test_no_state_column_groups_by_regime_input_terciles(tmp_path: Path) -> None:
    path = make_fake_run(tmp_path, start="2015-01-01", end="2016-12-31", with_state=False)
    summary = backtest_run(path, bootstrap=FAST)
    assert "terciles of regime_vol_z" in summary.analysis.regime_source
    shares = summary.analysis.by_regime["regime"]["share"]
    np.testing.assert_allclose(shares.to_numpy(), [1 / 3] * 3, atol=0.01)


def test_incomplete_or_broken_runs_are_refused(tmp_path: Path) -> None:
    running = make_fake_run(tmp_path / "a", status="running", start="2015-01-01", end="2015-12-31")
    with pytest.raises(RunError, match="not complete"):
        backtest_run(running)
    with pytest.raises(RunError, match="not found"):
        backtest_run(tmp_path / "missing")
    broken = make_fake_run(tmp_path / "b", start="2015-01-01", end="2015-12-31")
    predictions = pd.read_csv(broken / "predictions.csv", index_col="date")
    predictions.drop(columns=["close"]).to_csv(broken / "predictions.csv")
    with pytest.raises(RunError, match=r"missing \['close'\]"):
        backtest_run(broken)
    assert not (broken / "report.html").exists()


def test_compare_runs(tmp_path: Path, run_dir: Path) -> None:
    costly = ExperimentConfig.model_validate({"name": "costly", "backtest": {"cost_bps": 5.0}})
    other = make_fake_run(tmp_path, start="2012-01-01", end="2017-12-31", config=costly,
                          name="costly", seed=3)
    out = tmp_path / "compare.html"
    table = compare_runs([run_dir, other], out, bootstrap=FAST)
    assert list(table.index) == [run_dir.name, other.name]
    assert table["sharpe"].dtype == float and table.loc[other.name, "sharpe"] < 5
    page = out.read_text()
    assert "chart-compare-equity" in page and "<svg" in page
    assert "backtest.cost_bps" in page and "name" in page  # the settings that differ
    assert not (other / "report.html").exists()  # comparing reads runs, never writes them
    with pytest.raises(RunError, match="at least one"):
        compare_runs([], out)


def test_state_labels_from_the_manifest_name_the_states(tmp_path: Path) -> None:
    path = make_fake_run(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["state_column"] = "vol_level"
    manifest["state_labels"] = {"0": "calm", "1": "normal", "2": "turbulent"}
    (path / "manifest.json").write_text(json.dumps(manifest))
    summary = backtest_run(path, bootstrap=BootstrapSettings(n_boot=50))
    assert summary.analysis.state_label(2.0) == "turbulent"
    html = (path / "report.html").read_text()
    assert html.count("turbulent") >= 3  # per-regime table, θ table, charts
    plain = backtest_run(make_fake_run(tmp_path / "plain"), bootstrap=BootstrapSettings(n_boot=50))
    assert plain.analysis.state_label(2.0) == "state 2"


# ----------------------------------------------------------------------------- baselines


def add_baselines(path: Path) -> pd.DataFrame:
    """Give a fake run the columns the trainer now writes: asset, sigma and the baselines'
    signals, computed from the whole bundled SPY history (causal: rolling and ewm only)."""
    from tradenn.data import load_bars

    close = load_bars("SPY", provider="bundled")["close"]
    daily = close.pct_change()
    extra = pd.DataFrame({
        "sigma": daily.ewm(span=60, min_periods=20).std() * np.sqrt(252),
        "signal_tsmom": np.sign(close / close.shift(252) - 1),
        "signal_macd": np.tanh((close.ewm(span=8).mean() - close.ewm(span=24).mean())
                               / close.rolling(63).std()),
    })
    predictions = pd.read_csv(path / "predictions.csv", index_col="date", parse_dates=["date"])
    predictions.insert(0, "asset", "SPY")
    predictions = predictions.join(extra)
    predictions.to_csv(path / "predictions.csv", float_format="%.10g")
    return predictions


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_fake_run(tmp_path_factory.mktemp("baselines"), start="2012-01-01",
                         end="2015-12-31")
    add_baselines(path)
    return path


def test_baselines_are_backtested_like_the_model(baseline_run: Path) -> None:
    summary = backtest_run(baseline_run, bootstrap=FAST)
    predictions = pd.read_csv(baseline_run / "predictions.csv", index_col="date",
                              parse_dates=["date"])
    close = predictions["close"]
    analysis = summary.analysis
    assert list(analysis.results) == ["regime", "no_regime", "shuffled_regime", "tsmom",
                                      "macd", "buy_and_hold"]
    assert analysis.assets == ["SPY"] and not analysis.pooled
    # Sign sizing and 1 bp, as the model: TSMOM's signal sized by hand (flat in its warm-up).
    for name in ("tsmom", "macd"):
        w = np.sign(predictions[f"signal_{name}"]).fillna(0.0)
        by_hand = run_backtest(close, w, cost_bps=1.0)
        pd.testing.assert_series_equal(analysis.results[name].returns, by_hand.returns)
        assert summary.stats.loc[name, "sharpe"] == pytest.approx(
            stats.sharpe_ratio(by_hand.returns, 252))
    doc = json.loads((baseline_run / "backtest.json").read_text())
    assert {"regime - tsmom", "regime - macd"} <= set(doc["sharpe_differences"])
    assert {"tsmom", "macd"} <= set(doc["by_fold"]["sharpe"]) and "tsmom" in doc["by_regime"][
        "strategies"]
    # The DSR deflates by the model's variants only: the baselines are not trials.
    variants = ["regime", "no_regime", "shuffled_regime"]
    dsr = stats.deflated_sharpe_ratios({v: analysis.results[v].returns for v in variants},
                                       periods=252)
    assert doc["strategies"]["regime"]["dsr"] == pytest.approx(dsr["regime"])
    assert doc["strategies"]["tsmom"].get("dsr") is None
    assert doc["baselines"] == {"strategies": ["tsmom", "macd"], "note": None}
    assert doc["strategies"]["tsmom"]["ic_pearson"] == pytest.approx(
        predictions["signal_tsmom"].corr(predictions["target"]))
    assert list(summary.table().index)[3:5] == ["TSMOM", "MACD"]
    text = re.sub(r"<[^>]+>", " ", summary.report_path.read_text())
    assert "regime model − TSMOM" in text and "regime model − MACD" in text
    assert "Each asset" not in text  # one asset: its numbers are the portfolio's


def test_an_asset_column_with_one_value_changes_no_number(run_dir: Path, summary,
                                                          tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    predictions = pd.read_csv(copy / "predictions.csv", index_col="date")
    predictions.insert(0, "asset", "SPY")
    predictions.to_csv(copy / "predictions.csv")
    again = backtest_run(copy, bootstrap=FAST, write=False)
    pd.testing.assert_frame_equal(again.stats, summary.stats)
    assert again.per_asset.loc[("SPY", "regime"), "sharpe"] == pytest.approx(
        summary.stats.loc["regime", "sharpe"], rel=1e-12)


def test_old_runs_say_why_they_have_no_baselines(run_dir: Path, summary) -> None:
    assert summary.analysis.baselines == []
    doc = json.loads((run_dir / "backtest.json").read_text())
    assert "tsmom" not in doc["strategies"]
    assert doc["baselines"]["note"].startswith("no classical baselines: predictions.csv has "
                                               "no signal_tsmom or signal_macd column")
    assert "no classical baselines" in (run_dir / "report.html").read_text()


def test_vol_scaled_and_model_sizing_of_a_run(baseline_run: Path, run_dir: Path) -> None:
    summary = backtest_run(baseline_run, sizing="vol_scaled", bootstrap=FAST, write=False)
    predictions = pd.read_csv(baseline_run / "predictions.csv", index_col="date",
                              parse_dates=["date"])
    # A predicted return: sign(x) * 15% / sigma, capped at 1.
    expected = (np.sign(predictions["prediction"]) * 0.15 / predictions["sigma"]).clip(-1, 1)
    pd.testing.assert_series_equal(summary.analysis.results["regime"].positions,
                                   expected.fillna(0.0), check_names=False)
    # TSMOM is a position: clip(signal) * 15% / sigma.
    tsmom = (predictions["signal_tsmom"] * 0.15 / predictions["sigma"]).clip(-1, 1)
    pd.testing.assert_series_equal(summary.analysis.results["tsmom"].positions,
                                   tsmom.fillna(0.0), check_names=False)
    with pytest.raises(BacktestInputError, match="sigma column"):
        backtest_run(run_dir, sizing="vol_scaled", bootstrap=FAST, write=False)  # an old run
    with pytest.raises(BacktestInputError, match="this run predicts returns"):
        backtest_run(baseline_run, sizing="model", bootstrap=FAST, write=False)


def test_a_sharpe_loss_run_sizes_its_positions_with_model(baseline_run: Path) -> None:
    from types import SimpleNamespace

    from tradenn.report.analysis import analyze_predictions, prediction_kind

    assert prediction_kind(SimpleNamespace(train=SimpleNamespace(loss="sharpe"))) == "position"
    assert prediction_kind(SimpleNamespace(train=SimpleNamespace())) == "return"
    predictions = pd.read_csv(baseline_run / "predictions.csv", index_col="date",
                              parse_dates=["date"])
    for column in ("prediction", "prediction_no_regime", "prediction_shuffled_regime"):
        predictions[column] = np.tanh(predictions[column] * 200)  # positions in [-1, 1]
    settings = ExperimentConfig().backtest.model_copy(update={"sizing": "model"})
    analysis = analyze_predictions(predictions, settings, kind="position",
                                   bootstrap=BootstrapSettings(n_boot=20))
    pd.testing.assert_series_equal(analysis.results["regime"].positions,
                                   predictions["prediction"], check_names=False)
    pd.testing.assert_series_equal(analysis.results["macd"].positions,
                                   predictions["signal_macd"].fillna(0.0), check_names=False)
