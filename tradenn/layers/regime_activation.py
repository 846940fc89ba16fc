"""RegimeActivation: y = f(x; θ) with θ = g(regime), as a Keras layer."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tradenn.activations import apply, check_gradient, get_activation, require_analytic
from tradenn.errors import ConfigError
from tradenn.layers.mappings import check_mapping, make_mapping


def split_inputs(layer: keras.layers.Layer, inputs: Any, regime: Any) -> tuple[Any, Any]:
    """Accept ``layer(x, regime)`` and ``layer([x, regime])`` alike."""
    if regime is None:
        if not isinstance(inputs, list | tuple) or len(inputs) != 2:
            raise ConfigError(
                f"{layer.name}: expected to be called as layer(x, regime) or "
                f"layer([x, regime]), got a single {type(inputs).__name__}"
            )
        return inputs[0], inputs[1]
    return inputs, regime


def split_shapes(inputs_shape: Any, regime_shape: Any) -> tuple[tuple, tuple]:
    """The shape counterpart of `split_inputs` (for build / compute_output_shape)."""
    if regime_shape is None:
        return tuple(inputs_shape[0]), tuple(inputs_shape[1])
    return tuple(inputs_shape), tuple(regime_shape)


@keras.saving.register_keras_serializable(package="tradenn")
class RegimeActivation(keras.layers.Layer):
    """A parametric activation whose θ is a function of the regime input.

    ``y = f(x; θ)`` with ``θ = g(regime)``: ``f`` is a family of `tradenn.activations`,
    ``g`` a mapping of `tradenn.layers.mappings`. With ``gradient="analytic"`` Keras
    backpropagates through the family's hand-written derivatives (∂f/∂x into x, ∂f/∂θ into
    θ and on into the mapping's weights and the regime input).

    Args:
        activation: family name: ``scaled_relu``, ``leaky_relu``, ``sigmoid``, ``tanh``,
            ``swish`` or ``elu``.
        mapping: ``"affine"`` (default), ``"fixed"``, ``"per_state"`` or ``"constant"``.
        per_unit: one θ per unit of x (last axis) instead of one shared θ.
        gradient: ``"analytic"`` (default) or ``"autodiff"``.
        mapping_scale: ``fixed`` mapping only: θ = scale · mean(r) + shift.
        mapping_shift: ``fixed`` mapping only.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: x of shape ``(batch, units)`` or ``(batch, time, units)``; or the list
            ``[x, regime]``.
        regime: shape ``(batch, R)``, or ``(batch, time, R)`` when x has a time axis
            (a ``(batch, R)`` regime is then constant over time).

    Example:
        >>> x = keras.Input((16,)); r = keras.Input((1,))
        >>> y = RegimeActivation("swish")(keras.layers.Dense(16)(x), r)
        >>> model = keras.Model([x, r], y)
    """

    def __init__(
        self,
        activation: str,
        mapping: str = "affine",
        per_unit: bool = False,
        gradient: str = "analytic",
        mapping_scale: float = 1.0,
        mapping_shift: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        get_activation(activation)
        self.activation = activation
        self.mapping = check_mapping(mapping)
        self.per_unit = bool(per_unit)
        self.gradient = check_gradient(gradient)
        if self.gradient == "analytic":  # a user family registered without dx / dtheta
            require_analytic(get_activation(activation))
        self.mapping_scale = float(mapping_scale)
        self.mapping_shift = float(mapping_shift)
        self.theta_mapping = None

    def build(self, inputs_shape: Any, regime_shape: Any = None) -> None:
        x_shape, r_shape = split_shapes(inputs_shape, regime_shape)
        if len(r_shape) > len(x_shape):
            raise ConfigError(
                f"{self.name}: regime of shape {r_shape} has a time axis but x of shape "
                f"{x_shape} does not"
            )
        if self.per_unit and x_shape[-1] is None:
            raise ConfigError(f"{self.name}: per_unit needs a known last axis, got {x_shape}")
        size = int(x_shape[-1]) if self.per_unit else 1
        self.theta_mapping = make_mapping(
            self.mapping, self.activation, size, scale=self.mapping_scale,
            shift=self.mapping_shift, name="mapping", dtype=self.dtype_policy,
        )
        self.theta_mapping.build(r_shape)

    def theta(self, regime: Any) -> Any:
        """θ for a regime tensor: shape ``(batch, [time,] 1 or units)``."""
        return self.theta_mapping(ops.convert_to_tensor(regime, dtype=self.compute_dtype))

    def call(self, inputs: Any, regime: Any = None) -> Any:
        x, regime = split_inputs(self, inputs, regime)
        theta = self.theta_mapping(regime)
        # A (batch, R) regime against x with a time axis: θ constant over time.
        for _ in range(len(x.shape) - len(theta.shape)):
            theta = ops.expand_dims(theta, axis=1)
        return apply(get_activation(self.activation), x, theta, self.gradient)

    def compute_output_shape(self, inputs_shape: Any, regime_shape: Any = None) -> tuple:
        return split_shapes(inputs_shape, regime_shape)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": self.activation,
            "mapping": self.mapping,
            "per_unit": self.per_unit,
            "gradient": self.gradient,
            "mapping_scale": self.mapping_scale,
            "mapping_shift": self.mapping_shift,
        }
