"""The detector registry and the builders that turn config sections into detectors."""

from __future__ import annotations

import re
from typing import Any, get_args

from pydantic import BaseModel

from tradenn.config import DETECTOR_CONFIGS, RegimeConfig
from tradenn.errors import ConfigError, RunError
from tradenn.regimes.base import RegimeDetector
from tradenn.regimes.changepoint import ChangepointRegime
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
    "changepoint": ChangepointRegime,
}
BUILTIN_KINDS: frozenset[str] = frozenset(REGIMES)


def register_detector(
    kind: str, cls: type[RegimeDetector], config_model: type[BaseModel], *, replace: bool = False
) -> type[RegimeDetector]:
    """Add a detector of your own, usable as ``regime.detectors: [{kind: <kind>, ...}]``.

    Args:
        kind: the name configs use; lowercase, not a built-in kind.
        cls: a `RegimeDetector` subclass (``cls.kind`` and ``cls.config_class`` are set to
            ``kind`` and ``config_model`` if it does not set them).
        config_model: the pydantic model of its config section, with
            ``kind: Literal["<kind>"] = "<kind>"`` and a ``prefix`` for its column names
            (subclass `tradenn.config.Strict` so unknown keys are errors).
        replace: allow registering ``kind`` again (re-running a notebook cell); a built-in
            kind is never replaced.

    Returns:
        ``cls``.

    Raises:
        ConfigError: a built-in or already registered kind, a class that is not a
            `RegimeDetector`, or a config model without the ``kind`` literal or ``prefix``.

    Check the detector with `tradenn.regimes.check_causal` (training does, and refuses a
    detector that reads the future).
    """
    what = f"register_detector({kind!r})"
    if not isinstance(kind, str) or not re.match(r"^[a-z][a-z0-9_]*$", kind):
        raise ConfigError(f"{what}: expected a lowercase identifier as the kind")
    if kind in BUILTIN_KINDS:
        raise ConfigError(f"{what}: {kind!r} is a built-in detector; choose another kind")
    if kind in REGIMES and not replace:
        raise ConfigError(f"{what}: a detector {kind!r} is already registered; choose another "
                          "kind, or pass replace=True to redefine it")
    if not (isinstance(cls, type) and issubclass(cls, RegimeDetector)):
        raise ConfigError(f"{what}: expected a RegimeDetector subclass, got {cls!r}")
    if not (isinstance(config_model, type) and issubclass(config_model, BaseModel)):
        raise ConfigError(f"{what}: expected a pydantic model of the config, got {config_model!r}")
    fields = config_model.model_fields
    if "kind" not in fields or get_args(fields["kind"].annotation) != (kind,) or (
        fields["kind"].default != kind
    ):
        raise ConfigError(f'{what}: the config model needs kind: Literal["{kind}"] = "{kind}"')
    if "prefix" not in fields or not isinstance(fields["prefix"].default, str):
        raise ConfigError(f"{what}: the config model needs a prefix field with a default "
                          "(its column names start with it)")
    for attribute, value in (("kind", kind), ("config_class", config_model)):
        current = cls.__dict__.get(attribute)
        if current is not None and current != value:
            raise ConfigError(f"{what}: {cls.__name__}.{attribute} is {current!r}, not {value!r}")
        setattr(cls, attribute, value)
    REGIMES[kind] = cls
    DETECTOR_CONFIGS[kind] = config_model
    return cls


def unregister_detector(kind: str) -> None:
    """Remove a detector added by `register_detector` (built-ins cannot be removed)."""
    if kind in BUILTIN_KINDS:
        raise ConfigError(f"unregister_detector: {kind!r} is a built-in detector")
    REGIMES.pop(kind, None)
    DETECTOR_CONFIGS.pop(kind, None)


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
