"""Performance statistics: pure functions over numpy / pandas (no TensorFlow).

Returns are simple (not log) per-period returns; NaN returns are ignored. Annualization
uses ``periods`` when given, else `periods_per_year` of the returns' index (252 for daily
stock bars). The Sharpe and Sortino ratios, PSR, DSR and the bootstrap Sharpe intervals
take ``risk_free``, an annual constant rate (default 0) compounded down to one period.
Each formula names its source; the ones shared with empyrical follow its conventions (sample
std with ddof=1, equity starting at 1 for drawdowns) so the two can be checked against each
other.

Modules: `core` (annualization, risk-free rate), `performance` (one series' statistics),
`inference` (PSR, DSR, PBO), `bootstrap` (block-bootstrap intervals), `summary` (every
statistic at once, by regime, rolling). Every public name is importable from here.
"""

from tradenn.stats.bootstrap import (
    BootstrapMethod,
    ConfidenceInterval,
    bootstrap_indices,
    bootstrap_sharpe_ci,
    bootstrap_sharpe_difference_ci,
    default_block_length,
    politis_white_block_length,
)
from tradenn.stats.core import Frame, per_period_risk_free, periods_per_year
from tradenn.stats.inference import (
    EULER_GAMMA,
    BacktestOverfitting,
    deflated_sharpe_ratio,
    deflated_sharpe_ratios,
    expected_maximum_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)
from tradenn.stats.performance import (
    annual_turnover,
    annual_volatility,
    beta_alpha,
    cagr,
    calmar_ratio,
    drawdown,
    exposure,
    held_exposure,
    hit_rate,
    information_coefficient,
    max_drawdown,
    max_drawdown_duration,
    number_of_trades,
    sharpe_ratio,
    sortino_ratio,
    time_in_market,
    total_return,
)
from tradenn.stats.summary import performance_summary, rolling_sharpe, stats_by_regime

__all__ = [
    "EULER_GAMMA",
    "BacktestOverfitting",
    "BootstrapMethod",
    "ConfidenceInterval",
    "Frame",
    "annual_turnover",
    "annual_volatility",
    "beta_alpha",
    "bootstrap_indices",
    "bootstrap_sharpe_ci",
    "bootstrap_sharpe_difference_ci",
    "cagr",
    "calmar_ratio",
    "default_block_length",
    "deflated_sharpe_ratio",
    "deflated_sharpe_ratios",
    "drawdown",
    "expected_maximum_sharpe",
    "exposure",
    "held_exposure",
    "hit_rate",
    "information_coefficient",
    "max_drawdown",
    "max_drawdown_duration",
    "number_of_trades",
    "per_period_risk_free",
    "performance_summary",
    "periods_per_year",
    "politis_white_block_length",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "rolling_sharpe",
    "sharpe_ratio",
    "sortino_ratio",
    "stats_by_regime",
    "time_in_market",
    "total_return",
]
