"""deploy/arv-analytics.service is a unit systemd accepts, starting the real command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import IN_CI

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "arv-analytics.service"


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if IN_CI:
            pytest.fail("systemd-analyze is missing; CI=true requires it")
        pytest.skip("systemd-analyze is missing")
    # verify also checks that ExecStart's program exists: point it at this environment's.
    here = Path(sys.executable).parent / "arv-analytics"
    assert here.is_file()
    text = UNIT.read_text()
    assert "ExecStart=/usr/local/bin/arv-analytics serve --migrate" in text
    unit = tmp_path / "arv-analytics.service"
    unit.write_text(text.replace("/usr/local/bin/arv-analytics", str(here)))
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr  # no "Unknown key … ignoring" either
    for needed in ("User=arv", "Restart=on-failure", "LimitNOFILE=", "EnvironmentFile="):
        assert needed in text
