"""Drop TensorFlow's native start-up chatter from the terminal, keep everything else.

TensorFlow's C++ runtime logs through absl before its log level is read, so
``TF_CPP_MIN_LOG_LEVEL`` cannot silence lines such as "oneDNN custom operations are on"
or "failed call to cuInit" (tensorflow/tensorflow#100442). The CLI routes file descriptor 2
through a pipe and a thread that drops only lines in absl's format (``I0000 00:00:...``);
Python's own stderr (our errors, warnings, progress) bypasses the filter.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

_NOISE = re.compile(rb"^(?:[IWE]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\]|WARNING: All log messages before absl)")


def filter_native_stderr() -> None:
    """Install the filter for the rest of the process (only when stderr is a real fd).

    Python's own ``sys.stderr`` is re-opened on the original descriptor, so what Python
    writes (progress lines rewritten with ``\r``, errors, warnings) reaches the terminal
    directly and unbuffered by lines; only native writes to fd 2 pass through the filter.
    """
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError):
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = open(original, "w", buffering=1, closefd=False,  # noqa: SIM115
                      encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for line in pipe:
                if not _NOISE.match(line):
                    os.write(original, line)

    thread = threading.Thread(target=pump, name="native-stderr-filter", daemon=True)
    thread.start()

    def restore() -> None:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last writer, so the pump sees EOF
        thread.join(timeout=2)

    atexit.register(restore)
