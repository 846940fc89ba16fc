"""RegimeActivation and the parameter mappings θ = g(r)."""

from __future__ import annotations

import dataclasses
from typing import get_args

import keras
import numpy as np
import pytest
import tensorflow as tf
from gradient_check import central_differences, tape_gradients

from tradenn import activations
from tradenn.config import MappingKind
from tradenn.errors import ConfigError
from tradenn.layers import (
    MAPPINGS,
    AffineMapping,
    ConstantMapping,
    DefaultMapping,
    FixedMapping,
    PerStateMapping,
    RegimeActivation,
    make_mapping,
)

RNG = np.random.default_rng(0)


def _softplus(u):
    return np.logaddexp(0.0, u)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np(t) -> np.ndarray:
    return keras.ops.convert_to_numpy(t)


def _randomize(layer: keras.layers.Layer, seed: int = 1, scale: float = 0.5) -> None:
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        w.assign(w.numpy() + rng.normal(scale=scale, size=w.shape))


# ---------------------------------------------------------------------------- mappings


def test_mapping_registry_matches_config_names():
    assert set(get_args(MappingKind)) == set(MAPPINGS)


def test_fixed_mapping_is_scaled_mean_clipped_into_range():
    g = FixedMapping("leaky_relu", scale=0.5, shift=0.1)
    r = np.array([[0.0, 0.4], [1.0, 1.0], [-3.0, -1.0], [9.0, 9.0]], "float32")
    np.testing.assert_allclose(_np(g(r))[:, 0], [0.2, 0.6, 0.0, 1.0], rtol=1e-6)
    assert not g.weights
    positive = FixedMapping("tanh", scale=1.0, shift=0.0)
    assert _np(positive(np.array([[-5.0]], "float32")))[0, 0] == pytest.approx(1e-3)


def test_affine_mapping_matches_numpy_and_starts_at_default():
    g = AffineMapping("swish", size=3)
    r = RNG.normal(size=(6, 2)).astype("float32")
    np.testing.assert_allclose(_np(g(r)), 1.0, rtol=1e-6)  # W = 0: the family default
    _randomize(g)
    w, b = g.kernel.numpy(), g.base.numpy()
    np.testing.assert_allclose(_np(g(r)), _softplus(r @ w + b), rtol=1e-5)


def test_affine_mapping_on_a_bounded_family_uses_a_sigmoid():
    g = AffineMapping("leaky_relu")
    r = RNG.normal(size=(5, 1)).astype("float32")
    np.testing.assert_allclose(_np(g(r)), 0.2, rtol=1e-6)
    _randomize(g, scale=3.0)
    np.testing.assert_allclose(
        _np(g(r)), _sigmoid(r @ g.kernel.numpy() + g.base.numpy()), rtol=1e-5
    )


def test_per_state_mapping_mixes_state_thetas():
    g = PerStateMapping("elu", size=2)
    r = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]], "float32")
    g.build(r.shape)
    g.state_logits.assign(np.array([[0.0, 1.0], [2.0, -1.0], [-3.0, 0.5]], "float32"))
    states = _softplus(g.state_logits.numpy())
    theta = _np(g(r))
    np.testing.assert_allclose(theta[0], states[0], rtol=1e-6)
    np.testing.assert_allclose(theta[1], states[2], rtol=1e-6)
    np.testing.assert_allclose(theta[2], 0.2 * states[0] + 0.3 * states[1] + 0.5 * states[2],
                               rtol=1e-6)


def test_constant_mapping_ignores_regime_values_but_keeps_shape():
    g = ConstantMapping("tanh", size=4)
    r = RNG.normal(size=(3, 7, 2)).astype("float32")
    g.build(r.shape)
    g.logit.assign(np.array([0.0, 1.0, 2.0, -1.0], "float32"))
    theta = _np(g(r))
    assert theta.shape == (3, 7, 4)
    np.testing.assert_allclose(theta, np.broadcast_to(_softplus(g.logit.numpy()), theta.shape),
                               rtol=1e-6)
    np.testing.assert_array_equal(_np(g(r * 100 + np.nan)), theta)


