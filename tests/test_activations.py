"""Activation families: values, analytic derivatives, stability, the custom gradient, plots."""

from __future__ import annotations

import dataclasses
import math
from typing import get_args

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from tradenn.activations import ACTIVATIONS, ActivationSpec, apply, get_activation, plot
from tradenn.config import ActivationName
from tradenn.errors import ConfigError

NAMES = sorted(ACTIVATIONS)
# Away from the kink at 0 (checked separately), including the tails.
X_GRID = np.array([-100.0, -30.0, -7.5, -2.0, -0.7, -0.05, 0.05, 0.3, 1.1, 3.0, 8.0, 30.0, 100.0])


def _thetas(spec: ActivationSpec) -> np.ndarray:
    if spec.theta_max is not None:
        return np.array([0.01, 0.2, 0.5, 0.93])
    return np.array([0.05, 0.5, 1.0, 2.5, 7.0])


def _np(spec_fn, x, t) -> np.ndarray:
    return ops.convert_to_numpy(spec_fn(ops.convert_to_tensor(x), ops.convert_to_tensor(t)))


def _grid(spec: ActivationSpec) -> tuple[np.ndarray, np.ndarray]:
    x, t = np.meshgrid(X_GRID, _thetas(spec), indexing="ij")
    return x.astype("float64"), t.astype("float64")


# NumPy versions written independently of the keras.ops code, straight from the formulas.
def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


REFERENCE = {
    "scaled_relu": lambda x, t: t * np.maximum(x, 0.0),
    "leaky_relu": lambda x, t: np.maximum(x, t * x),
    "sigmoid": lambda x, t: _sigmoid(t * x),
    "tanh": lambda x, t: np.tanh(t * x),
    "swish": lambda x, t: x * _sigmoid(t * x),
    "elu": lambda x, t: np.where(x > 0, x, t * np.expm1(np.minimum(x, 0.0))),
}


