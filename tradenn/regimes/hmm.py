"""Hidden Markov regime: a Gaussian HMM fitted on the training window, filtered forward."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from tradenn.config import HmmRegimeConfig
from tradenn.errors import DataError
from tradenn.regimes.base import log_returns, require_rows
from tradenn.regimes.switching import SwitchingRegime
from tradenn.scaling import Standardizer

# Fewer training rows than this per state cannot pin down a covariance and a transition row.
_MIN_ROWS_PER_STATE = 50

# Keys of the fitted state that are parameters; the rest describe the fit.
_PARAMETERS = ("scaler", "means", "covars", "transmat", "startprob", "state_volatility")


class HmmRegime(SwitchingRegime):
    """A Gaussian hidden Markov model of daily returns (and log realized volatility).

    ``fit`` standardizes the observations with the training window's mean and standard
    deviation (hmmlearn floors every variance at ``min_covar`` = 1e-3, which would swamp
    raw daily returns of variance ~1e-4), fits ``hmmlearn.hmm.GaussianHMM`` with
    ``random_state=seed`` (so a refit on the same data is identical), and renumbers the
    states by the variance of returns, lowest first: state 0 is the calmest on every refit.

    ``transform`` runs the forward filter with the fitted parameters, starting from the
    chain's stationary distribution at the first bar with an observation, so the
    probabilities at t use observations dated <= t only. hmmlearn's ``predict_proba`` and
    ``predict`` are not used: they smooth over the whole sequence and would leak the future.

    Columns (prefix ``hmm`` by default): ``hmm_p0`` .. ``hmm_p{K-1}`` the filtered state
    probabilities (they sum to 1), and ``hmm_state`` their argmax.

    Example:
        >>> regime = HmmRegime(n_states=2, seed=0).fit(train_bars)
        >>> regime.transform(bars)[["hmm_p1", "hmm_state"]].loc["2008-10"]
    """

    kind = "hmm"
    config_class = HmmRegimeConfig

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.scaler: Standardizer | None = None
        self.means: np.ndarray | None = None
        self.covars: np.ndarray | None = None
        self.transmat: np.ndarray | None = None
        self.startprob: np.ndarray | None = None
        self.fit_info: dict[str, Any] = {}

    def state_volatility(self) -> list[float]:
        """Each state's annualized volatility of daily log returns (empty before fit)."""
        if self.covars is None or self.scaler is None:
            return []
        return_std = self.scaler.std_of("return")
        return [float(np.sqrt(c[0, 0] * self.bars_per_year) * return_std) for c in self.covars]

    @property
    def warmup(self) -> int:
        return self.config.vol_window if self.config.use_volatility else 1

    def observations(self, bars: pd.DataFrame) -> pd.DataFrame:
        """The HMM's raw observations: log return and, if used, log realized volatility."""
        returns = log_returns(bars)
        columns = {"return": returns}
        if self.config.use_volatility:
            columns["log_vol"] = np.log(returns.rolling(self.config.vol_window).std())
        return pd.DataFrame(columns, index=bars.index)

    def _fit(self, bars: pd.DataFrame) -> None:
        from hmmlearn.hmm import GaussianHMM
        from threadpoolctl import threadpool_limits

        cfg = self.config
        observed = self.observations(bars)
        require_rows(observed, _MIN_ROWS_PER_STATE * cfg.n_states, f"{self.kind} regime fit")
        train = observed.dropna()
        self.scaler = Standardizer.fit(train)
        values = self.scaler.transform(train).to_numpy()
        model = GaussianHMM(
            n_components=cfg.n_states,
            covariance_type=cfg.covariance_type,
            n_iter=cfg.n_iter,
            random_state=cfg.seed,
        )
        hmm_logger = logging.getLogger("hmmlearn")
        previous_level = hmm_logger.level
        # hmmlearn logs "not converging" at every wobble; convergence is recorded below.
        hmm_logger.setLevel(logging.ERROR)
        try:
            # hmmlearn starts from scikit-learn's k-means, whose OpenMP threads spin and
            # stall (0.1 s becomes 2 s) when other processes share the cores; one thread
            # is fast at this size.
            with threadpool_limits(limits=1):
                model.fit(values)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise DataError(
                f"{self.kind} regime fit: hmmlearn could not fit {cfg.n_states} states to "
                f"{len(values)} training bars ({exc}); try fewer n_states"
            ) from exc
        finally:
            hmm_logger.setLevel(previous_level)
        order = np.argsort(model.covars_[:, 0, 0], kind="stable")
        self.means = model.means_[order]
        self.covars = model.covars_[order]
        self.transmat = model.transmat_[np.ix_(order, order)]
        self.startprob = model.startprob_[order]
        self.fit_info = {
            "log_likelihood": float(model.score(values)),
            "converged": bool(model.monitor_.converged),
            "iterations": int(model.monitor_.iter),
            "train_rows": len(values),
            "train_first": str(train.index[0].date()),
            "train_last": str(train.index[-1].date()),
        }

    def _transform(self, bars: pd.DataFrame) -> pd.DataFrame:
        assert self.scaler is not None and self.transmat is not None
        observed = self.scaler.transform(self.observations(bars)).to_numpy()
        return self._filtered_frame(bars.index, observed, self.means, self.covars)

    def _fitted_state(self) -> dict[str, Any]:
        assert self.scaler is not None and self.transmat is not None
        return {
            "scaler": self.scaler.to_dict(),
            "means": self.means.tolist(),
            "covars": self.covars.tolist(),
            "transmat": self.transmat.tolist(),
            "startprob": self.startprob.tolist(),
            "state_volatility": self.state_volatility(),
            **self.fit_info,
        }

    def _load_fitted_state(self, state: dict[str, Any]) -> None:
        self.scaler = Standardizer.from_dict(state["scaler"])
        self.means = np.asarray(state["means"], dtype="float64")
        self.covars = np.asarray(state["covars"], dtype="float64")
        self.transmat = np.asarray(state["transmat"], dtype="float64")
        self.startprob = np.asarray(state["startprob"], dtype="float64")
        self.fit_info = {k: v for k, v in state.items() if k not in _PARAMETERS}
