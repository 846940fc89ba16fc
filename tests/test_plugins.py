"""Families and detectors of your own: registered, checked before they train, and loaded
again (with their plugin modules) in a fresh process.

The plugin modules live in tests/fixtures/ (plugin_families, plugin_bad_family,
plugin_detectors); tests import them by putting that folder on the path, subprocesses
through PYTHONPATH. Registries are restored after each in-process test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tradenn.cli import app
from tradenn.config import DETECTOR_CONFIGS, load_config
from tradenn.errors import ConfigError
from tradenn.plugins import ACTIVATION_NAMES

FIXTURES = Path(__file__).parent / "fixtures"
PLUGIN_MODULES = ("plugin_families", "plugin_bad_family", "plugin_detectors")


@pytest.fixture(autouse=True)
def clean_registries(monkeypatch):
    """Each test sees only the built-ins, and leaves only them behind."""
    from tradenn.activation_plugins import _CHECKED
    from tradenn.activations import ACTIVATIONS
    from tradenn.regimes import REGIMES

    saved = [(r, dict(r)) for r in (ACTIVATIONS, ACTIVATION_NAMES, REGIMES, DETECTOR_CONFIGS, _CHECKED)]
    monkeypatch.syspath_prepend(str(FIXTURES))
    yield
    for registry, before in saved:
        registry.clear()
        registry.update(before)
    for name in PLUGIN_MODULES:
        sys.modules.pop(name, None)


def tiny_config(tmp_path: Path, **changes) -> Path:
    """tests/fixtures/tiny.yaml, shrunk to one fold and one model, with ``changes``."""
    raw = yaml.safe_load((FIXTURES / "tiny.yaml").read_text())
    raw["train"].update(epochs=1)
    raw["walk_forward"].update(ablations=[], test_size=300)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw.setdefault(section, {})[field] = value
        else:
            raw[section] = value
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def env_with_fixtures() -> dict[str, str]:
    paths = [str(FIXTURES), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def fresh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600,
                          env=env or env_with_fixtures())


# ------------------------------------------------------------------------ registering


def softsign(x, t):
    from keras import ops

    return x / (1.0 + t * ops.abs(x))


def test_registering_over_a_builtin_name_is_refused():
    from tradenn.activations import ACTIVATIONS, register_activation

    before = ACTIVATIONS["tanh"]
    with pytest.raises(ConfigError, match="'tanh' is a built-in family"):
        register_activation("tanh", softsign, default=1.0, theta_min=0.0)
    with pytest.raises(ConfigError, match="'tanh' is a built-in family"):
        register_activation("tanh", softsign, default=1.0, theta_min=0.0, replace=True)
    assert ACTIVATIONS["tanh"] is before


def test_a_family_registered_twice_is_an_error():
    from tradenn.activations import ACTIVATIONS, register_activation

    register_activation("twice", softsign, default=1.0, theta_min=0.0)
    with pytest.raises(ConfigError, match="'twice' is already registered"):
        register_activation("twice", softsign, default=2.0, theta_min=0.0)
    assert ACTIVATIONS["twice"].default == 1.0
    register_activation("twice", softsign, default=2.0, theta_min=0.0, replace=True)
    assert ACTIVATIONS["twice"].default == 2.0


@pytest.mark.parametrize("kwargs, message", [
    ({"dx": softsign}, "missing dtheta"),
    ({"dtheta": softsign}, "missing dx"),
    ({"default": -1.0}, r"default: expected a value in \(0, inf\), got -1.0"),
    ({"theta_max": -1.0}, r"theta_min \(0\) must be below theta_max \(-1\)"),
])
def test_bad_registrations_say_what_is_wrong(kwargs, message):
    from tradenn.activations import ACTIVATIONS, register_activation

    with pytest.raises(ConfigError, match=message):
        register_activation("odd", softsign, **{"default": 1.0, "theta_min": 0.0, **kwargs})
    assert "odd" not in ACTIVATIONS and "odd" not in ACTIVATION_NAMES


def test_a_registered_family_is_a_config_name_and_a_layer():
    import plugin_families  # noqa: F401
    from keras import ops

    from tradenn.layers import RegimeActivation

    config = load_config("configs/spy.yaml", ["model.activation=theta_softsign"])
    assert config.model.activation == "theta_softsign"
    layer = RegimeActivation("theta_softsign", mapping="fixed", mapping_scale=0.0, mapping_shift=2.0)
    x = np.array([[-3.0, 0.5, 4.0]], "float32")
    y = ops.convert_to_numpy(layer(x, np.zeros((1, 1), "float32")))
    np.testing.assert_allclose(y, x / (1 + 2.0 * np.abs(x)), rtol=1e-6)


def test_autodiff_only_family_refuses_analytic_everywhere():
    import plugin_families  # noqa: F401

    from tradenn.layers import RegimeActivation

    with pytest.raises(ConfigError, match="model: gradient 'analytic' needs .* 'softsign_autodiff'"):
        load_config("configs/spy.yaml", ["model.activation=softsign_autodiff"])
    config = load_config("configs/spy.yaml",
                         ["model.activation=softsign_autodiff", "model.gradient=autodiff"])
    assert config.model.gradient == "autodiff"
    with pytest.raises(ValueError, match="needs dx and dtheta"):
        RegimeActivation("softsign_autodiff", gradient="analytic")
    RegimeActivation("softsign_autodiff", gradient="autodiff")


# ------------------------------------------------------------------------ checking families


@pytest.mark.parametrize("name", ["scaled_relu", "leaky_relu", "sigmoid", "tanh", "swish", "elu",
                                  "theta_softsign"])
def test_correct_derivatives_pass_the_check(name):
    import plugin_families  # noqa: F401

    from tradenn.activations import check_activation

    check = check_activation(name)
    assert check.passed and check.dx.error < 1e-8 and check.dtheta.error < 1e-8
    assert min(check.xs) == -100 and 1e-3 in check.xs  # the tails and near 0


def test_a_wrong_dtheta_is_refused_naming_dtheta_x_and_theta():
    import plugin_bad_family  # noqa: F401

    from tradenn.activations import ActivationCheckError, check_activation

    with pytest.raises(ActivationCheckError, match=r"'bad_softsign': dtheta disagrees with "
                       r"finite differences at x=-?\d+(\.\d+)?, θ=\d") as info:
        check_activation("bad_softsign")
    check = info.value.check
    assert check.dx.passed and not check.dtheta.passed
    # The slip flips the sign: analytic = -numerical where it is worst.
    assert check.dtheta.analytic == pytest.approx(-check.dtheta.numerical)
    assert "dx" not in str(info.value).replace("dtheta", "")


def test_a_wrong_dx_is_refused_naming_dx():
    from keras import ops

    from tradenn.activations import ActivationCheckError, check_activation, register_activation

    register_activation(
        "bad_dx", softsign, dx=lambda x, t: 1.0 / (1.0 + t * ops.abs(x)),  # square missing
        dtheta=lambda x, t: -x * ops.abs(x) / ops.square(1.0 + t * ops.abs(x)),
        default=1.0, theta_min=0.0)
    with pytest.raises(ActivationCheckError, match=r"'bad_dx': dx disagrees") as info:
        check_activation("bad_dx")
    assert info.value.check.dtheta.passed


def test_training_with_analytic_refuses_a_wrong_dtheta(tmp_path):
    from tradenn.experiment import train_run

    path = tiny_config(tmp_path, plugins=["plugin_bad_family"], model__activation="bad_softsign")
    with pytest.raises(ConfigError, match="'bad_softsign': dtheta disagrees"):
        train_run(load_config(path), runs_dir=tmp_path / "runs", quiet=True)
    assert not (tmp_path / "runs").exists()  # refused before a run directory exists


def test_activations_cli_list_check_plot(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["activations", "list", "--plugin", "plugin_families"])
    assert listed.exit_code == 0, listed.output
    assert "theta_softsign" in listed.output and "autodiff only" in listed.output
    ok = runner.invoke(app, ["activations", "check", "theta_softsign", "--plugin", "plugin_families"])
    assert ok.exit_code == 0 and "ok   dtheta" in ok.output, ok.output
    bad = runner.invoke(app, ["activations", "check", "bad_softsign", "--plugin", "plugin_bad_family"])
    assert bad.exit_code == 1
    assert bad.output.startswith("error: activation 'bad_softsign': dtheta disagrees"), bad.output
    out = tmp_path / "f.png"
    drawn = runner.invoke(app, ["activations", "plot", "theta_softsign", "--thetas", "0.5,1,2",
                                "--out", str(out), "--plugin", "plugin_families"])
    assert drawn.exit_code == 0, drawn.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = runner.invoke(app, ["activations", "check", "x", "--plugin", "no_such_plugin"])
    assert missing.exit_code == 1 and "'no_such_plugin'" in missing.output


# ------------------------------------------------------------------------ detectors


def test_detector_registration_rules():
    import plugin_detectors

    from tradenn.config import Strict
    from tradenn.regimes import VolatilityRegime, register_detector

    with pytest.raises(ConfigError, match="'volatility' is a built-in detector"):
        register_detector("volatility", VolatilityRegime, plugin_detectors.DrawdownConfig)
    with pytest.raises(ConfigError, match="'drawdown' is already registered"):
        register_detector("drawdown", plugin_detectors.DrawdownRegime, plugin_detectors.DrawdownConfig)
    with pytest.raises(ConfigError, match=r'kind: Literal\["other"\]'):
        register_detector("other", plugin_detectors.DrawdownRegime, plugin_detectors.DrawdownConfig)
    with pytest.raises(ConfigError, match="expected a RegimeDetector subclass"):
        register_detector("other", Strict, plugin_detectors.DrawdownConfig)


def test_plugin_detectors_validate_build_and_name_their_keys(tmp_path):
    from tradenn.regimes import build_regime

    path = tiny_config(tmp_path, plugins=["plugin_detectors"],
                       regime={"detectors": [{"kind": "volatility"}, {"kind": "drawdown", "window": 63}]})
    config = load_config(path)
    regime = build_regime(config.regime)
    assert regime.model_columns == ["vol_z", "dd_z"]
    with pytest.raises(ConfigError, match=r"regime.detectors.1.window: Input should be a valid integer"):
        load_config(path, ["regime.detectors.1.window=soon"])
    with pytest.raises(ConfigError, match=r"regime.detectors.1.windows: unknown key"):
        load_config(path, ["regime.detectors.1.windows=3"])


def test_a_missing_plugin_is_one_error_naming_the_module(tmp_path):
    path = tiny_config(tmp_path, plugins=["plugin_detectors", "not_installed_anywhere"])
    with pytest.raises(ConfigError, match="plugins: cannot import plugin module 'not_installed_anywhere'"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"plugins: expected dotted module names, got '../run/evil.py'"):
        load_config(tiny_config(tmp_path, plugins=["../run/evil.py"]))


def spy():
    from tradenn.data import load_bars

    return load_bars("SPY", "2003-01-01", "2012-12-31", provider="bundled")


def test_check_causal_names_the_first_date_a_peeking_detector_moved():
    import plugin_detectors  # noqa: F401

    from tradenn.regimes import REGIMES, check_causal

    bars = spy()
    found = check_causal(REGIMES["peek"](), bars, cuts=[2000, 1500, 1800])
    # Each cut changes the bar before it; the earliest is the first offending date.
    assert found.date == bars.index[1499] and found.cut == bars.index[1499]
    assert found.column == "peek_next" and found.test == "prefix"
    assert "depends on later bars" in found.describe()
    assert check_causal(REGIMES["drawdown"](window=100), bars) is None


def test_regimes_check_cli(tmp_path):
    runner = CliRunner()
    good = tiny_config(tmp_path, plugins=["plugin_detectors"],
                       regime={"detectors": [{"kind": "drawdown", "window": 63}]})
    result = runner.invoke(app, ["regimes", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "regime.detectors.0: drawdown: causal" in result.output
    bad = tiny_config(tmp_path, plugins=["plugin_detectors"],
                      regime={"detectors": [{"kind": "volatility"}, {"kind": "peek"}]})
    result = runner.invoke(app, ["regimes", "check", str(bad), "--cuts", "3"])
    assert result.exit_code == 1
    assert "regime.detectors.0: volatility: causal" in result.output
    assert "regime.detectors.1: peek: peek regime is not causal" in result.output
    assert "error: 1 detector(s) not causal: 1: peek" in result.output


def test_training_refuses_a_peeking_detector(tmp_path):
    from tradenn.experiment import train_run
    from tradenn.regimes import LookAheadError

    path = tiny_config(tmp_path, plugins=["plugin_detectors"],
                       regime={"detectors": [{"kind": "peek"}]})
    with pytest.raises(LookAheadError, match=r"regime.detectors.0: peek: peek regime is not "
                       r"causal: .* changes 'peek_next' on \d{4}-\d\d-\d\d"):
        train_run(load_config(path), runs_dir=tmp_path / "runs", quiet=True)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_turning_the_causality_check_off_is_recorded(tmp_path):
    from tradenn.experiment import train_run

    path = tiny_config(tmp_path, plugins=["plugin_detectors"],
                       regime={"detectors": [{"kind": "peek"}], "check_causal": False},
                       model={"kind": "dense", "lstm_units": [], "dense_units": [4]})
    run = train_run(load_config(path), runs_dir=tmp_path / "runs", quiet=True)
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["checks"]["causality"] == "off (regime.check_causal: false)"
    assert manifest["plugins"] == ["plugin_detectors"]


# ------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory) -> Path:
    """A run trained by `tradenn train` in its own process from a YAML with plugins."""
    root = tmp_path_factory.mktemp("plugin_run")
    raw = yaml.safe_load((FIXTURES / "tiny.yaml").read_text())
    raw.update(plugins=["plugin_families", "plugin_detectors"])
    raw["model"].update(activation="theta_softsign", lstm_activation="theta_softsign")
    raw["regime"]["detectors"].append({"kind": "drawdown", "window": 63})
    raw["train"].update(epochs=1)
    raw["walk_forward"].update(ablations=[], test_size=300)
    config = root / "plugin.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = fresh("-m", "tradenn", "train", str(config), "--runs-dir", str(root / "runs"), "--quiet")
    assert result.returncode == 0, result.stderr
    (run,) = (root / "runs").iterdir()
    return run


@pytest.mark.slow
def test_a_plugin_run_records_its_plugins_and_checks(plugin_run):
    manifest = json.loads((plugin_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["plugins"] == ["plugin_families", "plugin_detectors"]
    assert "theta_softsign" in manifest["checks"]["activations"]
    assert manifest["checks"]["detectors"] == ["1: drawdown"]
    predictions = (plugin_run / "predictions.csv").read_text().splitlines()[0]
    assert "regime_dd_z" in predictions and "theta_lstm_0.cell" in predictions


@pytest.mark.slow
def test_a_plugin_run_predicts_and_loads_in_a_fresh_process(plugin_run):
    predicted = fresh("-m", "tradenn", "predict", str(plugin_run), "--provider", "bundled")
    assert predicted.returncode == 0, predicted.stderr
    assert "position" in predicted.stdout and "dd_z=" in predicted.stdout
    loaded = fresh("-c", f"""
import numpy as np, tradenn
model = tradenn.open_run({str(plugin_run)!r}).load_model(fold=0)
print(sorted({{l.activation for l in model.layers if hasattr(l, "activation") and isinstance(l.activation, str)}}))
inputs = {{t.name: np.zeros((2,) + tuple(t.shape[1:]), "float32") for t in model.inputs}}
print("shape", model.predict(inputs, verbose=0).shape)
""")
    assert loaded.returncode == 0, loaded.stderr
    assert "theta_softsign" in loaded.stdout and "shape (2, 1)" in loaded.stdout


@pytest.mark.slow
def test_without_its_plugin_a_run_is_one_error_naming_the_module(plugin_run):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = fresh("-m", "tradenn", "predict", str(plugin_run), "--provider", "bundled", env=env)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot import plugin module 'plugin_families'" in errors[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_resume_imports_the_plugins_again(plugin_run, tmp_path):
    import shutil

    run = tmp_path / "resumed"
    shutil.copytree(plugin_run, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    manifest["folds"][-1]["status"] = "pending"
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "folds" / f"fold_{manifest['folds'][-1]['index']}" / "predictions.csv").unlink()
    result = fresh("-m", "tradenn", "train", "--resume", str(run), "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
