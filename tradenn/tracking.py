"""Optional MLflow logging of runs and sweeps: the one module that imports MLflow.

A run logs its flattened config as parameters, the backtest's statistics per strategy as
metrics (``regime.sharpe``, ``no_regime.max_drawdown``...) and ``report.html`` as an
artifact; a sweep logs one MLflow run per trial (nested under one for the sweep, which
carries the sweep's DSR and PBO). The default store is a local ``./mlruns`` file store:
MLflow 3 keeps that backend in maintenance mode and refuses it unless
``MLFLOW_ALLOW_FILE_STORE`` is set, so tradenn sets it for a ``file:`` (or plain path) URI
the user chose. Give ``sqlite:///mlflow.db`` or a server URI to use those instead.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from tradenn.errors import TradennError
from tradenn.files import read_json

DEFAULT_URI = "./mlruns"
EXPERIMENT = "tradenn"


class TrackingError(TradennError):
    """MLflow is missing or its store cannot be written."""


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """``{"train": {"epochs": 5}}`` → ``{"train.epochs": "5"}`` (lists by index)."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        items = enumerate(data)
    else:
        return {prefix: str(data)}
    out: dict[str, str] = {}
    for key, value in items:
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _mlflow(uri: str) -> Any:
    try:
        import mlflow
    except ImportError:
        raise TrackingError("--mlflow needs MLflow: pip install 'tradenn[mlflow]'") from None
    if "://" not in uri or uri.startswith("file:"):
        if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in ("true", "1", "false", "0"):
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # unless the user said otherwise
        if "://" not in uri:
            uri = Path(uri).resolve().as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(EXPERIMENT)
    return mlflow


def _metrics(run_dir: Path) -> dict[str, float]:
    backtest = read_json(run_dir / "backtest.json")
    metrics = {}
    for strategy, values in backtest["strategies"].items():
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool) \
                    and math.isfinite(value):
                metrics[f"{strategy}.{key}"] = float(value)
    return metrics


def log_run(run_dir: str | os.PathLike[str], uri: str = DEFAULT_URI, *,
            nested: bool = False) -> str:
    """Log a backtested run directory to MLflow; returns the MLflow run id."""
    import yaml

    run_dir = Path(run_dir)
    mlflow = _mlflow(uri)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    params = flatten(config)
    try:
        with mlflow.start_run(run_name=run_dir.name, nested=nested) as active:
            # MLflow caps a parameter value at 6,000 characters; configs stay far below.
            mlflow.log_params({k: v[:6000] for k, v in params.items()})
            mlflow.log_metrics(_metrics(run_dir))
            mlflow.set_tag("tradenn.run_dir", str(run_dir.resolve()))
            mlflow.log_artifact(str(run_dir / "report.html"))
            return str(active.info.run_id)
    except OSError as exc:
        raise TrackingError(f"MLflow store {uri}: {exc}") from None


def log_sweep(sweep_dir: str | os.PathLike[str], summary: dict[str, Any],
              uri: str = DEFAULT_URI) -> str:
    """Log a sweep: one parent MLflow run with the verdict, one nested run per trial."""
    sweep_dir = Path(sweep_dir)
    mlflow = _mlflow(uri)
    manifest = read_json(sweep_dir / "sweep.json")
    with mlflow.start_run(run_name=sweep_dir.name) as parent:
        mlflow.log_params({"sweep.grid": str(manifest.get("grid")),
                           "sweep.trials": str(summary["trials"])})
        mlflow.log_metrics({k: float(summary[k]) for k in ("dsr_best", "pbo")
                            if summary.get(k) is not None})
        mlflow.log_artifact(str(sweep_dir / "report.html"))
        for record in manifest["trials"]:
            trial_dir = sweep_dir / "trials" / record["id"]
            if record["status"] == "complete":
                log_run(trial_dir, uri, nested=True)
        return str(parent.info.run_id)
