"""Load a ``.keras`` file that tradenn wrote, in any process, with ``safe_mode=True``.

Keras finds a custom layer by its registered name (``tradenn>RegimeLSTM``) only once the
module defining it has been imported. A fresh interpreter — a notebook that only did
``import tradenn``, or ``tradenn predict`` — has imported nothing yet, so loading goes
through here: import every module that registers serializable objects, then load.
"""

from __future__ import annotations

import importlib
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tradenn.errors import RunError
from tradenn.plugins import import_plugins

# Modules whose import registers tradenn's serializable Keras objects (layers, mappings, losses).
REGISTERING_MODULES = ("tradenn.layers", "tradenn.losses")


def register_keras_objects() -> None:
    """Import the modules that register tradenn's layers with Keras (idempotent)."""
    for module in REGISTERING_MODULES:
        importlib.import_module(module)


def load_model(
    path: str | os.PathLike[str], *, compile: bool = False, plugins: Sequence[str] = ()
) -> Any:
    """A ``keras.Model`` from a ``.keras`` file written by tradenn.

    Loading uses ``safe_mode=True``: a file holding a Lambda layer or other code is refused
    rather than run.

    Args:
        path: a ``.keras`` file, e.g. ``runs/spy-lstm-.../model.keras``.
        compile: also restore the optimizer and loss (not needed to predict).
        plugins: modules to import first, by name: those registering the activation
            families the model uses (`Run.load_model` passes the run's own).

    Raises:
        RunError: the file is missing, not a ``.keras`` archive, or Keras cannot rebuild it.

    Example:
        >>> model = tradenn.load_model("runs/spy-lstm-20260101-120000/model.keras")
        >>> model.predict({"window": windows, "regime": regimes})
    """
    path = Path(path)
    if not path.is_file():
        raise RunError(f"model file {path} not found")
    if not zipfile.is_zipfile(path):
        raise RunError(f"{path} is not a .keras model file (not a zip archive)")
    register_keras_objects()
    import_plugins(plugins)
    import keras

    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RunError(f"{path}: cannot load the model ({first_line})") from exc
