"""Take a full-page PNG screenshot of a run's report in headless Chromium.

Usage:
    python scripts/screenshot_report.py RUN_DIR out.png [--width 1280] [--rebuild]
    python scripts/screenshot_report.py path/to/report.html out.png

With a run directory, its ``report.html`` is used, and written first (``backtest_run``
with the run config's settings) when it is missing or ``--rebuild`` is given. The script
also prints what the browser saw: console errors, requests leaving the file, chart sizes.
Needs Chromium (Debian: ``apt-get install chromium``) and Playwright (the test extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from report_browser import check_page  # beside this script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a run directory or an HTML file")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--width", type=int, default=1280, help="page width in CSS pixels")
    parser.add_argument("--rebuild", action="store_true", help="rewrite the run's report first")
    args = parser.parse_args(argv)

    page = args.source
    if page.is_dir():
        page = args.source / "report.html"
        if args.rebuild or not page.is_file():
            from tradenn.report import backtest_run

            page = backtest_run(args.source).report_path
    if not page.is_file():
        print(f"error: {page} not found", file=sys.stderr)
        return 1
    seen = check_page(page, screenshot=args.out, width=args.width)
    print(f"{args.out}: screenshot of {page} ({seen.title})")
    for chart in seen.charts:
        print(f"  {chart['id']}: {chart['width']:.0f}x{chart['height']:.0f} px, "
              f"{chart['drawn']} drawn marks")
    problems = seen.console_errors + seen.exceptions + seen.external_requests
    for problem in problems:
        print(f"  problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
