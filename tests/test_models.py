"""build_model / predict_theta: the contract the trainer relies on."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tradenn.config import MappingConfig, ModelConfig
from tradenn.errors import ConfigError
from tradenn.layers import FiLM, RegimeActivation, RegimeLSTM
from tradenn.models import build_model, conditioned_layers, predict_theta, regime_layers

WINDOW, FEATURES = 10, 3


def _inputs(n: int, n_regime: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "window": rng.normal(size=(n, WINDOW, FEATURES)).astype("float32"),
        "regime": rng.normal(size=(n, n_regime)).astype("float32"),
    }


def _build(config: ModelConfig, variant: str = "regime", seed: int | None = 0, n_regime: int = 2):
    return build_model(config, window=WINDOW, n_features=FEATURES, n_regime=n_regime,
                       variant=variant, seed=seed)


def _set_random_weights(model: keras.Model, seed: int = 1) -> None:
    """Nonzero mapping kernels so θ actually depends on the regime."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.3, size=w.shape).astype("float32")
                       for w in model.get_weights()])


@pytest.mark.parametrize("kind", ["lstm", "dense"])
def test_inputs_outputs_and_layer_names(kind):
    config = ModelConfig(kind=kind, lstm_units=[6, 4], dense_units=[5, 3])
    model = _build(config)
    assert sorted(t.name for t in model.inputs) == ["regime", "window"]
    assert model.output.shape == (None, 1)
    assert not model.compiled  # the trainer compiles
    names = [layer.name for layer in regime_layers(model)]
    expected = (["lstm_0", "lstm_1"] if kind == "lstm" else []) + ["dense_0", "dense_1"]
    assert names == expected
    out = model.predict(_inputs(7), verbose=0)
    assert out.shape == (7, 1) and np.isfinite(out).all()
    assert model.get_layer("output").activation is keras.activations.linear


def test_lstm_layers_follow_config():
    config = ModelConfig(lstm_units=[6, 4], lstm_activation="elu", recurrent_activation="tanh",
                         condition_gates=True, activation="leaky_relu", per_unit=True,
                         gradient="autodiff", mapping=MappingConfig(kind="per_state"),
                         unroll=True)
    model = _build(config)
    first, second = model.get_layer("lstm_0"), model.get_layer("lstm_1")
    assert isinstance(first, RegimeLSTM)
    assert (first.units, first.activation, first.recurrent_activation) == (6, "elu", "tanh")
    assert first.return_sequences and not second.return_sequences
    assert first.condition_gates and first.per_unit and first.gradient == "autodiff"
    assert first.mapping == "per_state" and first.unroll and second.unroll
    assert model.predict(_inputs(3), verbose=0).shape == (3, 1)
    act = model.get_layer("dense_0")
    assert isinstance(act, RegimeActivation) and act.activation == "leaky_relu"


def test_no_regime_uses_constant_mappings_and_ignores_regime():
    config = ModelConfig(kind="lstm", condition_gates=True)
    model = _build(config, variant="no_regime")
    assert {layer.mapping for layer in regime_layers(model)} == {"constant"}
    _set_random_weights(model)
    a, b = _inputs(5, seed=0), _inputs(5, seed=1)
    b["window"] = a["window"]  # same windows, different regimes
    np.testing.assert_array_equal(model.predict(a, verbose=0), model.predict(b, verbose=0))
    # The regime variant does read the regime.
    regime_model = _build(config)
    _set_random_weights(regime_model)
    assert not np.allclose(regime_model.predict(a, verbose=0), regime_model.predict(b, verbose=0))


def _regime_changes_output(model: keras.Model) -> bool:
    a, b = _inputs(6, seed=0), _inputs(6, seed=1)
    b["window"] = a["window"]  # same windows, different regimes
    return not np.allclose(model.predict(a, verbose=0), model.predict(b, verbose=0))


