"""Market regimes that never see the future: fit on a training window, transform causally.

Every detector maps bars to named regime columns whose row t depends on bars dated <= t
only; whatever it learns in ``fit`` comes from the training window it was given. A
composite puts several detectors side by side as one regime vector for the model.

Example:
    >>> from tradenn.config import RegimeConfig
    >>> regime = build_regime(RegimeConfig())          # realized-volatility regime
    >>> frame = regime.fit(train_bars).transform(bars)
    >>> frame[regime.model_columns]                    # the model's regime input

The ``tradenn regimes`` command's analysis and figure live in `tradenn.regimes.analysis`
and `tradenn.regimes.plot`; they are not imported here, so fitting a regime never loads
matplotlib.
"""

from __future__ import annotations

from tradenn.regimes.base import NotFittedError, RegimeDetector
from tradenn.regimes.causality import LookAhead, LookAheadError, check_causal
from tradenn.regimes.changepoint import ChangepointRegime
from tradenn.regimes.composite import CompositeRegime
from tradenn.regimes.hmm import HmmRegime
from tradenn.regimes.markov import MarkovRegime
from tradenn.regimes.registry import (
    REGIMES,
    build_detector,
    build_regime,
    regime_from_dict,
    register_detector,
    unregister_detector,
)
from tradenn.regimes.summary import regime_table, tercile_states
from tradenn.regimes.trend import TrendRegime
from tradenn.regimes.vix import VixRegime
from tradenn.regimes.volatility import VolatilityRegime

__all__ = [
    "REGIMES",
    "ChangepointRegime",
    "CompositeRegime",
    "HmmRegime",
    "LookAhead",
    "LookAheadError",
    "MarkovRegime",
    "NotFittedError",
    "RegimeDetector",
    "TrendRegime",
    "VixRegime",
    "VolatilityRegime",
    "build_detector",
    "build_regime",
    "check_causal",
    "regime_from_dict",
    "register_detector",
    "regime_table",
    "tercile_states",
    "unregister_detector",
]
