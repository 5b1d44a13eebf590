/*! ARV Analytics tracker v1 — what it sends and when: docs/tracker.md
 *
 * One view per page load: a start when the page opens, the visible time (never time spent in
 * a background tab) as heartbeats while the page is visible, and a final report when it is
 * hidden or left. On AR pages it also reports how well the image target was tracked, how the
 * camera request ended and when the video first played. The start carries where the view came
 * from: the page URL's utm_source/utm_medium/utm_campaign/src and the referrer's host.
 *
 *   <script async src="https://analytics.example/static/arv-tracker.v1.js"
 *           data-content="<ar_content unique_id>"></script>
 *
 * Dependency-free, and it never throws into the host page: every entry point is guarded.
 * This file is served as immutable; any change in behaviour ships as arv-tracker.v2.js.
 */
(function () {
  "use strict";

  if (window.ARVTracker) return; // included twice: the first copy already counts this view

  var script = document.currentScript;
  var noop = function () {};
  var api = {
    version: 1,
    enabled: false,
    sessionId: null,
    watchAnchor: noop,
    watchVideo: noop,
    targetFound: noop,
    targetLost: noop,
    expectTargets: noop,
    videoPlayed: noop,
    cameraOutcome: noop,
    cameraError: noop,
    snapshot: function () { return null; },
    qualityOf: qualityOf,
  };
  window.ARVTracker = api;

  // DESIGN.md §2: the share of visible time with the target tracked.
  function qualityOf(trackedMs, visibleMs, everFound) {
    if (!everFound) return "none";
    var share = visibleMs > 0 ? trackedMs / visibleMs : 0;
    if (share >= 0.75) return "good";
    if (share >= 0.25) return "fair";
    return "poor";
  }

  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        // Analytics must never break the page it measures.
        if (window.console && console.debug) console.debug("arv-tracker:", e);
      }
    };
  }

  function attr(name) {
    return script ? script.getAttribute("data-" + name) : null;
  }

  function uuid4() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    var b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    var h = "";
    for (var j = 0; j < 16; j++) {
      h += (b[j] + 0x100).toString(16).slice(1);
      if (j === 3 || j === 5 || j === 7 || j === 9) h += "-";
    }
    return h;
  }

  var OUTCOMES = ["granted", "denied", "dismissed", "unsupported", "error"];
  var MAX_LABEL = 100; // the server's limit on sources and engine errors

  // Printable and at most 100 code points, so that the server never refuses the start over
  // a label (it answers 422 to control characters and longer values); "" means none.
  function label(value) {
    if (value === null || value === undefined) return "";
    var text = String(value).replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    var points = Array.from ? Array.from(text) : text.split("");
    return points.length > MAX_LABEL ? points.slice(0, MAX_LABEL).join("").trim() : text;
  }

  // Where the view came from: the page URL's campaign parameters and printed placement, and
  // the host of a referring page on another origin (never its path: it may be private).
  function sources() {
    var found = {};
    var params = null;
    try { params = new URLSearchParams(location.search); } catch (e) { params = null; }
    if (params) {
      ["utm_source", "utm_medium", "utm_campaign", "src"].forEach(function (key) {
        var value = label(params.get(key));
        if (value) found[key] = value;
      });
    }
    var referrer = document.referrer;
    if (referrer) {
      try {
        var from = new URL(referrer);
        var host = label(from.hostname);
        if (from.origin !== location.origin && host) found.referrer = host;
      } catch (e) { /* not a URL: no referrer */ }
    }
    return found;
  }

  function deviceType() {
    var ua = navigator.userAgent || "";
    if (/(tablet|ipad|playbook|silk)|(android(?!.*mobi))/i.test(ua)) return "tablet";
    if (/Mobi|Android|iP(hone|od)|IEMobile|BlackBerry|Opera Mini/i.test(ua)) return "mobile";
    return "desktop";
  }

  guard(function init() {
    var content = (attr("content") || "").trim();
    if (!content) return;
    // Global Privacy Control: on by default; the viewer renders the server's ARV_RESPECT_GPC.
    var respectGpc = attr("respect-gpc") !== "false";
    if (respectGpc && navigator.globalPrivacyControl === true) return;

    var base = attr("api");
    if (!base && script && script.src) base = new URL(script.src, location.href).origin;
    base = (base || location.origin).replace(/\/+$/, "");
    var heartbeatMs = Math.min(Math.max(parseFloat(attr("heartbeat")) || 15, 0.2), 3600) * 1000;

    var sessionId = uuid4();
    var startUrl = base + "/api/analytics/ar-session";
    var endUrl = startUrl + "/" + sessionId + "/end";
    var now = function () { return performance.now(); };

    // Clocks over visible time only: a *Since is the moment the current stretch began, or
    // null while it is not running.
    var visibleMs = 0, visibleSince = null;
    var trackedMs = 0, trackedSince = null;
    var armed = false; // the page runs AR, so "never found" is a fact worth reporting
    var found = typeof Set === "function" ? new Set() : null;
    var foundCount = 0, everFound = false, firstFoundMs = null, losses = 0;
    var played = false, started = false, timer = null, lastSent = "";
    var videoStartMs = null;
    var camera = null, cameraMs = null, engineError = "";

    function visible() { return document.visibilityState !== "hidden"; }

    function settle() {
      var t = now();
      if (visibleSince !== null) { visibleMs += t - visibleSince; visibleSince = t; }
      if (trackedSince !== null) { trackedMs += t - trackedSince; trackedSince = t; }
    }

    function figures() {
      settle();
      var body = { duration_seconds: Math.round(visibleMs / 100) / 10 };
      if (armed) {
        body.tracking_quality = qualityOf(trackedMs, visibleMs, everFound);
        body.tracked_seconds = Math.round(trackedMs / 100) / 10;
        body.target_losses = losses;
        if (firstFoundMs !== null) body.time_to_first_found_ms = Math.round(firstFoundMs);
      }
      if (played) body.video_played = true;
      if (videoStartMs !== null) body.video_start_ms = Math.round(videoStartMs);
      if (camera !== null) {
        body.camera_outcome = camera;
        body.camera_ms = Math.round(cameraMs);
      }
      if (engineError) body.engine_error = engineError;
      return body;
    }

    function post(url, body, beacon) {
      var text = JSON.stringify(body);
      // A string body is sent as text/plain: a "simple" request, no CORS preflight.
      if (beacon && navigator.sendBeacon) {
        try {
          if (navigator.sendBeacon(url, text)) return;
        } catch (e) { /* fall through to fetch */ }
      }
      if (window.fetch) {
        return fetch(url, {
          method: "POST", body: text, keepalive: true, credentials: "omit", mode: "cors",
        }).catch(noop);
      }
      return null;
    }

    function report(beacon) {
      if (!started) return;
      var body = figures();
      var text = JSON.stringify(body);
      if (text === lastSent) return; // pagehide right after visibilitychange: nothing new
      lastSent = text;
      post(endUrl, body, beacon);
    }

    // A report worth sending at once goes out after the start has been answered: an end that
    // overtakes its own start is refused, and a camera refusal comes within milliseconds.
    var startAnswered = null;
    function reportSoon() {
      var send = guard(function () { report(false); });
      if (startAnswered) startAnswered.then(send, send);
      else send();
    }

    function startHeartbeat() {
      if (timer === null) timer = setInterval(guard(function () { report(false); }), heartbeatMs);
    }

    function stopHeartbeat() {
      if (timer !== null) { clearInterval(timer); timer = null; }
    }

    function onVisibility() {
      if (visible()) {
        if (visibleSince === null) visibleSince = now();
        if (foundCount > 0 && trackedSince === null) trackedSince = now();
        startHeartbeat();
      } else {
        settle();
        visibleSince = null;
        trackedSince = null;
        stopHeartbeat();
        report(true); // the page may never become visible again: this is the final word
      }
    }

    function targetFound(key) {
      if (found) {
        if (found.has(key)) return;
        found.add(key);
      }
      foundCount += 1;
      armed = true;
      if (foundCount !== 1) return;
      settle();
      if (!everFound) { everFound = true; firstFoundMs = visibleMs; }
      if (visibleSince !== null) trackedSince = now();
    }

    function targetLost(key) {
      if (found) {
        if (!found.has(key)) return;
        found.delete(key);
      }
      if (foundCount === 0) return;
      foundCount -= 1;
      if (foundCount !== 0) return;
      settle();
      trackedSince = null;
      losses += 1;
    }

    function videoPlayed() {
      if (played) return;
      played = true;
      settle();
      videoStartMs = visibleMs;
      reportSoon(); // worth sending now: a play is the outcome content owners care about
    }

    // The camera request's outcome. The time is the first outcome's; a later one replaces the
    // outcome (allowed after a denial, or the engine failing after the camera was granted),
    // and the first engine error stays, as the server stores them.
    function cameraOutcome(outcome, error) {
      outcome = OUTCOMES.indexOf(outcome) === -1 ? "error" : outcome;
      if (cameraMs === null) { settle(); cameraMs = visibleMs; }
      if (!engineError) engineError = label(error);
      if (camera === outcome) return;
      camera = outcome;
      armed = true; // a page that asks for the camera does AR
      reportSoon(); // a visitor who is refused the camera often leaves at once
    }

    // A getUserMedia failure as an outcome: NotAllowedError is a refusal, "dismissed" when
    // the browser says the prompt was closed without a choice (Chrome: "Permission
    // dismissed"); anything else is an error named by the exception.
    function cameraError(err) {
      var name = (err && err.name) || "";
      var message = String((err && err.message) || "");
      if (name === "NotAllowedError" || name === "PermissionDeniedError") {
        cameraOutcome(/dismiss/i.test(message) ? "dismissed" : "denied");
      } else {
        cameraOutcome("error", name || message || "camera");
      }
    }

    // MindAR's three.js build calls anchor.onTargetFound()/onTargetLost(). Wrap them with
    // accessors so that the page can assign its own handlers before or after this call.
    function watchAnchor(anchor) {
      if (!anchor || anchor.__arvWatched) return;
      anchor.__arvWatched = true;
      armed = true;
      ["onTargetFound", "onTargetLost"].forEach(function (name) {
        var own = anchor[name] || null;
        var mark = guard(name === "onTargetFound" ? function () { targetFound(anchor); }
                                                  : function () { targetLost(anchor); });
        var wrapper = function () {
          mark();
          if (typeof own === "function") return own.apply(this, arguments);
        };
        Object.defineProperty(anchor, name, {
          configurable: true,
          enumerable: true,
          get: function () { return wrapper; },
          set: function (fn) { own = fn; },
        });
      });
    }

    function watchVideo(video) {
      if (!video || !video.addEventListener) return;
      video.addEventListener("playing", guard(videoPlayed));
    }

    api.enabled = true;
    api.sessionId = sessionId;
    api.watchAnchor = guard(watchAnchor);
    api.watchVideo = guard(watchVideo);
    api.targetFound = guard(function (key) { targetFound(key === undefined ? "default" : key); });
    api.targetLost = guard(function (key) { targetLost(key === undefined ? "default" : key); });
    api.expectTargets = guard(function () { armed = true; });
    api.videoPlayed = guard(videoPlayed);
    api.cameraOutcome = guard(cameraOutcome);
    api.cameraError = guard(cameraError);
    api.snapshot = guard(function () {
      var body = figures();
      body.session_id = sessionId;
      body.visible = visible();
      return body;
    });

    // MindAR's A-Frame build emits these as bubbling DOM events on the target entities.
    document.addEventListener("targetFound", guard(function (e) { targetFound(e.target); }), true);
    document.addEventListener("targetLost", guard(function (e) { targetLost(e.target); }), true);
    document.addEventListener("arReady", guard(function () { armed = true; }), true);
    document.addEventListener("visibilitychange", guard(onVisibility));
    window.addEventListener("pagehide", guard(function () {
      settle();
      visibleSince = null;
      trackedSince = null;
      stopHeartbeat();
      report(true);
    }));
    // Back from the back/forward cache: the same view continues.
    window.addEventListener("pageshow", guard(function (e) {
      if (e.persisted) onVisibility();
    }));

    var start = sources();
    start.session_id = sessionId;
    start.device_type = deviceType();
    if (/^\d+$/.test(content)) start.ar_content_id = parseInt(content, 10);
    else start.ar_content_unique_id = content;
    started = true;
    startAnswered = post(startUrl, start, false);
    if (visible()) { visibleSince = now(); startHeartbeat(); }
  })();
})();
