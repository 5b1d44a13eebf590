"""The viewer page and its files over HTTP (the browser tests are in test_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from arv_analytics.web import assets
from tests.support import Database, LiveServer, client, make_content, settings_for

TRACKER = "/static/arv-tracker.v1.js"
DEMO_MARKER = "/static/demo/target.mind"
DEMO_VIDEO = "/static/demo/video.mp4"


def viewer_content(api: httpx.Client, **fields: str | None) -> dict[str, object]:
    content = make_content(api)
    body = {"marker_url": DEMO_MARKER, "video_url": DEMO_VIDEO, **fields}
    r = api.patch(f"/api/ar-content/{content['id']}", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_viewer_page_for_active_content(api: httpx.Client, public: httpx.Client) -> None:
    content = viewer_content(api, title="Poster <A> & co")
    r = public.get(f"/ar/{content['unique_id']}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f'data-content="{content["unique_id"]}"' in html
    assert f'src="{TRACKER}"' in html
    assert 'data-heartbeat="15"' in html
    assert 'data-respect-gpc="true"' in html
    assert f'data-marker="{DEMO_MARKER}"' in html
    assert f'data-video="{DEMO_VIDEO}"' in html
    # The title is escaped, never markup.
    assert "Poster &lt;A&gt; &amp; co" in html
    assert "<A>" not in html
    # MindAR and the import map for its bare "three" imports, from the default CDN.
    cdn = "https://cdn.jsdelivr.net/npm"
    assert f'data-mindar="{cdn}/mind-ar@1.2.5/dist/mindar-image-three.prod.js"' in html
    # The inline import map carries the page's CSP nonce, or the browser would refuse it.
    [(nonce, import_map)] = re.findall(
        r'<script type="importmap" nonce="([^"]+)">(.*?)</script>', html, re.S
    )
    assert f"'nonce-{nonce}'" in r.headers["content-security-policy"]
    assert json.loads(import_map) == {
        "imports": {
            "three": f"{cdn}/three@0.158.0/build/three.module.js",
            "three/addons/": f"{cdn}/three@0.158.0/examples/jsm/",
        }
    }


@pytest.mark.parametrize("ident", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "42"])
def test_unknown_content_gets_a_friendly_404_page(public: httpx.Client, ident: str) -> None:
    r = public.get(f"/ar/{ident}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "isn't available" in r.text
    assert "arv-tracker" not in r.text  # nothing is tracked for a page that shows nothing


@pytest.mark.parametrize("level", ["ar-content", "projects", "companies"])
def test_inactive_content_looks_unknown(
    api: httpx.Client, public: httpx.Client, level: str
) -> None:
    content = viewer_content(api)
    ident = {"ar-content": content["id"], "projects": content["project_id"]}.get(
        level, content["company_id"]
    )
    assert public.get(f"/ar/{content['unique_id']}").status_code == 200
    api.delete(f"/api/{level}/{ident}")
    r = public.get(f"/ar/{content['unique_id']}")
    assert r.status_code == 404
    assert "isn't available" in r.text


@pytest.mark.parametrize("missing", ["marker_url", "video_url"])
def test_content_without_marker_or_video_is_not_ready(
    api: httpx.Client, public: httpx.Client, missing: str
) -> None:
    content = viewer_content(api, **{missing: None})
    r = public.get(f"/ar/{content['unique_id']}")
    assert r.status_code == 404
    assert "isn't ready yet" in r.text


def test_settings_reach_the_page(database: Database, api: httpx.Client) -> None:
    content = viewer_content(api)
    settings = settings_for(
        database,
        viewer_assets_url="https://mirror.example/npm/",
        heartbeat_seconds=5,
        respect_gpc=False,
    )
    with LiveServer(settings) as live, client(live.url, token=None) as anon:
        html = anon.get(f"/ar/{content['unique_id']}").text
    assert 'data-mindar="https://mirror.example/npm/mind-ar@1.2.5/' in html
    assert '"three": "https://mirror.example/npm/three@0.158.0/build/three.module.js"' in html
    assert 'data-heartbeat="5"' in html
    assert 'data-respect-gpc="false"' in html


def test_tracker_script_is_versioned_and_cached_for_a_year(public: httpx.Client) -> None:
    r = public.get(TRACKER)
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["access-control-allow-origin"] == "*"
    assert "ARVTracker" in r.text


def test_unversioned_files_are_revalidated(public: httpx.Client) -> None:
    for path in ("/static/viewer.js", "/static/viewer.css", DEMO_MARKER):
        r = public.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, max-age=3600"


def test_vendor_versions_agree_with_package_json() -> None:
    manifest = json.loads((assets.VENDOR_ROOT / "package.json").read_text())
    assert manifest["dependencies"] == assets.PACKAGES
    lock = json.loads((assets.VENDOR_ROOT / "package-lock.json").read_text())
    for name, version in assets.PACKAGES.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.parametrize(
    "path",
    [
        "/assets/vendor/mind-ar@1.2.4/dist/mindar-image-three.prod.js",  # not the pinned version
        "/assets/vendor/mind-ar/dist/mindar-image-three.prod.js",  # no version
        "/assets/vendor/left-pad@1.3.0/index.js",  # not one of ours
        "/assets/vendor/three@0.158.0/../mind-ar/package.json",
        "/assets/vendor/three@0.158.0/%2e%2e/%2e%2e/package.json",
        "/assets/vendor/three@0.158.0/build/",
    ],
)
def test_vendor_route_serves_nothing_else(public: httpx.Client, path: str) -> None:
    assert public.get(path).status_code == 404


def test_vendor_route_serves_the_pinned_files(public: httpx.Client) -> None:
    if not assets.local_installed():
        pytest.skip("local MindAR/three.js not installed (`make vendor`)")
    for path in (assets.MINDAR_THREE, assets.THREE_MODULE):
        url = "/assets/vendor/" + path.replace("{mind-ar}", "1.2.5").replace("{three}", "0.158.0")
        r = public.get(url)
        assert r.status_code == 200, url
        assert "javascript" in r.headers["content-type"]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_demo_assets_are_a_target_its_marker_and_a_video() -> None:
    demo = Path(assets.__file__).parent / "static" / "demo"
    assert (demo / "target.png").read_bytes().startswith(b"\x89PNG")
    assert (demo / "target.mind").stat().st_size > 10_000
    assert (demo / "video.mp4").read_bytes()[4:8] == b"ftyp"
