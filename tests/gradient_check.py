"""Gradients of a regime layer's weighted output, by the tape and by central differences.

Both return ``[d/d regime, d/d variables[0], ...]`` of ``Σ weights · layer(x, regime)``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def tape_gradients(layer, x, r, weights, variables) -> list[np.ndarray]:
    r = tf.constant(r)
    with tf.GradientTape() as tape:
        tape.watch(r)
        loss = tf.reduce_sum(weights * layer(x, r))
    return [g.numpy() for g in tape.gradient(loss, [r, *variables])]


def central_differences(layer, x, r, weights, variables, h=1e-6) -> list[np.ndarray]:
    def loss(regime) -> float:
        return float(np.sum(weights * keras.ops.convert_to_numpy(layer(x, regime))))

    grad_r = np.zeros_like(r)
    for idx in np.ndindex(r.shape):
        up, down = r.copy(), r.copy()
        up[idx] += h
        down[idx] -= h
        grad_r[idx] = (loss(up) - loss(down)) / (2 * h)
    grads = [grad_r]
    for var in variables:
        value, grad = var.numpy(), np.zeros(tuple(var.shape))
        for idx in np.ndindex(value.shape):
            for sign in (1, -1):
                shifted = value.copy()
                shifted[idx] += sign * h
                var.assign(shifted)
                grad[idx] += sign * loss(r) / (2 * h)
        var.assign(value)
        grads.append(grad)
    return grads
