"""Build the experiment's Dense / LSTM models from the model config, and read their θ.

A model takes ``{"window": (batch, window, n_features), "regime": (batch, n_regime)}`` and
returns ``(batch, 1)``, the predicted standardized next-period return (linear output), or
with ``position_output`` (the Sharpe loss) a position in [-1, 1] (tanh output).
Layer names are fixed so that θ columns read the same in every run: ``lstm_0``,
``lstm_1``... for the recurrent layers, ``dense_0``... for the regime activations after the
Dense layers (the Dense layers themselves are ``dense_0_linear``...), ``output``.

Variants (one architecture, the regime routed differently):

=============  ==================================================================
regime         θ = g(regime) in every activation (the model under study)
no_regime      every θ a learned constant; the regime input is ignored
regime_input   every θ at its family default; the regime appended to the features
               of every window step (``window_with_regime``)
film           every θ at its family default; each hidden layer's output modulated
               by FiLM, h ↦ γ(r) ⊙ h + β(r) (``lstm_0_film``, ``dense_0_film``...)
=============  ==================================================================
"""

from __future__ import annotations

from typing import Literal

import keras
import numpy as np
from keras import ops

from tradenn.config import ModelConfig
from tradenn.errors import ConfigError
from tradenn.layers import UNCONDITIONED, FiLM, RegimeActivation, RegimeLSTM

Variant = Literal["regime", "no_regime", "regime_input", "film"]
VARIANTS = ("regime", "no_regime", "regime_input", "film")


class _Seeds:
    """Distinct seeds for each initializer / dropout layer, derived from one model seed."""

    def __init__(self, seed: int | None):
        self._rng = None if seed is None else np.random.default_rng(seed)

    def next(self) -> int | None:
        return None if self._rng is None else int(self._rng.integers(0, 2**31 - 1))

    def glorot(self) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=self.next())

    def orthogonal(self) -> keras.initializers.Initializer:
        return keras.initializers.Orthogonal(seed=self.next())


