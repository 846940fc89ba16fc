"""Sweeps: a grid of config overrides, each combination an ordinary run, judged together.

`spec` turns a sweep file into validated trials with stable ids; `runner` trains and
backtests them (serially or as Ray tasks through `tradenn.parallel`); `verdict` ranks them
and corrects for the number of trials (Deflated Sharpe Ratio, probability of backtest
overfitting).
"""

from tradenn.sweeps.spec import SweepSpec, Trial, load_sweep_spec

__all__ = ["SweepSpec", "Trial", "load_sweep_spec"]
