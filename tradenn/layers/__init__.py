"""Keras layers whose activations take their parameter θ from a regime input.

``RegimeActivation`` conditions one activation, ``RegimeLSTM`` an LSTM's activations; both
map the regime to θ with a parameter mapping from `tradenn.layers.mappings`. ``FiLM``
conditions a hidden layer the standard way (a regime-dependent scale and shift), for the
``film`` control.
"""

from tradenn.layers.film import FiLM
from tradenn.layers.mappings import (
    MAPPINGS,
    UNCONDITIONED,
    AffineMapping,
    ConstantMapping,
    DefaultMapping,
    FixedMapping,
    ParameterMapping,
    PerStateMapping,
    make_mapping,
)
from tradenn.layers.regime_activation import RegimeActivation
from tradenn.layers.regime_lstm import RegimeLSTM, RegimeLSTMCell

__all__ = [
    "MAPPINGS",
    "UNCONDITIONED",
    "AffineMapping",
    "ConstantMapping",
    "DefaultMapping",
    "FiLM",
    "FixedMapping",
    "ParameterMapping",
    "PerStateMapping",
    "RegimeActivation",
    "RegimeLSTM",
    "RegimeLSTMCell",
    "make_mapping",
]