def test_registry_matches_config_names():
    assert set(get_args(ActivationName)) == set(ACTIVATIONS)
    assert set(REFERENCE) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_values_match_numpy_reference(name):
    spec = ACTIVATIONS[name]
    x, t = _grid(spec)
    np.testing.assert_allclose(_np(spec.fn, x, t), REFERENCE[name](x, t), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("scaled_relu", keras.activations.relu),
        ("leaky_relu", lambda x: keras.activations.leaky_relu(x, negative_slope=0.2)),
        ("sigmoid", keras.activations.sigmoid),
        ("tanh", keras.activations.tanh),
        ("swish", keras.activations.silu),
        ("elu", keras.activations.elu),
    ],
)
def test_default_theta_is_the_standard_activation(name, builtin):
    spec = ACTIVATIONS[name]
    x = np.linspace(-6, 6, 49).astype("float32")
    got = _np(spec.fn, x, np.full_like(x, spec.default))
    np.testing.assert_allclose(got, ops.convert_to_numpy(builtin(x)), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_analytic_derivatives_match_finite_differences(name):
    spec = ACTIVATIONS[name]
    x, t = _grid(spec)
    h = 1e-6
    fd_x = (REFERENCE[name](x + h, t) - REFERENCE[name](x - h, t)) / (2 * h)
    fd_t = (REFERENCE[name](x, t + h) - REFERENCE[name](x, t - h)) / (2 * h)
    np.testing.assert_allclose(_np(spec.dx, x, t), fd_x, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_np(spec.dtheta, x, t), fd_t, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_from_the_output_agree(name):
    # The custom gradient passes y = f(x, θ) to save work; both forms must agree.
    spec = ACTIVATIONS[name]
    x, t = _grid(spec)
    y = _np(spec.fn, x, t)
    for derivative in (spec.dx, spec.dtheta):
        with_y = ops.convert_to_numpy(derivative(*map(ops.convert_to_tensor, (x, t, y))))
        np.testing.assert_allclose(with_y, _np(derivative, x, t), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("theta_shape", [(13, 1), (13, 4), (1, 4)])
def test_custom_gradient_equals_autodiff_with_broadcast_theta(name, theta_shape):
    spec = ACTIVATIONS[name]
    rng = np.random.default_rng(0)
    x = tf.constant(np.tile(X_GRID[:, None], (1, 4)) * rng.uniform(0.5, 1.5, (13, 4)))
    theta = tf.constant(rng.uniform(0.1, 0.9, theta_shape) * (1 if spec.theta_max else 3))
    weights = tf.constant(rng.normal(size=(13, 4)))  # a non-uniform upstream gradient
    grads = {}
    for gradient in ("analytic", "autodiff"):
        with tf.GradientTape() as tape:
            tape.watch([x, theta])
            loss = tf.reduce_sum(weights * apply(spec, x, theta, gradient))
        grads[gradient] = tape.gradient(loss, [x, theta])
    gx, gt = grads["analytic"]
    assert tuple(gt.shape) == theta_shape
    np.testing.assert_allclose(gx.numpy(), grads["autodiff"][0].numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gt.numpy(), grads["autodiff"][1].numpy(), rtol=1e-10, atol=1e-12)


def _gradients(spec, x, theta):
    with tf.GradientTape() as tape:
        tape.watch([x, theta])
        y = tf.reduce_sum(apply(spec, x, theta))
    return [g.numpy() for g in tape.gradient(y, [x, theta])]


def test_wrong_derivative_changes_the_gradient():
    # If Keras ignored the hand-written derivatives, a wrong one would go unnoticed.
    x, theta = tf.constant([[0.3, -1.2]]), tf.constant([[1.5]])
    elu = ACTIVATIONS["elu"]  # a family with its own dx / dtheta
    wrong = dataclasses.replace(elu, dx=lambda x_, t, y=None: 2.0 * elu.dx(x_, t, y),
                                dtheta=lambda x_, t, y=None: 0.0 * x_)
    (gx, gt), (wx, wt) = _gradients(elu, x, theta), _gradients(wrong, x, theta)
    np.testing.assert_allclose(wx, 2 * gx, rtol=1e-6)
    assert wt[0, 0] == 0.0 and gt[0, 0] != 0.0
    tanh = ACTIVATIONS["tanh"]  # a φ(θ·x) family: its gradient goes through `slope`
    wrong = dataclasses.replace(tanh, slope=lambda x_, t, y=None: 3.0 * tanh.slope(x_, t, y))
    (gx, gt), (wx, wt) = _gradients(tanh, x, theta), _gradients(wrong, x, theta)
    np.testing.assert_allclose(wx, 3 * gx, rtol=1e-6)
    np.testing.assert_allclose(wt, 3 * gt, rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_float32_is_finite_for_large_inputs_and_theta(name):
    spec = ACTIVATIONS[name]
    big = 0.99 if spec.theta_max else 1e4
    x = tf.constant([-100.0, -50.0, 0.0, 50.0, 100.0], dtype="float32")
    for theta_value in (spec.theta_floor or 1e-3, big):
        theta = tf.fill([5], tf.constant(theta_value, "float32"))
        with tf.GradientTape() as tape:
            tape.watch([x, theta])
            y = apply(spec, x, theta)
            loss = tf.reduce_sum(y)
        gx, gt = tape.gradient(loss, [x, theta])
        for value in (y, gx, gt, spec.dx(x, theta), spec.dtheta(x, theta)):
            assert np.isfinite(value.numpy()).all(), (name, theta_value, value)


def test_tails_keep_relative_accuracy():
    # 1 - tanh² and σ(1 - σ) would both round to exactly 0 here in float32.
    x, t = tf.constant([12.0]), tf.constant([1.0])
    assert ACTIVATIONS["tanh"].dx(x, t).numpy()[0] == pytest.approx(4 * math.exp(-24), rel=1e-4)
    s = ACTIVATIONS["sigmoid"].dx(tf.constant([20.0]), t).numpy()[0]
    assert s == pytest.approx(math.exp(-20), rel=1e-4)


@pytest.mark.parametrize(
    ("name", "dx_at_0", "dtheta_at_0"),
    [("scaled_relu", 0.0, 0.0), ("leaky_relu", 0.3, 0.0), ("elu", 0.3, 0.0)],
)
def test_kink_uses_the_left_branch(name, dx_at_0, dtheta_at_0):
    spec = ACTIVATIONS[name]
    x, t = tf.constant([0.0]), tf.constant([0.3])
    assert spec.dx(x, t).numpy()[0] == pytest.approx(dx_at_0)
    assert spec.dtheta(x, t).numpy()[0] == pytest.approx(dtheta_at_0)


@pytest.mark.parametrize("name", NAMES)
def test_squash_lands_in_range_and_inverts(name):
    spec = ACTIVATIONS[name]
    u = np.linspace(-30, 30, 61)
    theta = ops.convert_to_numpy(spec.squash(ops.convert_to_tensor(u)))
    assert (theta >= spec.theta_min).all()
    if spec.theta_max is not None:
        assert (theta <= spec.theta_max).all()
    assert np.all(np.diff(theta) >= 0)
    for value in (spec.default, *_thetas(spec)):
        back = ops.convert_to_numpy(spec.squash(ops.convert_to_tensor(spec.unsquash(value), "float64")))
        assert float(back) == pytest.approx(value, rel=1e-9)


def test_clip_and_validate():
    spec = ACTIVATIONS["leaky_relu"]
    clipped = ops.convert_to_numpy(spec.clip(ops.convert_to_tensor([-1.0, 0.5, 3.0])))
    np.testing.assert_array_equal(clipped, [0.0, 0.5, 1.0])
    assert ops.convert_to_numpy(ACTIVATIONS["tanh"].clip(ops.convert_to_tensor([-2.0])))[0] > 0
    with pytest.raises(ConfigError, match=r"\(0, 1\).*1\.5"):
        spec.validate(1.5)
    with pytest.raises(ConfigError, match="expected one of"):
        get_activation("relu6")
    with pytest.raises(ConfigError, match="gradient"):
        apply("tanh", tf.constant([1.0]), tf.constant([1.0]), gradient="numeric")


def test_plot_returns_figure_with_a_curve_per_theta(tmp_path):
    fig = plot("swish", thetas=[0.5, 1.0, 2.0])
    f_axis, dx_axis = fig.axes
    assert len(f_axis.get_lines()) == 3 + 2  # three curves and the two zero lines
    curve = f_axis.get_lines()[1]  # θ = 1: x·σ(x)
    x, y = curve.get_data()
    np.testing.assert_allclose(y, x / (1 + np.exp(-x)), rtol=1e-5, atol=1e-6)
    fig.savefig(tmp_path / "swish.png")
    assert (tmp_path / "swish.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match="θ"):
        plot("leaky_relu", thetas=[2.0])
