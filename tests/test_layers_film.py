"""FiLM: h ↦ γ(r) ⊙ h + β(r), against a NumPy reference; shapes, start, save / load."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from gradient_check import central_differences, tape_gradients

from tradenn.errors import ConfigError
from tradenn.layers import FiLM

RNG = np.random.default_rng(0)


def _randomize(layer: FiLM, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        w.assign(rng.normal(scale=0.5, size=w.shape).astype("float32"))


def _reference(layer: FiLM, h: np.ndarray, r: np.ndarray) -> np.ndarray:
    gamma = r @ layer.gamma_kernel.numpy() + layer.gamma_bias.numpy()
    beta = r @ layer.beta_kernel.numpy() + layer.beta_bias.numpy()
    if h.ndim == 3 and r.ndim == 2:
        gamma, beta = gamma[:, None, :], beta[:, None, :]
    return gamma * h + beta


def test_starts_as_the_identity_and_learns_one_gamma_beta_per_unit():
    h = RNG.normal(size=(6, 5)).astype("float32")
    r = RNG.normal(size=(6, 3)).astype("float32")
    layer = FiLM()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(h, r)), h)
    assert [tuple(w.shape) for w in layer.weights] == [(3, 5), (5,), (3, 5), (5,)]
    gamma, beta = (keras.ops.convert_to_numpy(t) for t in layer.modulation(r))
    np.testing.assert_array_equal(gamma, 1.0)
    np.testing.assert_array_equal(beta, 0.0)


@pytest.mark.parametrize("h_shape, r_shape", [((7, 4), (7, 2)), ((7, 3, 4), (7, 2)),
                                              ((7, 3, 4), (7, 3, 2))])
def test_matches_numpy_for_every_shape(h_shape, r_shape):
    h = RNG.normal(size=h_shape).astype("float32")
    r = RNG.normal(size=r_shape).astype("float32")
    layer = FiLM()
    layer(h, r)
    _randomize(layer)
    out = keras.ops.convert_to_numpy(layer([h, r]))  # the list form too
    assert out.shape == h_shape
    assert layer.compute_output_shape(h_shape, r_shape) == h_shape
    np.testing.assert_allclose(out, _reference(layer, h, r), rtol=1e-5, atol=1e-6)


def test_gradients_match_central_differences():
    h = RNG.normal(size=(4, 3)).astype("float64")
    r = RNG.normal(size=(4, 2)).astype("float64")
    layer = FiLM(dtype="float64")
    layer(h, r)
    _randomize(layer)
    weights = RNG.normal(size=(4, 3))
    tape = tape_gradients(layer, h, r, weights, layer.trainable_variables)
    numeric = central_differences(layer, h, r, weights, layer.trainable_variables)
    for a, b in zip(tape, numeric, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_saves_and_loads_in_a_model(tmp_path):
    x = keras.Input((5,), name="x")
    r = keras.Input((2,), name="regime")
    y = FiLM(name="film")(keras.layers.Dense(4)(x), r)
    model = keras.Model({"x": x, "regime": r}, keras.layers.Dense(1)(y))
    _randomize(model.get_layer("film"))
    inputs = {"x": RNG.normal(size=(9, 5)).astype("float32"),
              "regime": RNG.normal(size=(9, 2)).astype("float32")}
    path = tmp_path / "film.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("film"), FiLM)
    assert FiLM.from_config(model.get_layer("film").get_config()).name == "film"
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0),
                                  model.predict(inputs, verbose=0))


def test_a_regime_with_a_time_axis_needs_one_on_h():
    with pytest.raises(ConfigError, match="time axis"):
        FiLM()(np.zeros((2, 4), "float32"), np.zeros((2, 3, 1), "float32"))
