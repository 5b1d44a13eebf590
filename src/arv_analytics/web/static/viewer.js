// The AR viewer: MindAR image tracking with three.js, a muted video on the target.
// Everything the page needs comes from data attributes the server rendered on #arv-viewer;
// the tracker (arv-tracker.v1.js) is a separate classic script and may be absent (blocked).

const root = document.getElementById("arv-viewer");
const status = document.getElementById("arv-status");
const hint = document.getElementById("arv-hint");
const tracker = window.ARVTracker;

const MESSAGES = {
  insecure: "AR needs a secure connection. Open this page over https.",
  unsupported:
    "This browser can't run AR. Open the link in a recent Chrome, Safari or Firefox " +
    "on a phone with a camera.",
  denied:
    "Camera access is blocked. Allow the camera for this site in your browser settings, " +
    "then reload the page.",
  nocamera: "No camera was found on this device.",
  busy: "The camera is in use by another app. Close it, then reload the page.",
  load: "The AR experience couldn't be loaded. Check your connection and reload the page.",
};

function show(kind) {
  status.textContent = MESSAGES[kind];
  status.dataset.state = kind;
  status.hidden = false;
  hint.hidden = true;
  root.dataset.state = kind;
}

function webglAvailable() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

// The tracker's AR-start hooks, when the tracker is there (it may be blocked).
function outcome(kind, error) {
  if (tracker && tracker.cameraOutcome) tracker.cameraOutcome(kind, error);
}

// Asks for the camera once ourselves: MindAR swallows the reason of a failure, and the
// visitor deserves to know whether to change a setting or find another device.
async function cameraProblem() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: "environment" },
    });
    stream.getTracks().forEach((t) => t.stop());
    outcome("granted");
    return null;
  } catch (err) {
    if (tracker && tracker.cameraError) tracker.cameraError(err);
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "denied";
    if (name === "NotFoundError" || name === "OverconstrainedError") return "nocamera";
    if (name === "NotReadableError" || name === "AbortError") return "busy";
    return "denied";
  }
}

// MindAR fetches the marker inside a promise executor that swallows errors (start() would
// then wait forever), so the marker is fetched here and handed over as a blob URL.
async function markerBlobUrl(url) {
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok) throw new Error(`marker: HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

function makeVideo(url) {
  const video = document.createElement("video");
  if (new URL(url, location.href).origin !== location.origin) video.crossOrigin = "anonymous";
  video.src = url;
  video.muted = true;
  video.defaultMuted = true;
  video.loop = true;
  video.playsInline = true;
  video.setAttribute("playsinline", "");
  video.setAttribute("webkit-playsinline", "");
  video.preload = "auto";
  return video;
}

async function main() {
  // This page looks for a target from the first moment: a view that never gets as far as
  // the camera (denied, unsupported) reports tracking quality "none", not nothing.
  if (tracker) tracker.expectTargets();
  if (!window.isSecureContext) {
    outcome("unsupported", "insecure-context");
    return show("insecure");
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    outcome("unsupported", "no-camera-api");
    return show("unsupported");
  }
  if (!webglAvailable()) {
    outcome("unsupported", "no-webgl");
    return show("unsupported");
  }
  const problem = await cameraProblem();
  if (problem) return show(problem);

  let THREE, MindARThree, marker;
  try {
    [THREE, { MindARThree }, marker] = await Promise.all([
      import("three"),
      import(root.dataset.mindar),
      markerBlobUrl(root.dataset.marker),
    ]);
  } catch (err) {
    console.error("arv-viewer: loading failed", err);
    outcome("error", "engine-load");
    return show("load");
  }

  const mindar = new MindARThree({
    container: document.getElementById("arv-stage"),
    imageTargetSrc: marker,
    maxTrack: 1,
    uiLoading: "no",
    uiScanning: "no",
    uiError: "no",
  });
  const { renderer, scene, camera } = mindar;

  const video = makeVideo(root.dataset.video);
  const texture = new THREE.VideoTexture(video);
  const plane = new THREE.Mesh(
    new THREE.PlaneGeometry(1, 1),
    new THREE.MeshBasicMaterial({ map: texture, side: THREE.DoubleSide }),
  );
  // The anchor is one target-width wide; keep the video's own proportions.
  plane.scale.y = 9 / 16;
  video.addEventListener("loadedmetadata", () => {
    if (video.videoWidth) plane.scale.y = video.videoHeight / video.videoWidth;
  });

  const anchor = mindar.addAnchor(0);
  anchor.group.add(plane);
  anchor.onTargetFound = () => {
    hint.hidden = true;
    root.dataset.tracking = "found";
    video.play().catch((err) => console.warn("arv-viewer: video did not play", err));
  };
  anchor.onTargetLost = () => {
    hint.hidden = false;
    root.dataset.tracking = "lost";
    video.pause();
  };
  if (tracker) {
    tracker.watchAnchor(anchor);
    tracker.watchVideo(video);
  }

  try {
    await mindar.start();
  } catch (err) {
    console.error("arv-viewer: MindAR did not start", err);
    // Asking again tells a camera taken away meanwhile (reported as such) from the engine
    // itself failing (reported as an error with the engine's reason).
    const problem = await cameraProblem();
    if (!problem) outcome("error", `mindar-start: ${(err && (err.name || err.message)) || "?"}`);
    return show(problem || "load");
  }
  renderer.setAnimationLoop(() => renderer.render(scene, camera));
  status.hidden = true;
  hint.hidden = false;
  root.dataset.state = "running";
}

main().catch((err) => {
  console.error("arv-viewer:", err);
  outcome("error", `viewer: ${(err && (err.name || err.message)) || "?"}`);
  show("load");
});
