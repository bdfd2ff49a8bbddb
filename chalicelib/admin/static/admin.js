/* imagegen admin dashboard: a small single-page app over /admin/api/* (API.md, "Admin").
 *
 * No build step and no framework: the page is served by the same Chalice app, works offline and
 * under a strict Content-Security-Policy (no inline script or style). Charts are Chart.js (vendored,
 * see chart.js-LICENSE.txt). Everything the server returns is put in the page as text, never HTML.
 * The view and its filters live in the URL hash (#/view?from=…&to=…), so a view can be shared.
 */
(function () {
  "use strict";

  const KEY_STORAGE = "imagegen.adminKey";
  const state = { meta: null, charts: [], names: new Map() };
  const $ = (selector, root) => (root || document).querySelector(selector);

  // ---------------------------------------------------------------- DOM helpers (text only)
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(columns, rows, opts) {
    const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : "" }, c.label)));
    const body = rows.length
      ? rows.map((row) => el("tr", { "data-id": row.id || null },
          columns.map((c) => el("td", { class: c.num ? "num" : "" }, c.render ? c.render(row) : fmt(row[c.key])))))
      : [el("tr", {}, el("td", { colspan: columns.length, class: "empty" }, (opts && opts.empty) || "Nothing here."))];
    return el("table", { class: "grid", "data-table": (opts && opts.name) || null }, el("thead", {}, head), el("tbody", {}, body));
  }

  const numberFormat = new Intl.NumberFormat("en-US");
  const fmt = (v) => (v === null || v === undefined || v === "" ? "—" : typeof v === "number" ? numberFormat.format(v) : String(v));
  const usd = (micro) => (micro < 0 ? "-$" : "$") + (Math.abs(micro) / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) + "%" : "—");
  const isoDay = (d) => d.toISOString().slice(0, 10);
  const daysAgo = (n) => { const d = new Date(); d.setUTCDate(d.getUTCDate() - n); return isoDay(d); };

  function toast(message, kind) {
    const t = $("#toast");
    t.textContent = message;
    t.className = "toast " + (kind || "ok");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || "request failed (" + status + ")");
      this.status = status;
      this.code = e.code;
      this.field = e.field;
    }
  }

  async function api(method, path, body, extraHeaders) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const headers = Object.assign({ Authorization: "Bearer " + key }, extraHeaders || {});
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (_) { data = { raw: text }; }
    if (response.status === 401 || response.status === 403) {
      if (path !== "/admin/api/meta" || !state.meta) signOut(response.status === 401 ? "That key was not accepted." : "That key is not a platform admin key.");
      throw new ApiError(response.status, data);
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  async function download(path) {
    const key = sessionStorage.getItem(KEY_STORAGE);
    const response = await fetch(path, { headers: { Authorization: "Bearer " + key } });
    if (!response.ok) {
      let data = {};
      try { data = await response.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(response.status, data);
    }
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const name = match ? match[1] : "report.csv";
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    const text = await blob.text();
    return { name, rows: Math.max(0, text.trim().split("\n").length - 1) };
  }

  // ---------------------------------------------------------------- routing and filters
  function route() {
    const hash = location.hash.replace(/^#/, "") || "/overview";
    const [path, query] = hash.split("?");
    const parts = path.split("/").filter(Boolean);
    return { view: parts[0] || "overview", id: parts[1] ? decodeURIComponent(parts[1]) : null, params: new URLSearchParams(query || "") };
  }

  function go(view, params, id) {
    const clean = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") clean.set(k, v);
    const q = clean.toString();
    location.hash = "#/" + view + (id ? "/" + encodeURIComponent(id) : "") + (q ? "?" + q : "");
  }

  const FILTERS = {
    overview: ["from", "to", "workspace_id", "user_id", "provider", "model", "status", "plan"],
    workspaces: ["query", "plan", "status"],
    workspace: ["from", "to"],
    failures: ["at", "window", "workspace_id", "user_id", "provider", "model", "status"],
    reports: ["from", "to", "workspace_id", "user_id", "provider", "model"],
    operations: [],
    webhooks: ["workspace_id"],
    moderation: ["status"],
    marketplace: [],
  };
  const STATUS_OPTIONS = {
    overview: ["succeeded", "failed"],
    workspaces: ["active", "banned"],
    failures: ["failed", "canceled", "succeeded", "running", "queued", "all"],
    moderation: ["open", "hidden", "dismissed"],
  };

  const DEFAULT_STATUS = { failures: "failed", moderation: "open" };

  function fillSelect(select, values, anyLabel) {
    const current = select.value;
    select.replaceChildren(el("option", { value: "" }, anyLabel || "any"), ...values.map((v) => el("option", { value: v }, v)));
    select.value = values.includes(current) ? current : "";
  }

  function showFilters(kind, params) {
    const form = $("#filters");
    const names = FILTERS[kind] || [];
    form.hidden = names.length === 0;
    fillSelect(form.elements.status, STATUS_OPTIONS[kind] || []);
    if (kind === "failures" || kind === "moderation") form.elements.status.firstChild.remove();  // a status is always picked
    for (const label of form.querySelectorAll("[data-filter]")) label.hidden = !names.includes(label.dataset.filter);
    const models = state.meta.models.filter((m) => !params.get("provider") || m.provider === params.get("provider")).map((m) => m.model);
    fillSelect(form.elements.model, [...new Set(models)]);
    for (const name of names) {
      const input = form.elements[name];
      if (input) input.value = params.get(name) || (name === "status" ? DEFAULT_STATUS[kind] || "" : "");
    }
    form.dataset.kind = kind;
  }

  function filterValues() {
    const form = $("#filters");
    const out = {};
    for (const name of FILTERS[form.dataset.kind] || []) {
      const input = form.elements[name];
      if (input && input.value.trim()) out[name] = input.value.trim();
    }
    return out;
  }

  // ---------------------------------------------------------------- charts
  const PALETTE = ["#3b6fd8", "#e07a2f", "#2fa37a", "#a04fd1", "#d1455b", "#8a8f3a"];

  function chart(canvas, config) {
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false }, plugins: { legend: { position: "bottom" } } }, config.options || {});
    const instance = new Chart(canvas, config);
    state.charts.push(instance);
    return instance;
  }

  function destroyCharts() {
    for (const c of state.charts) c.destroy();
    state.charts = [];
  }

  function dayRange(from, to) {
    const out = [];
    const d = new Date(from + "T00:00:00Z");
    const end = new Date(to + "T00:00:00Z");
    while (d <= end && out.length < 400) { out.push(isoDay(d)); d.setUTCDate(d.getUTCDate() + 1); }
    return out;
  }

  function chartCard(title, name, note) {
    const canvas = el("canvas", { "data-chart": name, role: "img", "aria-label": title });
    return { card: el("section", { class: "card chart" }, el("h3", {}, title), note ? el("p", { class: "note" }, note) : null,
      el("div", { class: "chart-box" }, canvas)), canvas };
  }

  // ---------------------------------------------------------------- views
  async function loadNames() {
    if (state.names.size) return;
    const data = await api("GET", "/admin/api/workspaces?limit=100");
    for (const ws of data.data) state.names.set(ws.id, ws);
  }

  function wsLink(id) {
    const ws = state.names.get(id);
    return el("a", { href: "#/workspaces/" + encodeURIComponent(id), title: id }, ws ? ws.name : id);
  }

  async function overview(params) {
    const from = params.get("from") || daysAgo(29);
    const to = params.get("to") || daysAgo(0);
    const q = new URLSearchParams({ from, to });
    for (const name of ["workspace_id", "user_id", "provider", "model", "status"]) if (params.get(name)) q.set(name, params.get(name));
    const byUser = !!params.get("user_id");
    q.set("group_by", byUser ? "day" : "provider_day");
    const [usage] = await Promise.all([api("GET", "/admin/api/usage?" + q), loadNames()]);
    const days = dayRange(from, to);
    const perDay = new Map(days.map((d) => [d, { credits: 0, cost: 0, jobs: 0, failed: 0 }]));
    const providers = new Map();
    for (const row of usage.data) {
      const [day, provider] = row.key.split("#");
      const slot = perDay.get(day);
      if (!slot) continue;
      slot.credits += row.credits; slot.cost += row.cost_micro_usd; slot.jobs += row.jobs; slot.failed += row.failed;
      if (provider) {
        if (!providers.has(provider)) providers.set(provider, new Map());
        providers.get(provider).set(day, (providers.get(provider).get(day) || 0) + row.credits);
      }
    }
    const t = usage.totals;
    const kpis = el("div", { class: "kpis" },
      kpi("Credits spent", fmt(t.credits), "credits"),
      kpi("Revenue", usd(t.revenue_micro_usd), "revenue", "credits at " + usd(usage.credit_value_micro_usd) + " each"),
      kpi("Provider cost", usd(t.cost_micro_usd), "cost"),
      kpi("Gross margin", usd(t.gross_margin_micro_usd), "margin", pct(t.gross_margin_micro_usd, t.revenue_micro_usd) + " of revenue"),
      kpi("Jobs", fmt(t.jobs + t.failed), "jobs", fmt(t.images) + " images"),
      kpi("Failed", fmt(t.failed), "failed", pct(t.failed, t.jobs + t.failed) + " of jobs"));

    const spend = chartCard("Spend per day", "spend", "Credits charged (bars) and provider cost in USD (line).");
    const byProvider = chartCard("Credits by provider", "providers", byUser ? "Per-user usage has no provider breakdown." : null);
    const jobs = chartCard("Jobs and failures per day", "jobs");
    const top = usage.top_workspaces.filter((r) => !params.get("plan") || (state.names.get(r.key) || {}).plan === params.get("plan"));
    const topTable = el("section", { class: "card" }, el("h3", {}, "Top workspaces by spend" + (params.get("plan") ? " (plan " + params.get("plan") + ")" : "")),
      el("p", { class: "note" }, "Calendar months touched by the range."),
      table([
        { label: "Workspace", render: (r) => wsLink(r.key) },
        { label: "Plan", render: (r) => (state.names.get(r.key) || {}).plan || "—" },
        { label: "Credits", key: "credits", num: true },
        { label: "Provider cost", num: true, render: (r) => usd(r.cost_micro_usd) },
        { label: "Margin", num: true, render: (r) => usd(r.credits * usage.credit_value_micro_usd - r.cost_micro_usd) },
        { label: "Jobs", key: "jobs", num: true },
        { label: "Failed", key: "failed", num: true },
      ], top, { name: "top-workspaces", empty: params.get("workspace_id") ? "Filtered to one workspace." : "No spend in this range." }));

    view(el("h1", {}, "Overview"), el("p", { class: "sub" }, from + " to " + to + " (UTC)" + scopeText(params)), kpis,
      el("div", { class: "charts" }, spend.card, byProvider.card, jobs.card), topTable);

    const labels = days.map((d) => d.slice(5));
    chart(spend.canvas, { type: "bar", data: { labels, datasets: [
      { label: "Credits", data: days.map((d) => perDay.get(d).credits), backgroundColor: PALETTE[0], yAxisID: "y" },
      { label: "Provider cost (USD)", type: "line", data: days.map((d) => perDay.get(d).cost / 1e6), borderColor: PALETTE[1],
        backgroundColor: PALETTE[1], yAxisID: "usd", tension: 0.2 },
    ] }, options: { scales: { y: { beginAtZero: true, title: { display: true, text: "credits" } },
      usd: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "USD" } } } } });
    const names = [...providers.keys()].sort();
    chart(byProvider.canvas, { type: "bar", data: { labels, datasets: names.map((p, i) => ({
      label: p, data: days.map((d) => providers.get(p).get(d) || 0), backgroundColor: PALETTE[i % PALETTE.length] })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } });
    chart(jobs.canvas, { type: "line", data: { labels, datasets: [
      { label: "Succeeded", data: days.map((d) => perDay.get(d).jobs), borderColor: PALETTE[2], backgroundColor: PALETTE[2], tension: 0.2 },
      { label: "Failed", data: days.map((d) => perDay.get(d).failed), borderColor: PALETTE[4], backgroundColor: PALETTE[4], tension: 0.2 },
    ] }, options: { scales: { y: { beginAtZero: true } } } });
  }

  function scopeText(params) {
    const bits = [];
    for (const name of ["workspace_id", "user_id", "provider", "model", "status", "plan"]) if (params.get(name)) bits.push(name.replace("_id", "") + " " + params.get(name));
    return bits.length ? " · " + bits.join(" · ") : "";
  }

  function kpi(label, value, name, hint) {
    return el("div", { class: "kpi", "data-kpi": name }, el("span", { class: "label" }, label), el("strong", {}, value),
      hint ? el("span", { class: "hint" }, hint) : null);
  }

  async function workspaces(params) {
    const q = new URLSearchParams({ limit: "100" });
    for (const name of ["query", "plan", "status"]) if (params.get(name)) q.set(name, params.get(name));
    const data = await api("GET", "/admin/api/workspaces?" + q);
    for (const ws of data.data) state.names.set(ws.id, ws);
    view(el("h1", {}, "Workspaces"), el("p", { class: "sub" }, data.data.length + " shown" + (data.next_cursor ? " (first 100)" : "")),
      el("section", { class: "card" }, table([
        { label: "Name", render: (w) => el("a", { href: "#/workspaces/" + encodeURIComponent(w.id) }, w.name) },
        { label: "ID", render: (w) => el("code", {}, w.id) },
        { label: "Plan", key: "plan" },
        { label: "Status", render: (w) => el("span", { class: "badge " + w.status }, w.status) },
        { label: "Overrides", render: (w) => Object.keys(w.limits || {}).length ? Object.keys(w.limits).length + " limits" : "—" },
        { label: "Created", key: "created_at" },
      ], data.data, { name: "workspaces", empty: "No workspace matches." })));
  }

  async function workspace(id, params) {
    const from = params.get("from") || daysAgo(29);
    const to = params.get("to") || daysAgo(0);
    const [d, usage, library, images, shares] = await Promise.all([
      api("GET", "/admin/api/workspaces/" + encodeURIComponent(id)),
      api("GET", "/admin/api/usage?" + new URLSearchParams({ workspace_id: id, from, to, group_by: "day" })),
      api("GET", "/admin/api/workspaces/" + encodeURIComponent(id) + "/storage"),
      api("GET", "/admin/api/workspaces/" + encodeURIComponent(id) + "/images?limit=12"),
      api("GET", "/admin/api/workspaces/" + encodeURIComponent(id) + "/shares?limit=10"),
    ]);
    const ws = d.workspace;
    state.names.set(ws.id, ws);
    const b = d.balance;
    const banned = ws.status === "banned";
    const pools = el("div", { class: "kpis" },
      kpi("Available", fmt(b.available), "available"),
      kpi("Plan allowance left", fmt(b.allowance.remaining), "allowance", fmt(b.allowance.used) + " of " + fmt(b.allowance.granted) + " used · " + b.period),
      kpi("Purchased credits", fmt(b.purchased), "purchased", "never expire"),
      kpi("Held", fmt(b.held), "held", "reserved by running jobs"),
      b.debt ? kpi("Debt", fmt(b.debt), "debt", "clawed back after a refund") : null);

    const amount = el("input", { type: "number", name: "amount", step: "1", placeholder: "e.g. 500 or -200", required: true });
    const creditForm = el("form", { class: "inline", "data-action": "credits", onsubmit: (e) => {
      e.preventDefault();
      const value = Number(amount.value);
      if (!Number.isInteger(value) || value === 0) { toast("Enter a whole, non-zero number of credits.", "bad"); return; }
      confirmAction(value > 0 ? "Grant credits" : "Deduct credits",
        (value > 0 ? "Add " + fmt(value) : "Remove " + fmt(-value)) + " credits " + (value > 0 ? "to " : "from ") + ws.name + ".",
        (reason) => api("POST", "/admin/api/workspaces/" + encodeURIComponent(id) + "/credits", { amount: value, reason },
          { "Idempotency-Key": crypto.randomUUID() }),
        value > 0 ? "Credits granted." : "Credits deducted.");
    } }, el("label", {}, "Credits (+ grant, − deduct) ", amount), el("button", { type: "submit", class: "primary" }, "Adjust…"));

    const limitInputs = state.meta.limits.map((name) => el("label", {}, name.replace(/_/g, " "),
      el("input", { type: "number", min: "0", step: "1", name, value: d.limits[name], "data-limit": name })));
    const providerBoxes = state.meta.providers.map((p) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "providers", value: p, checked: d.limits.providers.includes(p) }), p));
    const limitsForm = el("form", { class: "limits", "data-action": "limits", onsubmit: (e) => {
      e.preventDefault();
      const overrides = Object.assign({}, ws.limits || {});
      for (const input of limitsForm.querySelectorAll("[data-limit]")) {
        const value = Number(input.value);
        if (input.value === "" || !Number.isInteger(value) || value < 0) { toast(input.name + " must be a whole number ≥ 0", "bad"); return; }
        if (value !== d.limits[input.name]) overrides[input.name] = value;
      }
      const chosen = [...limitsForm.querySelectorAll("input[name=providers]:checked")].map((c) => c.value);
      if (chosen.slice().sort().join() !== d.limits.providers.slice().sort().join()) overrides.providers = chosen;
      confirmAction("Set limits", "Override " + (Object.keys(overrides).length || "no") + " limits of " + ws.name + ".",
        (reason) => api("PUT", "/admin/api/workspaces/" + encodeURIComponent(id) + "/limits", Object.assign({}, overrides, { reason })),
        "Limits saved.");
    } }, el("div", { class: "limit-grid" }, limitInputs), el("div", { class: "checks" }, "Providers: ", providerBoxes),
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary" }, "Save limits…"),
      el("button", { type: "button", onclick: () => confirmAction("Reset limits", "Drop every override: " + ws.name + " gets its plan's limits again.",
        (reason) => api("PUT", "/admin/api/workspaces/" + encodeURIComponent(id) + "/limits", { reason }), "Limits reset to the plan.") }, "Reset to plan…")));

    const banButton = el("button", { type: "button", class: banned ? "primary" : "danger", "data-action": banned ? "unban" : "ban",
      onclick: () => confirmAction(banned ? "Unban workspace" : "Ban workspace",
        banned ? ws.name + " may use the API again." : "Every request of " + ws.name + " will be refused with 403 until unbanned.",
        (reason) => api("POST", "/admin/api/workspaces/" + encodeURIComponent(id) + (banned ? "/unban" : "/ban"), { reason }),
        banned ? "Workspace unbanned." : "Workspace banned.") }, banned ? "Unban workspace…" : "Ban workspace…");

    const chartBox = chartCard("Credits per day", "workspace-usage");
    view(
      el("p", { class: "crumbs" }, el("a", { href: "#/workspaces" }, "Workspaces"), " / ", ws.name,
        " · ", el("a", { href: "#/webhooks?workspace_id=" + encodeURIComponent(ws.id), "data-link": "webhooks" }, "Webhooks")),
      el("h1", {}, ws.name, " ", el("span", { class: "badge " + ws.status, "data-status": ws.status }, ws.status)),
      el("p", { class: "sub" }, el("code", {}, ws.id), " · plan ", el("strong", {}, ws.plan), ws.billing_interval ? " (" + ws.billing_interval + "ly)" : "",
        " · created " + ws.created_at, banned && ws.ban_reason ? " · banned: " + ws.ban_reason : ""),
      pools,
      el("div", { class: "two" },
        el("section", { class: "card" }, el("h3", {}, "Credits"), creditForm, el("h3", {}, "Access"), banButton),
        chartBox.card),
      el("section", { class: "card" }, el("h3", {}, "Limits (effective; overrides: " + (Object.keys(ws.limits || {}).length || "none") + ")"), limitsForm),
      librarySection(library.storage),
      libraryItems(id, images.data, shares.data),
      el("section", { class: "card" }, el("h3", {}, "Users"), table([
        { label: "Email", key: "email" }, { label: "Role", key: "role" },
        { label: "Status", render: (u) => el("span", { class: "badge " + u.status }, u.status) },
        { label: "ID", render: (u) => el("code", {}, u.id) },
        { label: "", render: (u) => el("button", { type: "button", class: "small", "data-user-action": u.status === "banned" ? "unban" : "ban",
          onclick: () => confirmAction(u.status === "banned" ? "Unban user" : "Ban user", (u.status === "banned" ? "Let " : "Refuse every request of ") + u.email + ".",
            (reason) => api("POST", "/admin/api/users/" + encodeURIComponent(u.id) + (u.status === "banned" ? "/unban" : "/ban"), { reason }),
            u.status === "banned" ? "User unbanned." : "User banned.") }, u.status === "banned" ? "Unban…" : "Ban…") },
      ], d.users, { name: "users" })),
      el("section", { class: "card" }, el("h3", {}, "Recent ledger"), table([
        { label: "When", key: "created_at" }, { label: "Type", key: "type" }, { label: "Amount", key: "amount", num: true },
        { label: "Held Δ", key: "held_delta", num: true }, { label: "Job", render: (e) => e.job_id ? el("code", {}, e.job_id) : "—" },
        { label: "Provider", render: (e) => e.provider ? e.provider + "/" + e.model : "—" }, { label: "Reason / source", render: (e) => e.reason || e.source || "—" },
      ], d.ledger, { name: "ledger" })),
      el("section", { class: "card" }, el("h3", {}, "Recent jobs"), table([
        { label: "Created", key: "created_at" }, { label: "Job", render: (j) => el("code", {}, j.id) }, { label: "Status", render: (j) => el("span", { class: "badge " + j.status }, j.status) },
        { label: "Provider", render: (j) => j.provider + "/" + j.model }, { label: "n", key: "n", num: true },
        { label: "Credits", num: true, render: (j) => fmt((j.usage || {}).credits_charged) }, { label: "Error", render: (j) => (j.error || {}).code || "—" },
      ], d.jobs, { name: "jobs" })),
      el("section", { class: "card" }, el("h3", {}, "Audit trail"), table([
        { label: "When", key: "created_at" }, { label: "Action", key: "action" }, { label: "By", key: "actor" }, { label: "Reason", key: "reason" },
        { label: "Before → after", render: (a) => el("code", { class: "diff" }, JSON.stringify(a.before) + " → " + JSON.stringify(a.after)) },
      ], d.audit, { name: "audit" })),
    );
    const days = dayRange(from, to);
    const byDay = new Map(usage.data.map((r) => [r.key, r]));
    chart(chartBox.canvas, { type: "bar", data: { labels: days.map((x) => x.slice(5)), datasets: [
      { label: "Credits", data: days.map((x) => (byDay.get(x) || {}).credits || 0), backgroundColor: PALETTE[0] },
      { label: "Failed jobs", data: days.map((x) => (byDay.get(x) || {}).failed || 0), backgroundColor: PALETTE[4] },
    ] }, options: { scales: { y: { beginAtZero: true } } } });
  }

  // The library's counters (GET /admin/api/workspaces/{id}/storage): images kept, bytes, uploads against the plan.
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function librarySection(s) {
    return el("section", { class: "card", "data-section": "storage" }, el("h3", {}, "Library storage"),
      el("div", { class: "kpis" },
        kpi("Images", fmt(s.images), "library-images", "live and in the trash"),
        kpi("Stored", bytes(s.image_bytes), "library-bytes", "originals"),
        kpi("Uploads", bytes(s.upload_bytes), "library-uploads", "of " + bytes(s.upload_quota_bytes) + " (plan " + s.plan + ")"),
        kpi("Exports running", fmt(s.pending_exports), "library-exports", "at most " + s.max_pending_exports)));
  }

  // The workspace's newest images and share links (GET /admin/api/workspaces/{id}/images|shares);
  // an image can be hidden from everything public from here (audited, like the Moderation view).
  function libraryItems(workspaceId, images, shares) {
    const hide = (image) => confirmAction("Hide image " + image.id,
      "It leaves the gallery, every collection and every share link at once; the owner keeps it.",
      (reason) => api("POST", "/admin/api/images/" + encodeURIComponent(image.id) + "/hide", { reason, workspace_id: workspaceId }),
      "Image hidden.");
    return el("section", { class: "card", "data-section": "library" }, el("h3", {}, "Newest images"), table([
      { label: "Created", key: "created_at" },
      { label: "Image", render: (i) => el("span", {}, el("code", {}, i.id), " ", i.url ? el("a", { href: i.url, target: "_blank", rel: "noopener noreferrer" }, "open") : "") },
      { label: "Prompt / title", render: (i) => i.title || i.prompt || "—" },
      { label: "Kind", key: "kind" },
      { label: "Visibility", render: (i) => el("span", { class: "badge " + (i.hidden ? "banned" : i.visibility), "data-visibility": i.hidden ? "hidden" : i.visibility },
        i.hidden ? "hidden" : i.visibility) },
      { label: "Trashed", key: "trashed_at" },
      { label: "", render: (i) => i.hidden ? "—" : el("button", { type: "button", class: "small danger", "data-hide-image": i.id, onclick: () => hide(i) }, "Hide…") },
    ], images, { name: "workspace-images", empty: "No image yet." }),
    el("h3", {}, "Share links"), table([
      { label: "Created", key: "created_at" },
      { label: "Target", render: (s) => s.target.type + " " + s.target.id },
      { label: "Permission", key: "permission" },
      { label: "Expires", key: "expires_at" },
      { label: "Revoked", key: "revoked_at" },
    ], shares, { name: "shares", empty: "No share link." }));
  }

  function windowOf(params) {
    const minutes = Number(params.get("window") || 30);
    const at = params.get("at") ? new Date(params.get("at") + "Z") : new Date();
    if (Number.isNaN(at.getTime())) throw new ApiError(400, { error: { message: "“at” is not a time" } });
    const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
    return { from: iso(new Date(at.getTime() - minutes * 60000)), to: iso(new Date(at.getTime() + minutes * 60000)), at, minutes };
  }

  const SEGMENTS = [["admission_ms", "admission"], ["queue_wait_ms", "queue wait"], ["provider_ms", "provider"],
    ["storage_ms", "storage"], ["settlement_ms", "settlement"]];

  function waterfall(timings, scale) {
    let offset = 0;
    const bars = [];
    for (const [key, label] of SEGMENTS) {
      const ms = Number((timings || {})[key] || 0);
      const bar = el("span", { class: "seg seg-" + key.replace("_ms", ""), title: label + ": " + fmt(ms) + " ms" });
      bar.style.left = (100 * offset) / scale + "%";
      bar.style.width = Math.max(ms ? 0.5 : 0, (100 * ms) / scale) + "%";
      bars.push(bar);
      offset += ms;
    }
    return el("div", { class: "timing" }, el("div", { class: "waterfall", "data-total-ms": offset, title: "total " + fmt(offset) + " ms" }, bars),
      el("span", { class: "ms" }, fmt(offset) + " ms"));
  }

  async function failures(params) {
    const w = windowOf(params);
    const q = new URLSearchParams({ from: w.from, to: w.to, limit: "100" });
    for (const name of ["workspace_id", "user_id", "provider", "model"]) if (params.get(name)) q.set(name, params.get(name));
    const jobsQuery = new URLSearchParams(q);
    const status = params.get("status") || "failed";
    if (status !== "all") jobsQuery.set("status", status);
    const [jobs, denials] = await Promise.all([api("GET", "/admin/api/jobs?" + jobsQuery), api("GET", "/admin/api/denials?" + q), loadNames()]);
    const totals = jobs.data.map((j) => SEGMENTS.reduce((s, [k]) => s + Number((j.timings || {})[k] || 0), 0));
    const scale = Math.max(1, ...totals);
    const legend = el("p", { class: "legend" }, SEGMENTS.map(([k, label]) => el("span", {}, el("i", { class: "seg-" + k.replace("_ms", "") }), label)));
    view(el("h1", {}, "Failures"),
      el("p", { class: "sub" }, (status || "all") + " jobs and refused requests from " + w.from + " to " + w.to + scopeText(params)),
      el("section", { class: "card" }, el("h3", {}, "Jobs (" + jobs.data.length + ")"), legend, table([
        { label: "Created", key: "created_at" }, { label: "Workspace", render: (j) => wsLink(j.workspace_id) },
        { label: "Job", render: (j) => el("code", {}, j.id) }, { label: "Provider", render: (j) => j.provider + "/" + j.model },
        { label: "Error", render: (j) => j.error ? el("span", { title: j.error.message || "" }, el("strong", {}, j.error.code), " ", j.error.message || "") : "—" },
        { label: "Correlation id", render: (j) => el("code", {}, j.correlation_id || "—") },
        { label: "Timing", render: (j) => waterfall(j.timings, scale) },
      ], jobs.data, { name: "failed-jobs", empty: "No job in this window." })),
      el("section", { class: "card" }, el("h3", {}, "Refused requests (" + denials.data.length + ")"), table([
        { label: "When", key: "created_at" }, { label: "Workspace", render: (x) => wsLink(x.workspace_id) }, { label: "Code", key: "code" },
        { label: "Scope", key: "scope" }, { label: "Provider", key: "provider" }, { label: "Message", key: "message" },
        { label: "Request id", render: (x) => el("code", {}, x.request_id || "—") },
      ], denials.data, { name: "denials", empty: "No refused request in this window." })));
  }

  function reports(params) {
    const from = params.get("from") || daysAgo(29);
    const to = params.get("to") || daysAgo(0);
    const base = new URLSearchParams({ from, to });
    for (const name of ["workspace_id", "user_id", "provider", "model"]) if (params.get(name)) base.set(name, params.get(name));
    const groupBy = el("select", { name: "group_by" }, ["workspace_day_provider", "day", "provider", "model", "provider_day", "user"]
      .map((g) => el("option", { value: g }, g.replace(/_/g, " / "))));
    const result = el("p", { class: "result", "data-result": "csv" });
    const run = async (path, label) => {
      result.textContent = "Preparing " + label + "…";
      try {
        const got = await download(path);
        result.textContent = "Downloaded " + got.name + " (" + got.rows + " rows).";
      } catch (err) {
        result.textContent = "";
        toast(err.message, "bad");
      }
    };
    view(el("h1", {}, "Reports"), el("p", { class: "sub" }, "CSV for " + from + " to " + to + scopeText(params) + ". Spreadsheet-ready (UTF-8, RFC 4180)."),
      el("section", { class: "card" }, el("h3", {}, "Usage"), el("p", { class: "note" }, "From the daily rollups; credits, provider cost (micro-USD), tokens, jobs and failures."),
        el("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); const q = new URLSearchParams(base); q.set("group_by", groupBy.value);
          run("/admin/api/reports/usage.csv?" + q, "usage"); } }, el("label", {}, "Rows by ", groupBy),
        el("button", { type: "submit", class: "primary", "data-download": "usage" }, "Download usage CSV"))),
      el("section", { class: "card" }, el("h3", {}, "Ledger"), el("p", { class: "note" }, params.get("workspace_id") ? "Every ledger entry of " + params.get("workspace_id") + " in the range, oldest first." : "Pick a workspace in the filters: the ledger is exported per workspace."),
        el("button", { type: "button", class: "primary", "data-download": "ledger", disabled: !params.get("workspace_id"),
          onclick: () => run("/admin/api/reports/ledger.csv?" + base, "ledger") }, "Download ledger CSV")),
      result);
  }

  async function moderation(params) {
    const status = params.get("status") || "open";
    const [cases] = await Promise.all([api("GET", "/admin/api/reports?" + new URLSearchParams({ status, limit: "100" })), loadNames()]);
    const decide = (c, verb) => confirmAction(
      (verb === "hide" ? "Hide image " : "Dismiss the reports of ") + c.image_id,
      verb === "hide" ? "It leaves the gallery, every collection and every share link at once; the owner keeps it."
        : "The image stays public; a new report opens the case again.",
      (reason) => verb === "hide"
        ? api("POST", "/admin/api/images/" + encodeURIComponent(c.image_id) + "/hide", { reason, workspace_id: c.workspace_id })
        : api("POST", "/admin/api/reports/" + encodeURIComponent(c.image_id) + "/dismiss", { reason }),
      verb === "hide" ? "Image hidden." : "Reports dismissed.");
    view(el("h1", {}, "Moderation"),
      el("p", { class: "sub" }, "Gallery report cases (" + status + "), the most recently reported first. Each client's reports of an image count once."),
      el("section", { class: "card" }, table([
        { label: "Last reported", key: "last_reported_at" },
        { label: "Image", render: (c) => el("span", {}, el("code", {}, c.image_id), " ", c.preview_url ? el("a", { href: c.preview_url, target: "_blank", rel: "noopener noreferrer" }, "open") : "") },
        { label: "Workspace", render: (c) => wsLink(c.workspace_id) },
        { label: "Prompt", render: (c) => c.title || c.prompt || "—" },
        { label: "Reports", key: "reports", num: true },
        { label: "Reasons", render: (c) => c.reasons.join(", ") || "—" },
        { label: "Note", render: (c) => (c.status === "open" ? c.last_note : c.decision_reason) || "—" },
        { label: "", render: (c) => c.status === "open"
          ? el("span", {}, el("button", { type: "button", class: "danger", "data-hide": c.image_id, onclick: () => decide(c, "hide") }, "Hide…"), " ",
              el("button", { type: "button", "data-dismiss": c.image_id, onclick: () => decide(c, "dismiss") }, "Dismiss…"))
          : c.status + (c.decided_at ? " " + c.decided_at : "") },
      ], cases.data.map((c) => Object.assign({ id: c.image_id }, c)), { name: "report-cases", empty: "No " + status + " report case." })));
  }

  // ---------------------------------------------------------------- marketplace moderation (reported listings, refunds)
  async function marketplace() {
    const cases = await api("GET", "/admin/api/marketplace/reports?limit=100");
    const hide = (l) => confirmAction("Hide listing " + l.id,
      "“" + l.name + "” goes off sale and out of every browse at once; buyers keep the template they paid for.",
      (reason) => api("POST", "/admin/api/marketplace/listings/" + encodeURIComponent(l.id) + "/hide", { reason }), "Listing hidden.");
    const listingInput = el("input", { id: "refund-listing", name: "listing_id", placeholder: "lst_…", spellcheck: "false", required: true });
    const buyerInput = el("input", { id: "refund-workspace", name: "workspace_id", placeholder: "ws_… (the buyer)", spellcheck: "false", required: true });
    const refundForm = el("form", { class: "inline", id: "refund-form" },
      el("label", {}, "Listing", listingInput), el("label", {}, "Buyer workspace", buyerInput),
      el("button", { type: "submit", class: "danger", id: "refund-submit" }, "Refund…"));
    refundForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const listing = listingInput.value.trim(), buyer = buyerInput.value.trim();
      if (!listing || !buyer) return;
      const key = "admin-refund-" + crypto.randomUUID();  // one dialog, one refund, whatever the clicks
      confirmAction("Refund " + buyer + "'s purchase of " + listing,
        "The buyer's credits come back and it loses the template; the creator's earnings of the sale are taken back (refused once they were paid out).",
        (reason) => api("POST", "/admin/api/marketplace/refunds", { listing_id: listing, workspace_id: buyer, reason }, { "Idempotency-Key": key }),
        "Purchase refunded.");
    });
    const prefill = (l) => { listingInput.value = l.id; buyerInput.focus(); };
    view(el("h1", {}, "Marketplace"),
      el("p", { class: "sub" }, "Reported listings still for sale, the most recently reported first. Each workspace's reports of a listing count once."),
      el("section", { class: "card" }, table([
        { label: "Listing", render: (l) => el("span", {}, l.name, " ", el("code", {}, l.id)) },
        { label: "Creator", render: (l) => el("code", {}, l.creator) },
        { label: "Price", key: "price_credits", num: true },
        { label: "Sales", key: "sales", num: true },
        { label: "Reports", key: "reports", num: true },
        { label: "Created", key: "created_at" },
        { label: "", render: (l) => el("span", {},
          el("button", { type: "button", class: "danger", "data-hide-listing": l.id, onclick: () => hide(l) }, "Hide…"), " ",
          el("button", { type: "button", "data-refund-listing": l.id, onclick: () => prefill(l) }, "Refund a buyer…")) },
      ], cases.data, { name: "market-reports", empty: "No reported listing." })),
      el("section", { class: "card" }, el("h3", {}, "Refund a purchase"),
        el("p", { class: "sub" }, "Within the holding period (the creator's earnings of the sale not yet paid out): both sides are reversed in one transaction, audited."),
        refundForm));
  }

  function operations() {
    const output = el("pre", { class: "output", "data-result": "scheduled" });
    view(el("h1", {}, "Operations"), el("p", { class: "sub" }, "Run a scheduled job now. Each is safe to run twice; the run is audited."),
      el("section", { class: "card" }, table([
        { label: "Job", render: (name) => el("code", {}, name) },
        { label: "", render: (name) => el("button", { type: "button", "data-run": name, onclick: () => confirmAction("Run " + name, "Run the scheduled job " + name + " now.",
          async (reason) => { const r = await api("POST", "/admin/api/scheduled/" + encodeURIComponent(name) + "/run", { reason });
            output.textContent = name + ": " + JSON.stringify(r.result, null, 2); return r; }, name + " finished.", true) }, "Run now…") },
      ], state.meta.scheduled, { name: "scheduled" }), output));
  }

  // ---------------------------------------------------------------- webhooks (a workspace's outgoing events)
  const deliveryStanding = (d) => (d.status === "pending" && d.attempts.length ? "retrying" : d.status);
  const lastAttempt = (d) => {
    const a = d.attempts[d.attempts.length - 1];
    return a ? (a.status_code !== null ? "HTTP " + a.status_code : a.error || "no answer") + " · " + fmt(a.at) : "—";
  };

  async function webhooks(params) {
    const id = params.get("workspace_id");
    if (!id) {
      view(el("h1", {}, "Webhooks"), el("p", { class: "sub", "data-empty": "webhooks" },
        "Pick a workspace (the Workspace filter above, or “Webhooks” on a workspace's page): its endpoints and deliveries, failing ones first."));
      return;
    }
    const base = "/admin/api/workspaces/" + encodeURIComponent(id);
    const [endpoints, deliveries] = await Promise.all([
      api("GET", base + "/webhook-endpoints"), api("GET", base + "/webhook-deliveries?limit=100")]);
    const toggle = (e) => {
      const on = e.status === "enabled";
      return el("button", { type: "button", class: "small " + (on ? "danger" : "primary"), "data-endpoint-action": on ? "disable" : "enable",
        onclick: () => confirmAction(on ? "Disable endpoint" : "Enable endpoint",
          (on ? "Stop deliveries to " : "Deliver again to ") + e.url + (on ? " (its pending deliveries end at their next attempt)." : "."),
          (reason) => api("POST", base + "/webhook-endpoints/" + encodeURIComponent(e.id) + (on ? "/disable" : "/enable"), { reason }),
          on ? "Endpoint disabled." : "Endpoint enabled.") }, on ? "Disable…" : "Enable…");
    };
    const replay = (d) => el("button", { type: "button", class: "small", "data-replay": d.id,
      onclick: () => confirmAction("Replay delivery", "Send " + d.event_type + " (" + d.event_id + ") again now, with the same webhook-id.",
        (reason) => api("POST", base + "/webhook-deliveries/" + encodeURIComponent(d.id) + "/replay", { reason }), "Delivery queued again.") }, "Replay…");
    const failing = deliveries.data.filter((d) => deliveryStanding(d) !== "succeeded" && d.attempts.length).length;
    view(
      el("p", { class: "crumbs" }, el("a", { href: "#/workspaces/" + encodeURIComponent(id) }, "Workspace"), " / Webhooks"),
      el("h1", {}, "Webhooks ", el("code", {}, id)),
      el("p", { class: "sub" }, fmt(endpoints.data.length) + " endpoints · " + fmt(deliveries.data.length) + " recent deliveries, " + fmt(failing) + " failing (listed first)"),
      el("section", { class: "card" }, el("h3", {}, "Endpoints"), table([
        { label: "Kind", key: "kind" }, { label: "URL", render: (e) => el("code", {}, e.url) }, { label: "Events", render: (e) => e.events.join(", ") },
        { label: "Status", render: (e) => el("span", { class: "badge " + e.status, "data-status": e.status }, e.status) },
        { label: "Failing since", key: "failing_since" }, { label: "Why disabled", key: "disabled_reason" },
        { label: "ID", render: (e) => el("code", {}, e.id) }, { label: "", render: toggle },
      ], endpoints.data, { name: "webhook-endpoints", empty: "No endpoints." })),
      el("section", { class: "card" }, el("h3", {}, "Recent deliveries (failing first)"), table([
        { label: "Created", key: "created_at" },
        { label: "Status", render: (d) => el("span", { class: "badge " + deliveryStanding(d), "data-status": deliveryStanding(d) }, deliveryStanding(d)) },
        { label: "Event", key: "event_type" }, { label: "webhook-id", render: (d) => el("code", {}, d.event_id) },
        { label: "Endpoint", render: (d) => el("code", {}, d.endpoint_id) }, { label: "Attempts", num: true, render: (d) => fmt(d.attempts.length) },
        { label: "Last attempt", render: lastAttempt }, { label: "Next attempt", key: "next_attempt_at" }, { label: "", render: replay },
      ], deliveries.data, { name: "webhook-deliveries", empty: "No deliveries in the last 30 days." })),
    );
  }

  // ---------------------------------------------------------------- confirmation dialog
  function confirmAction(title, summary, perform, done, keepView) {
    const dialog = $("#confirm");
    $("#confirm-title").textContent = title;
    $("#confirm-summary").textContent = summary;
    $("#confirm-error").textContent = "";
    const reason = $("#confirm-reason");
    reason.value = "";
    const ok = $("#confirm-ok");
    ok.disabled = false;
    $("#confirm-form").onsubmit = async (e) => {
      e.preventDefault();
      if (!reason.value.trim()) { $("#confirm-error").textContent = "A reason is required."; reason.focus(); return; }
      ok.disabled = true;
      try {
        await perform(reason.value.trim());
        dialog.close();
        toast(done, "ok");
        if (!keepView) render();
      } catch (err) {
        $("#confirm-error").textContent = err.message;
        ok.disabled = false;
      }
    };
    dialog.showModal();
    reason.focus();
  }

  // ---------------------------------------------------------------- shell
  function view(...children) {
    $("#view").replaceChildren(...children);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.meta = null;
    state.names.clear();
    destroyCharts();
    $("#nav").hidden = true;
    $("#who").hidden = true;
    $("#filters").hidden = true;
    view();
    $("#sign-in").hidden = false;
    $("#sign-in-error").textContent = message || "";
    $("#admin-key").focus();
  }

  async function signedIn() {
    if (!state.meta) state.meta = await api("GET", "/admin/api/meta");
    fillSelect($("#filters").elements.provider, state.meta.providers);
    fillSelect($("#filters").elements.plan, state.meta.plans);
    $("#sign-in").hidden = true;
    $("#nav").hidden = false;
    $("#who").hidden = false;
    $("#who-email").textContent = state.meta.admin.email;
  }

  async function render() {
    if (!sessionStorage.getItem(KEY_STORAGE)) { signOut(); return; }
    try {
      await signedIn();
    } catch (err) {
      if (err.status !== 401 && err.status !== 403) signOut(err.message);
      else signOut(err.status === 401 ? "That key was not accepted." : "That key is not a platform admin key.");
      return;
    }
    const r = route();
    const kind = r.view === "workspaces" && r.id ? "workspace" : r.view;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === r.view);
    showFilters(kind, r.params);
    destroyCharts();
    view(el("p", { class: "loading" }, "Loading…"));
    document.body.dataset.view = kind;
    delete document.body.dataset.ready;
    try {
      if (kind === "overview") await overview(r.params);
      else if (kind === "workspaces") await workspaces(r.params);
      else if (kind === "workspace") await workspace(r.id, r.params);
      else if (kind === "failures") await failures(r.params);
      else if (kind === "reports") reports(r.params);
      else if (kind === "operations") operations();
      else if (kind === "webhooks") await webhooks(r.params);
      else if (kind === "moderation") await moderation(r.params);
      else if (kind === "marketplace") await marketplace();
      else { go("overview"); return; }
      document.body.dataset.ready = kind;
    } catch (err) {
      if (err.status === 401 || err.status === 403) return;
      view(el("h1", {}, "Something went wrong"), el("p", { class: "error", role: "alert" }, err.message + (err.field ? " (" + err.field + ")" : "")));
      document.body.dataset.ready = "error";
    }
  }

  $("#sign-in-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("#admin-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("#admin-key").value = "";
    state.meta = null;
    await render();
  });
  $("#sign-out").addEventListener("click", () => signOut());
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const r = route();
    go(r.view, filterValues(), r.id);
  });
  $("#filters").elements.provider.addEventListener("change", () => {
    const p = $("#filters").elements.provider.value;
    fillSelect($("#filters").elements.model, [...new Set(state.meta.models.filter((m) => !p || m.provider === p).map((m) => m.model))]);
  });
  $("#clear-filters").addEventListener("click", () => { const r = route(); go(r.view, {}, r.id); });
  $("#confirm-cancel").addEventListener("click", () => $("#confirm").close());
  window.addEventListener("hashchange", render);
  render();
})();
