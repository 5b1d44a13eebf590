"""Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

Chromium is started here as a child process in its own process group and Playwright attaches
over the DevTools protocol, so a test can also kill the whole browser without warning, the
way a phone's OS kills a backgrounded browser (no pagehide, no final beacon).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

from arv_analytics.web import assets
from tests.support import IN_CI, free_port

CHROMIUM = os.environ.get("ARV_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    # WebGL (three.js, MindAR's TensorFlow.js backend) runs on SwiftShader without a GPU;
    # Chromium still falls back to it by itself but warns that this fallback is going away.
    "--enable-unsafe-swiftshader",
    # Headless Chromium says "HeadlessChrome" in its user agent, which the server rightly
    # flags as a bot; these tests stand in for a person, so they present a desktop Chrome.
    "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36",
]
HOW_TO_ENABLE = (
    "browser tests need Chromium and the viewer's local libraries: "
    "`apt-get install chromium` and `make vendor` (.ci/run does both)"
)


def require_browser() -> None:
    """Skips (fails with CI=true) when Chromium or the local MindAR/three.js are missing."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} not found")
    if not assets.local_installed():
        missing.append(f"MindAR/three.js not installed in {assets.VENDOR_MODULES}")
    if not missing:
        return
    message = "; ".join(missing) + f" — {HOW_TO_ENABLE}"
    if IN_CI:
        pytest.fail(message + "; CI=true requires them")
    pytest.skip(message)


class Chromium:
    """One Chromium process and the Playwright connection to it."""

    def __init__(self, playwright: Playwright, flags: list[str]) -> None:
        self.profile = tempfile.mkdtemp(prefix="arv-chromium-")
        port = free_port()
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                *flags,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kill() reaches every child
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/json/version", timeout=1) as r:
                    json.load(r)
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError("Chromium did not start") from None
                time.sleep(0.05)
        self.browser: Browser = playwright.chromium.connect_over_cdp(endpoint)

    def kill(self) -> None:
        """SIGKILL to the browser and all its processes: nothing gets to run any more."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                # A normal quit (pages get pagehide, beacons leave), then Playwright lets go;
                # browser.close() alone only disconnects from a browser it did not launch.
                with suppress(Exception):
                    self.browser.new_browser_cdp_session().send("Browser.close")
                self.browser.close()
                with suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=5)
        finally:
            self.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@contextmanager
def chromium(
    playwright: Playwright, *extra_flags: str, without: tuple[str, ...] = ()
) -> Iterator[Chromium]:
    browser = Chromium(playwright, [f for f in FLAGS if f not in without] + list(extra_flags))
    try:
        yield browser
    finally:
        browser.close()
