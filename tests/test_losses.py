"""SharpeLoss (tradenn.losses) against a NumPy transcription of its formula: values,
gradients, the turnover term, Keras's reduction in fit/evaluate, saving, and training."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tradenn.errors import ConfigError
from tradenn.losses import SharpeLoss


def reference_loss(returns, positions, continues=None, periods_per_year=252.0,
                   turnover_penalty=0.0, epsilon=1e-9):
    """The brief's formula in float64, with the documented convention for one row."""
    returns = np.asarray(returns, dtype=np.float64).ravel()
    positions = np.asarray(positions, dtype=np.float64).ravel()
    continues = np.ones_like(returns) if continues is None else np.asarray(continues, float)
    strategy = positions * returns
    if len(strategy) < 2:
        sharpe = 0.0
    else:  # np.var is the population variance (ddof=0)
        sharpe = strategy.mean() / np.sqrt(strategy.var() + epsilon) * np.sqrt(periods_per_year)
    flags = continues[1:]
    turnover = np.sum(np.abs(np.diff(positions)) * flags) / max(flags.sum(), 1.0)
    return -sharpe + turnover_penalty * turnover


def random_batch(rows, seed, asset_breaks=True):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0005, 0.01, rows)  # a daily vol-scaled return: 15%/sqrt(252) ~ 1%
    positions = rng.uniform(-1, 1, rows)
    continues = np.ones(rows)
    if asset_breaks and rows > 3:
        continues[rng.choice(np.arange(1, rows), size=max(1, rows // 8), replace=False)] = 0
    continues[0] = rng.integers(0, 2)  # row 0 has no previous row: its flag must not matter
    return returns, positions, continues


@pytest.mark.parametrize("rows", [1, 2, 3, 17, 256])
@pytest.mark.parametrize("layout", ["two_columns", "one_column", "flat"])
def test_value_matches_numpy(rows, layout):
    returns, positions, continues = random_batch(rows, seed=rows)
    penalty = 0.3
    if layout == "two_columns":
        y_true, expected_flags = np.stack([returns, continues], axis=1), continues
    elif layout == "one_column":
        y_true, expected_flags = returns[:, None], None
    else:
        y_true, expected_flags = returns, None
    loss = SharpeLoss(periods_per_year=252, turnover_penalty=penalty)
    got = float(loss(y_true.astype("float32"), positions[:, None].astype("float32")))
    expected = reference_loss(returns, positions, expected_flags, turnover_penalty=penalty)
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_known_values_by_hand():
    # s = [0.01, -0.02, 0.03]: mean 0.02/3, population var = sum((s - mean)^2) / 3.
    s = np.array([0.01, -0.02, 0.03])
    mean, var = 0.02 / 3, ((0.01 - 0.02 / 3) ** 2 + (-0.02 - 0.02 / 3) ** 2
                           + (0.03 - 0.02 / 3) ** 2) / 3
    expected = -mean / np.sqrt(var + 1e-9) * np.sqrt(252)
    got = SharpeLoss(dtype="float64")(s, np.ones(3))
    assert float(got) == pytest.approx(expected, rel=1e-12)
    assert float(got) == pytest.approx(-5.1504, abs=1e-4)  # ddof=1 would give -4.2053


def test_batch_of_one_is_zero_with_zero_gradient():
    """One row has no variance; the formula would give r * sqrt(252 / 1e-9) ~ 5e5 * r."""
    positions = tf.Variable([[0.7]], dtype="float32")
    with tf.GradientTape() as tape:
        value = SharpeLoss(turnover_penalty=1.0)(np.array([[0.02, 1.0]], "float32"), positions)
    gradient = tape.gradient(value, positions)
    assert float(value) == 0.0
    assert np.all(np.isfinite(gradient.numpy())) and float(gradient[0, 0]) == 0.0


def test_constant_strategy_is_finite():
    value = SharpeLoss()(np.zeros((8, 1), "float32"), np.full((8, 1), 0.5, "float32"))
    assert float(value) == 0.0


def finite_difference_gradient(returns, positions, continues, penalty, step=1e-6):
    gradient = np.empty_like(positions)
    for i in range(len(positions)):
        up, down = positions.copy(), positions.copy()
        up[i] += step
        down[i] -= step
        gradient[i] = (reference_loss(returns, up, continues, turnover_penalty=penalty)
                       - reference_loss(returns, down, continues, turnover_penalty=penalty)
                       ) / (2 * step)
    return gradient


def tape_gradient(loss, y_true, positions):
    variable = tf.Variable(positions[:, None], dtype="float64")
    with tf.GradientTape() as tape:
        value = loss(y_true, variable)
    return tape.gradient(value, variable).numpy().ravel()


@pytest.mark.parametrize("rows", [2, 5, 64])
@pytest.mark.parametrize("penalty", [0.0, 0.5])
def test_gradient_matches_finite_differences(rows, penalty):
    returns, positions, continues = random_batch(rows, seed=100 + rows)
    y_true = np.stack([returns, continues], axis=1)
    got = tape_gradient(SharpeLoss(turnover_penalty=penalty, dtype="float64"), y_true, positions)
    expected = finite_difference_gradient(returns, positions, continues, penalty)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_turnover_penalty_adds_its_own_gradient():
    returns, positions, continues = random_batch(32, seed=5)
    y_true = np.stack([returns, continues], axis=1)
    plain = tape_gradient(SharpeLoss(dtype="float64"), y_true, positions)
    penalized = tape_gradient(SharpeLoss(turnover_penalty=2.0, dtype="float64"), y_true, positions)
    # d turnover / d pos_j = (sign(pos_j - pos_{j-1}) c_j - sign(pos_{j+1} - pos_j) c_{j+1}) / C
    steps = np.sign(np.diff(positions)) * continues[1:]
    turnover_gradient = (np.concatenate([[0.0], steps]) - np.concatenate([steps, [0.0]]))
    turnover_gradient /= continues[1:].sum()
    np.testing.assert_allclose(penalized - plain, 2.0 * turnover_gradient, rtol=1e-9, atol=1e-12)
    assert np.abs(penalized - plain).max() > 0.05


def test_without_penalty_the_continues_flag_changes_nothing():
    returns, positions, continues = random_batch(32, seed=6)
    loss = SharpeLoss(dtype="float64")
    all_continue = np.stack([returns, np.ones(32)], axis=1)
    with_breaks = np.stack([returns, continues], axis=1)
    assert float(loss(all_continue, positions)) == float(loss(with_breaks, positions))
    np.testing.assert_array_equal(tape_gradient(loss, all_continue, positions),
                                  tape_gradient(loss, with_breaks, positions))


def test_a_new_asset_is_not_turnover():
    """Two assets in one batch: the jump from the last row of A to the first of B is not a
    trade. Turnover = (|0.3-0.1| + |0.2-0.3| + |-0.5+0.9|) / 3 = 0.7 / 3, not 1.8 / 4."""
    returns = np.array([0.01, -0.02, 0.005, 0.03, -0.01])
    positions = np.array([0.1, 0.3, 0.2, -0.9, -0.5])
    continues = np.array([1.0, 1.0, 1.0, 0.0, 1.0])
    y_true = np.stack([returns, continues], axis=1)
    with_penalty = float(SharpeLoss(turnover_penalty=1.0, dtype="float64")(y_true, positions))
    without = float(SharpeLoss(dtype="float64")(y_true, positions))
    assert with_penalty - without == pytest.approx(0.7 / 3, abs=1e-12)
    continues[0] = 0.0  # row 0's flag is ignored: it has no previous row
    y_true = np.stack([returns, continues], axis=1)
    assert float(SharpeLoss(turnover_penalty=1.0, dtype="float64")(y_true, positions)) == (
        pytest.approx(with_penalty, abs=1e-15))


def test_config_round_trip():
    loss = SharpeLoss(periods_per_year=52, turnover_penalty=0.25, epsilon=1e-8, name="weekly",
                      reduction="sum", dtype="float64")
    config = loss.get_config()
    assert config == {"periods_per_year": 52.0, "turnover_penalty": 0.25, "epsilon": 1e-8,
                      "name": "weekly", "reduction": "sum", "dtype": "float64"}
    again = SharpeLoss.from_config(config)
    assert again.get_config() == config and again.dtype == "float64"
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, SharpeLoss) and restored.get_config() == config


@pytest.mark.parametrize(("argument", "value"), [("periods_per_year", 0), ("epsilon", 0.0),
                                                 ("turnover_penalty", -0.1)])
def test_bad_arguments_are_named(argument, value):
    with pytest.raises(ConfigError, match=argument):
        SharpeLoss(**{argument: value})


def test_bad_shapes_and_sample_weights_are_refused():
    loss = SharpeLoss()
    with pytest.raises(ConfigError, match=r"y_true must have shape \(batch, 2\)"):
        loss(np.zeros((4, 3), "float32"), np.zeros((4, 1), "float32"))
    with pytest.raises(ConfigError, match="y_pred"):
        loss(np.zeros((4, 2), "float32"), np.zeros((4, 2), "float32"))
    with pytest.raises(ConfigError, match="same batch size"):
        loss(np.zeros((4, 2), "float32"), np.zeros((5, 1), "float32"))
    with pytest.raises(ConfigError, match="sample_weight"):
        loss(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), np.ones(4))


def tanh_model(seed=0, kernel=None):
    keras.utils.set_random_seed(seed)
    initializer = "glorot_uniform" if kernel is None else keras.initializers.Constant(kernel)
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, activation="tanh",
                                                 kernel_initializer=initializer)])
    return model


