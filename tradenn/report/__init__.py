"""The research report: backtest a run, write ``backtest.json`` and a self-contained HTML page.

``backtest_run(run_dir)`` backtests a finished run's regime model, its ablations and
buy-and-hold; ``compare_runs(run_dirs, out)`` puts several runs side by side. Pure numpy,
pandas and matplotlib: nothing here imports TensorFlow.
"""

from __future__ import annotations

from tradenn.report.analysis import BootstrapSettings, RunAnalysis, analyze_predictions
from tradenn.report.build import BacktestSummary, backtest_run
from tradenn.report.compare import compare_runs

__all__ = [
    "BacktestSummary",
    "BootstrapSettings",
    "RunAnalysis",
    "analyze_predictions",
    "backtest_run",
    "compare_runs",
]
