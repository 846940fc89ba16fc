"""Names that user code registers, and importing the modules that register them.

A researcher's own activation family or regime detector lives in a module of their own
(``my_research.families``) that calls `tradenn.activations.register_activation` or
`tradenn.regimes.register_detector` when imported. A config lists such modules under
``plugins:``; tradenn imports them — by module name, through the ordinary import system,
never from a run directory — before validating the rest of the config, so that
``model.activation: my_family`` validates.

This module is the TensorFlow-free half of the activation registry: configs check family
names against ``ACTIVATION_NAMES`` without importing `tradenn.activations` (which imports
Keras), and `register_activation` adds its names here too.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable

from tradenn.errors import ConfigError

# The built-in families, in the order tables list them.
BUILTIN_ACTIVATIONS: tuple[str, ...] = (
    "scaled_relu", "leaky_relu", "sigmoid", "tanh", "swish", "elu",
)
# family name -> True when it has analytic derivatives (can train with gradient: analytic)
ACTIVATION_NAMES: dict[str, bool] = dict.fromkeys(BUILTIN_ACTIVATIONS, True)

MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PLUGIN_HINT = (
    "yours are registered by a module listed under plugins: in the config, or imported first"
)


def note_activation(name: str, *, analytic: bool) -> None:
    """Record a registered family's name (called by `register_activation`)."""
    ACTIVATION_NAMES[name] = analytic


def forget_activation(name: str) -> None:
    """Drop a user family's name (the inverse of `note_activation`; built-ins stay)."""
    if name not in BUILTIN_ACTIVATIONS:
        ACTIVATION_NAMES.pop(name, None)


def known_activation(name: str) -> str:
    """``name`` if it is a registered family, else a `ValueError` listing the families."""
    if name not in ACTIVATION_NAMES:
        raise ValueError(
            f"unknown activation family; expected one of {sorted(ACTIVATION_NAMES)} "
            f"({PLUGIN_HINT})"
        )
    return name


def import_plugins(modules: Iterable[str], *, what: str = "plugins") -> list[str]:
    """Import each module by name (idempotent: Python imports a module once per process).

    Args:
        modules: dotted module names, e.g. ``["my_research.families"]``.
        what: names the list in error messages (``plugins``, ``run ... plugins``).

    Returns:
        The module names, as given.

    Raises:
        ConfigError: a name is not a module name, the module is not found, or importing it
            raised; one message naming the module.
    """
    names = list(modules)
    for name in names:
        if not isinstance(name, str) or not MODULE_NAME.match(name):
            raise ConfigError(f"{what}: expected dotted module names, got {name!r}")
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"{what}: cannot import plugin module {name!r} ({exc}); install it or add "
                "the folder that holds it to PYTHONPATH"
            ) from None
        except Exception as exc:  # the user's module failed while importing
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ConfigError(
                f"{what}: importing plugin module {name!r} failed: {type(exc).__name__}: {first}"
            ) from exc
    return names
