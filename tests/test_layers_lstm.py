"""RegimeLSTM: shapes, NumPy reference, Keras' LSTM at default θ, gradients, saving."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf
from gradient_check import central_differences, tape_gradients

from tradenn import activations
from tradenn.errors import ConfigError
from tradenn.layers import RegimeLSTM

B, T, F, R = 4, 6, 3, 2


def _np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softplus(u):
    return np.logaddexp(0.0, u)


NP_FAMILIES = {
    "tanh": lambda x, t: np.tanh(t * x),
    "sigmoid": lambda x, t: _sigmoid(t * x),
    "elu": lambda x, t: np.where(x > 0, x, t * np.expm1(np.minimum(x, 0.0))),
    "swish": lambda x, t: x * _sigmoid(t * x),
}


def _data(batch=B, steps=T, per_step=False, seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, F)).astype(dtype)
    shape = (batch, steps, R) if per_step else (batch, R)
    return x, rng.normal(size=shape).astype(dtype)


def _randomize(layer, seed=1, scale=0.4):
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        w.assign(w.numpy() + rng.normal(scale=scale, size=tuple(w.shape)))


def numpy_lstm(layer: RegimeLSTM, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Reference forward pass (affine mappings), returning every step's h."""
    u = layer.units
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    recurrent = layer.cell.recurrent_kernel.numpy()
    act, ract = NP_FAMILIES[layer.activation], NP_FAMILIES[layer.recurrent_activation]

    def theta(site, r_t):
        m = layer.theta_mappings[site]
        return _softplus(r_t @ m.kernel.numpy() + m.base.numpy())

    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    out = []
    for t in range(x.shape[1]):
        r_t = r[:, t] if r.ndim == 3 else r
        z = x[:, t] @ kernel + bias + h @ recurrent
        theta_g = theta("gates", r_t) if layer.condition_gates else 1.0
        gates = ract(z[:, : 3 * u], theta_g)
        i, f, o = gates[:, :u], gates[:, u : 2 * u], gates[:, 2 * u :]
        c = f * c + i * act(z[:, 3 * u :], theta("candidate", r_t))
        h = o * act(c, theta("cell", r_t))
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("per_step", [False, True])
def test_shapes(return_sequences, per_step):
    layer = RegimeLSTM(5, return_sequences=return_sequences)
    x, r = _data(per_step=per_step)
    expected = (B, T, 5) if return_sequences else (B, 5)
    assert layer(x, r).shape == expected
    assert layer([x, r]).shape == expected
    assert layer.compute_output_shape(x.shape, r.shape) == expected
    assert set(layer.theta(r)) == {"candidate", "cell"}
    assert layer.theta(r)["cell"].shape == (*r.shape[:-1], 1)


@pytest.mark.parametrize(
    ("activation", "recurrent", "per_unit", "gates", "per_step"),
    [
        ("tanh", "sigmoid", True, True, False),
        ("elu", "sigmoid", False, True, True),
        ("swish", "tanh", True, False, True),
    ],
)
def test_matches_numpy_reference(activation, recurrent, per_unit, gates, per_step):
    layer = RegimeLSTM(4, activation=activation, recurrent_activation=recurrent,
                       per_unit=per_unit, condition_gates=gates, return_sequences=True)
    x, r = _data(per_step=per_step)
    layer(x, r)
    _randomize(layer)
    np.testing.assert_allclose(_np(layer(x, r)), numpy_lstm(layer, x, r), rtol=2e-5, atol=2e-6)
    if per_unit:
        assert layer.theta(r)["cell"].shape[-1] == 4


def _keras_to_ours(w: np.ndarray, u: int) -> np.ndarray:
    i, f, c, o = np.split(w, 4, axis=-1)  # Keras' gate order
    return np.concatenate([i, f, o, c], axis=-1)


@pytest.mark.parametrize("mapping", ["constant", "affine"])
def test_default_theta_is_keras_lstm(mapping):
    u = 5
    x, r = _data()
    reference = keras.layers.LSTM(u, return_sequences=True)
    expected = _np(reference(x))
    layer = RegimeLSTM(u, mapping=mapping, condition_gates=True, return_sequences=True)
    layer(x, r)
    kernel, recurrent, bias = reference.get_weights()
    layer.kernel.assign(_keras_to_ours(kernel, u))
    layer.cell.recurrent_kernel.assign(_keras_to_ours(recurrent, u))
    layer.bias.assign(_keras_to_ours(bias, u))
    np.testing.assert_allclose(_np(layer(x, r)), expected, rtol=1e-5, atol=1e-6)


