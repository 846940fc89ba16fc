"""Run a sweep's trials as ordinary runs, serially or as Ray tasks, and record each outcome.

Layout of ``sweeps/<name>-<YYYYmmdd-HHMMSS>/``::

    spec.yaml       the sweep file, its base pointing at base.yaml beside it
    base.yaml       a copy of the base config (a resumed sweep re-derives its trials from these)
    sweep.json      status, and per trial: id, overrides, status, one-line error, wall time
    trials/<id>/    each trial's run directory, exactly as `tradenn train --backtest` writes
    results.csv     one row per trial (written by `tradenn.sweeps.verdict`)
    report.html     the sweep's verdict

A trial that fails is recorded with its error and does not stop the others. ``--resume``
skips trials whose run is complete and backtested and finishes the rest (an interrupted run
resumes from its completed folds).
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tradenn.errors import RunError, TradennError
from tradenn.files import read_json, write_json_atomic, write_text_atomic
from tradenn.runs import COMPLETE, FAILED, RUNNING, unique_stamped_dir
from tradenn.sweeps.spec import Trial, load_sweep_spec, resolve_base

SWEEP_MANIFEST, SPEC_FILE, BASE_FILE = "sweep.json", "spec.yaml", "base.yaml"


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial (picklable: plain data only)."""

    trial_id: str
    run_dir: str
    config: dict[str, Any]  # the validated config, as JSON data


@dataclass
class SweepRun:
    """A sweep directory and its manifest."""

    path: Path
    manifest: dict[str, Any]
    trials: list[Trial] = field(default_factory=list)

    def save(self) -> None:
        self.manifest["updated"] = dt.datetime.now().isoformat(timespec="seconds")
        write_json_atomic(self.path / SWEEP_MANIFEST, self.manifest)

    def record(self, trial_id: str) -> dict[str, Any]:
        return next(r for r in self.manifest["trials"] if r["id"] == trial_id)


def run_trial(task: TrialTask) -> dict[str, Any]:
    """Train (or resume) and backtest one trial; never raises: failures are returned."""
    from tradenn.config import ExperimentConfig
    from tradenn.experiment import resume_run, train_run
    from tradenn.report import backtest_run
    from tradenn.runs import Run

    started = time.monotonic()
    run_dir = Path(task.run_dir)
    try:
        if (run_dir / "manifest.json").is_file():
            run = Run.open(run_dir)
            if run.status != COMPLETE:
                resume_run(run_dir, quiet=True)
        else:
            train_run(ExperimentConfig.model_validate(task.config), run_dir=run_dir, quiet=True)
        backtest_run(run_dir)
        return {"status": COMPLETE, "error": None, "wall_seconds": time.monotonic() - started}
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a failed trial is recorded; it must not stop the sweep
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not isinstance(exc, TradennError):
            message = f"{type(exc).__name__}: {message} ({_where(exc)})"
        return {"status": FAILED, "error": message, "wall_seconds": time.monotonic() - started}


