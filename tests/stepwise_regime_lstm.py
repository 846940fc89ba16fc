"""The step-by-step RegimeLSTM as it was before issue 13, kept as the tests' reference.

A cell inside ``keras.layers.RNN``, differentiated step by step by autodiff around the
per-step custom gradients of `tradenn.activations.apply`; θ reaches the cell through the
``loop_thetas`` attribute. A frozen copy (not registered for serialization), so the fused
layer can be checked against the implementation it replaced.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from tradenn.activations import apply, check_gradient, get_activation
from tradenn.errors import ConfigError
from tradenn.layers.mappings import check_mapping, make_mapping
from tradenn.layers.regime_activation import split_inputs, split_shapes


class StepwiseCell(keras.layers.Layer):
    """One step of `StepwiseRegimeLSTM`; internal, built and owned by it (not serialized alone).

    Gate columns of the kernels are ordered i, f, o, c (Keras uses i, f, c, o): the three
    gates are one contiguous block, so one activation call covers them.

    ``loop_thetas`` is set by `RegimeLSTM.call` right before the loop runs, to θ of each
    site when the regime is constant over time; with a per-step regime it is None and θ
    arrives in the step input after the ``n_features`` input columns.
    """

    def __init__(self, owner: dict[str, Any], theta_sizes: dict[str, int], **kwargs: Any):
        super().__init__(**kwargs)
        self.units = int(owner["units"])
        self.activation = get_activation(owner["activation"])
        self.recurrent_activation = get_activation(owner["recurrent_activation"])
        self.gradient = owner["gradient"]
        self.initializers = owner["initializers"]
        self.regularizers = owner["regularizers"]
        self.theta_sizes = dict(theta_sizes)
        self.state_size = [self.units, self.units]
        self.output_size = self.units
        self.n_features: int | None = None
        self.loop_thetas: dict[str, Any] | None = None

    def build(self, step_shape: tuple) -> None:
        self.n_features = int(step_shape[-1])
        width = 4 * self.units
        for name, shape in (("kernel", (self.n_features, width)),
                            ("recurrent_kernel", (self.units, width)), ("bias", (width,))):
            weight = self.add_weight(
                name=name, shape=shape, initializer=self.initializers[name],
                regularizer=self.regularizers[name],
            )
            setattr(self, name, weight)

    def call(self, inputs: Any, states: list[Any], training: bool = False) -> tuple:
        h_prev, c_prev = states
        if self.loop_thetas is None:  # per-step θ rides in the step input
            ends = np.cumsum([self.n_features, *self.theta_sizes.values()])
            inputs, *parts = ops.split(inputs, [int(e) for e in ends[:-1]], axis=-1)
            thetas = dict(zip(self.theta_sizes, parts, strict=True))
        else:
            thetas = self.loop_thetas
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        # Equal splits, not slices: a slice's gradient scatters into zeros of the full
        # width, a split's gradient is one concat (and equal splits need no index math).
        z_i, z_f, z_o, z_candidate = ops.split(ops.add(z, self.bias), 4, axis=-1)
        spec = self.recurrent_activation
        if "gates" in thetas:
            gates = ops.concatenate([z_i, z_f, z_o], axis=-1)
            gates = apply(spec, gates, thetas["gates"], self.gradient)
            i, f, o = ops.split(gates, 3, axis=-1)
        else:
            i, f, o = (spec.fn(z_gate, spec.default) for z_gate in (z_i, z_f, z_o))
        candidate = apply(self.activation, z_candidate, thetas["candidate"], self.gradient)
        c = f * c_prev + i * candidate
        h = o * apply(self.activation, c, thetas["cell"], self.gradient)
        return h, [h, c]

    def get_initial_state(self, batch_size: Any = None) -> list[Any]:
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)] * 2


class StepwiseRegimeLSTM(keras.layers.Layer):
    """Long short-term memory with regime-conditioned activations.

    ``c_t = f_t ⊙ c_{t-1} + i_t ⊙ act(z_c; θ_candidate)``,
    ``h_t = o_t ⊙ act(c_t; θ_cell)``, with the gates ``i, f, o = ract(z; θ_gates)``.
    Each θ comes from its own mapping of the regime input (``θ = g(r_t)``); the gates use
    ``recurrent_activation`` at its default θ unless ``condition_gates=True``. With every θ
    at its default (``tanh`` and ``sigmoid`` at θ = 1) this is exactly Keras' LSTM.

    Args:
        units: size of the hidden state.
        activation: family of the candidate and cell activations (default ``tanh``).
        recurrent_activation: family of the gates (default ``sigmoid``).
        mapping: ``"affine"``, ``"fixed"``, ``"per_state"`` or ``"constant"``.
        per_unit: one θ per unit (per gate unit for the gates) instead of one per site.
        condition_gates: also condition the gates on the regime.
        gradient: ``"analytic"`` (default) or ``"autodiff"``.
        mapping_scale: ``fixed`` mapping only.
        mapping_shift: ``fixed`` mapping only.
        return_sequences: return the whole sequence of h, else the last h.
        unit_forget_bias: start the forget gate's bias at 1.
        kernel_initializer: initializer of the input kernel.
        recurrent_initializer: initializer of the recurrent kernel.
        bias_initializer: initializer of the bias.
        kernel_regularizer: regularizer of the input kernel.
        recurrent_regularizer: regularizer of the recurrent kernel.
        bias_regularizer: regularizer of the bias.
        dropout: fraction of input features dropped (same mask for every step).
        seed: seed of the dropout mask.
        unroll: unroll the time loop (needs a known number of steps; faster for short
            windows, more memory).
        **kwargs: passed to ``keras.layers.Layer``.

    Call arguments:
        inputs: the sequence, shape ``(batch, time, features)``; or ``[sequence, regime]``.
        regime: ``(batch, R)``, constant over time, or ``(batch, time, R)``, per step.
        training: enables dropout.

    Example:
        >>> seq = keras.Input((20, 5)); r = keras.Input((1,))
        >>> h = RegimeLSTM(32, mapping="affine")(seq, r)          # (batch, 32)
        >>> model = keras.Model([seq, r], keras.layers.Dense(1)(h))
    """

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        mapping: str = "affine",
        per_unit: bool = False,
        condition_gates: bool = False,
        gradient: str = "analytic",
        mapping_scale: float = 1.0,
        mapping_shift: float = 0.0,
        return_sequences: bool = False,
        unit_forget_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        dropout: float = 0.0,
        seed: int | None = None,
        unroll: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ConfigError(f"RegimeLSTM units: expected an int >= 1, got {units!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"RegimeLSTM dropout: expected a value in [0, 1), got {dropout!r}")
        get_activation(activation)
        get_activation(recurrent_activation)
        self.units = units
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.mapping = check_mapping(mapping)
        self.per_unit = bool(per_unit)
        self.condition_gates = bool(condition_gates)
        self.gradient = check_gradient(gradient)
        self.mapping_scale = float(mapping_scale)
        self.mapping_shift = float(mapping_shift)
        self.return_sequences = bool(return_sequences)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.dropout = float(dropout)
        self.seed = seed
        self.unroll = bool(unroll)

        sites = {"candidate": activation, "cell": activation}
        if self.condition_gates:
            sites["gates"] = recurrent_activation
        self.theta_mappings = {
            site: make_mapping(
                mapping, family, (3 * units if site == "gates" else units) if per_unit else 1,
                scale=self.mapping_scale, shift=self.mapping_shift, name=f"{site}_mapping",
                dtype=self.dtype_policy,
            )
            for site, family in sites.items()
        }
        theta_sizes = {site: m.output_size for site, m in self.theta_mappings.items()}
        self.cell = StepwiseCell(
            {
                **self._own_config(),
                "initializers": {"kernel": self.kernel_initializer,
                                 "recurrent_kernel": self.recurrent_initializer,
                                 "bias": self._bias_initializer},
                "regularizers": {"kernel": self.kernel_regularizer,
                                 "recurrent_kernel": self.recurrent_regularizer,
                                 "bias": self.bias_regularizer},
            },
            theta_sizes, name="cell", dtype=self.dtype_policy,
        )
        self.rnn = keras.layers.RNN(
            self.cell, return_sequences=self.return_sequences, unroll=self.unroll,
            name="rnn", dtype=self.dtype_policy,
        )
        self.input_dropout = (
            keras.layers.Dropout(self.dropout, noise_shape=(None, 1, None), seed=seed,
                                 name="input_dropout")
            if self.dropout else None
        )

    def build(self, inputs_shape: Any, regime_shape: Any = None) -> None:
        x_shape, r_shape = split_shapes(inputs_shape, regime_shape)
        if len(x_shape) != 3 or x_shape[-1] is None:
            raise ConfigError(
                f"{self.name}: sequence input: expected shape (batch, time, features) with "
                f"features known, got {x_shape}"
            )
        for mapping in self.theta_mappings.values():
            mapping.build(r_shape)
        self.cell.build((x_shape[0], x_shape[-1]))
        self.rnn.build(x_shape)

    @property
    def kernel(self) -> keras.Variable:
        """Input kernel, shape (features, 4 units), gate blocks i, f, o, c."""
        return self.cell.kernel

    @property
    def recurrent_kernel(self) -> keras.Variable:
        """Recurrent kernel, shape (units, 4 units), gate blocks i, f, o, c."""
        return self.cell.recurrent_kernel

    @property
    def bias(self) -> keras.Variable:
        """Bias, shape (4 units,), gate blocks i, f, o, c."""
        return self.cell.bias

    def _bias_initializer(self, shape: tuple, dtype: Any = None) -> Any:
        bias = self.bias_initializer(shape, dtype=dtype)
        if not self.unit_forget_bias:
            return bias
        u = self.units  # layout i, f, o, c: the forget gate is the second block
        return ops.concatenate([bias[:u], ops.ones((u,), dtype=dtype), bias[2 * u :]])

    def theta(self, regime: Any) -> dict[str, Any]:
        """θ of each site for a regime tensor: ``{"candidate": ..., "cell": ...[, "gates"]}``.

        Each value has shape ``(batch, [time,] size)``, size 1 or the unit count.
        """
        regime = ops.convert_to_tensor(regime, dtype=self.compute_dtype)
        return {site: mapping(regime) for site, mapping in self.theta_mappings.items()}

    def call(self, inputs: Any, regime: Any = None, training: bool = False) -> Any:
        sequence, regime = split_inputs(self, inputs, regime)
        if len(regime.shape) not in (2, 3):
            raise ConfigError(
                f"{self.name}: regime: expected shape (batch, R) or (batch, time, R), "
                f"got {tuple(regime.shape)}"
            )
        if self.input_dropout is not None:
            sequence = self.input_dropout(sequence, training=training)
        thetas = {
            site: ops.cast(mapping(regime), sequence.dtype)
            for site, mapping in self.theta_mappings.items()
        }
        if len(regime.shape) == 2:
            # Full width θ: the loop then adds up θ's per-step gradients elementwise
            # instead of summing over the units at every step (one op fewer per step).
            width = {"gates": 3 * self.units}
            self.cell.loop_thetas = {
                site: ops.broadcast_to(t, (ops.shape(t)[0], width.get(site, self.units)))
                for site, t in thetas.items()
            }
        else:
            self.cell.loop_thetas = None
            sequence = ops.concatenate([sequence, *thetas.values()], axis=-1)
        try:
            return self.rnn(sequence, training=training)
        finally:
            self.cell.loop_thetas = None

    def compute_output_shape(self, inputs_shape: Any, regime_shape: Any = None) -> tuple:
        x_shape = split_shapes(inputs_shape, regime_shape)[0]
        if self.return_sequences:
            return (x_shape[0], x_shape[1], self.units)
        return (x_shape[0], self.units)

    def _own_config(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "activation": self.activation,
            "recurrent_activation": self.recurrent_activation,
            "mapping": self.mapping,
            "per_unit": self.per_unit,
            "condition_gates": self.condition_gates,
            "gradient": self.gradient,
            "mapping_scale": self.mapping_scale,
            "mapping_shift": self.mapping_shift,
            "return_sequences": self.return_sequences,
            "unit_forget_bias": self.unit_forget_bias,
            "dropout": self.dropout,
            "seed": self.seed,
            "unroll": self.unroll,
        }

    def get_config(self) -> dict[str, Any]:
        ser_init, ser_reg = keras.initializers.serialize, keras.regularizers.serialize
        return {
            **super().get_config(),
            **self._own_config(),
            "kernel_initializer": ser_init(self.kernel_initializer),
            "recurrent_initializer": ser_init(self.recurrent_initializer),
            "bias_initializer": ser_init(self.bias_initializer),
            "kernel_regularizer": ser_reg(self.kernel_regularizer),
            "recurrent_regularizer": ser_reg(self.recurrent_regularizer),
            "bias_regularizer": ser_reg(self.bias_regularizer),
        }
