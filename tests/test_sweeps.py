"""Sweeps: spec validation before anything trains, stable trial ids, failures recorded,
resume, the Ray path giving the serial path's results, and the verdict's report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tradenn.errors import ConfigError
from tradenn.sweeps.runner import run_sweep
from tradenn.sweeps.spec import load_sweep_spec, trial_id

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
SHRINK = {"train.epochs": 1, "walk_forward.ablations": ["no_regime"],
          "walk_forward.test_size": 300}


def spec_file(tmp_path: Path, **fields) -> Path:
    data = {"name": "t", "base": str(TINY), "grid": {"model.lstm_activation": ["tanh"]},
            "overrides": dict(SHRINK), **fields}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_trial_ids_are_stable_and_readable():
    assert trial_id({"data.source": "SPY", "model.lstm_activation": "tanh"}) == \
        trial_id({"data.source": "SPY", "model.lstm_activation": "tanh"})
    assert trial_id({"data.source": "SPY"}).startswith("SPY-")
    assert trial_id({"data.source": "SPY"}) != trial_id({"data.source": "QQQ"})
    # Pinned: the same on every machine and Python version.
    assert trial_id({"data.source": "SPY", "train.seeds": [0, 1]}) == "SPY-0.1-4a2e94"


def test_every_combination_is_a_validated_trial(tmp_path):
    path = spec_file(tmp_path, grid={"data.source": ["SPY", "QQQ"],
                                     "regime.detectors.0.kind": ["volatility", "trend", "hmm"]},
                     overrides={**SHRINK, "regime.columns": None})
    spec, trials = load_sweep_spec(path)
    assert len(trials) == 6 and len({t.id for t in trials}) == 6
    hmm = next(t for t in trials if t.grid_values["regime.detectors.0.kind"] == "hmm")
    # A new kind replaces the detector section with that kind's defaults.
    assert hmm.config.regime.detectors[0].kind == "hmm"
    assert hmm.config.train.epochs == 1 and hmm.config.name == "t"


@pytest.mark.parametrize("fields, message", [
    ({"grid": {"train.epochz": [1, 2]}}, r"trial .*: train.epochz: unknown key"),
    ({"grid": {"train.epochs": [1, -2]}}, r"train.epochs: Input should be greater than 0"),
    ({"grid": {"regime.detectors.3.kind": ["hmm"]}}, r"regime.detectors.3.*expected an index"),
    ({"grid": {}}, r"grid: Dictionary should have at least 1 item"),
    ({"grid": {"train.epochs": []}}, r"grid.train.epochs: List should have at least 1 item"),
    ({"colour": "red"}, r"colour: unknown key"),
    ({"base": "nowhere.yaml"}, r"base config 'nowhere.yaml' not found"),
])
def test_spec_mistakes_are_one_config_error_before_anything_runs(tmp_path, fields, message):
    path = spec_file(tmp_path, **fields)
    with pytest.raises(ConfigError, match=message):
        run_sweep(path, sweeps_dir=tmp_path / "sweeps", quiet=True)
    assert not (tmp_path / "sweeps").exists()  # nothing was started


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A serial sweep of two trials, one of which fails (a data file that does not exist)."""
    root = tmp_path_factory.mktemp("sweep")
    path = spec_file(root, grid={"data.source": ["SPY", str(root / "missing.csv")]})
    sweep, summary = run_sweep(path, sweeps_dir=root / "sweeps", max_concurrent=1, quiet=True)
    return sweep, summary


@pytest.mark.slow
def test_a_failing_trial_is_recorded_and_the_others_finish(finished):
    sweep, summary = finished
    records = {r["grid"]["data.source"]: r for r in sweep.manifest["trials"]}
    assert records["SPY"]["status"] == "complete"
    bad = next(r for k, r in records.items() if k != "SPY")
    assert bad["status"] == "failed" and "missing.csv: no such file" in bad["error"]
    assert "\n" not in bad["error"]
    assert sweep.manifest["failed"] == [bad["id"]]
    results = pd.read_csv(sweep.path / "results.csv", index_col="trial")
    assert results.loc[records["SPY"]["id"], "status"] == "complete"
    assert 0 <= results.loc[records["SPY"]["id"], "dsr"] <= 1
    assert "delta_sharpe_no_regime_low" in results.columns
    assert summary["completed"] == 1 and summary["pbo"] is None  # PBO needs two trials
    report = (sweep.path / "report.html").read_text()
    assert "Failed trials" in report and "no such file" in report


