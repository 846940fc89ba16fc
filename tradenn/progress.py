"""Progress of a walk-forward run on stderr: fold k/N, model, epoch, loss and ETA."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Counts models trained against the total and estimates the time left.

    On a terminal the epoch line is rewritten in place; elsewhere (logs, CI) one line per
    finished model is printed. ``quiet`` prints nothing.
    """

    def __init__(self, total_models: int, *, quiet: bool = False, stream: TextIO | None = None):
        self.total = total_models
        self.done = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        # A rewritten line must not wrap, or "\r" returns to its last row only.
        self.width = shutil.get_terminal_size((100, 20)).columns - 1
        self.started = time.monotonic()
        self.model_started = self.started
        self.label = ""
        self.epochs = 0
        self.started_at: dict[str, float] = {}  # label -> start, of models still training

    def skip(self, models: int) -> None:
        """Models already trained by an earlier, interrupted attempt of the run."""
        self.total -= models

    def start_model(self, label: str, epochs: int) -> None:
        self.label, self.epochs = label, epochs
        self.model_started = time.monotonic()
        self.started_at[label] = self.model_started

    def eta(self) -> str:
        if self.done == 0:
            return "?"
        per_model = (time.monotonic() - self.started) / self.done
        return format_seconds(per_model * (self.total - self.done))

    def epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if self.quiet or not self.interactive:
            return
        line = (f"[{self.done + 1}/{self.total}] {self.label} · epoch {epoch}/{self.epochs} · "
                f"loss {logs.get('loss', float('nan')):.4f} val {logs.get('val_loss', float('nan')):.4f}"
                f" · ETA {self.eta()}")
        self.stream.write("\r" + line[: self.width].ljust(self.width))
        self.stream.flush()

    def end_model(self, epochs_run: int, best_val: float, label: str | None = None) -> None:
        """One model finished: ``label`` names it when several train at once (the last
        one started need not be the one that finished)."""
        self.done += 1
        label = self.label if label is None else label
        started = self.started_at.pop(label, self.model_started)
        if self.quiet:
            return
        took = format_seconds(time.monotonic() - started)
        line = (f"[{self.done}/{self.total}] {label} · {epochs_run} epochs · "
                f"best val {best_val:.4f} · {took} · ETA {self.eta()}")
        self.stream.write(("\r" + line.ljust(self.width) if self.interactive else line) + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()
