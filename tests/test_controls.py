"""Every control trained, backtested and reported; θ sensitivity; diagnostics; notebook API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import tradenn
from tradenn.backtest import positions_from_predictions, run_backtest
from tradenn.cli import app
from tradenn.experiment import theta_sensitivity
from tradenn.report.diagnostics import fold_ic, hit_rates, variant_diagnostics

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"
ALL = ["regime", "no_regime", "shuffled_regime", "regime_input", "film"]


@pytest.fixture(scope="module")
def controls_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(app, [
        "train", str(TINY), "--runs-dir", str(runs), "--quiet", "--backtest",
        "--set", "walk_forward.ablations=[no_regime, shuffled_regime, regime_input, film]",
        "--set", "regime.columns=[vol_z, vol_pct]",
    ])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.iterdir()
    return run_dir, result.output


def test_every_control_is_trained_backtested_and_reported(controls_run):
    run_dir, output = controls_run
    run = tradenn.open_run(run_dir)
    assert run.manifest["variants"] == ALL
    predictions = run.predictions()
    for column in ("prediction_regime_input", "prediction_film", "prediction_no_regime",
                   "prediction_regime_input_seed0", "prediction_film_seed0"):
        assert predictions[column].notna().all(), column
    # θ columns come from the regime model only: the controls have no conditioned activation.
    assert {c for c in predictions if c.startswith("theta_")} == {
        "theta_lstm_0.candidate", "theta_lstm_0.cell", "theta_dense_0"}

    document = json.loads((run_dir / "backtest.json").read_text())
    assert set(document["strategies"]) == {*ALL, "tsmom", "macd", "buy_and_hold"}
    diagnostics = document["diagnostics"]
    assert list(diagnostics["variants"]) == ALL
    for name, d in diagnostics["variants"].items():
        assert d["share_long"] + d["share_short"] + d["share_flat"] == pytest.approx(1.0)
        assert 0 <= d["hit_rate"] <= 1 and 0 < d["base_rate"] < 1, name
        assert set(d["ic_by_fold"]) == {"0", "1"}
        for key in ("ic_mean", "ic_std", "ic_t", "net_exposure", "chance_hit_rate"):
            assert key in d
        assert d["theta_sensitivity"]["relative"] is not None, name
    assert len(diagnostics["pairs"]) == 10
    assert diagnostics["findings"]
    # A model that ignores the regime: sensitivity exactly 0, and the report says it.
    blind = diagnostics["variants"]["no_regime"]["theta_sensitivity"]
    assert blind["relative"] == 0.0 and blind["sign_changes"] == 0.0
    assert blind["ignores_regime"] is True
    assert any(f.startswith("no_regime:") and "takes no regime" in f
               for f in diagnostics["findings"])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["film"]["theta_sensitivity"]["folds"]) == {"0", "1"}

    report = (run_dir / "report.html").read_text()
    assert "Diagnostics" in report and "θ sensitivity" in report
    assert "regime_input" in report and "film" in report
    assert "so its θ sensitivity is 0 by construction" in output  # the CLI prints findings


def test_models_of_every_variant_load_back(controls_run):
    run_dir, _ = controls_run
    run = tradenn.open_run(run_dir)
    model = run.load_model(fold=1, variant="film", seed=0)
    assert any(layer.name == "lstm_0_film" for layer in model.layers)
    model = run.load_model(fold=0, variant="regime_input", seed=0)
    assert model.get_layer("window_with_regime").output.shape[-1] == 4 + 2


def test_run_backtest_repr_and_figures_for_notebooks(controls_run):
    run_dir, _ = controls_run
    run = tradenn.open_run(run_dir)
    before = (run_dir / "backtest.json").read_text()
    summary = run.backtest(sizing="threshold", threshold=0.001, cost_bps=2.0)
    assert summary.analysis.settings.sizing == "threshold"
    assert summary.analysis.settings.cost_bps == 2.0
    assert summary.json_path is None and (run_dir / "backtest.json").read_text() == before
    assert list(summary.diagnostics.index) == ALL
    assert "share_flat" in summary.diagnostics and "theta_sensitivity" in summary.diagnostics
    figures = summary.figures()
    assert {"equity", "drawdown", "rolling_sharpe", "positions", "theta"} <= set(figures)
    assert all(isinstance(f, Figure) for f in figures.values())
    assert isinstance(summary.figure("equity"), Figure)
    with pytest.raises(tradenn.ConfigError, match="figure 'nope'"):
        summary.figure("nope")
    assert "regime model" in summary._repr_html_()
    html = run._repr_html_()
    assert "complete" in html and "film" in html and "Sharpe" in html


# ----------------------------------------------------------------------------- units


def test_a_model_that_ignores_the_regime_has_theta_sensitivity_zero():
    from tradenn.config import ModelConfig
    from tradenn.models import build_model
    from tradenn.training import regime_sensitivity
    from tradenn.walkforward import Arrays

    rng = np.random.default_rng(0)
    n = 64
    arrays = Arrays(rng.normal(size=(n, 6, 3)).astype("float32"),
                    rng.normal(size=(n, 2)).astype("float32"), np.zeros(n, "float32"),
                    pd.bdate_range("2020-01-01", periods=n))
    reference = arrays.regime.mean(axis=0)
    for variant, ignores in (("no_regime", True), ("regime", False), ("regime_input", False),
                             ("film", False)):
        model = build_model(ModelConfig(lstm_units=[4], dense_units=[3]), window=6,
                            n_features=3, n_regime=2, variant=variant, seed=0)
        model.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32")
                           for w in model.get_weights()])
        shift = regime_sensitivity(model, arrays, reference)
        prediction = model.predict(arrays.inputs(), verbose=0).reshape(-1)
        summary = theta_sensitivity(prediction, shift, target_std=0.01)
        if ignores:
            assert np.all(shift == 0.0)
            assert summary["relative"] == 0.0 and summary["sign_changes"] == 0.0
        else:
            assert summary["relative"] > 0.01, variant


def test_theta_sensitivity_summary_by_hand():
    prediction = np.array([1.0, -1.0, 2.0, np.nan])
    shift = np.array([0.5, -1.5, 0.0, 1.0])  # at the mean: 0.5, 0.5, 2.0 -> one flip
    s = theta_sensitivity(prediction, shift, target_std=0.02)
    assert s["rows"] == 3
    assert s["mean_abs_shift"] == pytest.approx((0.5 + 1.5) / 3 * 0.02)
    assert s["relative"] == pytest.approx(((0.5 + 1.5) / 3) / np.std([1.0, -1.0, 2.0]))
    assert s["sign_changes"] == pytest.approx(1 / 3)


def test_hit_rate_against_base_and_chance_rates():
    prediction = pd.Series([1.0, 1.0, 1.0, -1.0, 1.0, 0.0])
    target = pd.Series([0.01, -0.02, 0.03, -0.01, 0.02, 0.05])
    h = hit_rates(prediction, target, prediction)
    # The zero prediction is left out: 5 days, 3 up, 4 long; hits on 4 of 5.
    assert h["hit_days"] == 5
    assert h["hit_rate"] == pytest.approx(4 / 5)
    assert h["base_rate"] == pytest.approx(3 / 5)
    assert h["chance_hit_rate"] == pytest.approx(0.8 * 0.6 + 0.2 * 0.4)


def test_ic_per_fold_mean_sd_and_t():
    rng = np.random.default_rng(1)
    target = pd.Series(rng.normal(size=300))
    prediction = target * 0.2 + pd.Series(rng.normal(size=300))
    folds = pd.Series(np.repeat([0, 1, 2], 100))
    out = fold_ic(prediction, target, folds)
    ics = [np.corrcoef(prediction[folds == k], target[folds == k])[0, 1] for k in range(3)]
    assert [out["ic_by_fold"][str(k)] for k in range(3)] == pytest.approx(ics)
    assert out["ic_mean"] == pytest.approx(np.mean(ics))
    assert out["ic_std"] == pytest.approx(np.std(ics, ddof=1))
    assert out["ic_t"] == pytest.approx(np.mean(ics) / (np.std(ics, ddof=1) / np.sqrt(3)))


def test_diagnostics_of_identical_and_opposite_variants():
    dates = pd.bdate_range("2020-01-01", periods=200)
    rng = np.random.default_rng(2)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200))), index=dates)
    target = close.shift(-1) / close - 1
    base = pd.Series(rng.normal(0.0005, 0.001, 200), index=dates)
    predictions = pd.DataFrame({"fold": np.repeat([0, 1], 100), "close": close,
                                "target": target, "prediction": base,
                                "prediction_no_regime": base, "prediction_film": -base},
                               index=dates)
    results = {}
    for name, column in (("regime", "prediction"), ("no_regime", "prediction_no_regime"),
                         ("film", "prediction_film")):
        results[name] = run_backtest(close, positions_from_predictions(predictions[column]))
    sensitivity = {"regime": {"relative": 0.01, "sign_changes": 0.0, "mean_abs_shift": 1e-6,
                              "folds": {}},
                   "film": {"relative": 0.4, "sign_changes": 0.2, "mean_abs_shift": 1e-4,
                            "folds": {}}}
    d = variant_diagnostics(predictions, results, ["regime", "no_regime", "film"], sensitivity)
    pairs = {(p["a"], p["b"]): p for p in d["pairs"]}
    assert pairs[("regime", "no_regime")]["position_agreement"] == 1.0
    assert pairs[("regime", "no_regime")]["prediction_correlation"] == pytest.approx(1.0)
    assert pairs[("regime", "film")]["position_agreement"] == 0.0
    assert pairs[("regime", "film")]["prediction_correlation"] == pytest.approx(-1.0)
    long = float((base > 0).mean())
    assert d["variants"]["regime"]["share_long"] == pytest.approx(long)
    assert d["variants"]["film"]["share_short"] == pytest.approx(long)
    assert d["variants"]["regime"]["net_exposure"] == pytest.approx(2 * long - 1)
    assert d["variants"]["regime"]["theta_sensitivity"]["ignores_regime"] is True
    assert d["variants"]["film"]["theta_sensitivity"]["ignores_regime"] is False
    assert d["variants"]["no_regime"]["theta_sensitivity"] is None
    findings = {f.split(":")[0]: f for f in d["findings"][1:]}
    assert "moves by 1.0% of its own spread" in findings["regime model"]
    assert "practically ignores the regime" in findings["regime model"]
    assert "moves by 40.0%" in findings["film"] and "ignores" not in findings["film"]
    assert "same side on 0.0%–100.0% of days" in d["findings"][0]


def test_report_chart_takes_a_figure_or_its_svg():
    from tradenn.report.figures import to_svg
    from tradenn.report.html import chart

    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    from_figure = chart("c", fig, "caption")
    assert from_figure.startswith('<figure class="chart" id="c"><svg')
    assert chart("c", to_svg(fig), "caption").startswith('<figure class="chart" id="c"><svg')
    assert chart("c", None, "caption") == ""
