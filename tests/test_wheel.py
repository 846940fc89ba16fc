"""A non-editable install finds the bundled bars: the wheel ships them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_the_built_wheel_ships_the_bundled_bars(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("tradenn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("SPY.csv", "VIX.csv", "README.md", "adjusted/SPY.csv", "adjusted/GLD.csv"):
        assert f"tradenn/bundled/{name}" in names, name

    # Install it on its own, then resolve SPY from somewhere that is not the checkout.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    code = (
        "import tradenn, tradenn.data as d; "
        "print(tradenn.__file__); print(d.bundled_path('SPY')); "
        "print(len(d.load_bars('SPY', provider='bundled')))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    module, spy_path, rows = result.stdout.split()
    assert Path(module).is_relative_to(target)
    assert Path(spy_path) == target / "tradenn" / "bundled" / "adjusted" / "SPY.csv"
    assert int(rows) > 8000
