"""Changepoint regime: Bayesian online changepoint detection on daily log returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import ChangepointRegimeConfig
from tradenn.regimes.base import RegimeDetector, log_returns, require_rows
from tradenn.regimes.bocpd import NormalInverseGamma, changepoint_summaries
from tradenn.scaling import Standardizer

# Fewer training returns than this cannot pin down their scale (the standard error of a
# standard deviation from n draws is about 1 / sqrt(2 n): 7% at 100).
_MIN_TRAIN = 100

# cp_state is 0 ("changing") while P(r_t < recent) is at least this: the posterior median
# run length is then shorter than `recent` bars.
_CHANGING = 0.5

# Keys of the fitted state that are parameters; the rest describe the fit.
_PARAMETERS = ("scaler",)


class ChangepointRegime(RegimeDetector):
    """Adams & MacKay's (2007) Bayesian online changepoint detection of daily log returns.

    Returns are modeled as Gaussian runs of unknown mean and variance separated by
    changepoints that come with a constant hazard (probability per bar); the filter keeps
    the posterior of the current run length r_t (the number of returns since the last
    change) given the returns up to t, with run lengths capped at ``max_run_length``. See
    `tradenn.regimes.bocpd` for the recursion and the truncation.

    ``fit`` learns the mean and standard deviation of the training window's log returns;
    ``transform`` standardizes every return with them, so the Normal-Inverse-Gamma prior
    (``mu0``, ``kappa0``, ``alpha0``, ``beta0``) is in units of the training variance: a
    prior variance far from the returns' (1e-4 for daily stock returns) would make the
    detector fire at every bar or never. The filter then runs forward from the first
    return of the bars it is given; row t uses the returns up to t only. A missing return
    (NaN close) leaves the filter where it was and its row NaN.

    Columns (prefix ``cp`` by default):

    - ``cp_prob``: P(r_t < recent | returns <= t), the posterior probability that the
      current run began within the last ``recent`` bars. The textbook's P(r_t = 0 | x_1..t)
      is no use as a column: with a constant hazard it equals the hazard at every bar,
      whatever the returns, because the changepoint and the growth terms share the same
      evidence. The mass on short runs instead rises within a few bars of a change, once
      the returns after it fit a fresh run better than the old one, and fades as the new
      run ages: a "recent break" indicator on [0, 1].
    - ``cp_run_length``: E[r_t | returns <= t] / max_run_length, in [0, 1]: how long,
      on the posterior's average, the current regime has lasted (a run of
      ``max_run_length`` returns or more counts as that many: 1).
    - ``cp_state``: 0 ("changing") while cp_prob >= 1/2, that is while the posterior median
      run length is shorter than ``recent`` bars; 1 ("stable") otherwise. A fixed
      threshold: nothing is fitted for it.

    The first ``recent`` rows are NaN: with fewer than ``recent`` returns seen, every run
    is shorter than ``recent`` and cp_prob would be 1 by construction.

    Example:
        >>> regime = ChangepointRegime(hazard=1 / 250, recent=21).fit(train_bars)
        >>> regime.transform(bars)[["cp_prob", "cp_run_length"]].loc["2020-02":"2020-04"]
    """

    kind = "changepoint"
    config_class = ChangepointRegimeConfig

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.scaler: Standardizer | None = None
        self.fit_info: dict[str, Any] = {}

    @property
    def prior(self) -> NormalInverseGamma:
        cfg = self.config
        return NormalInverseGamma(cfg.mu0, cfg.kappa0, cfg.alpha0, cfg.beta0)

    @property
    def columns(self) -> list[str]:
        return self.model_columns + [self._name("state")]

    @property
    def model_columns(self) -> list[str]:
        return [self._name("prob"), self._name("run_length")]

    @property
    def state_column(self) -> str | None:
        return self._name("state")

    def state_labels(self) -> dict[int, str]:
        return {0: "changing", 1: "stable"}

    @property
    def warmup(self) -> int:
        # One bar for the first return, then recent - 1 rows with too few returns.
        return self.config.recent

    def _fit(self, bars: pd.DataFrame) -> None:
        returns = log_returns(bars)
        require_rows(returns, _MIN_TRAIN, f"{self.kind} regime fit")
        train = returns.dropna().to_frame("return")
        self.scaler = Standardizer.fit(train)
        self.fit_info = {
            "train_rows": len(train),
            "train_first": str(train.index[0].date()),
            "train_last": str(train.index[-1].date()),
            "train_volatility": self.scaler.std_of("return") * float(np.sqrt(self.bars_per_year)),
        }

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        assert self.scaler is not None
        cfg = self.config
        returns = self.scaler.transform(log_returns(bars).to_frame("return"))["return"]
        values = returns.to_numpy()
        observed = np.isfinite(values)
        prob = np.full(len(values), np.nan)
        run_length = np.full(len(values), np.nan)
        recent_mass, expected = changepoint_summaries(
            values[observed], self.prior, cfg.hazard, cfg.max_run_length, cfg.recent
        )
        prob[observed] = recent_mass
        run_length[observed] = expected / cfg.max_run_length
        too_few = np.cumsum(observed) < cfg.recent
        prob[too_few] = np.nan
        run_length[too_few] = np.nan
        state = np.where(prob >= _CHANGING, 0.0, 1.0)
        return pd.DataFrame(
            {
                self._name("prob"): prob,
                self._name("run_length"): run_length,
                self._name("state"): np.where(np.isnan(prob), np.nan, state),
            },
            index=bars.index,
        )

    def _fitted_state(self) -> dict[str, Any]:
        assert self.scaler is not None
        return {"scaler": self.scaler.to_dict(), **self.fit_info}

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.scaler = Standardizer.from_dict(state["scaler"])
        self.fit_info = {k: v for k, v in state.items() if k not in _PARAMETERS}
