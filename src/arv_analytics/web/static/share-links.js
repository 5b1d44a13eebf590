// The admin's share-link page: create, list and revoke links through /api/share-links, with
// the dashboard session's cookie and CSRF header, as the dashboard pages call the API.
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="arv-csrf"]').content;
  const $ = (id) => document.getElementById(id);
  const companies = Object.fromEntries(
    [...$("share-company").options].map((o) => [o.value, o.textContent]));
  const projects = {}; // id → {name, company_id}

  async function api(path, options = {}) {
    const response = await fetch(path, {
      ...options,
      credentials: "same-origin",
      headers: { "X-ARV-CSRF": csrf, "Content-Type": "application/json" },
    });
    if (response.status === 401) {
      location.assign(`/dashboard?next=${encodeURIComponent(location.pathname)}`);
      throw new Error("signed out");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || response.statusText);
    return body;
  }
  const status = (text, isError) => {
    $("share-status").textContent = text;
    $("share-status").classList.toggle("error", Boolean(isError));
  };

  async function loadProjects(companyId, selected) {
    const select = $("share-project");
    select.replaceChildren(new Option("Whole company", ""));
    const page = await api(`/api/projects?company_id=${companyId}&limit=200`);
    for (const p of page.items) {
      projects[p.id] = p;
      select.append(new Option(p.name, String(p.id)));
    }
    if (selected) select.value = String(selected);
  }

  function scopeName(link) {
    const company = companies[link.company_id] || `company ${link.company_id}`;
    if (link.project_id == null) return company;
    const project = projects[link.project_id];
    return `${project ? project.name : `project ${link.project_id}`} (${company})`;
  }
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

  async function loadList() {
    const revoked = $("share-show-revoked").checked;
    const page = await api(`/api/share-links?limit=200&include_revoked=${revoked}`);
    const body = $("share-list").tBodies[0];
    body.replaceChildren();
    for (const link of page.items) {
      const tr = body.insertRow();
      tr.dataset.id = String(link.id);
      const expired = link.expires_at && new Date(link.expires_at) <= new Date();
      for (const text of [link.name, scopeName(link), link.has_password ? "yes" : "no",
        link.revoked_at ? `revoked ${when(link.revoked_at)}` : `${expired ? "expired " : ""}${when(link.expires_at)}`,
        when(link.created_at)]) {
        tr.insertCell().textContent = text;
      }
      const cell = tr.insertCell();
      if (!link.revoked_at) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "revoke";
        b.textContent = "Revoke";
        b.addEventListener("click", async () => {
          if (!confirm(`Revoke "${link.name}"? It stops working at once.`)) return;
          try {
            await api(`/api/share-links/${link.id}`, { method: "DELETE" });
            status(`Revoked "${link.name}".`);
            await loadList();
          } catch (e) { status(e.message, true); }
        });
        cell.append(b);
      }
    }
    if (!page.items.length) {
      const td = body.insertRow().insertCell();
      td.colSpan = 6;
      td.className = "empty";
      td.textContent = "No share links yet: create one above.";
    }
  }

  $("share-company").addEventListener("change", () =>
    loadProjects($("share-company").value).catch((e) => status(e.message, true)));
  $("share-show-revoked").addEventListener("change", () => loadList());
  $("share-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: $("share-name").value, company_id: Number($("share-company").value) };
    if ($("share-project").value) body.project_id = Number($("share-project").value);
    if ($("share-password").value) body.password = $("share-password").value;
    const days = Number($("share-expires").value);
    if (days) body.expires_at = new Date(Date.now() + days * 86400000).toISOString();
    try {
      const created = await api("/api/share-links", { method: "POST", body: JSON.stringify(body) });
      $("share-url").value = `${location.origin}${created.url}`;
      $("share-created").hidden = false;
      $("share-password").value = "";
      status(`Created "${created.name}".`);
      await loadList();
    } catch (e) { status(e.message, true); }
  });
  $("share-copy").addEventListener("click", async () => {
    $("share-url").select();
    try { await navigator.clipboard.writeText($("share-url").value); status("Copied."); }
    catch (e) { status("Select the link and copy it.", false); }
  });

  async function start() {
    const wanted = new URLSearchParams(location.search);
    let companyId = wanted.get("company_id");
    const projectId = wanted.get("project_id");
    if (projectId) {
      try { companyId = String((await api(`/api/projects/${projectId}`)).company_id); }
      catch (e) { /* unknown project: keep the first company */ }
    }
    if (companyId && companies[companyId]) $("share-company").value = companyId;
    if ($("share-company").value) await loadProjects($("share-company").value, projectId);
    // Names for the list: every company's projects that fit in one page.
    const all = await api("/api/projects?limit=200");
    for (const p of all.items) projects[p.id] = p;
    await loadList();
    document.body.dataset.loaded = "1";
  }
  start().catch((e) => status(e.message, true));
})();
