"""Schemathesis against the live server's /openapi.json: every route, an admin token.

No answer may be a 5xx, and every answer must match what the document promises: status
codes, content types, headers and bodies, valid requests accepted and invalid ones refused.
Runs on SQLite only and with a bounded number of examples per route (about 30 s), to stay
within the suite's time budget; it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from arv_analytics.app import create_app
from arv_analytics.config import Settings
from tests.support import (
    ADMIN_TOKEN,
    IN_CI,
    LiveServer,
    client,
    make_content,
    new_database,
    settings_for,
)

MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    with new_database("sqlite", tmp) as db, LiveServer(settings_for(db)) as server:
        with client(server.url) as api:
            # Real rows, so that small generated ids hit something and reach the 200 paths.
            for name in ("Alpha", "Beta"):
                content = make_content(api, company=name)
                api.post("/api/analytics/ar-session", json={"portrait_id": content["id"]})
            api.post("/api/tokens", json={"name": "fuzz", "role": "admin"})
        yield server


# The document the server publishes, built from the app itself (no database needed), so that
# pytest can list one test per operation. (schemathesis.pytest.from_fixture would fetch it
# from the server, but does not work with pytest 9.)
# The admin token goes in through the document's own security scheme, so that schemathesis
# can also leave it out (and then expects the 401 it gets).
CONFIG = schemathesis.Config.from_dict(
    {
        "auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN_TOKEN}}},
        "generation": {"max-examples": MAX_EXAMPLES},
        # The query API's rules span fields (a period that starts in the future, "from"
        # after "to", a metric to order by that was not asked for, two time dimensions):
        # JSON Schema cannot say them, so a schema-valid question may rightly get a 422.
        # Everything else is still checked there (no 5xx, documented answers, bad input
        # refused).
        "operations": [
            {
                "include-path-regex": "^/api/v1/",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
            # A share link's expiry must lie in the future: a time-dependent rule, too.
            {
                "include-path-regex": "^/api/share-links$",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            },
        ],
        # A tracking body over ARV_MAX_BODY_BYTES is refused (413) before anything else about
        # it is read: a right refusal of invalid data too (long generated strings hit it).
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                    *("428", "429", "5xx"),
                ]
            }
        },
    }
)
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite+aiosqlite://")).openapi(), config=CONFIG
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # In CI the same examples every run, so that a red build always means a change did it;
    # on developers' machines new ones each run, so that the fuzzing keeps looking.
    derandomize=IN_CI,
)
def test_the_api_keeps_its_documented_promises(
    case: schemathesis.Case, fuzz_server: LiveServer
) -> None:
    case.call_and_validate(base_url=fuzz_server.url)


def test_the_served_document_is_the_one_fuzzed(fuzz_server: LiveServer) -> None:
    with client(fuzz_server.url) as c:
        assert c.get("/openapi.json").json() == schema.raw_schema
