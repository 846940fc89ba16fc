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
    # The filter's thread forwards native lines while Python writes its own directly, so
    # their order is a race (a native line may land between the two progress writes). Each
    # write arrives whole (pipe writes under PIPE_BUF are atomic): check the pieces.
    for piece in ("a native line that is not absl's\n", "\rprogress 1", "\rprogress 2\n",
                  "error: one line\n"):
        assert stderr.count(piece) == 1, (piece, stderr)
    assert "absl" not in stderr.replace("not absl's", "")
    assert "I0000" not in stderr and "E0000" not in stderr
    assert len(stderr) == len("a native line that is not absl's\n\rprogress 1\rprogress 2\n"
                              "error: one line\n")
