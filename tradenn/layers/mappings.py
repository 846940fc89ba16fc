"""Parameter mappings θ = g(r): how a regime tensor becomes an activation's θ.

A mapping is a small Keras layer: called on a regime tensor of shape ``(batch, R)`` or
``(batch, time, R)`` it returns θ of shape ``(batch, size)`` or ``(batch, time, size)``,
inside the activation family's valid range. ``size`` is 1 (one θ shared by all units) or
the number of units (``per_unit=True`` in the layers).

=========  ===================================================  ==========================
kind       θ                                                    learned
=========  ===================================================  ==========================
fixed      clip(scale · mean_j r_j + shift)                     nothing
affine     squash(base + r · W)                                 base (size,), W (R, size)
per_state  Σ_k r_k · squash(φ_k)   (r: probabilities over K)    φ (K, size)
constant   squash(φ), r ignored (the ``no_regime`` ablation)    φ (size,)
default    the family's default θ, r ignored (plain activation)  nothing
=========  ===================================================  ==========================

``squash`` is the family's map onto its range (`ActivationSpec.squash`: softplus above a
lower bound, a scaled sigmoid on a bounded range). Learned mappings start at the family's
default θ: W = 0, and base / φ = squash⁻¹(default).

``fixed`` with R > 1 averages the regime columns (documented reduction); its output is
always one θ per position (size 1), as every unit would get the same value anyway.
``per_state`` uses r as given: rows of r should sum to 1 (one-hot states or filtered
probabilities), which keeps θ, a convex combination of valid θ_k, in range.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from tradenn.activations import ActivationSpec, get_activation
from tradenn.errors import ConfigError


class ParameterMapping(keras.layers.Layer):
    """Base class: θ = g(r) for one activation family.

    Args:
        activation: name of the family whose θ this produces (sets range and default).
        size: θ values per position: 1, or the layer's number of units.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Call arguments:
        regime: tensor of shape ``(batch, R)`` or ``(batch, time, R)``.
    """

    kind: str = ""

    def __init__(self, activation: str, size: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activation
        self.spec: ActivationSpec = get_activation(activation)
        if not isinstance(size, int) or size < 1:
            raise ConfigError(f"{self.kind} mapping size: expected an int >= 1, got {size!r}")
        self.size = size
        self.n_regime: int | None = None

    @property
    def output_size(self) -> int:
        """θ values per position in the output (last axis)."""
        return self.size

    def build(self, regime_shape: tuple[int | None, ...]) -> None:
        if len(regime_shape) not in (2, 3) or regime_shape[-1] is None:
            raise ConfigError(
                f"{self.name}: regime input: expected shape (batch, R) or (batch, time, R) "
                f"with R known, got {tuple(regime_shape)}"
            )
        self.n_regime = int(regime_shape[-1])
        self._build_weights(self.n_regime)

    def _build_weights(self, n_regime: int) -> None:
        """Create the learned parameters (none by default)."""

    def compute_output_shape(self, regime_shape: tuple[int | None, ...]) -> tuple:
        return (*regime_shape[:-1], self.output_size)

    def _initial_u(self) -> float:
        return self.spec.unsquash(self.spec.default)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation, "size": self.size}


@keras.saving.register_keras_serializable(package="tradenn")
class FixedMapping(ParameterMapping):
    """θ = clip(scale · mean(r) + shift): a preset, unlearned dependence on the regime.

    Args:
        activation: family name.
        size: accepted for a uniform interface; the output has size 1 regardless.
        scale: multiplies the (column-averaged) regime.
        shift: added after scaling.

    Example:
        >>> g = FixedMapping("tanh", scale=0.5, shift=1.0)
        >>> g(np.array([[0.0], [2.0]], "float32"))  # θ = [[1.0], [2.0]]
    """

    kind = "fixed"

    def __init__(self, activation: str, size: int = 1, scale: float = 1.0,
                 shift: float = 0.0, **kwargs: Any):
        super().__init__(activation, size, **kwargs)
        for what, value in (("scale", scale), ("shift", shift)):
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"fixed mapping {what}: expected a finite number, got {value!r}")
        self.scale = float(scale)
        self.shift = float(shift)

    @property
    def output_size(self) -> int:
        return 1

    def call(self, regime: Any) -> Any:
        level = ops.mean(regime, axis=-1, keepdims=True)
        return self.spec.clip(self.scale * level + self.shift)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "shift": self.shift}


@keras.saving.register_keras_serializable(package="tradenn")
class AffineMapping(ParameterMapping):
    """θ = squash(base + r · W), learned; starts at the family default (W = 0).

    Example:
        >>> g = AffineMapping("swish", size=8)
        >>> g(np.zeros((2, 3), "float32")).shape  # (2, 8), all 1.0 before training
    """

    kind = "affine"

    def _build_weights(self, n_regime: int) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=(n_regime, self.size), initializer="zeros"
        )
        self.base = self.add_weight(
            name="base", shape=(self.size,),
            initializer=keras.initializers.Constant(self._initial_u()),
        )

    def call(self, regime: Any) -> Any:
        return self.spec.squash(ops.matmul(regime, self.kernel) + self.base)


@keras.saving.register_keras_serializable(package="tradenn")
class PerStateMapping(ParameterMapping):
    """θ = Σ_k r_k θ_k with one learned θ_k per regime state (r: state probabilities).

    Example:
        >>> g = PerStateMapping("elu")
        >>> g(np.array([[1.0, 0.0], [0.3, 0.7]], "float32"))  # θ_0, 0.3 θ_0 + 0.7 θ_1
    """

    kind = "per_state"

    def _build_weights(self, n_regime: int) -> None:
        self.state_logits = self.add_weight(
            name="state_logits", shape=(n_regime, self.size),
            initializer=keras.initializers.Constant(self._initial_u()),
        )

    def state_thetas(self) -> Any:
        """θ_k for each state, shape (K, size)."""
        return self.spec.squash(self.state_logits)

    def call(self, regime: Any) -> Any:
        return ops.matmul(regime, self.state_thetas())


@keras.saving.register_keras_serializable(package="tradenn")
class ConstantMapping(ParameterMapping):
    """θ = squash(φ), one learned constant that ignores the regime (``no_regime``).

    The output still has the regime's leading shape, so layers treat every mapping alike.
    """

    kind = "constant"

    def _build_weights(self, n_regime: int) -> None:
        self.logit = self.add_weight(
            name="logit", shape=(self.size,),
            initializer=keras.initializers.Constant(self._initial_u()),
        )

    def call(self, regime: Any) -> Any:
        # zeros_like(...) gives the batch/time shape without reading r's values.
        return ops.zeros_like(regime[..., :1]) + self.spec.squash(self.logit)


@keras.saving.register_keras_serializable(package="tradenn")
class DefaultMapping(ParameterMapping):
    """θ = the family's default, always: the standard activation, regime ignored.

    The ``regime_input`` and ``film`` controls use it, so that their activations are the
    plain ones (tanh, sigmoid, swish...) and the regime reaches them by another route.
    """

    kind = "default"

    @property
    def output_size(self) -> int:
        return 1

    def call(self, regime: Any) -> Any:
        return ops.zeros_like(regime[..., :1]) + self.spec.default


MAPPINGS: dict[str, type[ParameterMapping]] = {
    cls.kind: cls
    for cls in (FixedMapping, AffineMapping, PerStateMapping, ConstantMapping, DefaultMapping)
}

# Mappings whose θ does not depend on the regime: layers using them are not "conditioned".
UNCONDITIONED = ("constant", "default")


def make_mapping(
    kind: str,
    activation: str,
    size: int = 1,
    *,
    scale: float = 1.0,
    shift: float = 0.0,
    **kwargs: Any,
) -> ParameterMapping:
    """A mapping of ``kind`` for the family ``activation``.

    Raises:
        ConfigError: unknown ``kind`` or ``activation``, or bad ``size`` / ``scale``.
    """
    check_mapping(kind)
    if kind == "fixed":
        return FixedMapping(activation, size, scale=scale, shift=shift, **kwargs)
    return MAPPINGS[kind](activation, size, **kwargs)


def check_mapping(kind: str) -> str:
    """Return ``kind`` if it names a mapping, else raise `ConfigError`."""
    if kind not in MAPPINGS:
        raise ConfigError(f"mapping {kind!r}: expected one of {sorted(MAPPINGS)}")
    return kind
