/*! ARV Analytics tracker v1 — what it sends and when: docs/tracker.md
 *
 * One view per page load: a start when the page opens, the visible time (never time spent in
 * a background tab) as heartbeats while the page is visible, and a final report when it is
 * hidden or left. On AR pages it also reports how well the image target was tracked.
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
        fetch(url, {
          method: "POST", body: text, keepalive: true, credentials: "omit", mode: "cors",
        }).catch(noop);
      }
    }

    function report(beacon) {
      if (!started) return;
      var body = figures();
      var text = JSON.stringify(body);
      if (text === lastSent) return; // pagehide right after visibilitychange: nothing new
      lastSent = text;
      post(endUrl, body, beacon);
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
      report(false); // worth sending now: a play is the outcome content owners care about
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

    var start = { session_id: sessionId, device_type: deviceType() };
    if (/^\d+$/.test(content)) start.ar_content_id = parseInt(content, 10);
    else start.ar_content_unique_id = content;
    started = true;
    post(startUrl, start, false);
    if (visible()) { visibleSince = now(); startHeartbeat(); }
  })();
})();