def _where(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


def is_finished(run_dir: Path) -> bool:
    """A trial whose run is complete and backtested: a resumed sweep skips it."""
    manifest = run_dir / "manifest.json"
    if not manifest.is_file() or not (run_dir / "backtest.json").is_file():
        return False
    return read_json(manifest).get("status") == COMPLETE


def prepare_sweep(spec_path: str | Path | None = None, *, sweeps_dir: str | Path = "sweeps",
                  resume: str | Path | None = None) -> SweepRun:
    """A new sweep directory for ``spec_path``, or the existing one at ``resume``.

    Every trial is validated here, before anything trains.
    """
    if resume is not None:
        path = Path(resume).resolve()
        if not (path / SPEC_FILE).is_file():
            raise RunError(f"{path} is not a tradenn sweep (no {SPEC_FILE})")
        spec, trials = load_sweep_spec(path / SPEC_FILE)
        sweep = SweepRun(path, read_json(path / SWEEP_MANIFEST), trials)
        known = {r["id"] for r in sweep.manifest["trials"]}
        if known != {t.id for t in trials}:
            raise RunError(f"sweep {path}: its spec.yaml no longer gives the trials it ran")
        return sweep
    if spec_path is None:
        raise RunError("expected a sweep spec file or --resume DIR")
    spec, trials = load_sweep_spec(spec_path)
    # Absolute: a trial on another node of a cluster writes to the same shared path.
    path = unique_stamped_dir(Path(sweeps_dir).resolve(), spec.name)
    (path / "trials").mkdir(parents=True)
    # The spec and its base config travel with the sweep, so --resume (on any machine that
    # reaches the directory) does not depend on the working tree.
    shutil.copyfile(resolve_base(spec.base, Path(spec_path)), path / BASE_FILE)
    write_text_atomic(path / SPEC_FILE, yaml.safe_dump(
        {**spec.model_dump(mode="json"), "base": BASE_FILE}, sort_keys=False))
    manifest = {
        "name": spec.name, "status": RUNNING,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "grid": {k: list(v) for k, v in spec.grid.items()},
        "trials": [{"id": t.id, "overrides": t.overrides, "grid": t.grid_values,
                    "status": "pending", "error": None, "wall_seconds": None} for t in trials],
    }
    sweep = SweepRun(path, manifest, trials)
    sweep.save()
    return sweep


def execute_sweep(sweep: SweepRun, *, max_concurrent: int = 1, address: str | None = None,
                  progress: Any = None) -> SweepRun:
    """Run every unfinished trial of ``sweep`` and record outcomes in its manifest."""
    from tradenn.parallel import run_tasks

    todo = []
    for trial in sweep.trials:
        record = sweep.record(trial.id)
        run_dir = sweep.path / "trials" / trial.id
        if is_finished(run_dir):
            record["status"] = COMPLETE
            continue
        todo.append(TrialTask(trial.id, str(run_dir), trial.config.model_dump(mode="json")))
    sweep.manifest["status"] = RUNNING
    sweep.save()
    if progress is not None:
        progress.start(total=len(sweep.trials), done=len(sweep.trials) - len(todo))

    def started(index: int) -> None:
        sweep.record(todo[index].trial_id)["status"] = RUNNING
        sweep.save()
        if progress is not None:
            progress.running(todo[index].trial_id)

    def finished(index: int, outcome: dict[str, Any]) -> None:
        sweep.record(todo[index].trial_id).update(outcome)
        sweep.save()
        if progress is not None:
            progress.finished(todo[index].trial_id, outcome)

    try:
        run_tasks(run_trial, todo, max_concurrent=max_concurrent, address=address,
                  on_start=started, on_result=finished)
    except KeyboardInterrupt:
        sweep.manifest["status"] = "interrupted"
        sweep.save()
        raise RunError(f"interrupted; finished trials are kept. Resume with: tradenn sweep "
                       f"--resume {sweep.path}") from None
    failed = [r["id"] for r in sweep.manifest["trials"] if r["status"] == FAILED]
    sweep.manifest["status"] = COMPLETE
    sweep.manifest["failed"] = failed
    sweep.save()
    return sweep


def run_sweep(spec_path: str | Path | None = None, *, sweeps_dir: str | Path = "sweeps",
              resume: str | Path | None = None, max_concurrent: int = 1,
              address: str | None = None, quiet: bool = False) -> tuple[SweepRun, dict[str, Any]]:
    """Validate, run (or finish) a sweep, then write its verdict.

    Returns the sweep and the verdict's summary (best trial, its DSR, PBO).
    """
    from tradenn.sweeps.progress import SweepProgress
    from tradenn.sweeps.verdict import sweep_verdict

    sweep = prepare_sweep(spec_path, sweeps_dir=sweeps_dir, resume=resume)
    progress = SweepProgress(quiet=quiet)
    try:
        execute_sweep(sweep, max_concurrent=max_concurrent, address=address, progress=progress)
    finally:
        progress.stop()
    return sweep, sweep_verdict(sweep.path)
