"""Runs used the way users use them: trained by one process, opened by another.

Every check here runs in a fresh interpreter (a subprocess), never in the process that
trained: there the custom layers happen to be imported already, which once hid that
``tradenn predict`` could not load its own models.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.yaml"
# One run per model kind; the LSTM's regime adds the VIX detector, whose series must be
# read from its source when predicting, not frozen in the run.
SHRINK = ["train.epochs=1", "walk_forward.ablations=[no_regime]", "walk_forward.test_size=300"]
RUNS = {
    "lstm_vix": [
        "regime.detectors=[{kind: volatility, window: 21, min_history: 63}, {kind: vix}]",
        "regime.columns=[vol_z, vix_z]",
    ],
    "dense": ["model.kind=dense", "model.lstm_units=[]"],
}
# What a run may hold: data and safe-mode Keras archives, nothing that deserializes code.
SAFE_SUFFIXES = {".json", ".yaml", ".csv", ".parquet", ".keras", ".html"}
KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


def tradenn_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradenn", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Each run trained by its own `tradenn train` process."""
    made = {}
    for name, overrides in RUNS.items():
        root = tmp_path_factory.mktemp(name)
        sets = [arg for o in SHRINK + overrides for arg in ("--set", o)]
        result = tradenn_cli("train", str(TINY), "--runs-dir", str(root), "--quiet", *sets)
        assert result.returncode == 0, result.stderr
        (made[name],) = root.iterdir()
    return made


def _looks_pickled(data: bytes) -> bool:
    # Pickle protocol 2+ starts with PROTO (0x80) and the protocol number.
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_a_run_holds_no_pickle(runs, name):
    files = [p for p in runs[name].rglob("*") if p.is_file()]
    assert any(p.name == "regime.json" for p in files)
    for path in files:
        assert path.suffix in SAFE_SUFFIXES, path
        assert not _looks_pickled(path.read_bytes()), path
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                assert set(archive.namelist()) <= KERAS_MEMBERS, archive.namelist()
                for member in archive.namelist():
                    assert not _looks_pickled(archive.read(member)), (path, member)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_predict_in_a_fresh_process(runs, name):
    result = tradenn_cli("predict", str(runs[name]), "--provider", "bundled")
    assert result.returncode == 0, result.stderr
    assert "as of 2026-03-27" in result.stdout and "position" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_load_model_after_only_import_tradenn(runs, name):
    """A notebook: ``import tradenn`` then load, with Keras's safe mode on."""
    run = runs[name]
    result = fresh_python(f"""
        import numpy as np
        import tradenn
        model = tradenn.load_model({str(run / "model.keras")!r})
        inputs = {{t.name: np.zeros((3,) + tuple(t.shape[1:]), "float32") for t in model.inputs}}
        print("shape", model.predict(inputs, verbose=0).shape)
    """)
    assert result.returncode == 0, result.stderr
    assert "shape (3, 1)" in result.stdout


@pytest.mark.slow
def test_open_run_gives_the_model_of_any_fold_variant_and_seed(runs):
    """The loaded models reproduce the run's own predictions for their fold and variant."""
    run = runs["lstm_vix"]
    result = fresh_python(f"""
        import json
        import numpy as np
        import tradenn
        from tradenn.walkforward import Panel, rows_to_arrays
        run = tradenn.open_run({str(run)!r})
        config = run.config()
        bars = tradenn.load_bars(config.data.source, config.data.start, config.data.end,
                                 provider="bundled")
        panel = Panel.from_bars(bars, config)
        predictions = run.predictions()
        out = {{}}
        for fold in (0, 1):
            regime = run.load_regime(fold)
            frame = regime.transform(bars)[regime.model_columns]
            dates = predictions.index[predictions["fold"] == fold]
            rows = bars.index.get_indexer(dates)
            arrays = rows_to_arrays(panel, frame, run.load_scalers(fold), rows)
            for variant in ("regime", "no_regime"):
                model = run.load_model(fold=fold, variant=variant, seed=0)
                scaled = model.predict(arrays.inputs(), verbose=0).reshape(-1)
                mine = run.load_scalers(fold).target.inverse(scaled)
                column = "prediction" if variant == "regime" else "prediction_" + variant
                stored = predictions.loc[dates, column + "_seed0"].to_numpy()
                out[f"{{fold}}/{{variant}}"] = float(np.max(np.abs(mine - stored)))
        print(json.dumps(out))
    """)
    assert result.returncode == 0, result.stderr
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(errors) == {"0/regime", "0/no_regime", "1/regime", "1/no_regime"}
    # predictions.csv keeps 10 significant digits; the loaded models agree to that.
    assert max(errors.values()) < 1e-8, errors


@pytest.mark.slow
def test_a_broken_regime_file_is_one_clear_error(runs, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(runs["dense"], run)
    last_fold = sorted((run / "folds").iterdir())[-1]
    regime_file = last_fold / "regime.json"
    text = regime_file.read_text()
    regime_file.write_text(text[: len(text) // 2])  # truncated
    result = tradenn_cli("predict", str(run), "--provider", "bundled")
    assert result.returncode == 1
    assert "regime.json is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1

    regime_file.write_text(json.dumps({**json.loads(text), "detectors": [{"kind": "volatility"}]}))
    result = tradenn_cli("predict", str(run), "--provider", "bundled")
    assert result.returncode == 1
    assert "not a fitted regime tradenn wrote" in result.stderr
    assert "Traceback" not in result.stderr


def test_load_model_refuses_a_file_that_is_not_a_model(tmp_path):
    import tradenn
    from tradenn.errors import RunError

    with pytest.raises(RunError, match="not found"):
        tradenn.load_model(tmp_path / "missing.keras")
    bogus = tmp_path / "bogus.keras"
    bogus.write_text("not a zip")
    with pytest.raises(RunError, match="not a .keras model file"):
        tradenn.load_model(bogus)
