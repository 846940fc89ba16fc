"""The report renders in headless Chromium: no console errors, no network, every chart drawn.

Skipped on a developer machine without Chromium; on CI (``CI`` set) a missing Chromium is a
failure, since the report is what users look at.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import pytest

from tradenn.report import BootstrapSettings, backtest_run, compare_runs

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from fake_run import make_fake_run  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent.parent / "scripts"))
from report_browser import check_page, find_chromium  # noqa: E402

pytestmark = pytest.mark.browser

CHARTS = {"chart-equity", "chart-drawdown", "chart-rolling-sharpe", "chart-positions",
          "chart-theta", "chart-regime-sharpe"}


@pytest.fixture(scope="module", autouse=True)
def chromium() -> str:
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required on CI for the report test (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_fake_run(tmp_path_factory.mktemp("runs"), start="2010-01-01", end="2016-12-31")
    return backtest_run(run, bootstrap=BootstrapSettings(n_boot=100)).report_path


def test_report_renders_every_chart_without_errors(report: Path) -> None:
    seen = check_page(report, width=1280)
    assert seen.console_errors == [] and seen.exceptions == []
    assert seen.external_requests == [], "the report must open offline"
    assert seen.title == "fake-spy · tradenn backtest"
    assert {c["id"] for c in seen.charts} == CHARTS
    for chart in seen.charts:
        # Scaled to the page column, with the lines, axes and labels actually laid out.
        assert chart["width"] > 1000 and chart["height"] > 150, chart
        assert chart["drawn"] >= 10 and chart["text"] >= 5, chart


def test_the_check_sees_errors_and_network_requests(tmp_path: Path) -> None:
    # A control: a broken page must fail the same check the report passes.
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>broken</title></head><body>"
        '<figure class="chart" id="chart-empty"><svg width="0" height="0"></svg></figure>'
        '<img src="http://127.0.0.1:9/logo.png">'
        "<script>console.error('boom'); notAFunction();</script></body></html>"
    )
    seen = check_page(page)
    assert any("boom" in m for m in seen.console_errors)
    assert any("notAFunction" in e for e in seen.exceptions)
    assert seen.external_requests == ["http://127.0.0.1:9/logo.png"]
    assert seen.charts == [{"id": "chart-empty", "width": 0, "height": 0, "marks": 0,
                            "drawn": 0, "text": 0}]


def test_comparison_page_renders(tmp_path: Path, report: Path) -> None:
    other = make_fake_run(tmp_path, start="2010-01-01", end="2016-12-31", name="other", seed=4)
    out = tmp_path / "compare.html"
    compare_runs([report.parent, other], out, bootstrap=BootstrapSettings(n_boot=50))
    seen = check_page(out)
    assert seen.console_errors == [] and seen.external_requests == []
    (chart,) = seen.charts
    assert chart["id"] == "chart-compare-equity" and chart["drawn"] >= 5


def test_screenshot_script_writes_a_full_page_png(tmp_path: Path, report: Path) -> None:
    import screenshot_report

    out = tmp_path / "report.png"
    assert screenshot_report.main([str(report.parent), str(out), "--width", "1100"]) == 0
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == 1100 and height > 3000  # the whole report, not the first screen


def fake_sweep(root: Path) -> Path:
    """A finished sweep of four backtested fake runs (no training) on a 2 x 2 grid."""
    import json

    from tradenn.sweeps.verdict import sweep_verdict

    sweep = root / "sweep"
    records = []
    for i, (source, activation) in enumerate(
            [("SPY", "tanh"), ("SPY", "swish"), ("QQQ", "tanh"), ("QQQ", "swish")]):
        trial = f"{source}-{activation}"
        run = make_fake_run(sweep / "trials", start="2010-01-01", end="2016-12-31",
                            name=trial, seed=i, edge=0.01 * i)
        run = run.rename(sweep / "trials" / trial)
        backtest_run(run, bootstrap=BootstrapSettings(n_boot=50))
        records.append({"id": trial, "grid": {"data.source": source,
                                              "model.lstm_activation": activation},
                        "overrides": {}, "status": "complete", "error": None,
                        "wall_seconds": 1.0})
    records.append({"id": "GLD-tanh", "grid": {"data.source": "GLD",
                                               "model.lstm_activation": "tanh"},
                    "overrides": {}, "status": "failed", "error": "GLD.csv: no such file",
                    "wall_seconds": 0.1})
    (sweep / "sweep.json").write_text(json.dumps({
        "name": "fake", "status": "complete", "trials": records,
        "grid": {"data.source": ["SPY", "QQQ", "GLD"], "model.lstm_activation": ["tanh", "swish"]}}))
    sweep_verdict(sweep)
    return sweep


def test_sweep_report_renders(tmp_path: Path) -> None:
    sweep = fake_sweep(tmp_path)
    seen = check_page(sweep / "report.html")
    assert seen.console_errors == [] and seen.exceptions == [] and seen.external_requests == []
    (chart,) = seen.charts
    assert chart["id"] == "chart-sweep-delta" and chart["drawn"] >= 4 and chart["text"] >= 6
    html = (sweep / "report.html").read_text()
    assert "Deflated Sharpe Ratio" in html and "probability of backtest overfitting" in html
    assert "GLD.csv: no such file" in html
