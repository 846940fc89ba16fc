"""Property-based fuzzing of what users hand to tradenn: bar files and experiment YAML.

Whatever the mutation, the outcome is either a success or tradenn's own error with a clear
message — never a pandas, csv, yaml or pydantic exception escaping to the user.

Example counts (stated in the README): 300 mutated bar files through ``load_bars``, 60
through ``tradenn data check``, 300 mutated configs through ``load_config``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tradenn.cli import app
from tradenn.config import load_config
from tradenn.data import BUNDLED_DIR, load_bars
from tradenn.errors import ConfigError, DataError

ROOT = Path(__file__).parent.parent
# Real files, cut to their first 80 rows so each example is quick: Yahoo's layout, the
# adjusted layout, an index without volume, and hourly bars with timestamps.
SOURCES = {
    name: "".join((BUNDLED_DIR / name).read_text().splitlines(keepends=True)[:81])
    for name in ("SPY.csv", "adjusted/QQQ.csv", "VIX.csv", "intraday/EURUSD_1h.csv")
}
CELL_VALUES = ["", "lots", "inf", "-inf", "nan", "NaN", "1e400", "-5", "0", " ", "\"", "1,5",
               "2024-01-01", "ñ", "null", "#N/A"]
DELIMITERS = [";", "\t", "|", " ", ",,", ":"]
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated_bar_file(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    lines = SOURCES[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(
            ["truncate", "random_bytes", "cell", "delimiter", "shuffle", "repeat", "drop_header",
             "drop_column", "bom", "blank_lines"]))
        header, rows = lines[:1], lines[1:]
        if kind == "truncate":
            text = "".join(lines)
            lines = [text[: draw(st.integers(0, len(text)))]]
        elif kind == "random_bytes":
            text = "".join(lines).encode()
            at = draw(st.integers(0, len(text)))
            noise = draw(st.binary(min_size=1, max_size=12))
            return name, text[:at] + noise + text[at:]
        elif kind == "cell" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            cells = rows[row].rstrip("\n").split(",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(CELL_VALUES))
            rows[row] = ",".join(cells) + "\n"
            lines = header + rows
        elif kind == "delimiter":
            lines = [line.replace(",", draw(st.sampled_from(DELIMITERS))) for line in lines]
        elif kind == "shuffle" and rows:
            order = draw(st.permutations(range(len(rows))))
            lines = header + [rows[i] for i in order]
        elif kind == "repeat" and rows:
            row = draw(st.integers(0, len(rows) - 1))
            lines = header + rows[: row + 1] + [rows[row]] * draw(st.integers(1, 3)) + rows[row + 1 :]
        elif kind == "drop_header":
            lines = rows
        elif kind == "drop_column":
            column = draw(st.integers(0, 6))
            lines = [",".join(c for i, c in enumerate(line.rstrip("\n").split(",")) if i != column)
                     + "\n" for line in lines]
        elif kind == "bom":
            lines = ["\ufeff" + "".join(lines)]
        elif kind == "blank_lines":
            lines = header + ["\n"] * draw(st.integers(1, 3)) + rows
    return name, "".join(lines).encode()


def check_bars_contract(bars: pd.DataFrame) -> None:
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert isinstance(bars.index, pd.DatetimeIndex) and bars.index.name == "date"
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
    prices = bars[["open", "high", "low", "close"]].to_numpy()
    assert np.isfinite(prices).all() and (prices > 0).all()
    assert (bars["high"] >= bars["low"]).all()


@FUZZ
@given(case=mutated_bar_file())
def test_load_bars_succeeds_or_raises_a_data_error(case, tmp_path_factory):
    name, content = case
    path = tmp_path_factory.mktemp("fuzz") / Path(name).name
    path.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs warn; that is an allowed outcome
        try:
            bars = load_bars(path, allow_missing_volume=True)
        except DataError as exc:
            message = str(exc)
            assert message.startswith(str(path)) and "\n" not in message
            return
    check_bars_contract(bars)


@settings(FUZZ, max_examples=60)
@given(case=mutated_bar_file())
def test_data_check_prints_one_error_or_a_summary(case, tmp_path_factory):
    name, content = case
    path = tmp_path_factory.mktemp("fuzz") / Path(name).name
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["data", "check", str(path)])
    # Typer's runner catches everything: an escaped exception shows up here, not as a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 1:
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and str(path) in errors[0]
    else:
        assert "usable" in result.output


# --------------------------------------------------------------------------- configs

BASE = yaml.safe_load(load_config(ROOT / "configs" / "spy.yaml").to_yaml())


def key_paths(node, prefix=()) -> list[tuple]:
    paths = []
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return paths
    for key, value in items:
        paths.append((*prefix, key))
        paths.extend(key_paths(value, (*prefix, key)))
    return paths


PATHS = key_paths(BASE)
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(-3, 30), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
    st.sampled_from(["lstm", "dense", "swish", "tanh", "affine", "rolling", "volatility", "hmm",
                     "2030-01-01", "2000-01-01", "SPY", "-1", "1e9"]),
)


@st.composite
def mutated_config(draw):
    import copy

    raw = copy.deepcopy(BASE)
    path = draw(st.sampled_from(PATHS))
    if draw(st.booleans()):  # an unknown key beside an existing one
        section = path[:-1]
        path = (*section, draw(st.sampled_from(["epochz", "Window", "extra", "kind2", "lr"])))
        unknown = True
    else:
        unknown = False
    node = raw
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, list):
        return raw, path, False  # unknown keys only go in sections, not lists
    node[path[-1]] = draw(VALUES)
    return raw, path, unknown


@FUZZ
@given(case=mutated_config())
def test_config_mutations_are_config_errors_naming_the_key(case, tmp_path_factory):
    raw, path, unknown = case
    file = tmp_path_factory.mktemp("cfg") / "c.yaml"
    file.write_text(yaml.safe_dump(raw, allow_unicode=True))
    try:
        load_config(file)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message
        dotted = [".".join(str(p) for p in path[:k]) for k in range(len(path), 0, -1)]
        if unknown:
            assert f"{dotted[0]}: unknown key" in message, message
        else:
            # The mutated key, or the section whose check it broke (fast >= slow...).
            assert any(d in message for d in dotted), (path, message)
        return
    assert not unknown


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['echo hacked']",
    "!!python/name:os.system",
    "!!python/object:collections.OrderedDict {}",
])
def test_a_python_yaml_tag_is_refused(tmp_path, tag):
    file = tmp_path / "c.yaml"
    file.write_text(f"name: x\ntrain:\n  epochs: {tag}\n")
    with pytest.raises(ConfigError, match=r"line 3: the !!python/ tag is refused"):
        load_config(file)
