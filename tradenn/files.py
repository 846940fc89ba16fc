"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader (or a run killed mid-write) sees either the old file or the new one, never half
of one. Every module that writes user-visible files goes through here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tradenn.errors import RunError


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` to fill a temporary file, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Indented JSON; NaN and infinities become null (JSON has no NaN)."""
    write_text_atomic(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def write_csv_atomic(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    """CSV with the index, floats to 10 significant digits."""
    write_atomic(path, lambda tmp: frame.to_csv(tmp, float_format="%.10g"))


def write_parquet_atomic(path: str | os.PathLike[str], frame: pd.DataFrame) -> None:
    write_atomic(path, lambda tmp: frame.to_parquet(tmp))


def jsonable(value: Any) -> Any:
    """Replace NaN and inf by None and numpy scalars by Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def read_json(path: str | os.PathLike[str]) -> Any:
    """A JSON file's data; a missing, truncated or hand-broken file is one `RunError`."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RunError(f"{path} is not valid JSON{where}; was it truncated or edited?") from None