def build_model(
    config: ModelConfig,
    *,
    window: int,
    n_features: int,
    n_regime: int,
    variant: Variant = "regime",
    seed: int | None = None,
    position_output: bool = False,
) -> keras.Model:
    """The uncompiled model that ``config`` describes.

    Args:
        config: the ``model`` section of an experiment.
        window: time steps per input window.
        n_features: features per time step.
        n_regime: width R of the regime input.
        variant: ``"regime"``; ``"no_regime"`` to replace every mapping by ``constant``
            (same architecture, regime cut off; the regime input stays, unused);
            ``"regime_input"`` (θ at the family defaults, regime appended to every window
            step's features) or ``"film"`` (θ at the defaults, FiLM after each hidden
            layer). See the module docstring.
        seed: seeds every initializer and dropout layer; None draws from Keras' global RNG.
        position_output: a tanh output, a position in [-1, 1] (the Sharpe loss), instead
            of the linear predicted return.

    Returns:
        An uncompiled ``keras.Model`` with inputs ``"window"`` and ``"regime"``.

    Raises:
        ConfigError: a non-positive size or an unknown variant.

    Example:
        >>> model = build_model(ModelConfig(), window=20, n_features=5, n_regime=1, seed=0)
        >>> model.compile(optimizer="adam", loss="mse")
    """
    for what, value in (("window", window), ("n_features", n_features), ("n_regime", n_regime)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ConfigError(f"build_model {what}: expected an int >= 1, got {value!r}")
    if variant not in VARIANTS:
        raise ConfigError(
            f"build_model variant: expected one of {', '.join(VARIANTS)}, got {variant!r}"
        )
    seeds = _Seeds(seed)
    mapping = {"regime": config.mapping.kind, "no_regime": "constant"}.get(variant, "default")
    common = {
        "mapping": mapping,
        "per_unit": config.per_unit,
        "gradient": config.gradient,
        "mapping_scale": config.mapping.scale,
        "mapping_shift": config.mapping.shift,
    }
    l2 = keras.regularizers.L2(config.l2) if config.l2 > 0 else None

    window_in = keras.Input((int(window), int(n_features)), name="window")
    regime_in = keras.Input((int(n_regime),), name="regime")
    h = window_in
    if variant == "regime_input":  # the regime, repeated, as extra features of every step
        repeated = keras.layers.RepeatVector(int(window), name="regime_repeated")(regime_in)
        h = keras.layers.Concatenate(axis=-1, name="window_with_regime")([window_in, repeated])
    film = variant == "film"
    if config.kind == "lstm":
        last = len(config.lstm_units) - 1
        for i, units in enumerate(config.lstm_units):
            h = RegimeLSTM(
                units, activation=config.lstm_activation,
                recurrent_activation=config.recurrent_activation,
                condition_gates=config.condition_gates, return_sequences=i < last,
                unroll=config.unroll,
                kernel_initializer=seeds.glorot(), recurrent_initializer=seeds.orthogonal(),
                kernel_regularizer=l2, recurrent_regularizer=l2, name=f"lstm_{i}", **common,
            )(h, regime_in)
            if film:
                h = FiLM(name=f"lstm_{i}_film")(h, regime_in)
            h = _dropout(h, config.dropout, seeds, f"lstm_{i}_dropout")
    else:
        h = keras.layers.Flatten(name="flatten")(h)
    for i, units in enumerate(config.dense_units):
        h = keras.layers.Dense(
            units, kernel_initializer=seeds.glorot(), kernel_regularizer=l2,
            name=f"dense_{i}_linear",
        )(h)
        h = RegimeActivation(config.activation, name=f"dense_{i}", **common)(h, regime_in)
        if film:
            h = FiLM(name=f"dense_{i}_film")(h, regime_in)
        h = _dropout(h, config.dropout, seeds, f"dense_{i}_dropout")
    # float32 output whatever the policy, so losses stay in full precision.
    output = keras.layers.Dense(
        1, activation="tanh" if position_output else None, kernel_initializer=seeds.glorot(),
        name="output", dtype="float32",
    )(h)
    name = f"tradenn_{config.kind}_{variant}"
    return keras.Model({"window": window_in, "regime": regime_in}, output, name=name)


def _dropout(h: keras.KerasTensor, rate: float, seeds: _Seeds, name: str) -> keras.KerasTensor:
    if rate <= 0:
        return h
    return keras.layers.Dropout(rate, seed=seeds.next(), name=name)(h)


def regime_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers with parametric activations (`RegimeLSTM`, `RegimeActivation`),
    in order, whatever their mapping."""
    return [layer for layer in model.layers if isinstance(layer, RegimeLSTM | RegimeActivation)]


def conditioned_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers whose θ depends on the regime: `regime_layers` without those whose
    mapping ignores it (``constant``, ``default``). Empty for every control."""
    return [layer for layer in regime_layers(model) if layer.mapping not in UNCONDITIONED]


def predict_theta(
    model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """One summary θ per sample for every regime-conditioned activation of ``model``.

    Only layers whose θ depends on the regime are reported (`conditioned_layers`): for the
    ``no_regime``, ``regime_input`` and ``film`` controls the result is empty.

    The summary is the mean over units (and over time steps for a per-step regime).
    Keys: ``"<lstm layer>.candidate"``, ``"<lstm layer>.cell"``, ``"<lstm layer>.gates"``
    (with ``condition_gates``) and ``"<activation layer>"``, e.g. ``"lstm_0.cell"``,
    ``"dense_0"``. θ depends on the regime only, so only ``inputs["regime"]`` is read.

    Args:
        model: a model from `build_model`, possibly loaded back from ``.keras``.
        inputs: the model's input arrays; needs ``"regime"`` of shape (n, R).
        batch_size: rows per evaluation batch.

    Returns:
        ``{name: array of shape (n,)}`` (float64).

    Raises:
        ConfigError: ``inputs`` has no ``"regime"`` array or the model no ``regime`` input.
    """
    if "regime" not in inputs:
        raise ConfigError(f"predict_theta inputs: expected a 'regime' array, got {sorted(inputs)}")
    regime = np.asarray(inputs["regime"], dtype="float32")
    if regime.ndim != 2:
        raise ConfigError(
            f"predict_theta inputs['regime']: expected shape (n, R), got {regime.shape}"
        )
    _check_regime_feeds_layers(model)
    layers = conditioned_layers(model)
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, max(len(regime), 1), batch_size):
        chunk = regime[start : start + batch_size]
        for layer in layers:
            for name, theta in _layer_thetas(layer, chunk).items():
                out.setdefault(name, []).append(theta)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _layer_thetas(layer: keras.layers.Layer, regime: np.ndarray) -> dict[str, np.ndarray]:
    if isinstance(layer, RegimeLSTM):
        thetas = {f"{layer.name}.{site}": t for site, t in layer.theta(regime).items()}
    else:
        thetas = {layer.name: layer.theta(regime)}
    return {
        name: ops.convert_to_numpy(ops.cast(t, "float32")).reshape(len(regime), -1)
        .mean(axis=1).astype("float64")
        for name, t in thetas.items()
    }


def _check_regime_feeds_layers(model: keras.Model) -> None:
    """θ is read from the model's ``regime`` input: check the layers take it directly."""
    names = [getattr(t, "name", None) for t in model.inputs]
    if "regime" not in names:
        raise ConfigError(f"predict_theta model: expected an input named 'regime', got {names}")
    regime_tensor = model.inputs[names.index("regime")]
    for layer in conditioned_layers(model):
        fed = layer.input  # the tensors of the layer's first call: [x, regime]
        if not any(t is regime_tensor for t in (fed if isinstance(fed, list) else [fed])):
            raise ConfigError(
                f"predict_theta model: layer {layer.name!r} does not take the 'regime' input "
                "directly, so its θ cannot be read from inputs['regime']"
            )
