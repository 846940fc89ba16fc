"""The CLI's shape: instant help, one-line errors, no TensorFlow for light commands."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from tradenn.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_import_tradenn_and_help_do_not_load_tensorflow():
    code = (
        "import sys, tradenn, tradenn.cli, tradenn.data, tradenn.config, tradenn.experiment;"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported';"
        "print(tradenn.load_bars.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "load_bars"


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("train", "backtest", "compare", "predict", "regimes", "data"):
        assert command in result.output


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_data_check_good_and_bad(tmp_path):
    good = run("data", "check", "data/SPY.csv")
    assert good.exit_code == 0
    assert "7835 rows from 1993-01-29 to 2024-03-12" in good.output
    assert "2001-09-10 -> 2001-09-17 (7 days)" in good.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,10\n2024-01-02,1,2,1,1.5,10\n")
    one_line_error(run("data", "check", str(bad)), "duplicate date", "2024-01-02")
    one_line_error(run("data", "check", str(tmp_path / "none.csv")), "no such file")


def test_data_fetch_offline_is_one_line(monkeypatch, tmp_path):
    import yfinance

    monkeypatch.setenv("TRADENN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: None)
    one_line_error(run("data", "fetch", "SPY"), "yfinance returned no data for 'SPY'")
    assert not list(tmp_path.iterdir())


def test_config_mistakes_are_one_line_and_leave_no_run(tmp_path):
    runs = tmp_path / "runs"
    one_line_error(run("train", str(tmp_path / "missing.yaml"), "--runs-dir", str(runs)), "not found")
    one_line_error(
        run("train", "configs/spy.yaml", "--set", "model.unitz=3", "--runs-dir", str(runs)),
        "model.unitz: unknown key",
    )
    one_line_error(
        run("train", "configs/spy.yaml", "--set", "data.source=nowhere/x.csv", "--runs-dir", str(runs)),
        "nowhere/x.csv: no such file",
    )
    one_line_error(run("train", "--runs-dir", str(runs)), "missing CONFIG")
    assert not runs.exists()


def test_backtest_of_a_missing_or_unfinished_run(tmp_path):
    one_line_error(run("backtest", str(tmp_path / "nope")), "not found")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "manifest.json").write_text('{"status": "running"}')
    one_line_error(run("backtest", str(tmp_path / "half")), "not complete (status: running)",
                   "tradenn train --resume")


def test_every_public_name_resolves():
    import tradenn

    missing = [name for name in tradenn.__all__ if getattr(tradenn, name, None) is None]
    assert missing == []
