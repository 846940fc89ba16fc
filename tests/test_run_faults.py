"""Real interruptions of a real `tradenn train` process: Ctrl-C and kill -9, then --resume."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"
pytestmark = pytest.mark.slow


def tradenn(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tradenn", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_enabled,
                            **kwargs)


def _ctrl_c_enabled() -> None:
    """A job started in the background by a non-interactive shell (`make test &`, nohup)
    inherits SIGINT ignored, and Python then leaves it ignored: Ctrl-C would do nothing and
    the run would finish. Give the child the default, as a terminal would."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_first_fold(runs: Path, process: subprocess.Popen, timeout: float = 300) -> Path:
    """Wait until the run's manifest says fold 0 is complete and fold 1 is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for manifest in runs.glob("*/manifest.json"):
            folds = json.loads(manifest.read_text())["folds"]
            if folds[0]["status"] == "complete" and folds[1]["status"] == "running":
                return manifest.parent
        time.sleep(0.2)
    raise AssertionError("the first fold did not finish in time")


def resume(run_dir: Path) -> pd.DataFrame:
    result = subprocess.run([sys.executable, "-m", "tradenn", "train", "--resume", str(run_dir),
                             "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return pd.read_csv(run_dir / "predictions.csv")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> pd.DataFrame:
    runs = tmp_path_factory.mktemp("whole")
    result = subprocess.run([sys.executable, "-m", "tradenn", "train", str(TINY), "--runs-dir",
                             str(runs), "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (run_dir,) = runs.iterdir()
    return pd.read_csv(run_dir / "predictions.csv")


def test_kill_9_mid_fold_then_resume(tmp_path, uninterrupted):
    process = tradenn("train", str(TINY), "--runs-dir", str(tmp_path), "--quiet")
    run_dir = wait_for_first_fold(tmp_path, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "running"  # not complete: nobody could mark it anything else
    assert not (run_dir / "predictions.csv").exists() and not (run_dir / "model.keras").exists()
    refused = subprocess.run([sys.executable, "-m", "tradenn", "backtest", str(run_dir)],
                             capture_output=True, text=True)
    assert refused.returncode == 1 and "not complete (status: running)" in refused.stderr
    fold0 = (run_dir / "folds" / "fold_0" / "predictions.csv").stat().st_mtime_ns
    pd.testing.assert_frame_equal(resume(run_dir), uninterrupted)
    assert (run_dir / "folds" / "fold_0" / "predictions.csv").stat().st_mtime_ns == fold0


def test_ctrl_c_says_how_to_resume(tmp_path, uninterrupted):
    process = tradenn("train", str(TINY), "--runs-dir", str(tmp_path), "--quiet")
    run_dir = wait_for_first_fold(tmp_path, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"error: interrupted; completed folds are kept. Resume with: "
                     f"tradenn train --resume {run_dir}"]
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    pd.testing.assert_frame_equal(resume(run_dir), uninterrupted)


def test_a_keyboard_interrupt_inside_a_tensorflow_op_counts_as_one():
    """Seen on CI: Ctrl-C inside a TF op surfaced as pybind11's RuntimeError, which the run
    then reported as a crash with a traceback instead of 'interrupted'."""
    from tradenn.experiment import _is_interrupt

    assert _is_interrupt(RuntimeError(
        "pybind11::error_already_set: MISMATCH of original and normalized active exception "
        "types: ORIGINAL InvalidArgumentError REPLACED BY KeyboardInterrupt: <EMPTY MESSAGE>"))
    assert not _is_interrupt(RuntimeError("something else went wrong"))
    assert not _is_interrupt(ValueError("KeyboardInterrupt in a message is not enough"))
