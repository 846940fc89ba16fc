"""tradenn: regime-conditioned neural activations for time-series trading research."""

__version__ = "0.1.0"
