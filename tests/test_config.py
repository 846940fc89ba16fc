"""Experiment configs: every mistake is a ConfigError that names its key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tradenn.config import ExperimentConfig, apply_override, load_config
from tradenn.errors import ConfigError

CONFIGS = sorted(Path("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_configs_validate(path):
    config = load_config(path)
    assert config.name


def test_resolved_config_round_trips(tmp_path):
    config = load_config("configs/spy.yaml")
    (tmp_path / "c.yaml").write_text(config.to_yaml())
    assert load_config(tmp_path / "c.yaml") == config


def write(tmp_path, data) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        ({"modle": {}}, r"modle: unknown key"),
        ({"model": {"unitz": [3]}}, r"model.unitz: unknown key"),
        ({"features": {"window": 0}}, r"features.window: Input should be greater than 0 \(got 0\)"),
        ({"features": {"window": "ten"}}, r"features.window: Input should be a valid integer"),
        ({"data": {"start": "2020-01-01", "end": "2019-01-01"}}, r"data: start 2020-01-01 must be before end 2019-01-01"),
        ({"model": {"activation": "relu6"}}, r"model.activation: unknown activation family; expected one of \['elu', .*\(got 'relu6'\)"),
        ({"regime": {"detectors": [{"kind": "astrology"}]}}, r"regime.detectors.0: unknown detector kind 'astrology'"),
        ({"train": {"seeds": []}}, r"train.seeds: List should have at least 1 item"),
        ({"walk_forward": {"ablations": ["no_brain"]}}, r"walk_forward.ablations.0: Input should be"),
    ],
)
def test_errors_name_the_key_path(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write(tmp_path, data))
    assert "\n" not in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML at line \\d"):
        load_config(write(tmp_path, "name: x\nmodel: [unclosed\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_overrides_are_parsed_as_yaml_and_validated():
    config = load_config(
        "configs/spy.yaml",
        ["train.epochs=3", "train.seeds=[1, 2]", "model.mapping.kind=fixed", "data.end=2010-01-01"],
    )
    assert config.train.epochs == 3 and config.train.seeds == [1, 2]
    assert config.model.mapping.kind == "fixed"
    assert str(config.data.end) == "2010-01-01"
    with pytest.raises(ConfigError, match="train.epochs: Input should be greater than 0"):
        load_config("configs/spy.yaml", ["train.epochs=-1"])
    with pytest.raises(ConfigError, match="train.epocs: unknown key"):
        load_config("configs/spy.yaml", ["train.epocs=3"])
    with pytest.raises(ConfigError, match="not of the form key.path=value"):
        load_config("configs/spy.yaml", ["train.epochs"])


def test_override_into_a_list_by_index():
    raw = {"regime": {"detectors": [{"kind": "volatility", "window": 21}]}}
    apply_override(raw, "regime.detectors.0.window=10")
    assert raw["regime"]["detectors"][0]["window"] == 10
    with pytest.raises(ConfigError, match="expected an index below 1"):
        apply_override(raw, "regime.detectors.3.window=10")


def test_defaults_are_a_valid_experiment():
    config = ExperimentConfig()
    assert config.walk_forward.ablations == ["no_regime", "shuffled_regime"]
