// The dashboard page: reads period, filters and comparison from the URL, asks the query API
// (with the session cookie and the page's CSRF token in a header) and draws the answers.
// Every change goes through the URL (history.pushState), so links and the back button work.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("arv-config").textContent);
  const csrf = document.querySelector('meta[name="arv-csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const HEADLINE = ["views", "unique_visitors", "median_duration_seconds", "video_play_rate",
    "target_found_rate"];
  const BREAKDOWNS = [
    ["company", "Companies", ["overview"]],
    ["project", "Projects", ["overview", "company"]],
    ["content", "Top content", ["overview", "company", "project"]],
    ["placement", "Placements", null],
    ["source", "Sources", null],
    ["device_type", "Devices", null],
    ["browser", "Browsers", null],
    ["os", "Operating systems", null],
    ["country", "Countries", null],
    ["city", "Cities", null],
    ["tracking_quality", "Tracking quality", null],
    ["camera_outcome", "Camera outcome", null],
  ].filter(([, , kinds]) => !kinds || kinds.includes(config.kind));
  // A share link's page is one scope only: no links to other pages.
  const PAGE_OF = config.share ? {} : { company: "companies", project: "projects", content: "content" };
  const AUTH = config.share ? { "X-ARV-CSRF": csrf, "X-ARV-Share": String(config.share) }
    : { "X-ARV-CSRF": csrf };
  const ROWS = 10;
  const nf = new Intl.NumberFormat();
  const labels = {}; // "dimension:value" → a name, learnt from the breakdowns' labels
  let chart = null;
  let loadId = 0;

  // --- formatting -------------------------------------------------------------------------
  const fmt = {
    count: (v) => (v == null ? "–" : nf.format(v)),
    rate: (v) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`),
    seconds: (v) => {
      if (v == null) return "–";
      const s = Math.round(v);
      if (s < 60) return `${s}s`;
      const m = Math.floor(s / 60);
      if (m < 60) return `${m}m ${s % 60}s`;
      return `${Math.floor(m / 60)}h ${m % 60}m`;
    },
    ms: (v) => (v == null ? "–" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`),
  };
  const FORMAT_OF = {
    views: fmt.count, unique_visitors: fmt.count, median_duration_seconds: fmt.seconds,
    video_play_rate: fmt.rate, target_found_rate: fmt.rate,
  };
  const change = (now, before) =>
    now == null || before == null || before === 0 ? null
      : Math.round(((now - before) / before) * 1000) / 10;

  // --- state in the URL -------------------------------------------------------------------
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  function readState() {
    const p = new URLSearchParams(location.search);
    return {
      period: p.get("period") || "30d",
      from: p.get("from") || "",
      to: p.get("to") || "",
      timezone: p.get("tz") || browserZone,
      comparison: p.get("compare") || "previous_period",
      filters: p.getAll("f").map(parseFilter).filter(Boolean),
    };
  }
  function parseFilter(text) {
    const parts = text.split(":");
    if (parts.length < 3) return null;
    return { dimension: parts[0], op: parts[1], values: [parts.slice(2).join(":")] };
  }
  function navigate(state) {
    writeState(state);
    load();
  }
  function writeState(state, replace = false) {
    const p = new URLSearchParams();
    if (state.period !== "30d") p.set("period", state.period);
    if (state.period === "custom") { p.set("from", state.from); p.set("to", state.to); }
    // Always named: the same link opened in another zone must show the same numbers.
    p.set("tz", state.timezone);
    if (state.comparison !== "previous_period") p.set("compare", state.comparison);
    for (const f of state.filters) p.append("f", `${f.dimension}:${f.op}:${f.values[0]}`);
    const url = `${location.pathname}?${p}`;
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  }

  // --- the API ----------------------------------------------------------------------------
  async function api(path, options = {}) {
    const response = await fetch(path, {
      ...options,
      credentials: "same-origin",
      headers: { ...AUTH, "Content-Type": "application/json", ...(options.headers || {}) },
    });
    if (response.status === 401) {
      // A share page opens its link again (a revoked link then says so); others sign in.
      if (config.share) location.reload();
      else location.assign(`/dashboard?next=${encodeURIComponent(location.pathname)}`);
      throw new Error("signed out");
    }
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    return response;
  }
  function question(state, extra) {
    const body = {
      scope: config.scope, period: state.period, timezone: state.timezone,
      filters: state.filters,
      comparison: comparisonOf(state),
      ...extra,
    };
    if (state.period === "custom") { body.from = state.from; body.to = state.to; }
    return body;
  }
  const comparisonOf = (state) =>
    state.comparison === "off" || state.period === "all" ? null : state.comparison;
  const query = async (body, path = "/api/v1/query") =>
    (await api(path, { method: "POST", body: JSON.stringify(body) })).json();

  async function download(path, options, name) {
    const blob = await (await api(path, options)).blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
  function scopeParams(state) {
    const p = new URLSearchParams({ period: state.period, timezone: state.timezone });
    if (state.period === "custom") { p.set("from", state.from); p.set("to", state.to); }
    for (const [k, v] of Object.entries(config.scope)) p.set(k, v);
    for (const f of state.filters) p.append("filter", `${f.dimension}:${f.op}:${f.values[0]}`);
    return p;
  }

  // --- drawing ----------------------------------------------------------------------------
  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").classList.toggle("error", Boolean(isError));
  }

  function drawHeadline(answer) {
    for (const card of document.querySelectorAll("#headline .card")) {
      const metric = card.dataset.metric;
      const now = answer.totals[metric];
      const num = card.querySelector(".num");
      num.textContent = FORMAT_OF[metric](now);
      num.dataset.value = now == null ? "" : String(now);
      const chg = card.querySelector(".chg");
      const before = answer.comparison_totals ? answer.comparison_totals[metric] : null;
      const pct = answer.comparison_totals ? change(now, before) : null;
      chg.dataset.value = pct == null ? "" : String(pct);
      chg.className = `chg ${pct == null ? "" : pct >= 0 ? "up" : "down"}`;
      chg.textContent = !answer.comparison_totals ? ""
        : pct == null ? "no earlier data" : `${pct >= 0 ? "▲" : "▼"} ${Math.abs(pct)}% vs ${FORMAT_OF[metric](before)}`;
    }
  }

  function drawSeries(answer, dimension) {
    const rows = answer.results;
    const total = rows.reduce((sum, r) => sum + (r.metrics.views || 0), 0);
    $("series-empty").hidden = total > 0;
    $("series-empty").textContent = emptyText();
    const datasets = [
      { label: "Views", data: rows.map((r) => r.metrics.views), borderColor: "#2563eb",
        backgroundColor: "#2563eb33", fill: true, tension: 0.25, pointRadius: 0 },
      { label: "Unique visitors", data: rows.map((r) => r.metrics.unique_visitors),
        borderColor: "#059669", tension: 0.25, pointRadius: 0 },
    ];
    if (answer.meta.comparison) {
      datasets.push({ label: "Views, previous period",
        data: rows.map((r) => (r.comparison ? r.comparison.views : null)),
        borderColor: "#94a3b8", borderDash: [5, 4], tension: 0.25, pointRadius: 0 });
    }
    const xs = rows.map((r) => shortTime(String(r.dimensions[dimension]), dimension));
    if (!window.Chart) {
      $("series-empty").hidden = false;
      $("series-empty").textContent = "Charts need the local Chart.js: run `make vendor`.";
      return;
    }
    if (chart) chart.destroy();
    chart = new window.Chart($("series-chart"), {
      type: "line",
      data: { labels: xs, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } },
          x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } } },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    });
  }
  function shortTime(value, dimension) {
    if (dimension === "time:hour") return value.slice(11, 16);
    if (dimension === "time:month") return value.slice(0, 7);
    return value.slice(5, 10);
  }

  function drawFunnel(answer) {
    const body = $("funnel").tBodies[0];
    body.replaceChildren();
    const names = { opened: "Opened", camera_granted: "Camera granted",
      target_found: "Target found", video_played: "Video played" };
    const start = answer.funnel[0].views || 0;
    for (const step of answer.funnel) {
      const tr = document.createElement("tr");
      tr.dataset.step = step.step;
      const bar = bars(step.views, start);
      cells(tr, [names[step.step] || step.step, bar, fmt.rate(step.conversion_from_previous),
        dropOff(step), fmt.ms(step.median_ms)]);
      tr.cells[1].prepend(document.createTextNode(fmt.count(step.views)));
      tr.cells[1].dataset.value = String(step.views);
      body.append(tr);
    }
  }
  function dropOff(step) {
    // More views can reach a step than the one before when older viewers did not report it.
    if (step.step === "opened" || !step.drop_off) return "–";
    return step.drop_off > 0 ? `−${nf.format(step.drop_off)}` : `+${nf.format(-step.drop_off)}`;
  }
  function bars(value, max) {
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${max ? Math.max(1, (100 * (value || 0)) / max) : 0}%`;
    return bar;
  }
  function cells(tr, values) {
    for (const value of values) {
      const td = document.createElement("td");
      if (value instanceof Node) td.append(value); else td.textContent = value;
      tr.append(td);
    }
  }

  function panel(dimension, title) {
    let section = document.querySelector(`section[data-dimension="${dimension}"]`);
    if (section) return section;
    section = document.createElement("section");
    section.className = "panel";
    section.dataset.dimension = dimension;
    const h = document.createElement("h2");
    h.textContent = title;
    const table = document.createElement("table");
    table.className = "breakdown";
    table.innerHTML = "<thead><tr><th>Name</th><th class='n'>Views</th><th class='n'>Play rate</th></tr></thead><tbody></tbody>";
    const foot = document.createElement("p");
    foot.className = "panel-foot";
    const all = button("Show all", () => loadBreakdown(dimension, 1000));
    all.className = "show-all";
    const csv = button("CSV", () => download("/api/v1/query?format=csv",
      { method: "POST", body: JSON.stringify(breakdownQuestion(readState(), dimension, 10000)) },
      `${dimension}.csv`).catch((e) => setStatus(e.message, true)));
    csv.className = "csv";
    foot.append(all, " ", csv);
    table.tHead.addEventListener("click", (event) => {
      const th = event.target.closest("th");
      if (th) sortTable(table, th.cellIndex);
    });
    section.append(h, table, foot);
    $("breakdowns").append(section);
    return section;
  }
  function button(text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }
  function sortTable(table, index) {
    const rows = [...table.tBodies[0].rows].filter((r) => r.dataset.value !== undefined);
    const key = (r) => (index === 0 ? r.cells[0].textContent : Number(r.cells[index].dataset.sort || 0));
    const descending = table.dataset.sorted !== `${index}-desc`;
    rows.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0) * (descending ? 1 : -1));
    table.dataset.sorted = `${index}-${descending ? "desc" : "asc"}`;
    table.tBodies[0].append(...rows);
  }
  const breakdownQuestion = (state, dimension, limit) => question(state, {
    metrics: ["views", "video_play_rate"], dimensions: [dimension], comparison: null,
    limit, totals: false, order_by: ["-views", dimension],
  });

  function drawBreakdown(dimension, title, answer) {
    const section = panel(dimension, title);
    const body = section.querySelector("tbody");
    body.replaceChildren();
    const rows = answer.results;
    const max = Math.max(0, ...rows.map((r) => r.metrics.views || 0));
    const filtered = readState().filters.some((f) => f.dimension === dimension && f.op === "is");
    for (const r of rows) {
      const value = r.dimensions[dimension];
      const name = (r.labels && r.labels[dimension]) || (value == null ? "(none)" : String(value));
      if (value != null) labels[`${dimension}:${value}`] = name;
      const tr = document.createElement("tr");
      tr.dataset.value = value == null ? "" : String(value);
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = name;
      const nameCell = document.createElement("div");
      nameCell.className = "name";
      nameCell.append(bars(r.metrics.views, max), label);
      if (PAGE_OF[dimension] && value != null) {
        const open = document.createElement("a");
        open.href = `/dashboard/${PAGE_OF[dimension]}/${value}${location.search}`;
        open.textContent = "open ›";
        open.className = "open";
        open.addEventListener("click", (e) => e.stopPropagation());
        nameCell.append(open);
      }
      cells(tr, [nameCell, fmt.count(r.metrics.views), fmt.rate(r.metrics.video_play_rate)]);
      tr.cells[1].className = "n";
      tr.cells[1].dataset.sort = String(r.metrics.views || 0);
      tr.cells[2].className = "n";
      tr.cells[2].dataset.sort = String(r.metrics.video_play_rate || 0);
      if (value != null && !filtered) {
        tr.classList.add("clickable");
        tr.tabIndex = 0;
        tr.title = `Show only ${name}`;
        const add = () => addFilter(dimension, String(value));
        tr.addEventListener("click", add);
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") add(); });
      }
      body.append(tr);
    }
    if (!rows.length) {
      const tr = document.createElement("tr");
      cells(tr, [emptyText()]);
      tr.cells[0].colSpan = 3;
      tr.className = "empty";
      body.append(tr);
    }
    const more = answer.meta.total_rows > rows.length;
    section.querySelector(".show-all").hidden = !more;
  }
  function emptyText() {
    return readState().filters.length
      ? "No views match these filters: remove a filter or widen the period."
      : "No views yet in this period — embed the tracker (/static/arv-tracker.v1.js) or open an AR viewer link, or pick a longer period.";
  }

  function drawHeatmap(answer, state) {
    const table = $("heatmap");
    table.replaceChildren();
    const cellsByKey = {};
    let max = 0;
    let total = 0;
    for (const r of answer.results) {
      cellsByKey[r.dimensions["time:weekday_hour"]] = r.metrics.views;
      max = Math.max(max, r.metrics.views || 0);
      total += r.metrics.views || 0;
    }
    const colgroup = document.createElement("colgroup");
    const first = document.createElement("col");
    first.className = "heat-day";
    colgroup.append(first);
    for (let h = 0; h < 24; h++) colgroup.append(document.createElement("col"));
    table.append(colgroup);
    const head = table.createTHead().insertRow();
    head.append(document.createElement("th"));
    for (let h = 0; h < 24; h++) {
      const th = document.createElement("th");
      th.textContent = h % 3 === 0 ? String(h) : "";
      head.append(th);
    }
    const days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const body = table.createTBody();
    days.forEach((day, i) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = day;
      tr.append(th);
      for (let h = 0; h < 24; h++) {
        const v = cellsByKey[`${i + 1}-${String(h).padStart(2, "0")}`] || 0;
        const td = tr.insertCell();
        td.title = `${day} ${h}:00–${h + 1}:00 — ${nf.format(v)} views`;
        td.dataset.value = String(v);
        td.style.opacity = max ? String(0.08 + (0.92 * v) / max) : "0.08";
      }
    });
    $("heat-note").textContent = total
      ? `Hours in ${state.timezone}; the darkest cell is ${nf.format(max)} views.`
      : emptyText();
  }

  function drawChips(state) {
    const box = $("chips");
    box.replaceChildren();
    state.filters.forEach((f, i) => {
      const name = labels[`${f.dimension}:${f.values[0]}`] || f.values[0];
      const chip = button(`${f.dimension.replace("_", " ")} ${f.op === "is" ? "is" : f.op.replace("_", " ")} ${name} ✕`, () => {
        const next = readState();
        next.filters.splice(i, 1);
        navigate(next);
      });
      chip.className = "chip";
      chip.title = "Remove this filter";
      box.append(chip);
    });
  }
  function addFilter(dimension, value) {
    const state = readState();
    state.filters = state.filters.filter((f) => f.dimension !== dimension);
    state.filters.push({ dimension, op: "is", values: [value] });
    navigate(state);
  }

  // --- loading ----------------------------------------------------------------------------
  function seriesDimension(state) {
    if (state.period === "today" || state.period === "yesterday") return "time:hour";
    if (["12mo", "year", "all"].includes(state.period)) return "time:month";
    if (state.period === "custom" && state.from && state.to) {
      const days = (Date.parse(state.to) - Date.parse(state.from)) / 86400000;
      if (days < 2) return "time:hour";
      if (days > 120) return "time:month";
    }
    return "time:day";
  }

  async function loadBreakdown(dimension, limit) {
    const title = BREAKDOWNS.find(([d]) => d === dimension)[1];
    drawBreakdown(dimension, title, await query(breakdownQuestion(readState(), dimension, limit)));
  }

  async function load() {
    const id = ++loadId;
    const state = readState();
    showControls(state);
    drawChips(state);
    setStatus("Loading…");
    const series = seriesDimension(state);
    // Each panel is drawn as soon as its answer arrives (the headline first, it is asked
    // first); panels keep their places because they are laid out before anything arrives.
    for (const [d, title] of BREAKDOWNS) panel(d, title);
    const current = () => id === loadId; // false once a newer load has started
    const draw = (promise, fn) => promise.then((answer) => { if (current()) fn(answer); return answer; });
    try {
      // All at once, the headline and the chart asked first; each drawn when it arrives.
      const [headline] = await Promise.all([
        draw(query(question(state, { metrics: HEADLINE })), (a) => {
          drawHeadline(a);
          performance.mark(`arv-headline-drawn-${id}`);
        }),
        draw(query(question(state, { metrics: ["views", "unique_visitors"], dimensions: [series], totals: false })),
          (a) => drawSeries(a, series)),
        draw(query(question(state, { comparison: null }), "/api/v1/funnel"), drawFunnel),
        ...BREAKDOWNS.map(([d, title]) => draw(query(breakdownQuestion(state, d, ROWS)),
          (a) => drawBreakdown(d, title, a))),
        draw(query(question(state, { metrics: ["views"], dimensions: ["time:weekday_hour"], comparison: null, totals: false, limit: 200 })),
          (a) => drawHeatmap(a, state)),
      ]);
      if (!current()) return;
      drawChips(state); // now with the names the breakdowns taught
      const warnings = headline.meta.warnings || [];
      setStatus(warnings.join(" "));
      document.body.dataset.loaded = String(id);
      // For bench/dashboard.py: from navigation start to every panel drawn.
      performance.mark(`arv-panels-drawn-${id}`);
    } catch (error) {
      if (id === loadId) setStatus(`Could not load: ${error.message}`, true);
    }
  }

  async function realtime() {
    try {
      const p = new URLSearchParams(config.scope);
      const answer = await (await api(`/api/v1/realtime?${p}`)).json();
      $("viewing-now-count").textContent = nf.format(answer.active_now);
      $("viewing-now-count").dataset.value = String(answer.active_now);
    } catch (error) {
      $("viewing-now-count").textContent = "–";
    }
  }

  // --- controls ---------------------------------------------------------------------------
  function showControls(state) {
    $("period").value = state.period;
    $("custom-dates").hidden = state.period !== "custom";
    $("from").value = state.from;
    $("to").value = state.to;
    const tz = $("timezone");
    if (![...tz.options].some((o) => o.value === state.timezone)) tz.append(new Option(state.timezone, state.timezone));
    tz.value = state.timezone;
    $("comparison").value = state.comparison;
    $("comparison").disabled = state.period === "all";
  }
  function fillZones() {
    const zones = new Set(["UTC", browserZone]);
    try { for (const z of Intl.supportedValuesOf("timeZone")) zones.add(z); } catch (e) { /* old browser */ }
    const tz = $("timezone");
    for (const z of zones) tz.append(new Option(z, z));
  }
  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  fillZones();
  $("period").addEventListener("change", () => {
    const state = readState();
    state.period = $("period").value;
    if (state.period === "custom") {
      $("custom-dates").hidden = false;
      $("from").value = $("from").value || today();
      $("to").value = $("to").value || today();
      return; // wait for Apply
    }
    navigate(state);
  });
  $("apply-dates").addEventListener("click", () => {
    const state = readState();
    if (!$("from").value || !$("to").value) { setStatus("Pick both dates.", true); return; }
    Object.assign(state, { period: "custom", from: $("from").value, to: $("to").value });
    navigate(state);
  });
  $("timezone").addEventListener("change", () => navigate({ ...readState(), timezone: $("timezone").value }));
  $("comparison").addEventListener("change", () => navigate({ ...readState(), comparison: $("comparison").value }));
  $("export-zip").addEventListener("click", () => {
    download(`/api/v1/export?${scopeParams(readState())}`, {}, "arv-export.zip")
      .catch((e) => setStatus(e.message, true));
  });
  const switcher = $("company-switch");
  if (switcher) {
    // Period, zone and comparison carry over to the other company; its filters would not fit.
    switcher.addEventListener("change", () => {
      const p = new URLSearchParams(location.search);
      p.delete("f");
      location.assign(`${switcher.value}?${p}`);
    });
  }
  window.addEventListener("popstate", load);

  if (!new URLSearchParams(location.search).has("tz")) writeState(readState(), true);
  load();
  realtime();
  setInterval(realtime, 10000);
})();