@pytest.mark.parametrize("family", ["tanh", "leaky_relu", "swish", "sigmoid"])
def test_default_mapping_is_the_family_default_and_learns_nothing(family):
    rng = np.random.default_rng(7)  # its own: the module RNG feeds later tests
    g = DefaultMapping(family, size=4)
    r = rng.normal(size=(3, 7, 2)).astype("float32")
    g.build(r.shape)
    assert not g.weights and g.compute_output_shape(r.shape) == (3, 7, 1)
    theta = _np(g(r * 100 + np.nan))
    np.testing.assert_array_equal(theta, np.full((3, 7, 1), activations.get_activation(family).default,
                                                 "float32"))
    layer = RegimeActivation(family, mapping="default", per_unit=True)
    x = rng.normal(size=(5, 4)).astype("float32")
    spec = activations.get_activation(family)
    regime = rng.normal(size=(5, 2)).astype("float32")
    np.testing.assert_allclose(_np(layer(x, regime)), _np(spec.fn(x, spec.default)),
                               rtol=1e-6)


def test_mapping_errors_name_the_input():
    with pytest.raises(ConfigError, match="mapping 'linear'"):
        make_mapping("linear", "tanh")
    with pytest.raises(ConfigError, match="scale"):
        make_mapping("fixed", "tanh", scale=float("nan"))
    with pytest.raises(ConfigError, match="regime input"):
        AffineMapping("tanh").build((None,))


# ---------------------------------------------------------------------------- the layer


@pytest.mark.parametrize(
    ("x_shape", "r_shape", "per_unit", "theta_shape"),
    [
        ((4, 5), (4, 2), False, (4, 1)),
        ((4, 5), (4, 2), True, (4, 5)),
        ((4, 3, 5), (4, 3, 2), True, (4, 3, 5)),
        ((4, 3, 5), (4, 2), False, (4, 1)),
    ],
)
def test_shapes(x_shape, r_shape, per_unit, theta_shape):
    layer = RegimeActivation("tanh", per_unit=per_unit)
    x = RNG.normal(size=x_shape).astype("float32")
    r = RNG.normal(size=r_shape).astype("float32")
    assert layer(x, r).shape == x_shape
    assert layer([x, r]).shape == x_shape
    assert layer.theta(r).shape == theta_shape
    assert layer.compute_output_shape(x_shape, r_shape) == x_shape


@pytest.mark.parametrize("mapping", ["affine", "per_state", "constant", "fixed"])
def test_matches_numpy_reference(mapping):
    layer = RegimeActivation("swish", mapping=mapping, per_unit=True, mapping_scale=0.4,
                             mapping_shift=1.2)
    x = RNG.normal(size=(6, 3, 4)).astype("float32")
    r = RNG.dirichlet([1.0, 1.0], size=(6, 3)).astype("float32")
    layer(x, r)
    _randomize(layer)
    m = layer.theta_mapping
    theta = {
        "affine": lambda: _softplus(r @ m.kernel.numpy() + m.base.numpy()),
        "per_state": lambda: r @ _softplus(m.state_logits.numpy()),
        "constant": lambda: np.broadcast_to(_softplus(m.logit.numpy()), (6, 3, 4)),
        "fixed": lambda: 0.4 * r.mean(axis=-1, keepdims=True) + 1.2,
    }[mapping]()
    expected = x * _sigmoid(theta * x)
    np.testing.assert_allclose(_np(layer(x, r)), expected, rtol=1e-5, atol=1e-6)


def test_regime_without_time_axis_is_constant_over_time():
    layer = RegimeActivation("elu", per_unit=True)
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    r = RNG.normal(size=(2, 1)).astype("float32")
    layer(x, r)
    _randomize(layer)
    r_seq = np.repeat(r[:, None, :], 5, axis=1)
    np.testing.assert_allclose(_np(layer(x, r)), _np(layer(x, r_seq)), rtol=1e-6)


def _layer_grads(layer, x, r, weights):
    """d(Σ w·y) / (regime, mapping weights) by the tape."""
    return tape_gradients(layer, x, r, weights, layer.theta_mapping.trainable_variables)