@pytest.mark.slow
def test_resume_of_a_finished_sweep_trains_nothing(finished, monkeypatch):
    import tradenn.experiment as experiment

    sweep, _ = finished
    before = pd.read_csv(sweep.path / "results.csv").drop(columns="wall_seconds")
    monkeypatch.setattr(experiment, "_train_fold",
                        lambda *a: pytest.fail("a finished trial was trained again"))
    again, _ = run_sweep(resume=sweep.path, quiet=True)
    # The failed trial is retried (and fails the same way); the complete one is skipped.
    after = pd.read_csv(sweep.path / "results.csv")
    pd.testing.assert_frame_equal(after.drop(columns="wall_seconds"), before)
    assert [r["status"] for r in again.manifest["trials"]] == \
        [r["status"] for r in sweep.manifest["trials"]]


TWO_CELLS = {"data.source": ["SPY"], "model.lstm_activation": ["tanh", "swish"]}


@pytest.fixture(scope="module")
def on_ray(tmp_path_factory):
    """The two-trial sweep run two at a time on a local Ray."""
    root = tmp_path_factory.mktemp("ray")
    return run_sweep(spec_file(root, grid=TWO_CELLS), sweeps_dir=root / "sweeps",
                     max_concurrent=2, quiet=True)


@pytest.mark.slow
def test_ray_runs_give_the_serial_results(finished, on_ray):
    """Two trials at once on a local Ray: the same predictions as trials run in-process."""
    serial, _ = finished
    ray_sweep, summary = on_ray
    assert [r["status"] for r in ray_sweep.manifest["trials"]] == ["complete", "complete"]
    assert summary["pbo"] is not None and summary["pbo_partitions"] == 16
    spy = next(r for r in serial.manifest["trials"] if r["grid"]["data.source"] == "SPY")
    tanh = next(r for r in ray_sweep.manifest["trials"]
                if r["grid"]["model.lstm_activation"] == "tanh")
    a = pd.read_csv(serial.path / "trials" / spy["id"] / "predictions.csv")
    b = pd.read_csv(ray_sweep.path / "trials" / tanh["id"] / "predictions.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    manifest = json.loads((ray_sweep.path / "sweep.json").read_text())
    assert manifest["status"] == "complete"


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_uninterrupted_results(tmp_path, on_ray):
    """kill -9 the sweep once its first trial is done; --resume finishes the rest and the
    verdict equals the one of the sweep that was never interrupted."""
    import signal
    import subprocess
    import sys
    import time

    reference, _ = on_ray
    path = spec_file(tmp_path, grid=TWO_CELLS)
    process = subprocess.Popen(
        [sys.executable, "-m", "tradenn", "sweep", str(path), "--max-concurrent", "1",
         "--quiet", "--sweeps-dir", str(tmp_path / "sweeps")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        manifests = list((tmp_path / "sweeps").glob("*/sweep.json"))
        if manifests:
            try:
                statuses = [r["status"] for r in json.loads(manifests[0].read_text())["trials"]]
            except json.JSONDecodeError:  # never half-written: atomic, but be safe
                statuses = []
            if "complete" in statuses:
                break
        assert process.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (killed,) = (tmp_path / "sweeps").iterdir()
    assert not (killed / "results.csv").exists()
    resumed, _ = run_sweep(resume=killed, quiet=True)
    columns = lambda frame: frame.drop(columns="wall_seconds").sort_index()  # noqa: E731
    pd.testing.assert_frame_equal(
        columns(pd.read_csv(killed / "results.csv", index_col="trial")),
        columns(pd.read_csv(reference.path / "results.csv", index_col="trial")))
    for record in resumed.manifest["trials"]:
        pd.testing.assert_frame_equal(
            pd.read_csv(killed / "trials" / record["id"] / "predictions.csv"),
            pd.read_csv(reference.path / "trials" / record["id"] / "predictions.csv"))


@pytest.mark.slow
def test_mlflow_logs_the_sweep_and_its_trials_to_a_file_store(finished, tmp_path, monkeypatch):
    """`tradenn sweep --resume DIR --mlflow STORE`, then read the store back with MLflow."""
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    sweep, _ = finished
    store = tmp_path / "mlruns"
    result = subprocess.run(
        [sys.executable, "-m", "tradenn", "sweep", "--resume", str(sweep.path), "--quiet",
         "--mlflow", str(store)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "mlflow run" in result.stdout
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # reading it back, as tradenn does
    client = MlflowClient(store.resolve().as_uri())
    experiment = client.get_experiment_by_name("tradenn")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.info.run_name == sweep.path.name)
    (trial,) = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert trial.data.params["train.epochs"] == "1"
    assert trial.data.params["data.source"] == "SPY"
    assert -5 < trial.data.metrics["regime.sharpe"] < 5
    assert [a.path for a in client.list_artifacts(trial.info.run_id)] == ["report.html"]
    assert "dsr_best" in parent.data.metrics
