"""Parallel work is invisible in results: Ray tasks give what the serial loop gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tradenn.config import load_config
from tradenn.experiment import train_run
from tradenn.parallel import run_tasks, thread_env

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"


def square_after(delay_and_value: tuple[float, int]) -> int:
    import time

    delay, value = delay_and_value
    time.sleep(delay)
    return value * value


def fail_on_three(value: int) -> int:
    if value == 3:
        raise ValueError("three is not allowed")
    return value


def worker_threads(_: int) -> str:
    import os

    return os.environ.get("TF_NUM_INTRAOP_THREADS", "unset")


def test_serial_path_never_imports_ray():
    code = ("import sys; from tradenn.parallel import run_tasks; "
            "assert run_tasks(abs, [-1, -2]) == [1, 2]; assert 'ray' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.slow
def test_ray_results_come_back_in_task_order_with_capped_threads():
    import ray.cloudpickle

    # Workers cannot import this test module: ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    finished = []
    # The first task is the slowest, so it finishes last: results still follow task order.
    tasks = [(1.5, 1), (0.0, 2), (0.2, 3)]
    results = run_tasks(square_after, tasks, max_concurrent=2,
                        on_result=lambda i, r: finished.append(i))
    assert results == [1, 4, 9]
    assert finished[-1] == 0 and sorted(finished) == [0, 1, 2]
    assert run_tasks(worker_threads, [0], max_concurrent=2, cpus_per_task=1) == ["1"]
    with pytest.raises(ValueError, match="three is not allowed"):
        run_tasks(fail_on_three, [1, 2, 3], max_concurrent=2)
    assert thread_env(2)["TF_NUM_INTRAOP_THREADS"] == "2"


@pytest.mark.slow
def test_two_workers_give_the_serial_predictions_bitwise(tmp_path):
    """2 folds x 3 variants x 2 seeds, once one model at a time, once two at a time on Ray."""
    config = load_config(TINY, ["train.seeds=[0, 1]", "train.epochs=2"])
    serial = train_run(config, runs_dir=tmp_path / "serial", quiet=True)
    parallel = train_run(load_config(TINY, ["train.seeds=[0, 1]", "train.epochs=2",
                                            "train.workers=2"]),
                         runs_dir=tmp_path / "parallel", quiet=True)
    a = pd.read_csv(serial.path / "predictions.csv")
    b = pd.read_csv(parallel.path / "predictions.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert {c for c in a if c.endswith("_seed1")} >= {"prediction_seed1",
                                                      "prediction_no_regime_seed1"}
    history = pd.read_csv(parallel.path / "history.csv")
    assert len(history.groupby(["fold", "variant", "seed"])) == 2 * 3 * 2
