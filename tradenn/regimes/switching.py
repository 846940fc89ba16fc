"""What the two Markov-chain detectors (``hmm``, ``markov``) share: K filtered state
probabilities as model columns, their argmax as the state, labels by volatility."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import pandas as pd

from tradenn.regimes.base import RegimeDetector
from tradenn.regimes.filtering import (
    forward_filter,
    gaussian_log_emission,
    stationary_distribution,
)


class SwitchingRegime(RegimeDetector):
    """A detector whose regime is a hidden Markov chain with Gaussian emissions.

    Subclasses fit ``means``, ``covars`` and ``transmat`` (states numbered by variance,
    lowest first) and say each state's volatility; this class filters forward.
    """

    @property
    def columns(self) -> list[str]:
        return self.model_columns + [self._name("state")]

    @property
    def model_columns(self) -> list[str]:
        return [self._name(f"p{k}") for k in range(self.config.n_states)]

    @property
    def state_column(self) -> str | None:
        return self._name("state")

    def state_labels(self) -> dict[int, str]:
        return {
            k: f"{self.prefix} {k} ({vol:.0%} vol)" for k, vol in enumerate(self.state_volatility())
        }

    @abstractmethod
    def state_volatility(self) -> list[float]:
        """Each state's annualized volatility of daily log returns (empty before fit)."""

    def _filtered_frame(
        self, index: pd.Index, observed: np.ndarray, means: np.ndarray, covars: np.ndarray
    ) -> pd.DataFrame:
        """P(state_t | observations <= t) and its argmax, for observations (n, d).

        The chain starts from its stationary distribution at the first complete
        observation; before it the regime is unknown (NaN).
        """
        valid = ~np.isnan(observed).any(axis=1)
        probs = np.full((len(index), self.config.n_states), np.nan)
        if valid.any():
            start = int(np.argmax(valid))
            log_emission = gaussian_log_emission(observed[start:], means, covars)
            initial = stationary_distribution(self.transmat)
            probs[start:] = forward_filter(log_emission, self.transmat, initial)
        frame = pd.DataFrame(probs, index=index, columns=self.model_columns)
        state = np.argmax(np.nan_to_num(probs, nan=-1.0), axis=1).astype("float64")
        frame[self._name("state")] = np.where(np.isnan(probs[:, 0]), np.nan, state)
        return frame
