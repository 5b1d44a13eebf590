"""Metrics under `serve --workers N`: every worker writes its counters to shared files.

prometheus_client's multiprocess mode is chosen by an environment variable read when a process
imports it, so ``serve`` sets it before uvicorn spawns the workers; any worker answering
/metrics then sums all workers' counters and histograms. A separate metrics port, if
configured, is served by this parent process (no worker could bind it alone).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from arv_analytics.config import Settings
from arv_analytics.observability import metrics

_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def worker_metrics(settings: Settings, workers: int) -> Iterator[None]:
    if workers == 1:
        yield
        return
    # A fresh directory per start: files of workers from an earlier run must not count.
    directory = tempfile.mkdtemp(prefix="arv-metrics-")
    previous = os.environ.get(_ENV)
    os.environ[_ENV] = directory
    scrape_port = None
    try:
        if settings.metrics_port:
            scrape_port = metrics.serve_port(settings.metrics_host, settings.metrics_port, None)
        yield
    finally:
        if scrape_port:
            scrape_port.close()
        if previous is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)
