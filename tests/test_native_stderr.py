"""The CLI's stderr filter drops absl-format native log lines and nothing else."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import os, sys
from tradenn.native_stderr import filter_native_stderr
filter_native_stderr()
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
os.write(2, b"I0000 00:00:1795927373.010076    3205 port.cc:153] oneDNN custom operations are on.\n")
os.write(2, b"E0000 00:00:1795928664.467509    8105 cuda_platform.cc:52] failed call to cuInit\n")
os.write(2, b"a native line that is not absl's\n")
sys.stderr.write("\rprogress 1")
sys.stderr.write("\rprogress 2\n")
print("error: one line", file=sys.stderr)
"""


def test_filter_keeps_everything_but_absl_lines():
    # Bytes, not text: text mode would turn the progress line's "\r" into newlines.
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True)
    assert result.returncode == 0
    stderr = result.stderr.decode()
    lines = sorted(stderr.rstrip("\n").split("\n"))  # the pipe and Python interleave
    assert lines == sorted(["a native line that is not absl's", "\rprogress 1\rprogress 2",
                            "error: one line"])
