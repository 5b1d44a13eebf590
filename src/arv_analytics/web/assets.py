"""Where the browser libraries come from: a CDN, or the local copy under web/vendor.

Both are addressed as ``<base>/<package>@<version>/<file>``, the layout of the npm CDNs, so
``ARV_VIEWER_ASSETS_URL`` can point at jsDelivr, any mirror of it, or this app's own
``/assets/vendor`` without the templates knowing which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

# Pinned together: mind-ar 1.2.5's three.js build imports `sRGBEncoding`, which three.js
# removed in r162, and "three/addons/…", which needs an import map. web/vendor/package.json
# pins the same versions (a test checks that they agree).
# Chart.js (MIT) draws the dashboard's charts; the dashboard always loads it from this server.
PACKAGES = {"chart.js": "4.5.1", "mind-ar": "1.2.5", "three": "0.158.0"}

MINDAR_THREE = "mind-ar@{mind-ar}/dist/mindar-image-three.prod.js"
THREE_MODULE = "three@{three}/build/three.module.js"
THREE_ADDONS = "three@{three}/examples/jsm/"

# The package is installed in editable mode from the repository (see the Makefile), so the
# repository's web/vendor sits three levels above this package.
VENDOR_ROOT = Path(__file__).resolve().parents[3] / "web" / "vendor"
VENDOR_MODULES = VENDOR_ROOT / "node_modules"
LOCAL_PREFIX = "/assets/vendor"
CHART_JS = f"{LOCAL_PREFIX}/chart.js@{PACKAGES['chart.js']}/dist/chart.umd.min.js"


def _path(template: str) -> str:
    return template.replace("{mind-ar}", PACKAGES["mind-ar"]).replace("{three}", PACKAGES["three"])


@dataclass(frozen=True, slots=True)
class ViewerAssets:
    mindar: str
    import_map: dict[str, dict[str, str]]


def viewer_assets(base: str) -> ViewerAssets:
    """The module URL of MindAR and the import map its bare "three" imports need."""
    return ViewerAssets(
        mindar=f"{base}/{_path(MINDAR_THREE)}",
        import_map={
            "imports": {
                "three": f"{base}/{_path(THREE_MODULE)}",
                "three/addons/": f"{base}/{_path(THREE_ADDONS)}",
            }
        },
    )


def installed_version(package: str) -> str | None:
    manifest = VENDOR_MODULES / package / "package.json"
    try:
        version = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


def local_installed() -> bool:
    return all(installed_version(name) == version for name, version in PACKAGES.items())


def vendor_file(spec: str, path: str) -> Path | None:
    """The local file for ``<package>@<version>/<path>``, or None.

    Only the pinned packages at their pinned versions are served, and only files inside them:
    this route must never become a way to read arbitrary files.
    """
    name, _, version = spec.rpartition("@")
    if PACKAGES.get(name) != version or installed_version(name) != version:
        return None
    root = (VENDOR_MODULES / name).resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate
