"""The soak of bench/soak.py, shortened: every kind of traffic at once against
`arv-analytics serve --workers 2` on PostgreSQL (starts, heartbeats, ends sent twice at once,
analytics reads with admin and company tokens, catalog deactivations, token create/use/revoke,
two retention runs and a salt rotation from a third process).

Afterwards nothing acknowledged is missing, every rollup equals a fresh recount, no 5xx and no
unexpected status was answered, company tokens saw only their company. The 10-minute run and
its figures are in docs/benchmarks.md; here the load lasts ARV_TEST_SOAK_SECONDS (30).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from tests.support import PG_ADMIN_URL, require_postgres

BENCH = Path(__file__).resolve().parents[2] / "bench"
SECONDS = float(os.environ.get("ARV_TEST_SOAK_SECONDS", "30"))


def _soak_module() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # soak.py imports its neighbour common.py
    spec = importlib.util.spec_from_file_location("bench_soak", BENCH / "soak.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_soak_under_every_kind_of_traffic(tmp_path: Path) -> None:
    require_postgres()
    soak = _soak_module()
    cfg = soak.SoakConfig(
        duration=SECONDS,
        viewers=16,
        readers=2,
        churn_every=2.0,
        token_every=3.0,
        rss_every=2.0,
        # 30 s is mostly warm-up (caches filling, the allocator growing its arenas): only a
        # gross leak shows. The 10-minute run holds the real limit (1 MiB/min).
        rss_slope=60.0,
        aged_sessions=400,
        pg_admin=PG_ADMIN_URL,
        log_dir=tmp_path,
        progress=False,
    )
    result = soak.run_soak(cfg)
    print(result.report)
    assert result.ok, "\n".join(f"{c.name}: {c.detail}" for c in result.failed())
    # The load's own ends (the catalog probes before it only start sessions): enough traffic
    # that the checks above meant something, even on a busy machine.
    figures = dict(result.figures)
    ends = int(figures["sessions acknowledged"].split("heartbeat: ")[1].split(";")[0])
    assert ends >= 10, f"too little traffic: {figures['sessions acknowledged']}"
