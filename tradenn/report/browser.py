"""Open a report in headless Chromium: check that it renders, take a full-page screenshot.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
JSON messages ending in a NUL byte on file descriptors 3 and 4), which needs nothing beyond
the standard library. Chromium itself is a system package (Debian: ``apt-get install
chromium``); `find_chromium` looks for it, or for ``$TRADENN_CHROMIUM``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradenn.errors import TradennError

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
]

# Runs in the page: one record per chart with what a human would check by eye.
CHART_PROBE = """
Array.from(document.querySelectorAll('figure.chart')).map(fig => {
  const svg = fig.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const marks = svg ? Array.from(svg.querySelectorAll('path, image, rect')) : [];
  const drawn = marks.filter(m => { try { const b = m.getBBox();
    return b.width > 0 || b.height > 0; } catch (e) { return false; } });
  return {id: fig.id, width: box.width, height: box.height, marks: marks.length,
          drawn: drawn.length, text: svg ? svg.querySelectorAll('text').length : 0};
})
"""


class BrowserError(TradennError):
    """Chromium is missing, did not start, or did not answer in time."""


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


class Chromium:
    """A headless Chromium process and one page, spoken to over the DevTools pipe."""

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0) -> None:
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise BrowserError(
                "chromium not found: install it (Debian: apt-get install chromium) or set "
                "TRADENN_CHROMIUM to a Chromium or Chrome executable"
            )
        self.timeout = timeout
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> Chromium:
        self._profile = tempfile.TemporaryDirectory(prefix="tradenn-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child, before exec: the protocol's fds 3 and 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._log = open(Path(self._profile.name) / "chromium.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            preexec_fn=wire_pipes, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.process.poll() is None:
                self._send("Browser.close", {}, None)
                self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, BrowserError):
            self.process.kill()
            self.process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                os.close(fd)
            self._log.close()
            self._profile.cleanup()

    # ----------------------------------------------------------------- protocol

    def _send(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"chromium did not answer within {self.timeout:g} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError(f"chromium exited (code {self.process.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = False) -> dict[str, Any]:
        """Send a command and wait for its result; events met meanwhile are kept."""
        request = self._send(method, params or {}, self.session if session else None)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == request:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for message in self.events:
            if message["method"] == event:
                return message
        while True:
            message = self._read(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == event:
                    return message

    # ----------------------------------------------------------------- page

    def open(self, path: str | os.PathLike[str]) -> None:
        """Load a local file and wait for its load event."""
        self.events.clear()
        self.call("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def resize(self, width: int, height: int = 900) -> None:
        """Set the page's viewport in CSS pixels."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def screenshot(self, out: str | os.PathLike[str], width: int = 1280) -> Path:
        """A PNG of the whole page (not just the first screen) at ``width`` CSS pixels."""
        self.resize(width)
        metrics = self.call("Page.getLayoutMetrics", session=True)
        self.resize(width, int(metrics["cssContentSize"]["height"]) + 1)
        shot = self.call("Page.captureScreenshot",
                         {"format": "png", "captureBeyondViewport": True}, session=True)
        out = Path(out)
        out.write_bytes(base64.b64decode(shot["data"]))
        return out

    def check(self) -> PageCheck:
        """Console errors, uncaught exceptions, requests and chart sizes of the loaded page."""
        console, exceptions, requests = [], [], []
        for message in self.events:
            method, params = message["method"], message.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                console.append(" ".join(str(a.get("value", a.get("description", "")))
                                        for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                console.append(params["entry"].get("text", ""))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                exceptions.append(details.get("exception", {}).get("description")
                                  or details.get("text", ""))
            elif method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
        return PageCheck(title=self.evaluate("document.title"),
                         charts=self.evaluate(CHART_PROBE), console_errors=console,
                         exceptions=exceptions, requests=requests)


def check_page(path: str | os.PathLike[str], *, screenshot: str | os.PathLike[str] | None = None,
               width: int = 1280, executable: str | None = None) -> PageCheck:
    """Load ``path`` in headless Chromium; report what it saw, optionally save a screenshot."""
    with Chromium(executable) as browser:
        browser.resize(width)
        browser.open(path)
        result = browser.check()
        if screenshot is not None:
            browser.screenshot(screenshot, width)
        return result
