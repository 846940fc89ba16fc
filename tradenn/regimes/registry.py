"""The detector registry and the builders that turn config sections into detectors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tradenn.config import RegimeConfig
from tradenn.errors import ConfigError, RunError
from tradenn.regimes.base import RegimeDetector
from tradenn.regimes.composite import CompositeRegime
from tradenn.regimes.hmm import HmmRegime
from tradenn.regimes.markov import MarkovRegime
from tradenn.regimes.trend import TrendRegime
from tradenn.regimes.vix import VixRegime
from tradenn.regimes.volatility import VolatilityRegime

REGIMES: dict[str, type[RegimeDetector]] = {
    "volatility": VolatilityRegime,
    "trend": TrendRegime,
    "vix": VixRegime,
    "hmm": HmmRegime,
    "markov": MarkovRegime,
}


def build_detector(config: BaseModel) -> RegimeDetector:
    """One detector from its config section (a member of ``tradenn.config.DetectorConfig``)."""
    kind = getattr(config, "kind", None)
    if kind not in REGIMES:
        raise ConfigError(
            f"regime.detectors: unknown kind {kind!r}; expected one of {sorted(REGIMES)}"
        )
    return REGIMES[kind].from_config(config)


def regime_from_dict(data: Any, *, source: str = "regime") -> CompositeRegime:
    """A fitted regime from `CompositeRegime.to_dict`'s JSON data (as stored in a run).

    Raises:
        RunError: the data is not what tradenn wrote (hand-edited, truncated, another
            version): one message naming ``source`` instead of a KeyError deep inside.
    """
    try:
        if not isinstance(data, dict) or data.get("kind") != CompositeRegime.kind:
            raise ValueError(f"expected a {CompositeRegime.kind!r} regime object")
        for detector in data["detectors"]:
            if detector.get("kind") not in REGIMES:
                raise ValueError(f"unknown detector kind {detector.get('kind')!r}")
        return CompositeRegime.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise RunError(f"{source}: not a fitted regime tradenn wrote ({reason})") from None


def build_regime(config: RegimeConfig) -> CompositeRegime:
    """The (unfitted) regime of an experiment's ``regime:`` section.

    Raises:
        ConfigError: a column in ``regime.columns`` or the ``regime.state`` column does
            not exist, or two detectors produce the same column.
    """
    detectors = [build_detector(c) for c in config.detectors]
    return CompositeRegime(detectors, columns=config.columns, state=config.state)
