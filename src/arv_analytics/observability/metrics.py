"""Prometheus metrics, in the text format of the maintained client library.

Counters and histograms that the write path, the jobs and the request observer update live in
one module-level registry, so instrumenting a component is one call and needs no plumbing.
Gauges that describe a running app (queue depth, rollup lag, catalog cache size) are read at
scrape time from that app's objects by :class:`AppState`, so they cost nothing per request.

Cardinality stays bounded: requests are labelled with the route *template*
(``/api/analytics/ar-session/{session_id}/end``), never the raw path; unmatched paths share
one label.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# The *_created series double the output and no dashboard here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The tracking routes answer in about a millisecond when healthy; reads take longer.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "arv_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "arv_http_request_duration_seconds",
    "Time from request to the start of the response, by route template",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
TRACKING = Counter(
    "arv_tracking_writes",
    "Tracking requests (starts, heartbeats, ends) by outcome: accepted (2xx), rejected (4xx: "
    "invalid, unknown content, closed, rate-limited) and unavailable (503: queue full or "
    "database away; nothing stored)",
    ["outcome"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "arv_write_batch_size",
    "Writes committed together by the write buffer",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000),
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "arv_write_commit_seconds",
    "Time to write and commit one batch (sessions and rollups together)",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
FAST_PATH = Counter(
    "arv_tracking_fast_path",
    "Tracking POSTs by who answered: fast (the ASGI fast path, ingest/fastpath.py) or route "
    "(handed to the FastAPI route: a lax or invalid body, another media type, a body over "
    "the limit)",
    ["answered_by"],
    registry=REGISTRY,
)
BATCH_FAILURES = Counter(
    "arv_write_batch_failures",
    "Batches that did not commit, by cause (unavailable: database away; error: a bug)",
    ["cause"],
    registry=REGISTRY,
)
JOB_RUNS = Counter(
    "arv_job_runs",
    "Periodic job runs in this process, by job and outcome (ok or failed)",
    ["job", "outcome"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class Gauges:
    """Callables that read one app's live state at scrape time (None: not running here)."""

    queue_depth: Callable[[], int] | None
    queue_capacity: int | None
    rollup_lag: Callable[[], float] | None
    catalog_cache_size: Callable[[], int] | None


class AppState(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self._g = gauges

    def collect(self) -> Iterable[Metric]:
        g = self._g
        if g.queue_depth is not None:
            yield _gauge(
                "arv_write_queue_depth", "Writes waiting for the write buffer", g.queue_depth()
            )
        if g.queue_capacity is not None:
            yield _gauge(
                "arv_write_queue_capacity",
                "Queued writes at which tracking answers 503 (ARV_WRITE_QUEUE_MAX)",
                g.queue_capacity,
            )
        if g.rollup_lag is not None:
            yield _gauge(
                "arv_rollup_lag_seconds",
                "How long the oldest accepted write not yet committed has waited: the stored "
                "sessions and rollups (committed together) trail the accepted events by this",
                g.rollup_lag(),
            )
        if g.catalog_cache_size is not None:
            yield _gauge(
                "arv_catalog_cache_entries",
                "AR content entries in this process's catalog cache",
                g.catalog_cache_size(),
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def multiprocess() -> bool:
    """True under `serve --workers N`: counters live in files that every worker writes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Exposed(Collector):
    """What a scrape returns: the shared counters and histograms, then one app's gauges."""

    def __init__(self, app_state: AppState | None) -> None:
        self._app_state = app_state

    def collect(self) -> Iterable[Metric]:
        if multiprocess():
            # Sums every worker's counters and histograms; gauges are this worker's.
            yield from MultiProcessCollector(None).collect()  # type: ignore[no-untyped-call]
        else:
            yield from REGISTRY.collect()
        if self._app_state is not None:
            yield from self._app_state.collect()


def exposition(app_state: AppState | None) -> bytes:
    return generate_latest(Exposed(app_state))


class ScrapePort:
    """The metrics on their own port (ARV_METRICS_PORT): no token, meant for a private network."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server, self._thread = server, thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_port(host: str, port: int, app_state: AppState | None) -> ScrapePort:
    server, thread = start_http_server(port, addr=host, registry=Exposed(app_state))
    return ScrapePort(server, thread)
