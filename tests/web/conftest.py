"""Fixtures of the browser tests: Playwright, the live service, fake cameras, a third-party site.

The browser tests run against SQLite only: what they prove is the browser ↔ HTTP contract
(when the tracker sends what), and every endpoint they call is tested on both SQLite and
PostgreSQL by the API tests. This keeps the browser part of the suite well under two minutes.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Playwright, sync_playwright
from sqlalchemy import Engine

from tests.support import LiveServer, new_database, settings_for
from tests.web import media
from tests.web.browser import require_browser

DEMO_TARGET = Path(__file__).resolve().parents[2] / "src/arv_analytics/web/static/demo/target.png"


@dataclass
class Service:
    """The app, served twice over one database: heartbeats every second, or every minute."""

    fast: LiveServer  # heartbeats every second: for heartbeat and kill tests
    slow: LiveServer  # one heartbeat a minute: only the start and the final report arrive
    engine: Engine


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    require_browser()
    with new_database("sqlite", tmp_path_factory.mktemp("browser")) as db:
        engine = db.engine()
        local = {"viewer_assets_url": "/assets/vendor"}
        with (
            LiveServer(settings_for(db, heartbeat_seconds=1, **local)) as fast,
            LiveServer(settings_for(db, heartbeat_seconds=60, **local)) as slow,
        ):
            yield Service(fast, slow, engine)
        engine.dispose()


@pytest.fixture(scope="module")
def playwright(service: Service) -> Iterator[Playwright]:
    # Module scope: Playwright's sync API keeps an event loop running on this thread while it
    # is open, and the migrations of databases made by other tests use asyncio.run().
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def cameras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Fake camera feeds: a bare wall, the target held still, the target coming and going, and
    another picture of the same kind that is not the target."""
    folder = tmp_path_factory.mktemp("cameras")
    target = media.read_png(DEMO_TARGET)
    return {
        "wall": media.write_y4m(None, folder / "wall.y4m", seconds_on=1),
        "target": media.write_y4m(target, folder / "target.y4m", seconds_on=1),
        "cycle": media.write_y4m(target, folder / "cycle.y4m", seconds_on=3, seconds_off=3),
        "other": media.write_y4m(media.target_image(seed=99), folder / "other.y4m", seconds_on=1),
    }


class ThirdPartySite:
    """Another origin (http://localhost:<port>) whose pages embed the tracker snippet."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, name: str, html: str) -> str:
        self.pages["/" + name] = html
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def site() -> Iterator[ThirdPartySite]:
    s = ThirdPartySite()
    yield s
    s.close()