def _finite_differences(layer, x, r, weights):
    return central_differences(layer, x, r, weights, layer.theta_mapping.trainable_variables)


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
@pytest.mark.parametrize("mapping", ["affine", "per_state"])
def test_gradient_reaches_regime_and_mapping_weights(name, mapping):
    layer = RegimeActivation(name, mapping=mapping, per_unit=True, dtype="float64")
    rng = np.random.default_rng(3)
    x = rng.normal(scale=2.0, size=(5, 3))
    x[np.abs(x) < 0.05] = 0.5  # keep off the kink
    r = rng.dirichlet([1.0, 1.0], size=5)
    weights = rng.normal(size=(5, 3))
    layer(x, r)
    _randomize(layer, seed=4)
    analytic = _layer_grads(layer, x, r, weights)
    layer.gradient = "autodiff"
    autodiff = _layer_grads(layer, x, r, weights)
    numeric = _finite_differences(layer, x, r, weights)
    assert np.abs(analytic[0]).max() > 1e-3  # the regime does matter
    for a, b, n in zip(analytic, autodiff, numeric, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


def test_layer_uses_the_analytic_derivatives(monkeypatch):
    x = RNG.normal(size=(4, 3)).astype("float32")
    r = RNG.normal(size=(4, 2)).astype("float32")
    weights = np.ones((4, 3), "float32")
    layer = RegimeActivation("tanh", per_unit=True)
    layer(x, r)
    _randomize(layer)
    good = _layer_grads(layer, x, r, weights)
    spec = activations.ACTIVATIONS["tanh"]
    wrong = dataclasses.replace(spec, slope=lambda x_, t, y=None: 3.0 * spec.slope(x_, t, y))
    monkeypatch.setitem(activations.ACTIVATIONS, "tanh", wrong)
    bad = _layer_grads(layer, x, r, weights)
    for g, b in zip(good, bad, strict=True):  # θ's gradient feeds r and the mapping weights
        np.testing.assert_allclose(b, 3.0 * g, rtol=1e-5, atol=1e-7)


def _model(**kwargs) -> keras.Model:
    x = keras.Input((5,), name="window")
    r = keras.Input((2,), name="regime")
    h = keras.layers.Dense(4, name="dense")(x)
    h = RegimeActivation("scaled_relu", per_unit=True, name="act", **kwargs)(h, r)
    return keras.Model({"window": x, "regime": r}, keras.layers.Dense(1, name="out")(h))


def _data(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(n)
    return {"window": rng.normal(size=(n, 5)).astype("float32"),
            "regime": rng.normal(size=(n, 2)).astype("float32")}


def test_save_load_round_trip_safe_mode(tmp_path):
    model = _model(mapping="fixed", mapping_scale=0.3, mapping_shift=0.9)
    model2 = _model(mapping="affine", gradient="autodiff")
    for m in (model, model2):
        _randomize(m)
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        data = _data(9)
        np.testing.assert_array_equal(loaded.predict(data, verbose=0), m.predict(data, verbose=0))
        assert loaded.get_layer("act").get_config() == m.get_layer("act").get_config()


def test_get_config_has_every_init_argument():
    layer = RegimeActivation("sigmoid", mapping="fixed", per_unit=True, gradient="autodiff",
                             mapping_scale=2.0, mapping_shift=0.5, name="a")
    config = layer.get_config()
    for key, value in dict(activation="sigmoid", mapping="fixed", per_unit=True,
                           gradient="autodiff", mapping_scale=2.0, mapping_shift=0.5).items():
        assert config[key] == value
    assert RegimeActivation.from_config(config).get_config() == config


def test_any_batch_size_and_jit_compile(xla_allowed):
    model = _model()
    data = _data(13)
    target = np.ones((13, 1), "float32")
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert model.jit_compile  # Keras falls back silently when a layer cannot be compiled
    model.fit(data, target, batch_size=4, epochs=1, verbose=0)  # last batch has 1 row
    jit = model.predict(data, batch_size=5, verbose=0)
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    plain = model.predict(data, batch_size=1, verbose=0)
    np.testing.assert_allclose(jit, plain, rtol=1e-5, atol=1e-6)


def test_mixed_precision_runs_in_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = RegimeActivation("swish", per_unit=True)
        x = RNG.normal(size=(3, 4)).astype("float32") * 100
        r = RNG.normal(size=(3, 2)).astype("float32")
        y = layer(x, r)
        assert y.dtype == "float16" and layer.theta_mapping.kernel.dtype == "float32"
        assert np.isfinite(_np(y)).all()
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.cast(layer(x, r), "float32"))
        grads = tape.gradient(loss, layer.trainable_variables)
        assert all(np.isfinite(g.numpy()).all() for g in grads)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="activation 'relu'"):
        RegimeActivation("relu")
    with pytest.raises(ConfigError, match="gradient"):
        RegimeActivation("tanh", gradient="numeric")
    with pytest.raises(ConfigError, match="mapping"):
        RegimeActivation("tanh", mapping="quadratic")
    with pytest.raises(ConfigError, match="time axis"):
        RegimeActivation("tanh")(np.zeros((2, 3), "float32"), np.zeros((2, 4, 1), "float32"))
