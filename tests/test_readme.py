"""The README's Python session runs as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.fixture
def restored_registries():
    """The README registers a family and a detector; later tests see only the built-ins."""
    from tradenn.activation_plugins import _CHECKED
    from tradenn.activations import ACTIVATIONS
    from tradenn.config import DETECTOR_CONFIGS
    from tradenn.plugins import ACTIVATION_NAMES
    from tradenn.regimes import REGIMES

    saved = [(r, dict(r)) for r in (ACTIVATIONS, ACTIVATION_NAMES, REGIMES, DETECTOR_CONFIGS, _CHECKED)]
    yield
    for registry, before in saved:
        registry.clear()
        registry.update(before)


def test_readme_python_session_runs(tmp_path, monkeypatch, capsys, restored_registries):
    blocks = python_blocks()
    assert blocks, "the README has no python block"
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__main__"}  # as in a notebook
    for block in blocks:
        # dont_inherit: not this file's `from __future__ import annotations`
        exec(compile(block, "README.md", "exec", dont_inherit=True), namespace)
    out = capsys.readouterr().out
    assert "regime model" in out and "buy & hold" in out
    assert re.search(r"Sharpe -?\d+\.\d\d, max drawdown -\d+\.\d%", out)
    # The family checked, the detector causal, both trained by name.
    assert re.search(r"ok   dtheta: largest error \d\.\de-\d\d", out)
    assert "'activations': ['sigmoid', 'theta_softsign']" in out and "'detectors': ['0: drawdown']" in out
    assert len(list((tmp_path / "runs").iterdir())) == 2
