"""Errors that describe a user's mistake.

Library code raises these with a message that names the input, what was expected and what
was received. Only ``tradenn.cli`` turns them into a one-line message and a non-zero exit.
"""

from __future__ import annotations


class TradennError(Exception):
    """Base class of every error tradenn raises for bad input or a failed run."""


class DataError(TradennError):
    """Market data that cannot be loaded or is not usable as bars."""


class ConfigError(TradennError, ValueError):
    """An experiment config, or a layer's argument, that does not validate.

    Also a ``ValueError``: Keras users expect a layer built with a bad argument to raise one.
    """


class RunError(TradennError):
    """A run directory that is missing, incomplete or cannot be written."""


class BacktestInputError(DataError, ValueError):
    """Prices, positions or predictions that cannot be backtested."""


class NotFittedError(TradennError):
    """A regime detector was asked to transform (or describe its fit) before ``fit``."""
