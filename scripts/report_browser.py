"""Open a report in headless Chromium with Playwright: check that it renders, screenshot it.

Playwright (a test extra) drives the system's Chromium (Debian: ``apt-get install
chromium``) — no browser is downloaded. `find_chromium` looks for it, or for
``$TRADENN_CHROMIUM``. Used by ``scripts/screenshot_report.py`` and the report's browser test;
nothing in the ``tradenn`` package imports it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Chromium as root in a container, on a machine with no network of its own.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--hide-scrollbars"]

# Runs in the page: one record per chart with what a human would check by eye.
CHART_PROBE = """
() => Array.from(document.querySelectorAll('figure.chart')).map(fig => {
  const svg = fig.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const marks = svg ? Array.from(svg.querySelectorAll('path, image, rect')) : [];
  const drawn = marks.filter(m => { try { const b = m.getBBox();
    return b.width > 0 || b.height > 0; } catch (e) { return false; } });
  return {id: fig.id, width: box.width, height: box.height, marks: marks.length,
          drawn: drawn.length, text: svg ? svg.querySelectorAll('text').length : 0};
})
"""


@dataclass
class PageCheck:
    """What the browser saw while loading a page."""

    title: str
    charts: list[dict[str, Any]]
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:"))]


def find_chromium() -> str | None:
    """Path of a Chromium-family browser, ``$TRADENN_CHROMIUM`` first."""
    candidates = [os.environ.get("TRADENN_CHROMIUM", ""), "chromium", "chromium-browser",
                  "google-chrome", "google-chrome-stable"]
    for name in candidates:
        if name and (path := shutil.which(name)):
            return path
    return None


def check_page(path: str | os.PathLike[str], *, screenshot: str | os.PathLike[str] | None = None,
               width: int = 1280, executable: str | None = None) -> PageCheck:
    """Load ``path`` in headless Chromium; record errors, requests and the charts' layout.

    Requests that leave the file are recorded and then aborted, so a check never reaches
    the network. With ``screenshot``, a full-page PNG ``width`` CSS pixels wide is written.
    """
    from playwright.sync_api import sync_playwright

    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("chromium not found (apt-get install chromium, or set TRADENN_CHROMIUM)")
    seen = PageCheck(title="", charts=[])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: seen.console_errors.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.exceptions.append(str(e)))

            def record(route) -> None:
                url = route.request.url
                seen.requests.append(url)
                if url.startswith(("file:", "data:", "about:")):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", record)
            page.goto(Path(path).resolve().as_uri(), wait_until="load")
            seen.title = page.title()
            seen.charts = page.evaluate(CHART_PROBE)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    # A blocked request also logs a console error of its own; keep the page's own errors.
    external = set(seen.external_requests)
    seen.console_errors = [m for m in seen.console_errors
                           if not (m.startswith("Failed to load resource") and external)]
    return seen
