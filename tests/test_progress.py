"""Progress lines: one per model in logs, rewritten in place on a terminal, none when quiet."""

from __future__ import annotations

import io

from tradenn.progress import Progress, format_seconds


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_output_is_one_line_per_model_with_counts():
    stream = io.StringIO()
    progress = Progress(4, stream=stream)
    progress.skip(1)  # resumed: one model was already trained
    for label in ("fold 2/2 · regime · seed 0", "fold 2/2 · no_regime · seed 0"):
        progress.start_model(label, epochs=5)
        progress.epoch(1, {"loss": 0.5, "val_loss": 0.6})  # not shown in logs
        progress.end_model(3, 0.55)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[1/3] fold 2/2 · regime · seed 0 · 3 epochs · best val 0.5500")
    assert lines[1].startswith("[2/3] fold 2/2 · no_regime")
    assert lines[1].endswith("ETA 0s")  # both models done: nothing left


def test_models_trained_at_once_are_reported_under_their_own_names(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("tradenn.progress.time.monotonic", lambda: now[0])
    stream = io.StringIO()
    progress = Progress(2, stream=stream)
    now[0] = 10.0
    progress.start_model("a", epochs=5)
    now[0] = 12.0
    progress.start_model("b", epochs=5)
    now[0] = 30.0
    progress.end_model(4, 0.5, label="a")  # took 20 s, though b started last
    now[0] = 31.0
    progress.end_model(5, 0.4, label="b")
    first, second = stream.getvalue().splitlines()
    assert first.startswith("[1/2] a · 4 epochs · best val 0.5000 · 20s")
    assert second.startswith("[2/2] b · 5 epochs · best val 0.4000 · 19s")


def test_terminal_output_rewrites_one_line():
    stream = Terminal()
    progress = Progress(2, stream=stream)
    progress.width = 40
    progress.start_model("fold 1/1 · regime · seed 0", epochs=3)
    progress.epoch(1, {"loss": 0.5, "val_loss": 0.6})
    text = stream.getvalue()
    assert text.startswith("\r[1/2] fold 1/1") and "\n" not in text
    assert len(text) == 1 + 40  # truncated to the terminal so "\r" can rewrite it


def test_quiet_prints_nothing():
    stream = Terminal()
    progress = Progress(1, quiet=True, stream=stream)
    progress.start_model("m", 1)
    progress.epoch(1, {"loss": 1.0})
    progress.end_model(1, 1.0)
    progress.message("hello")
    assert stream.getvalue() == ""


def test_format_seconds():
    assert [format_seconds(s) for s in (5, 75, 3700)] == ["5s", "1m15s", "1h01m"]
