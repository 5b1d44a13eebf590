"""Every API test runs twice: against SQLite and against PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.support import Database, LiveServer, clean, client, new_database, settings_for

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    with new_database(request.param, tmp_path_factory.mktemp(request.param)) as db:
        yield db


@pytest.fixture(scope="session")
def engine(database: Database) -> Iterator[Engine]:
    eng = database.engine()
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[LiveServer]:
    with LiveServer(settings_for(database)) as live:
        yield live


@pytest.fixture
def db(engine: Engine) -> Engine:
    """The test database, emptied before the test."""
    clean(engine)
    return engine


@pytest.fixture
def api(server: LiveServer, db: Engine) -> Iterator[httpx.Client]:
    """An admin client of the live server, over an empty database."""
    with client(server.url) as c:
        yield c


@pytest.fixture
def public(server: LiveServer, db: Engine) -> Iterator[httpx.Client]:
    """A client without a token, as the tracker in a browser is."""
    with client(server.url, token=None) as c:
        yield c


LiveFactory = Callable[..., LiveServer]


@pytest.fixture
def live(database: Database, db: Engine) -> Iterator[LiveFactory]:
    """Starts extra servers with other settings, e.g. ``live(ip_mode="full")``."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> LiveServer:
            return stack.enter_context(LiveServer(settings_for(database, **overrides)))

        yield start


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` run only with the PostgreSQL database (not skipped:
    they are left out of the SQLite half, so CI's "no skips" rule holds)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database") if callspec else None
        if item.get_closest_marker("postgres_only") and backend == "sqlite":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
