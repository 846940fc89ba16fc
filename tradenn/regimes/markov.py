"""Markov-switching regime: statsmodels' regression with switching mean and variance."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import MarkovRegimeConfig
from tradenn.errors import DataError
from tradenn.regimes.base import log_returns, require_rows
from tradenn.regimes.switching import SwitchingRegime

# Returns in percent: statsmodels' optimizer starts from unit-scale values.
_PERCENT = 100.0
_MIN_TRAIN = 100

# Keys of the fitted state that are parameters; the rest describe the fit.
_PARAMETERS = ("means", "variances", "transmat", "state_volatility")


class MarkovRegime(SwitchingRegime):
    """Hamilton's Markov-switching model of daily returns, r_t ~ N(mu_s, sigma2_s).

    ``fit`` estimates ``statsmodels.tsa.regime_switching.markov_regression.MarkovRegression``
    (constant mean and variance both switching) by maximum likelihood on the last
    ``max_train`` bars of the training window (the fit's cost grows with its length), and
    numbers the states by variance, lowest first. ``transform`` runs Hamilton's filter with
    the fitted parameters from the chain's stationary distribution (statsmodels' own
    "steady-state" start), giving P(state_t | returns <= t); the smoothed probabilities of
    statsmodels' results are never used since they condition on the future.

    Columns (prefix ``markov`` by default): ``markov_p0`` .. ``markov_p{K-1}`` the filtered
    probabilities, and ``markov_state`` their argmax.

    Example:
        >>> regime = MarkovRegime(n_states=2).fit(train_bars)
        >>> regime.transform(bars)["markov_p1"].loc["2020-03"].mean()
    """

    kind = "markov"
    config_class = MarkovRegimeConfig

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.means: np.ndarray | None = None  # percent daily log return, by state
        self.variances: np.ndarray | None = None  # percent^2
        self.transmat: np.ndarray | None = None  # transmat[i, j] = P(s_t = j | s_{t-1} = i)
        self.fit_info: dict[str, Any] = {}

    def state_volatility(self) -> list[float]:
        """Each state's annualized volatility of daily log returns (empty before fit)."""
        if self.variances is None:
            return []
        return [float(np.sqrt(v * self.bars_per_year) / _PERCENT) for v in self.variances]

    @property
    def warmup(self) -> int:
        return 1

    def _fit(self, bars: pd.DataFrame) -> None:
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

        cfg = self.config
        returns = log_returns(bars) * _PERCENT
        require_rows(returns, _MIN_TRAIN, f"{self.kind} regime fit")
        train = returns.dropna().iloc[-cfg.max_train :]
        model = MarkovRegression(
            train.to_numpy(), k_regimes=cfg.n_states, trend="c", switching_variance=True
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                result = model.fit(disp=False)
            except (ValueError, np.linalg.LinAlgError) as exc:
                raise DataError(
                    f"{self.kind} regime fit: statsmodels could not fit {cfg.n_states} states "
                    f"to {len(train)} training bars ({exc}); try fewer n_states"
                ) from exc
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if not converged:
            warnings.warn(
                f"{self.kind} regime: the Markov-switching fit on {len(train)} bars to "
                f"{train.index[-1].date()} did not converge; its states may be unreliable",
                stacklevel=3,
            )
        params = np.asarray(result.params, dtype="float64")
        names = list(model.param_names)
        means = np.array([params[names.index(f"const[{k}]")] for k in range(cfg.n_states)])
        variances = np.array([params[names.index(f"sigma2[{k}]")] for k in range(cfg.n_states)])
        # statsmodels' matrix is P[i, j] = P(s_t = i | s_{t-1} = j): transpose to row-stochastic.
        transmat = np.asarray(model.regime_transition_matrix(params))[..., 0].T
        order = np.argsort(variances, kind="stable")
        self.means = means[order]
        self.variances = variances[order]
        self.transmat = transmat[np.ix_(order, order)]
        self.fit_info = {
            "log_likelihood": float(result.llf),
            "converged": converged,
            "train_rows": len(train),
            "train_first": str(train.index[0].date()),
            "train_last": str(train.index[-1].date()),
        }

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        assert self.transmat is not None
        returns = (log_returns(bars) * _PERCENT).to_numpy()[:, None]
        covars = self.variances[:, None, None]
        return self._filtered_frame(bars.index, returns, self.means[:, None], covars)

    def _fitted_state(self) -> dict[str, Any]:
        assert self.transmat is not None
        return {
            "means": self.means.tolist(),
            "variances": self.variances.tolist(),
            "transmat": self.transmat.tolist(),
            "state_volatility": self.state_volatility(),
            **self.fit_info,
        }

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.means = np.asarray(state["means"], dtype="float64")
        self.variances = np.asarray(state["variances"], dtype="float64")
        self.transmat = np.asarray(state["transmat"], dtype="float64")
        self.fit_info = {k: v for k, v in state.items() if k not in _PARAMETERS}
