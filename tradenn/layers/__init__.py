"""Keras layers whose activations take their parameter θ from a regime input.

``RegimeActivation`` conditions one activation, ``RegimeLSTM`` an LSTM's activations; both
map the regime to θ with a parameter mapping from `tradenn.layers.mappings`.
"""

from tradenn.layers.mappings import (
    MAPPINGS,
    AffineMapping,
    ConstantMapping,
    FixedMapping,
    ParameterMapping,
    PerStateMapping,
    make_mapping,
)
from tradenn.layers.regime_activation import RegimeActivation
from tradenn.layers.regime_lstm import RegimeLSTM, RegimeLSTMCell

__all__ = [
    "MAPPINGS",
    "AffineMapping",
    "ConstantMapping",
    "FixedMapping",
    "ParameterMapping",
    "PerStateMapping",
    "RegimeActivation",
    "RegimeLSTM",
    "RegimeLSTMCell",
    "make_mapping",
]