def test_forget_bias_starts_at_one():
    layer = RegimeLSTM(3)
    layer(*_data())
    np.testing.assert_array_equal(layer.bias.numpy(), [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_per_step_regime_is_causal():
    layer = RegimeLSTM(4, condition_gates=True, return_sequences=True)
    x, r = _data(per_step=True)
    layer(x, r)
    _randomize(layer)
    changed = r.copy()
    changed[:, 3] += 2.0
    before, after = _np(layer(x, r)), _np(layer(x, changed))
    np.testing.assert_array_equal(before[:, :3], after[:, :3])
    assert np.abs(before[:, 3:] - after[:, 3:]).min() > 0


def _grads(layer, x, r, weights):
    return tape_gradients(layer, x, r, weights, layer.trainable_variables)


@pytest.mark.parametrize("per_step", [False, True])
def test_gradients_analytic_autodiff_and_finite_differences(per_step):
    layer = RegimeLSTM(3, per_unit=True, condition_gates=True, return_sequences=True,
                       dtype="float64")
    x, r = _data(batch=2, steps=4, per_step=per_step, dtype="float64")
    weights = np.random.default_rng(9).normal(size=(2, 4, 3))
    layer(x, r)
    _randomize(layer, scale=0.8)
    analytic = _grads(layer, x, r, weights)
    layer.gradient = "autodiff"
    autodiff = _grads(layer, x, r, weights)
    for a, b in zip(analytic, autodiff, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    mapping_vars = [v for m in layer.theta_mappings.values() for v in m.trainable_variables]
    numeric = central_differences(layer, x, r, weights, mapping_vars)
    by_var = dict(zip([id(v) for v in layer.trainable_variables], analytic[1:], strict=True))
    np.testing.assert_allclose(analytic[0], numeric[0], rtol=1e-5, atol=1e-8)
    assert np.abs(analytic[0]).max() > 1e-3
    for var, num in zip(mapping_vars, numeric[1:], strict=True):
        np.testing.assert_allclose(by_var[id(var)], num, rtol=1e-5, atol=1e-8)


def test_the_analytic_derivatives_are_used(monkeypatch):
    x, r = _data()
    weights = np.ones((B, 4), "float32")

    def kernel_grad():
        layer = RegimeLSTM(4, seed=0, kernel_initializer=keras.initializers.GlorotUniform(1),
                           recurrent_initializer=keras.initializers.Orthogonal(seed=2))
        layer(x, r)
        return _grads(layer, x, r, weights)[1]  # the input kernel

    good = kernel_grad()
    spec = activations.ACTIVATIONS["tanh"]
    wrong = dataclasses.replace(spec, slope=lambda x_, t, y=None: 0.5 * spec.slope(x_, t, y))
    monkeypatch.setitem(activations.ACTIVATIONS, "tanh", wrong)
    bad = kernel_grad()
    assert np.abs(good - bad).max() > 1e-3 * np.abs(good).max()


def _model(**kwargs) -> keras.Model:
    x = keras.Input((T, F), name="window")
    r = keras.Input((R,), name="regime")
    h = RegimeLSTM(4, name="lstm", **kwargs)(x, r)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1, name="out")(h))


def test_save_load_round_trip_safe_mode(tmp_path):
    model = _model(per_unit=True, condition_gates=True, dropout=0.2, activation="elu",
                   kernel_regularizer=keras.regularizers.L2(0.01))
    _randomize(model)
    x, r = _data(batch=7)
    data = {"window": x, "regime": r}
    path = tmp_path / "lstm.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    assert loaded.get_layer("lstm").get_config() == model.get_layer("lstm").get_config()


def test_get_config_has_every_init_argument():
    import inspect

    layer = RegimeLSTM(7, activation="elu", mapping="fixed", mapping_scale=0.5, unroll=True)
    config = layer.get_config()
    params = set(inspect.signature(RegimeLSTM.__init__).parameters) - {"self", "kwargs"}
    assert params <= set(config)
    assert (config["units"], config["activation"], config["mapping_scale"]) == (7, "elu", 0.5)
    assert RegimeLSTM.from_config(config).get_config() == config


@pytest.mark.parametrize("unroll", [False, True])
def test_any_batch_size_and_jit_compile(unroll, xla_allowed):
    model = _model(condition_gates=True, unroll=unroll)
    x, r = _data(batch=11)
    data = {"window": x, "regime": r}
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert model.jit_compile  # Keras falls back silently when a layer cannot be compiled
    model.fit(data, np.zeros((11, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    jit = model.predict(data, batch_size=4, verbose=0)  # batches of 4, 4, 3
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    one = model.predict(data, batch_size=1, verbose=0)
    np.testing.assert_allclose(jit, one, rtol=1e-5, atol=1e-6)


def test_mixed_precision_runs_in_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = RegimeLSTM(4, condition_gates=True)
        x, r = _data()
        with tf.GradientTape() as tape:
            y = layer(x, r)
            loss = tf.reduce_sum(tf.cast(y, "float32"))
        assert y.dtype == "float16" and layer.kernel.dtype == "float32"
        grads = tape.gradient(loss, layer.trainable_variables)
        assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="units"):
        RegimeLSTM(0)
    with pytest.raises(ConfigError, match="dropout"):
        RegimeLSTM(3, dropout=1.5)
    with pytest.raises(ConfigError, match="activation 'gelu'"):
        RegimeLSTM(3, recurrent_activation="gelu")
    with pytest.raises(ConfigError, match="sequence input"):
        RegimeLSTM(3)(np.zeros((2, 3), "float32"), np.zeros((2, 1), "float32"))
