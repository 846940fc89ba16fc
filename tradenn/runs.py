"""The run directory: where a training run writes, and how later commands read it back.

Layout of ``runs/<name>-<YYYYmmdd-HHMMSS>/``::

    manifest.json     status (running / complete / failed), per-fold status, data hash,
                      versions, seeds, fold boundaries; written first and last
    config.yaml       the resolved config, every default written out
    predictions.csv   date, fold, close, target, prediction, prediction_<variant>,
                      prediction[_<variant>]_seed<k>, theta_<layer>, regime_<column>, state
    history.csv       fold, variant, seed, epoch, loss, val_loss
    metrics.json      prediction metrics per variant
    model.keras       the main variant's model of the last fold (first seed)
    folds/            per-fold partial results, so an interrupted run can resume

Every file is written to a temporary name and renamed into place, so a reader sees either
the old file or the new one, never half of one. A run counts as finished only when its
manifest says ``complete``; the manifest is the last file written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tradenn.config import ExperimentConfig, load_config
from tradenn.errors import RunError
from tradenn.files import write_csv_atomic, write_json_atomic, write_text_atomic

__all__ = [  # the writers are re-exported: runs are where most files are written
    "COMPLETE", "FAILED", "INTERRUPTED", "MAIN_VARIANT", "MANIFEST", "RUNNING", "Run",
    "open_complete_run", "prediction_column",
    "write_csv_atomic", "write_json_atomic", "write_text_atomic",
]

MANIFEST = "manifest.json"
RUNNING, COMPLETE, FAILED, INTERRUPTED = "running", "complete", "failed", "interrupted"
MAIN_VARIANT = "regime"  # the regime model; its ablations are named after what they remove


def prediction_column(variant: str, seed: int | None = None) -> str:
    """``prediction``, ``prediction_no_regime``, ``prediction_seed3``, ..."""
    name = "prediction" if variant == MAIN_VARIANT else f"prediction_{variant}"
    return name if seed is None else f"{name}_seed{seed}"


@dataclass
class Run:
    """A run directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @classmethod
    def create(cls, root: str | os.PathLike[str], name: str, **manifest: Any) -> Run:
        """Make ``root/<name>-<timestamp>`` with a ``running`` manifest."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path(root) / f"{name}-{stamp}"
        suffix = 1
        while path.exists():  # two runs in the same second
            suffix += 1
            path = Path(root) / f"{name}-{stamp}-{suffix}"
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise RunError(f"cannot create run directory {path}: {exc.strerror}") from exc
        run = cls(path=path, manifest={"name": name, "status": RUNNING, **manifest})
        run.manifest["created"] = dt.datetime.now().isoformat(timespec="seconds")
        run.save_manifest()
        return run

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Run:
        """Read a run directory's manifest; any status."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise RunError(f"run directory {path} not found")
        if not manifest_path.is_file():
            raise RunError(f"{path} is not a tradenn run (no {MANIFEST})")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise RunError(f"{manifest_path} is not valid JSON: {exc.msg}") from exc
        return cls(path=path, manifest=manifest)

    @property
    def status(self) -> str:
        return str(self.manifest.get("status"))

    def require_complete(self) -> Run:
        """Raise `RunError` unless training finished; say how to finish it otherwise."""
        if self.status != COMPLETE:
            resumable = self.status in (RUNNING, FAILED, INTERRUPTED)
            hint = f"; resume it with: tradenn train --resume {self.path}" if resumable else ""
            raise RunError(f"run {self.path} is not complete (status: {self.status}){hint}")
        return self

    def save_manifest(self) -> None:
        self.manifest["updated"] = dt.datetime.now().isoformat(timespec="seconds")
        write_json_atomic(self.path / MANIFEST, self.manifest)

    def mark(self, status: str, **fields: Any) -> None:
        """Set the run's status (and any other manifest fields) and save."""
        self.manifest.update(status=status, **fields)
        self.save_manifest()

    # ----- reading results back

    def config(self) -> ExperimentConfig:
        return load_config(self.path / "config.yaml")

    def predictions(self) -> pd.DataFrame:
        """``predictions.csv`` indexed by date."""
        path = self.path / "predictions.csv"
        if not path.is_file():
            raise RunError(f"{path} not found")
        return pd.read_csv(path, index_col="date", parse_dates=["date"])

    def file(self, name: str) -> Path:
        """Path of a file in the run, which must exist."""
        path = self.path / name
        if not path.exists():
            raise RunError(f"{path} not found")
        return path


def open_complete_run(path: str | os.PathLike[str]) -> Run:
    """A finished run, or a `RunError` saying why it cannot be used."""
    return Run.open(path).require_complete()
