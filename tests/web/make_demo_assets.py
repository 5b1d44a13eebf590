"""Rebuilds the demo target and video under src/arv_analytics/web/static/demo/.

    .venv/bin/python -m tests.web.make_demo_assets

target.png is drawn here in Python; target.mind is compiled from it by MindAR's own compiler
running in Chromium (the compiler needs a browser: WebGL and canvas); video.mp4 is a short
clip recorded from a canvas with MediaRecorder. The demo data (`arv-analytics demo`) points
its content at these files and the browser tests use them as the real marker and video.
Needs /usr/bin/chromium and the local MindAR copy (`make vendor`).
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

from arv_analytics.web import assets
from tests.web import media
from tests.web.browser import CHROMIUM, FLAGS

DEMO = Path(assets.__file__).resolve().parent / "static" / "demo"
ORIGIN = "http://arv.test"

PAGE = """<!doctype html><html><body><script type="module">
import { Compiler } from "/vendor/mind-ar/dist/mindar-image.prod.js";
window.compileTarget = async (src) => {
  const img = new Image(); img.src = src; await img.decode();
  const compiler = new Compiler();
  await compiler.compileImageTargets([img], () => {});
  return toBase64(await compiler.exportData());
};
window.recordClip = async (seconds) => {
  const canvas = Object.assign(document.createElement("canvas"), {width: 640, height: 360});
  const g = canvas.getContext("2d");
  const type = "video/mp4;codecs=avc1.42E01E";
  const recorder = new MediaRecorder(canvas.captureStream(25), {mimeType: type,
                                     videoBitsPerSecond: 400000});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise((resolve) => recorder.onstop = resolve);
  const t0 = performance.now();
  const draw = () => {
    const t = (performance.now() - t0) / 1000;
    const grad = g.createLinearGradient(0, 0, 640, 360);
    grad.addColorStop(0, `hsl(${(t * 60) % 360} 80% 45%)`);
    grad.addColorStop(1, `hsl(${(t * 60 + 140) % 360} 80% 35%)`);
    g.fillStyle = grad; g.fillRect(0, 0, 640, 360);
    g.fillStyle = "rgba(255,255,255,0.9)";
    g.beginPath(); g.arc(320 + 200 * Math.cos(t * 2), 180 + 90 * Math.sin(t * 3), 34, 0, 7);
    g.fill();
    g.font = "bold 64px sans-serif"; g.textAlign = "center";
    g.fillText("ARV demo", 320, 200);
    if (t < seconds) requestAnimationFrame(draw); else recorder.stop();
  };
  recorder.start(); draw(); await done;
  return toBase64(await new Blob(chunks).arrayBuffer());
};
function toBase64(buffer) {
  const bytes = new Uint8Array(buffer); let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
window.ready = true;
</script></body></html>"""


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/":
        route.fulfill(body=PAGE, content_type="text/html")
    elif path == "/target.png":
        route.fulfill(path=DEMO / "target.png", content_type="image/png")
    elif path.startswith("/vendor/"):
        file = assets.VENDOR_MODULES / path.removeprefix("/vendor/")
        route.fulfill(path=file, content_type=mimetypes.guess_type(file.name)[0] or "text/plain")
    else:
        route.fulfill(status=404)


def main() -> None:
    DEMO.mkdir(parents=True, exist_ok=True)
    media.write_png(media.target_image(), DEMO / "target.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.route(ORIGIN + "/**", _serve)
        page.goto(ORIGIN + "/")
        page.wait_for_function("window.ready")
        (DEMO / "target.mind").write_bytes(
            base64.b64decode(page.evaluate("compileTarget('/target.png')"))
        )
        (DEMO / "video.mp4").write_bytes(base64.b64decode(page.evaluate("recordClip(4)")))
        browser.close()
    for name in ("target.png", "target.mind", "video.mp4"):
        print(f"{DEMO / name}: {(DEMO / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
