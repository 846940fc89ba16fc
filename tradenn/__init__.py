"""tradenn: regime-conditioned neural activations for time-series trading research.

The public API is re-exported here lazily: ``import tradenn`` is instant and does not load
TensorFlow; ``tradenn.RegimeLSTM`` imports the layers (and TensorFlow) on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "TradennError": "tradenn.errors",
    "DataError": "tradenn.errors",
    "ConfigError": "tradenn.errors",
    "RunError": "tradenn.errors",
    "load_bars": "tradenn.data",
    "check_bars_file": "tradenn.data",
    "fetch_yfinance": "tradenn.data",
    "ExperimentConfig": "tradenn.config",
    "load_config": "tradenn.config",
    "make_features": "tradenn.features",
    "make_target": "tradenn.features",
    "REGIMES": "tradenn.regimes",
    "build_regime": "tradenn.regimes",
    "ACTIVATIONS": "tradenn.activations",
    "register_activation": "tradenn.activations",
    "check_activation": "tradenn.activations",
    "register_detector": "tradenn.regimes",
    "check_causal": "tradenn.regimes",
    "RegimeActivation": "tradenn.layers",
    "RegimeLSTM": "tradenn.layers",
    "build_model": "tradenn.models",
    "SharpeLoss": "tradenn.losses",
    "predict_theta": "tradenn.models",
    "Experiment": "tradenn.experiment",
    "train_run": "tradenn.experiment",
    "resume_run": "tradenn.experiment",
    "Run": "tradenn.runs",
    "open_run": "tradenn.runs",
    "open_complete_run": "tradenn.runs",
    "load_model": "tradenn.loading",
    "positions_from_predictions": "tradenn.backtest",
    "run_backtest": "tradenn.backtest",
    "backtest_run": "tradenn.report",
    "compare_runs": "tradenn.report",
    "predict_next": "tradenn.predicting",
    "predict_assets": "tradenn.predicting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tradenn' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # cache: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
