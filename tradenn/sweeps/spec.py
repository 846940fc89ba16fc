"""A sweep file: a base config, a grid of key paths, fixed overrides → validated trials.

Example (``configs/sweeps/demo.yaml``)::

    name: detectors
    base: configs/spy.yaml
    grid:
      data.source: [SPY, QQQ]
      regime.detectors.0.kind: [volatility, trend]
    overrides: {train.seeds: [0]}

Every combination of the grid's values is a trial. A trial's id is derived from its grid
values alone (readable values, then a hash of the canonical JSON), so the same spec gives
the same ids on every machine and a resumed sweep finds its trials again. Setting a
section's ``kind`` to another kind (``regime.detectors.0.kind: hmm``) replaces that section
by the new kind's defaults, since the old kind's keys mean nothing to it. Every trial's
config is validated before anything trains: a bad key path or value is one `ConfigError`
naming the trial and the key.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradenn.config import (
    ExperimentConfig,
    format_validation_error,
    read_config_file,
    set_key_path,
    validate_config,
)
from tradenn.errors import ConfigError


class SweepSpec(BaseModel):
    """The sweep file's fields; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    base: str  # a config file, relative to the working directory or to the spec
    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]
    overrides: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Trial:
    """One combination of the grid: its id, its overrides and its validated config."""

    id: str
    grid_values: dict[str, Any]  # key path -> value, from the grid only
    overrides: dict[str, Any]  # fixed overrides and grid values, applied in that order
    config: ExperimentConfig


def trial_id(grid_values: dict[str, Any]) -> str:
    """``SPY-hmm-tanh-3f2a1c``: the values, readable, then a hash that makes it unique."""
    canonical = json.dumps(grid_values, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:6]
    # Each value as at most its last 12 letters, digits and dots (a path keeps its name).
    words = [re.sub(r"[^A-Za-z0-9.]+", ".", v if isinstance(v, str) else json.dumps(v))
             .strip(".")[-12:].strip(".") for v in grid_values.values()]
    return "-".join([w for w in words if w] + [digest])


def load_sweep_spec(path: str | os.PathLike[str]) -> tuple[SweepSpec, list[Trial]]:
    """Read and validate a sweep file and every trial it makes.

    Raises:
        ConfigError: the file is not a valid spec, its base config is missing, or a trial's
            config does not validate (the message names the trial and the key path).
    """
    path = Path(path)
    raw = read_config_file(path)
    try:
        spec = SweepSpec.model_validate(_plain(raw))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc, raw)}") from None
    base_path = resolve_base(spec.base, path)
    base = read_config_file(base_path)
    trials = [
        _trial(base, base_path, spec, dict(zip(spec.grid, values, strict=True)))
        for values in itertools.product(*spec.grid.values())
    ]
    ids = [t.id for t in trials]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: grid values repeat, giving the same trial twice")
    return spec, trials


def _plain(value: Any) -> Any:
    """YAML's dates as ISO strings, so trials, ids and the sweep's JSON record agree (the
    config validates the strings back into dates)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def resolve_base(base: str, spec_path: Path) -> Path:
    """The base config: as given if it exists (from the working directory), else beside
    the spec file."""
    candidate = Path(base)
    if candidate.is_absolute() or candidate.is_file():
        return candidate
    beside = spec_path.parent / base
    if beside.is_file():
        return beside
    raise ConfigError(f"{spec_path}: base config {base!r} not found (looked in the working "
                      f"directory and beside the spec)")


def _trial(base: dict[str, Any], base_path: Path, spec: SweepSpec,
           grid_values: dict[str, Any]) -> Trial:
    overrides = {**spec.overrides, **grid_values}
    raw = copy.deepcopy(base)
    tid = trial_id(grid_values)
    try:
        for key, value in overrides.items():
            _set(raw, key, value)
        config = validate_config(raw, source=f"trial {tid} ({base_path})")
    except ConfigError as exc:
        raise ConfigError(f"sweep {spec.name}: {exc}") from None
    # The trial's run is named after the trial, so its directory reads the same.
    return Trial(tid, grid_values, overrides, config.model_copy(update={"name": spec.name}))


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    section, _, last = key.rpartition(".")
    current = _get(raw, section) if last == "kind" and section else None
    if isinstance(current, dict) and current.get("kind") != value:
        set_key_path(raw, section, {"kind": value})  # another kind: its own defaults
    else:
        set_key_path(raw, key, value)


def _get(raw: dict[str, Any], key: str) -> Any:
    """The value at a key path, or None where the path does not exist."""
    node: Any = raw
    for part in key.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