@pytest.mark.parametrize("kind", ["lstm", "dense"])
def test_regime_input_appends_the_regime_to_every_step_at_default_theta(kind):
    config = ModelConfig(kind=kind, lstm_units=[6], dense_units=[5], activation="leaky_relu")
    model = _build(config, variant="regime_input", n_regime=2)
    # The first layer sees the features and the regime columns at every step.
    joined = model.get_layer("window_with_regime")
    assert tuple(joined.output.shape) == (None, WINDOW, FEATURES + 2)
    probe = keras.Model(model.inputs, joined.output)
    inputs = _inputs(4)
    seen = probe.predict(inputs, verbose=0)
    np.testing.assert_array_equal(seen[..., :FEATURES], inputs["window"])
    np.testing.assert_array_equal(seen[..., FEATURES:],
                                  np.repeat(inputs["regime"][:, None, :], WINDOW, axis=1))
    if kind == "lstm":
        assert tuple(model.get_layer("lstm_0").cell.kernel.shape) == (FEATURES + 2, 4 * 6)
    else:
        assert tuple(model.get_layer("dense_0_linear").kernel.shape) == (WINDOW * (FEATURES + 2), 5)
    # Every θ is its family's default, nothing conditioned, nothing learned for θ.
    assert {layer.mapping for layer in regime_layers(model)} == {"default"}
    assert conditioned_layers(model) == [] and predict_theta(model, inputs) == {}
    thetas = model.get_layer("dense_0").theta(inputs["regime"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(thetas), 0.2, rtol=1e-6)
    assert not any(isinstance(layer, FiLM) for layer in model.layers)
    _set_random_weights(model)
    assert _regime_changes_output(model)


@pytest.mark.parametrize("kind", ["lstm", "dense"])
def test_film_modulates_each_hidden_layer_and_has_no_conditioned_activation(kind):
    config = ModelConfig(kind=kind, lstm_units=[6, 4], dense_units=[5, 3])
    model = _build(config, variant="film")
    films = [layer.name for layer in model.layers if isinstance(layer, FiLM)]
    hidden = (["lstm_0", "lstm_1"] if kind == "lstm" else []) + ["dense_0", "dense_1"]
    assert films == [f"{name}_film" for name in hidden]
    assert {layer.mapping for layer in regime_layers(model)} == {"default"}
    assert conditioned_layers(model) == [] and predict_theta(model, _inputs(3)) == {}
    # The window's features are all the first layer sees.
    first = model.get_layer("lstm_0").cell.kernel if kind == "lstm" else \
        model.get_layer("dense_0_linear").kernel
    assert first.shape[0] == (FEATURES if kind == "lstm" else WINDOW * FEATURES)
    # FiLM starts as the identity (γ = 1, β = 0): the regime has no effect yet, even with
    # every other weight random; once FiLM's weights move, it has.
    rng = np.random.default_rng(2)
    for layer in model.layers:
        if not isinstance(layer, FiLM):
            for w in layer.weights:
                w.assign(rng.normal(scale=0.3, size=w.shape).astype("float32"))
    assert not _regime_changes_output(model)
    _set_random_weights(model)
    assert _regime_changes_output(model)


def test_regime_model_reports_theta_and_controls_do_not(tmp_path):
    config = ModelConfig()
    inputs = _inputs(5)
    for variant, expected in (("regime", {"lstm_0.candidate", "lstm_0.cell", "dense_0"}),
                              ("no_regime", set()), ("regime_input", set()), ("film", set())):
        model = _build(config, variant=variant)
        path = tmp_path / f"{variant}.keras"
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        assert set(predict_theta(loaded, inputs)) == expected, variant
        np.testing.assert_array_equal(loaded.predict(inputs, verbose=0),
                                      model.predict(inputs, verbose=0))


def test_same_seed_same_weights_other_seed_other_weights():
    config = ModelConfig(dropout=0.2, l2=1e-3)
    w0 = _build(config, seed=3).get_weights()
    w1 = _build(config, seed=3).get_weights()
    w2 = _build(config, seed=4).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(w0, w1, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(w0, w2, strict=True))


def test_l2_and_dropout_are_applied():
    model = _build(ModelConfig(dropout=0.3, l2=1e-2))
    assert len(model.losses) == 3  # lstm kernel, lstm recurrent kernel, dense kernel
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert not _build(ModelConfig()).losses


def test_initial_theta_is_the_family_default():
    config = ModelConfig(activation="leaky_relu", lstm_activation="tanh")
    thetas = predict_theta(_build(config), _inputs(4))
    np.testing.assert_allclose(thetas["lstm_0.cell"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(thetas["lstm_0.candidate"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(thetas["dense_0"], 0.2, rtol=1e-6)


def test_predict_theta_matches_layer_theta_and_survives_save(tmp_path):
    config = ModelConfig(condition_gates=True, per_unit=True)
    model = _build(config)
    _set_random_weights(model)
    inputs = _inputs(37)
    thetas = predict_theta(model, inputs, batch_size=8)  # several batches, a partial one
    assert set(thetas) == {"lstm_0.candidate", "lstm_0.cell", "lstm_0.gates", "dense_0"}
    assert all(v.shape == (37,) for v in thetas.values())
    expected = model.get_layer("dense_0").theta(inputs["regime"])
    np.testing.assert_allclose(thetas["dense_0"], keras.ops.convert_to_numpy(expected).mean(axis=1), rtol=1e-5)
    assert np.std(thetas["dense_0"]) > 1e-3  # varies with the regime

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    for name, values in predict_theta(loaded, inputs).items():
        np.testing.assert_array_equal(values, thetas[name])
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0),
                                  model.predict(inputs, verbose=0))


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="n_regime"):
        build_model(ModelConfig(), window=10, n_features=3, n_regime=0)
    with pytest.raises(ConfigError, match="variant"):
        build_model(ModelConfig(), window=10, n_features=3, n_regime=1, variant="shuffled")
    with pytest.raises(ConfigError, match="regime"):
        predict_theta(_build(ModelConfig()), {"window": np.zeros((2, WINDOW, FEATURES))})


def test_predict_theta_needs_the_regime_input_fed_directly():
    x = keras.Input((WINDOW, FEATURES), name="window")
    r = keras.Input((2,), name="regime")
    mixed = keras.layers.Dense(2, name="mix")(r)
    h = keras.layers.Dense(3)(keras.layers.Flatten()(x))
    h = RegimeActivation("tanh", name="act")(h, mixed)
    model = keras.Model({"window": x, "regime": r}, keras.layers.Dense(1)(h))
    with pytest.raises(ConfigError, match="'act' does not take the 'regime' input"):
        predict_theta(model, _inputs(3))


def test_trains_on_spy_and_theta_follows_the_volatility_regime():
    from tradenn.data import load_bars
    from tradenn.features import make_features, make_target, make_windows
    from tradenn.scaling import Standardizer

    bars = load_bars("SPY", provider="bundled", start="2012-01-01", end="2016-12-31")
    features = make_features(bars, ["log_return", "return_5", "volatility_21"])
    frame = features.assign(target=make_target(bars)).dropna()
    values = Standardizer.fit(frame.to_numpy()).transform(frame.to_numpy())
    windows = make_windows(values[:, :3], WINDOW).astype("float32")
    regime = values[WINDOW - 1 :, 2:3].astype("float32")  # volatility at the window's end
    target = values[WINDOW - 1 :, 3:4].astype("float32")
    inputs = {"window": windows, "regime": regime}
    config = ModelConfig(lstm_units=[8], dense_units=[4], activation="swish")

    thetas = {}
    for variant in ("regime", "no_regime"):
        keras.utils.set_random_seed(0)  # batch order
        model = build_model(config, window=WINDOW, n_features=FEATURES, n_regime=1,
                            variant=variant, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        history = model.fit(inputs, target, epochs=3, batch_size=64, verbose=0).history["loss"]
        assert np.isfinite(history).all() and history[-1] < history[0], history
        thetas[variant] = predict_theta(model, inputs)
    for name, theta in thetas["regime"].items():
        assert theta.shape == (len(windows),)
        # An affine θ in one regime column is monotone in it: |corr| = 1 unless it is flat.
        assert abs(np.corrcoef(theta, regime[:, 0])[0, 1]) > 0.99, name
    assert thetas["no_regime"] == {}  # no conditioned activation, no θ column
