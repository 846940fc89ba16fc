"""RegimeLSTM: an LSTM whose activations take their θ from a regime input.

The time loop and its gradient are `tradenn.layers.lstm_loop.lstm_sequence`: one analytic
gradient for the whole sequence (hand-written backpropagation through time with the
families' derivatives, the weights' gradients formed after the loop), θ passed to it as an
input. The layer holds the weights and the mappings θ = g(r); its ``call`` sets nothing on
itself, so it is re-entrant.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from tradenn.activations import check_gradient, get_activation
from tradenn.errors import ConfigError
from tradenn.layers.lstm_loop import lstm_sequence
from tradenn.layers.mappings import check_mapping, make_mapping
from tradenn.layers.regime_activation import split_inputs, split_shapes


class RegimeLSTMCell(keras.layers.Layer):
    """The weights of `RegimeLSTM`; internal, built and owned by it (not serialized alone).

    Kernel, recurrent kernel and bias, in this order: a sub-layer named ``cell`` as the
    step-by-step layer had (a cell inside ``keras.layers.RNN``), so ``.keras`` files written
    by it load into this one. The loop itself is `tradenn.layers.lstm_loop.lstm_sequence`.

    Gate columns of the kernels are ordered i, f, o, c (Keras uses i, f, c, o): the three
    gates are one contiguous block, so one activation call covers them.
    """

    def __init__(self, units: int, initializers: dict[str, Any], regularizers: dict[str, Any],
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.units = int(units)
        self.initializers = initializers
        self.regularizers = regularizers
        self.n_features: int | None = None

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


@keras.saving.register_keras_serializable(package="tradenn")
class RegimeLSTM(keras.layers.Layer):
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
        gradient: ``"analytic"`` (default): one hand-written gradient for the sequence;
            ``"autodiff"``: TensorFlow differentiates the same loop (slower; a reference).
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
        unroll: unroll the time loop (needs a known number of steps): a bigger graph, slower
            to trace; the default loop already runs several steps per iteration.
        **kwargs: passed to ``keras.layers.Layer``.

    No masking: every step counts (a Keras mask on the input is dropped, with Keras'
    warning). Initial states are zeros.

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
        self.cell = RegimeLSTMCell(
            units,
            initializers={"kernel": self.kernel_initializer,
                          "recurrent_kernel": self.recurrent_initializer,
                          "bias": self._bias_initializer},
            regularizers={"kernel": self.kernel_regularizer,
                          "recurrent_kernel": self.recurrent_regularizer,
                          "bias": self.bias_regularizer},
            name="cell", dtype=self.dtype_policy,
        )
        self.input_dropout = (
            keras.layers.Dropout(self.dropout, noise_shape=(None, 1, None), seed=seed,
                                 name="input_dropout", dtype=self.dtype_policy)
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
        if self.unroll and sequence.shape[1] is None:
            raise ConfigError(f"{self.name}: unroll=True needs a known number of time steps")
        if self.input_dropout is not None:
            sequence = self.input_dropout(sequence, training=training)
        dtype = self.compute_dtype
        sequence = ops.cast(sequence, dtype)
        thetas = {site: ops.cast(mapping(regime), dtype)
                  for site, mapping in self.theta_mappings.items()}
        return lstm_sequence(
            sequence, *(ops.cast(w, dtype) for w in (self.kernel, self.recurrent_kernel,
                                                     self.bias)),
            thetas, activation=get_activation(self.activation),
            recurrent_activation=get_activation(self.recurrent_activation),
            return_sequences=self.return_sequences, gradient=self.gradient, unroll=self.unroll,
        )

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
