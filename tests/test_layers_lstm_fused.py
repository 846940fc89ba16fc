"""The fused RegimeLSTM (one analytic gradient for the whole sequence) against TensorFlow's
autodiff of the same loop and against the step-by-step layer it replaced
(`stepwise_regime_lstm`), for every family × mapping × option."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from stepwise_regime_lstm import StepwiseRegimeLSTM

from tradenn.activations import ACTIVATIONS
from tradenn.layers import RegimeLSTM
from tradenn.layers.mappings import MAPPINGS

B, T, F, R, U = 3, 4, 2, 2, 3
FAMILIES = sorted(ACTIVATIONS)
# Gate family paired with each candidate / cell family, so that every family is both.
GATE_FAMILY = dict(zip(FAMILIES, FAMILIES[1:] + FAMILIES[:1], strict=True))
OPTIONS = ("per_step", "per_unit", "condition_gates", "return_sequences", "dropout")


def _data(per_step: bool, dtype: str = "float64", seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F)).astype(dtype)
    r = rng.normal(size=(B, T, R) if per_step else (B, R)).astype(dtype)
    if per_step:
        r[..., 0] = np.abs(r[..., 0])
    return x, r


def _layers(kinds: dict[str, type], shapes: tuple, seed: int = 1, **kwargs) -> dict:
    """Built layers of each class with the same weights, moved off their defaults."""
    built = {}
    for name, cls in kinds.items():
        layer = cls(U, seed=7, kernel_initializer="zeros", recurrent_initializer="zeros",
                    **kwargs)  # cheap initializers: every weight is set below
        if cls is StepwiseRegimeLSTM and layer.input_dropout is not None:
            # The old layer dropped inputs in the global dtype (float32 here), the fused
            # one in its own: give the reference the same dropout.
            layer.input_dropout = keras.layers.Dropout(
                layer.dropout, noise_shape=(None, 1, None), seed=7, dtype=layer.dtype_policy)
        layer.build(*shapes)
        built[name] = layer
    rng = np.random.default_rng(seed)
    first = next(iter(built.values()))
    values = [w.numpy() + rng.normal(scale=0.5, size=tuple(w.shape)) for w in first.weights]
    for layer in built.values():
        assert [w.path.split("/", 1)[1] for w in layer.weights] == [
            w.path.split("/", 1)[1] for w in first.weights]
        for w, v in zip(layer.weights, values, strict=True):
            w.assign(v.astype(w.dtype))
    return built


def _output_and_grads(layer, x, r, training: bool):
    x, r = tf.constant(x), tf.constant(r)
    with tf.GradientTape() as tape:
        tape.watch([x, r])
        y = layer(x, r, training=training)
        weights = tf.cast(tf.reshape(tf.range(tf.size(y)), tf.shape(y)), y.dtype)
        loss = tf.reduce_sum(tf.sin(weights) * tf.cast(y, weights.dtype))
    grads = tape.gradient(loss, [x, r, *layer.trainable_variables],
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [y.numpy()] + [g.numpy() for g in grads]


def _case(family: str, mapping: str, **options) -> dict:
    return dict(activation=family, recurrent_activation=GATE_FAMILY[family], mapping=mapping,
                per_unit=options["per_unit"], condition_gates=options["condition_gates"],
                return_sequences=options["return_sequences"],
                dropout=0.3 if options["dropout"] else 0.0, dtype="float64")


@pytest.mark.parametrize("mapping", sorted(MAPPINGS))
@pytest.mark.parametrize("family", FAMILIES)
def test_same_outputs_and_gradients_as_autodiff_and_stepwise(family, mapping):
    """Every combination of the options, to float64 rounding: output, and the gradients
    of the inputs, the regime, the kernels, the bias and the mapping's weights."""
    largest_regime_gradient = 0.0
    for values in itertools.product([False, True], repeat=len(OPTIONS)):
        options = dict(zip(OPTIONS, values, strict=True))
        x, r = _data(options["per_step"])
        kwargs = _case(family, mapping, **options)
        layers = _layers({"fused": RegimeLSTM, "autodiff": RegimeLSTM,
                          "stepwise": StepwiseRegimeLSTM}, (x.shape, r.shape), **kwargs)
        layers["autodiff"].gradient = "autodiff"
        got = {name: _output_and_grads(layer, x, r, training=True)
               for name, layer in layers.items()}
        names = ["output", "x", "regime"] + [w.path for w in layers["fused"].trainable_variables]
        for reference in ("autodiff", "stepwise"):
            for name, a, b in zip(names, got["fused"], got[reference], strict=True):
                np.testing.assert_allclose(
                    a, b, rtol=1e-9, atol=1e-12,
                    err_msg=f"{name} vs {reference}, {family}/{mapping}, {options}")
        largest_regime_gradient = max(largest_regime_gradient, np.abs(got["fused"][2]).max())
    # Not vacuous: the regime reaches the output (the constant and default mappings ignore it).
    assert (largest_regime_gradient > 1e-3) != (mapping in ("constant", "default"))


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("steps", [1, 5, 9])
def test_any_window_length_looped_or_unrolled(steps, unroll):
    """Windows shorter than, equal to and not a multiple of the loop's block of steps."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(B, steps, F))
    r = rng.normal(size=(B, steps, R))
    kwargs = dict(condition_gates=True, per_unit=True, return_sequences=True, dtype="float64")
    layers = _layers({"fused": RegimeLSTM, "stepwise": StepwiseRegimeLSTM},
                     (x.shape, r.shape), **kwargs)
    layers["fused"].unroll = unroll
    fused = _output_and_grads(layers["fused"], x, r, training=False)
    stepwise = _output_and_grads(layers["stepwise"], x, r, training=False)
    for a, b in zip(fused, stepwise, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_float32_matches_stepwise():
    x, r = _data(per_step=False, dtype="float32")
    kwargs = dict(condition_gates=True, per_unit=True, return_sequences=True)
    layers = _layers({"fused": RegimeLSTM, "stepwise": StepwiseRegimeLSTM},
                     (x.shape, r.shape), **kwargs)
    fused = _output_and_grads(layers["fused"], x, r, training=False)
    stepwise = _output_and_grads(layers["stepwise"], x, r, training=False)
    for a, b in zip(fused, stepwise, strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("per_step", [False, True])
def test_mixed_precision_matches_stepwise(per_step):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        x, r = _data(per_step=per_step, dtype="float32")
        kwargs = dict(condition_gates=True, per_unit=True, return_sequences=True)
        layers = _layers({"fused": RegimeLSTM, "stepwise": StepwiseRegimeLSTM},
                         (x.shape, r.shape), seed=2, **kwargs)
        for layer in layers.values():
            for w in layer.weights:  # weights that float16 holds exactly
                w.assign(np.round(w.numpy() * 64) / 64)
        fused = _output_and_grads(layers["fused"], x, r, training=False)
        stepwise = _output_and_grads(layers["stepwise"], x, r, training=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert fused[0].dtype == np.float16 and layers["fused"].kernel.dtype == "float32"
    for a, b in zip(fused, stepwise, strict=True):
        assert np.isfinite(a).all()
        scale = max(np.abs(b).max(), 1e-3)
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-2 * scale)


@pytest.mark.parametrize("mapping", ["constant", "affine"])
def test_default_theta_gradients_are_keras_lstm(mapping):
    """At default θ, the fused gradients of the kernels are Keras' LSTM's (permuted)."""
    x, _ = _data(per_step=False, dtype="float64")
    r = np.zeros((B, R))
    reference = keras.layers.LSTM(U, return_sequences=True, dtype="float64")
    reference.build(x.shape)
    rng = np.random.default_rng(4)
    for w in reference.weights:
        w.assign(w.numpy() + rng.normal(scale=0.3, size=tuple(w.shape)))
    layer = RegimeLSTM(U, mapping=mapping, condition_gates=True, return_sequences=True,
                       dtype="float64")
    layer.build(x.shape, r.shape)
    permute = [0, 1, 3, 2]  # Keras' blocks i, f, c, o → ours i, f, o, c

    def ours(w: np.ndarray) -> np.ndarray:
        return np.concatenate([np.split(w, 4, axis=-1)[k] for k in permute], axis=-1)

    for mine, theirs in zip((layer.kernel, layer.recurrent_kernel, layer.bias),
                            reference.weights, strict=True):
        mine.assign(ours(theirs.numpy()))
    for m in layer.theta_mappings.values():  # the default θ in float64 (the initializer's
        u = m.spec.unsquash(m.spec.default)  # constant went through float32)
        for w in m.weights:
            w.assign(np.zeros(w.shape) if w.name == "kernel" else np.full(w.shape, u))
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        y_ours = layer(xt, r)
        y_keras = reference(xt)
        loss_ours = tf.reduce_sum(tf.sin(y_ours))
        loss_keras = tf.reduce_sum(tf.sin(y_keras))
    np.testing.assert_allclose(y_ours.numpy(), y_keras.numpy(), rtol=1e-12, atol=1e-14)
    g_ours = tape.gradient(loss_ours, [xt, layer.kernel, layer.recurrent_kernel, layer.bias])
    g_keras = tape.gradient(loss_keras, [xt, *reference.weights])
    np.testing.assert_allclose(g_ours[0].numpy(), g_keras[0].numpy(), rtol=1e-10, atol=1e-14)
    for a, b in zip(g_ours[1:], g_keras[1:], strict=True):
        np.testing.assert_allclose(a.numpy(), ours(b.numpy()), rtol=1e-10, atol=1e-14)


def test_call_is_reentrant_and_has_no_side_effects():
    """Two calls with different regimes in one graph, differentiated together, give what
    each gives alone; calling sets no attribute on the layer or its cell."""
    layer = RegimeLSTM(U, condition_gates=True, per_unit=True, dtype="float64")
    x, r1 = _data(per_step=False)
    r2 = r1[::-1].copy()
    layer.build(x.shape, r1.shape)

    def public(obj) -> dict:
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}

    before = (public(layer), public(layer.cell))

    @tf.function
    def both():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, r1) * layer(x, r2) ** 2)
        return tape.gradient(loss, layer.trainable_variables)

    def alone():
        with tf.GradientTape() as tape:
            part2 = tf.reduce_sum(tf.stop_gradient(layer(x, r1)) * layer(x, r2) ** 2)
        g2 = tape.gradient(part2, layer.trainable_variables)
        with tf.GradientTape() as tape:
            part1 = tf.reduce_sum(layer(x, r1) * tf.stop_gradient(layer(x, r2)) ** 2)
        g1 = tape.gradient(part1, layer.trainable_variables)
        return [a + b for a, b in zip(g1, g2, strict=True)]

    for a, b in zip(both(), alone(), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-13)
    after = (public(layer), public(layer.cell))
    for was, now in zip(before, after, strict=True):
        assert was.keys() == now.keys()
        assert all(was[k] is now[k] for k in was)


def test_a_keras_mask_is_ignored():
    """No masking: every step counts, a mask from a Masking layer changes nothing."""
    x, r = _data(per_step=False, dtype="float32")
    x[:, -1] = 0.0  # the step Masking masks
    layer = RegimeLSTM(U, return_sequences=True)
    window = keras.Input((T, F))
    regime = keras.Input((R,))
    plain = keras.Model([window, regime], layer(window, regime))
    with pytest.warns(UserWarning, match="does not support masking"):
        masked = keras.Model([window, regime],
                             layer(keras.layers.Masking(0.0)(window), regime))
    np.testing.assert_array_equal(masked.predict([x, r], verbose=0),
                                  plain.predict([x, r], verbose=0))


def _list_writes(fn) -> int:
    graph = fn.get_concrete_function().graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return sum(n.op == "TensorListSetItem" for n in nodes)


def test_without_a_tape_the_loop_keeps_nothing():
    """Predicting keeps nothing per step for a backward pass; training does."""
    layer = RegimeLSTM(U, condition_gates=True)
    x, r = _data(per_step=False, dtype="float32")
    x = np.concatenate([x] * 3, axis=1)  # longer than a block of the loop
    layer.build(x.shape, r.shape)

    @tf.function
    def predict():
        return layer(x, r)

    @tf.function
    def train():
        with tf.GradientTape() as tape:
            y = layer(x, r)
            loss = tf.reduce_sum(y)
        return y, tape.gradient(loss, layer.trainable_variables)

    assert _list_writes(predict) == 0
    assert _list_writes(train) > 0
    np.testing.assert_allclose(predict().numpy(), train()[0].numpy(), rtol=1e-6, atol=1e-7)
