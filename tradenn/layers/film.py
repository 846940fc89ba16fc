"""FiLM: feature-wise linear modulation of a hidden layer by the regime (Perez et al., 2018).

``h ↦ γ(r) ⊙ h + β(r)`` with ``γ(r) = r · W_γ + b_γ`` and ``β(r) = r · W_β + b_β``, one γ
and one β per unit of h. The standard way to condition a layer on side information; the
``film`` control uses it in place of regime-conditioned activations.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tradenn.errors import ConfigError
from tradenn.layers.regime_activation import split_inputs, split_shapes


@keras.saving.register_keras_serializable(package="tradenn")
class FiLM(keras.layers.Layer):
    """Scale and shift each unit of ``h`` by affine functions of the regime.

    The layer starts as the identity: ``W_γ = W_β = 0``, ``b_γ = 1``, ``b_β = 0`` (γ starts
    at 1, β at 0), so a FiLM network begins exactly where the unconditioned one does.

    Args:
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        inputs: h of shape ``(batch, units)`` or ``(batch, time, units)``; or the list
            ``[h, regime]``.
        regime: shape ``(batch, R)``, or ``(batch, time, R)`` when h has a time axis (a
            ``(batch, R)`` regime is then constant over time).

    Example:
        >>> h = keras.Input((8,)); r = keras.Input((2,))
        >>> y = FiLM()(keras.layers.Dense(8)(h), r)
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.units: int | None = None
        self.n_regime: int | None = None

    def build(self, inputs_shape: Any, regime_shape: Any = None) -> None:
        h_shape, r_shape = split_shapes(inputs_shape, regime_shape)
        if h_shape[-1] is None or r_shape[-1] is None:
            raise ConfigError(
                f"{self.name}: expected known last axes, got h {h_shape} and regime {r_shape}"
            )
        if len(r_shape) > len(h_shape):
            raise ConfigError(
                f"{self.name}: regime of shape {r_shape} has a time axis but h of shape "
                f"{h_shape} does not"
            )
        self.units, self.n_regime = int(h_shape[-1]), int(r_shape[-1])
        shape = (self.n_regime, self.units)
        self.gamma_kernel = self.add_weight(name="gamma_kernel", shape=shape, initializer="zeros")
        self.gamma_bias = self.add_weight(name="gamma_bias", shape=(self.units,),
                                          initializer="ones")
        self.beta_kernel = self.add_weight(name="beta_kernel", shape=shape, initializer="zeros")
        self.beta_bias = self.add_weight(name="beta_bias", shape=(self.units,),
                                         initializer="zeros")

    def modulation(self, regime: Any) -> tuple[Any, Any]:
        """(γ, β) for a regime tensor, each of shape ``(batch, [time,] units)``."""
        regime = ops.convert_to_tensor(regime, dtype=self.compute_dtype)
        gamma = ops.matmul(regime, self.gamma_kernel) + self.gamma_bias
        beta = ops.matmul(regime, self.beta_kernel) + self.beta_bias
        return gamma, beta

    def call(self, inputs: Any, regime: Any = None) -> Any:
        h, regime = split_inputs(self, inputs, regime)
        gamma, beta = self.modulation(regime)
        for _ in range(len(h.shape) - len(gamma.shape)):  # (batch, R) regime, h over time
            gamma, beta = ops.expand_dims(gamma, axis=1), ops.expand_dims(beta, axis=1)
        return gamma * h + beta

    def compute_output_shape(self, inputs_shape: Any, regime_shape: Any = None) -> tuple:
        return split_shapes(inputs_shape, regime_shape)[0]

    def get_config(self) -> dict[str, Any]:
        return super().get_config()
