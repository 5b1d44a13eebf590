"""Helpers of the ClickHouse tests: the store and executor of a test's database."""

from __future__ import annotations

from arv_analytics.clickhouse.connection import ClickHouse
from arv_analytics.clickhouse.schema import init
from tests.clickhouse.conftest import ClickHouseTarget


def connect(target: ClickHouseTarget, *, create: bool = True) -> ClickHouse:
    ch = ClickHouse.from_settings(target.url, target.name)
    if create:
        init(ch)
    return ch
