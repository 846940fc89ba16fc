"""A sweep's progress on stderr with rich: trials done / running / failed, and an ETA."""

from __future__ import annotations

import sys
from typing import Any


class SweepProgress:
    """rich.progress bar over trials; ``quiet`` shows nothing.

    On a terminal the bar redraws in place; elsewhere (CI, logs) rich prints it once per
    update only when finished, so each finished trial is also printed as one line.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.running_ids: set[str] = set()
        self.failed = 0
        self._progress: Any = None
        self._task: Any = None

    def start(self, *, total: int, done: int) -> None:
        if self.quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=sys.stderr)
        self._progress = Progress(
            TextColumn("trials"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=console, transient=False,
        )
        self._task = self._progress.add_task("sweep", total=total, completed=done,
                                             state=self._state())
        self._progress.start()

    def _state(self) -> str:
        return f"running {len(self.running_ids)} · failed {self.failed}"

    def running(self, trial_id: str) -> None:
        self.running_ids.add(trial_id)
        self._update()

    def finished(self, trial_id: str, outcome: dict[str, Any]) -> None:
        self.running_ids.discard(trial_id)
        if outcome.get("status") != "complete":
            self.failed += 1
        if self._progress is not None:
            self._progress.advance(self._task)
            status = outcome.get("error") or f"{outcome.get('wall_seconds', 0):.0f}s"
            self._progress.console.print(f"{trial_id}: {outcome.get('status')} ({status})",
                                         markup=False, highlight=False)
        self._update()

    def _update(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, state=self._state())

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