def signed_series(rows, seed):
    """r = sign(x) * |noise|: the position sign(x) earns |noise| every day."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 1)).astype("float32")
    returns = (np.sign(x[:, 0]) * np.abs(rng.normal(0, 0.01, rows))).astype("float32")
    continues = np.ones(rows, "float32")
    return x, np.stack([returns, continues], axis=1)


def test_fit_and_evaluate_report_exactly_the_formula():
    x, y = signed_series(64, seed=1)
    y[20, 1] = 0.0  # an asset break, so the turnover term is the flagged one
    model = tanh_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=SharpeLoss(turnover_penalty=0.5))
    before = model.predict(x, verbose=0)
    expected = reference_loss(y[:, 0], before, y[:, 1], turnover_penalty=0.5)
    assert model.evaluate(x, y, batch_size=64, verbose=0) == pytest.approx(expected, rel=1e-5)
    # Two batches: Keras averages the two batch losses (weighted by their sizes).
    halves = [reference_loss(y[s, 0], before[s], y[s, 1], turnover_penalty=0.5)
              for s in (slice(0, 32), slice(32, 64))]
    assert model.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx(np.mean(halves),
                                                                           rel=1e-5)
    # fit reports the loss of the batch before the weight update.
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_training_learns_the_sign():
    """Started with the wrong sign (kernel -1: short when x > 0), the model must turn its
    Sharpe ratio from about -20 to positive; a loss with the wrong sign would drive it
    further down."""
    x, y = signed_series(512, seed=2)
    model = tanh_model(kernel=-1.0)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=SharpeLoss())
    start = model.evaluate(x, y, batch_size=512, verbose=0)
    model.fit(x, y, batch_size=128, epochs=15, shuffle=False, verbose=0)
    end = model.evaluate(x, y, batch_size=512, verbose=0)
    assert start > 10  # loss = -Sharpe
    assert end < -10
    assert float(model.layers[0].kernel.numpy()[0, 0]) > 0


def test_saved_model_loads_in_a_fresh_process_that_imports_only_the_loss(tmp_path):
    x, y = signed_series(32, seed=3)
    model = tanh_model()
    model.compile(optimizer="adam",
                  loss=SharpeLoss(periods_per_year=52, turnover_penalty=0.25, epsilon=1e-8))
    expected = model.evaluate(x, y, batch_size=32, verbose=0)
    path = tmp_path / "sharpe.keras"
    model.save(path)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    code = f"""
        import json, sys
        import keras
        import numpy as np

        try:  # without the registration the loss cannot be found: the control
            keras.saving.load_model({str(path)!r}, safe_mode=True)
            unregistered = "loaded"
        except Exception as error:
            unregistered = str(error)

        import tradenn.losses  # registers SharpeLoss; nothing else of tradenn is imported

        model = keras.saving.load_model({str(path)!r}, safe_mode=True)
        data = np.load({str(tmp_path / "data.npz")!r})
        value = model.evaluate(data["x"], data["y"], batch_size=32, verbose=0)
        print(json.dumps({{"class": type(model.loss).__name__, "config": model.loss.get_config(),
                          "value": value,
                          "layers_imported": "tradenn.layers" in sys.modules,
                          "unregistered": unregistered}}))
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["class"] == "SharpeLoss"
    assert report["config"] == {"periods_per_year": 52.0, "turnover_penalty": 0.25,
                                "epsilon": 1e-8, "name": "sharpe_loss",
                                "reduction": "sum_over_batch_size", "dtype": "float32"}
    assert report["value"] == pytest.approx(expected, rel=1e-6)
    assert not report["layers_imported"]
    assert "SharpeLoss" in report["unregistered"]
