"""End to end: train walk-forward, write the run, backtest it; reproducible, causal, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tradenn.cli import app
from tradenn.config import load_config
from tradenn.data import load_bars
from tradenn.errors import RunError
from tradenn.experiment import resume_run, train_run
from tradenn.runs import Run

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One tiny run trained and backtested through the CLI, shared by the checks below."""
    runs = tmp_path_factory.mktemp("runs")
    result = runner.invoke(app, ["train", str(TINY), "--runs-dir", str(runs), "--quiet", "--backtest"])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.iterdir()
    return run_dir, result.output


def test_cli_writes_a_complete_run_and_report(cli_run):
    run_dir, output = cli_run
    assert f"run complete: {run_dir}" in output
    assert "report:" in output and "buy" in output.lower()
    for name in ("config.yaml", "model.keras", "predictions.csv", "history.csv", "metrics.json",
                 "manifest.json", "backtest.json", "report.html"):
        assert (run_dir / name).is_file(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert [f["status"] for f in manifest["folds"]] == ["complete", "complete"]
    assert manifest["variants"] == ["regime", "no_regime", "shuffled_regime"]
    assert len(manifest["data"]["hash"]) == 16 and manifest["versions"]["tensorflow"]


def test_predictions_file_layout(cli_run):
    run_dir, _ = cli_run
    predictions = Run.open(run_dir).predictions()
    for column in ("fold", "close", "target", "prediction", "prediction_no_regime",
                   "prediction_shuffled_regime", "prediction_seed0"):
        assert column in predictions.columns
    assert any(c.startswith("theta_") for c in predictions.columns)
    assert any(c.startswith("regime_") for c in predictions.columns)
    assert predictions.index.is_monotonic_increasing and predictions.index.is_unique
    assert sorted(predictions["fold"].unique()) == [0, 1]
    # target stamped t is the return from t to t+1: check it against the bars.
    bars = load_bars("SPY", "2016-01-01", "2019-12-31", provider="bundled")
    close = bars["close"]
    expected = (close.shift(-1) / close - 1).reindex(predictions.index)
    np.testing.assert_allclose(predictions["target"].iloc[:-1], expected.iloc[:-1], rtol=1e-9)
    assert np.isnan(predictions["target"].iloc[-1])  # the last day's return is not known yet
    assert predictions["prediction"].notna().all()
    # Predictions are in return units (the target scaler was inverted), not z-scores.
    assert predictions["prediction"].abs().max() < 0.1


def test_rerun_gives_identical_predictions(cli_run, tmp_path):
    run_dir, _ = cli_run
    again = train_run(load_config(TINY), runs_dir=tmp_path, quiet=True)
    first = pd.read_csv(run_dir / "predictions.csv")
    second = pd.read_csv(again.path / "predictions.csv")
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_no_look_ahead_end_to_end(cli_run, tmp_path):
    """Perturb every bar after t: every prediction dated <= t must stay exactly the same."""
    run_dir, _ = cli_run
    original = Run.open(run_dir).predictions()
    bars = load_bars("SPY", "2016-01-01", "2019-12-31", provider="bundled")
    cut = original.index[len(original) // 2]  # inside the second fold's test span
    changed = bars.copy()
    future = changed.index > cut
    rng = np.random.default_rng(0)
    factor = np.exp(np.cumsum(rng.normal(0, 0.02, future.sum())))
    changed.loc[future, ["open", "high", "low", "close"]] *= factor[:, None]
    path = tmp_path / "perturbed.csv"
    changed.to_csv(path)
    config = load_config(TINY, [f"data.source={path}"])
    perturbed = train_run(config, runs_dir=tmp_path, quiet=True).predictions()
    past = original.index <= cut
    columns = [c for c in original.columns if c not in ("target", "asset")]  # asset: file name
    pd.testing.assert_frame_equal(original.loc[past, columns], perturbed.loc[past, columns])
    # ... and the perturbation really reached the model after t.
    assert not np.allclose(original.loc[~past, "prediction"], perturbed.loc[~past, "prediction"])


def test_interrupted_run_resumes_to_the_same_predictions(cli_run, tmp_path, monkeypatch):
    run_dir, _ = cli_run
    import tradenn.experiment as experiment

    real_train_fold = experiment._train_fold

    def interrupt_second_fold(run, exp, fold, progress):
        if fold.index == 1:
            raise KeyboardInterrupt
        real_train_fold(run, exp, fold, progress)

    monkeypatch.setattr(experiment, "_train_fold", interrupt_second_fold)
    with pytest.raises(RunError, match="interrupted; completed folds are kept. Resume with"):
        train_run(load_config(TINY), runs_dir=tmp_path, quiet=True)
    (interrupted,) = tmp_path.iterdir()
    run = Run.open(interrupted)
    assert run.status == "interrupted"
    assert [f["status"] for f in run.manifest["folds"]] == ["complete", "interrupted"]
    assert not (interrupted / "predictions.csv").exists()
    with pytest.raises(RunError, match="not complete"):
        run.require_complete()

    monkeypatch.setattr(experiment, "_train_fold", real_train_fold)
    trained = []
    monkeypatch.setattr(experiment, "_train_fold",
                        lambda r, e, f, p: (trained.append(f.index), real_train_fold(r, e, f, p)))
    resumed = resume_run(interrupted, quiet=True)
    assert trained == [1]  # fold 0 was not redone
    pd.testing.assert_frame_equal(
        pd.read_csv(resumed.path / "predictions.csv"), pd.read_csv(run_dir / "predictions.csv"))


def test_non_finite_loss_fails_the_run_with_fold_and_epoch(tmp_path):
    config = load_config(TINY, ["train.learning_rate=1e30", "train.loss=mse",
                                "walk_forward.ablations=[]"])
    with pytest.raises(RunError, match=r"fold 1/2 · regime · seed 0: loss became (nan|inf) at epoch \d"):
        train_run(config, runs_dir=tmp_path, quiet=True)
    (run_dir,) = tmp_path.iterdir()
    run = Run.open(run_dir)
    assert run.status == "failed" and "loss became" in run.manifest["error"]
    assert run.manifest["folds"][0]["status"] == "failed"
    assert not (run_dir / "predictions.csv").exists()


def test_predict_matches_the_run_and_refuses_its_training_dates(cli_run):
    run_dir, _ = cli_run
    predictions = Run.open(run_dir).predictions()
    last = predictions.index[-1]
    result = runner.invoke(app, ["predict", str(run_dir), "--asof", str(last.date()),
                                 "--provider", "bundled"])
    assert result.exit_code == 0, result.output
    assert f"as of {last.date()}" in result.output
    from tradenn.predicting import predict_next

    signal = predict_next(run_dir, asof=str(last.date()), provider="bundled")
    # The same model, bars and scalers as training: the run's own prediction for that date.
    assert signal.prediction == pytest.approx(predictions["prediction"].iloc[-1], rel=1e-5)
    assert signal.position == (1.0 if signal.prediction > 0 else -1.0)  # sign sizing
    later = predict_next(run_dir, provider="bundled")  # the newest bundled bar, 2026
    assert later.asof == pd.Timestamp("2026-03-27")
    early = runner.invoke(app, ["predict", str(run_dir), "--asof", "2017-06-30",
                                "--provider", "bundled"])
    assert early.exit_code == 1 and "inside the last fold's training data" in early.output


def test_regimes_and_compare_commands(cli_run, tmp_path):
    run_dir, _ = cli_run
    result = runner.invoke(app, ["regimes", str(TINY), "--out", str(tmp_path / "reg")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reg" / "regimes.png").stat().st_size > 10_000
    assert "fitted on bars up to" in result.output
    out = tmp_path / "compare.html"
    result = runner.invoke(app, ["compare", str(run_dir), str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "<svg" in out.read_text()


def test_jit_compile_run_trains_with_xla(tmp_path, monkeypatch):
    import tradenn.training as training

    compiled = []
    real_fit = training.fit_model

    def spy(config, *args, **kwargs):
        result = real_fit(config, *args, **kwargs)
        compiled.append(result.model.jit_compile)
        return result

    monkeypatch.setattr(training, "fit_model", spy)
    config = load_config(TINY, ["train.jit_compile=true", "walk_forward.ablations=[]"])
    run = train_run(config, runs_dir=tmp_path, quiet=True)
    assert compiled == [True, True]  # Keras did not fall back to plain graphs
    assert run.predictions()["prediction"].notna().all()


# Daily configs (shrunk below to 2011-2016); the hourly EUR/USD config has its own tests in
# tests/test_intraday_run.py.
CONFIGS = sorted(p for p in (Path(__file__).parent.parent / "configs").glob("*.yaml")
                 if load_config(p).data.interval == "1d")


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_trains_end_to_end(path, tmp_path):
    """Each config, shrunk to a few years and one epoch, trains through its own regime
    detector and mapping (per_state on HMM probabilities, composites...)."""
    config = load_config(path, [
        "data.start=2011-01-01", "data.end=2016-12-31", "train.epochs=1", "train.seeds=[0]",
        "walk_forward.min_train=700", "walk_forward.test_size=400", "walk_forward.ablations=[]",
    ])
    predictions = train_run(config, runs_dir=tmp_path, quiet=True).predictions()
    assert predictions["prediction"].notna().all()
    regime_columns = [c for c in predictions if c.startswith("regime_")]
    assert regime_columns and predictions[regime_columns].notna().all().all()


def test_backtest_options_override_the_run_config(cli_run):
    run_dir, _ = cli_run
    result = runner.invoke(app, ["backtest", str(run_dir), "--sizing", "vol_target",
                                 "--target-vol", "0.05", "--long-only", "--cost-bps", "3"])
    assert result.exit_code == 0, result.output
    settings = json.loads((run_dir / "backtest.json").read_text())["settings"]
    assert (settings["sizing"], settings["target_vol"], settings["long_only"],
            settings["cost_bps"]) == ("vol_target", 0.05, True, 3.0)
    bad = runner.invoke(app, ["backtest", str(run_dir), "--sizing", "martingale"])
    assert bad.exit_code == 1 and "sizing" in bad.output


def test_predict_sizes_with_the_volatility_of_the_bars_before_asof(cli_run, tmp_path):
    """Years after the run ends, vol_target sizing must see the last vol_window daily
    returns before asof, not a return spanning the gap since the run's last prediction."""
    import shutil

    import yaml

    from tradenn.predicting import predict_next

    run_dir, _ = cli_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["backtest"].update(sizing="vol_target", target_vol=0.05, leverage=2.0)
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    signal = predict_next(copy, asof="2024-06-28", provider="bundled")
    close = load_bars("SPY", provider="bundled")["close"].loc[:"2024-06-28"]
    vol = np.log(close).diff().iloc[-21:].std() * np.sqrt(252)
    expected = np.sign(signal.prediction) * min(0.05 / vol, 2.0)
    assert signal.position == pytest.approx(expected, rel=1e-6)


def test_backtest_execution_next_open_and_the_other_sharpe(cli_run):
    run_dir, _ = cli_run
    result = runner.invoke(app, ["backtest", str(run_dir), "--execution", "next_open"])
    assert result.exit_code == 0, result.output
    assert "execution: next_open; the regime model's Sharpe filled close instead" in result.output
    document = json.loads((run_dir / "backtest.json").read_text())
    assert document["settings"]["execution"] == "next_open"
    other = document["other_execution"]
    assert other["execution"] == "close" and isinstance(other["sharpe"], float)
    assert other["sharpe"] != document["strategies"]["regime"]["sharpe"]
    report = (run_dir / "report.html").read_text()
    assert "filled at the open of t+1" in report and "Filled at the close the model read" in report
    # Back to the default, which names next_open as the alternative.
    result = runner.invoke(app, ["backtest", str(run_dir)])
    assert result.exit_code == 0 and "filled next_open instead" in result.output
