"""The one place that knows Ray: run a list of independent tasks, serially or on Ray.

``workers=1`` without an address runs every task in this process, in order, and never
imports Ray. Otherwise Ray runs them as tasks — a local Ray started with the machine's
cores, or the cluster at ``address`` — at most ``max_concurrent`` at a time, each with
``cpus_per_task`` CPUs; TensorFlow's thread pools in the task's worker are limited to those
CPUs (through the worker's environment, set before TensorFlow loads). Results come back in
task order whatever order the tasks finish in, so parallel work is invisible in results.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from tradenn.errors import TradennError

T = TypeVar("T")
R = TypeVar("R")


class ParallelError(TradennError):
    """Ray is missing or could not start or reach its cluster."""


def thread_env(cpus: int) -> dict[str, str]:
    """Environment that caps TensorFlow's (and BLAS's) thread pools at ``cpus``."""
    n = str(max(1, int(cpus)))
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def run_tasks(
    function: Callable[[T], R],
    tasks: Sequence[T],
    *,
    max_concurrent: int = 1,
    address: str | None = None,
    cpus_per_task: int = 1,
    on_result: Callable[[int, R], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> list[R]:
    """``[function(task) for task in tasks]``, serially or as Ray tasks.

    Args:
        function: a module-level function (Ray ships it to workers by reference).
        tasks: its arguments, one per task; each must be picklable.
        max_concurrent: tasks running at once; 1 without ``address`` runs in-process.
        address: a Ray cluster (``"auto"``, ``"HOST:PORT"``); None starts a local Ray.
        cpus_per_task: CPUs reserved by, and thread pools of, each task.
        on_result: called with (task index, result) as each task finishes.
        on_start: called with the task index as each task is submitted.

    Raises:
        ParallelError: Ray is not installed or cannot start. An exception inside a task is
            re-raised here; functions that must not stop the others catch their own.
    """
    if max_concurrent <= 1 and address is None:
        results = []
        for index, task in enumerate(tasks):
            if on_start:
                on_start(index)
            result = function(task)
            if on_result:
                on_result(index, result)
            results.append(result)
        return results
    results_by_index = dict(_ray_results(function, tasks, max_concurrent, address, cpus_per_task,
                                         on_result, on_start))
    return [results_by_index[i] for i in range(len(tasks))]


def _ray_results(function, tasks, max_concurrent, address, cpus_per_task, on_result,
                 on_start) -> Iterator[tuple[int, Any]]:
    ray = _start_ray(address)
    try:
        remote = ray.remote(num_cpus=cpus_per_task, max_retries=0,
                            runtime_env={"env_vars": thread_env(cpus_per_task)})(function)
        pending: dict[Any, int] = {}
        queue = list(enumerate(tasks))
        while queue or pending:
            while queue and len(pending) < max(1, max_concurrent):
                index, task = queue.pop(0)
                if on_start:
                    on_start(index)
                pending[remote.remote(task)] = index
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                index = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                if on_result:
                    on_result(index, result)
                yield index, result
    finally:
        for ref in list(locals().get("pending", {})):  # after an error or Ctrl-C
            ray.cancel(ref, force=True)


def _start_ray(address: str | None) -> Any:
    """Ray, started once per process (a run's folds reuse it) and stopped at exit; a Ray
    the caller started already (a notebook) is used as it is."""
    try:
        import ray
    except ImportError:
        raise ParallelError(
            "parallel work needs Ray: pip install 'tradenn[sweep]' (or ray[default])"
        ) from None
    if ray.is_initialized():
        return ray
    kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False,
                              "include_dashboard": False, "logging_level": "ERROR"}
    if address is None:
        kwargs["num_cpus"] = os.cpu_count() or 1  # a local Ray gets the machine's cores
    else:
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise ParallelError(f"cannot start {where}: {str(exc).splitlines()[0]}") from None
    atexit.register(ray.shutdown)
    return ray
