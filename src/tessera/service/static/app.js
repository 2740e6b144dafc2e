// Tessera web UI: plain ES module, no build step, no network beyond this server.
// Every value from the API is written with textContent (never innerHTML).

const state = { me: null, csrf: null, cases: [], case: null, person: null, map: null, cy: null };
const $ = (sel) => document.querySelector(sel);
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function status(text, error = false) {
  const s = $("#status");
  s.textContent = text || "";
  s.classList.toggle("error", error);
}

async function api(path, { method = "GET", body = null, params = null } = {}) {
  const url = new URL(path, location.origin);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
  }
  const headers = { Accept: "application/json" };
  if (body !== null) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const r = await fetch(url, { method, headers, body: body === null ? null : JSON.stringify(body), credentials: "same-origin" });
  let data = null;
  try { data = await r.json(); } catch { data = null; }
  if (!r.ok) {
    const detail = data && (data.detail && typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || data));
    const err = new Error(`${r.status}: ${detail || r.statusText}`);
    err.status = r.status;
    throw err;
  }
  return data;
}

function show(view) {
  for (const v of ["login", "search", "dossier", "audit"]) $(`#view-${v}`).hidden = v !== view;
  $("#main").focus();
}

function can(perm) { return !!state.me && state.me.permissions.includes(perm); }
function fmt(x, digits = 2) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }
function utc(local) { return local ? new Date(local).toISOString() : null; }

// -- session ------------------------------------------------------------------------
async function afterLogin(me) {
  state.me = me.user;
  state.csrf = me.csrf;
  $("#nav").hidden = false;
  $("#whoami").textContent = `${me.user.display_name || me.user.name} (${me.user.role})`;
  $("#nav-search").hidden = !can("read");
  $("#nav-audit").hidden = !can("read_audit");
  $("#case-select").parentElement.hidden = false;
  const sel = $("#case-select");
  sel.replaceChildren();
  if (can("read")) {
    const { cases } = await api("/api/cases");
    state.cases = cases.filter((c) => c.active);
    sel.append(el("option", { value: "" }, "— choose a case —"));
    for (const c of state.cases) sel.append(el("option", { value: c.ref }, `${c.ref}: ${c.title} (${c.legal_basis})`));
    sel.disabled = false;
    status(state.cases.length ? "Choose a case to work in." : "You belong to no active case.");
    show("search");
    sel.focus();
  } else {
    sel.disabled = true;
    if (can("read_audit")) { show("audit"); loadAudit(); } else { show("search"); status("Your role reads no data."); }
  }
}

$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  try {
    const r = await api("/api/login", { method: "POST", body: { name: f.get("name"), password: f.get("password") } });
    e.target.reset();
    await afterLogin(r);
  } catch (err) { status(`Login failed (${err.message})`, true); }
});

$("#logout").addEventListener("click", async () => {
  try { await api("/api/logout", { method: "POST" }); } catch { /* the session may have expired */ }
  Object.assign(state, { me: null, csrf: null, case: null, person: null });
  $("#nav").hidden = true;
  status("Logged out.");
  show("login");
  $("#login-name").focus();
});

$("#case-select").addEventListener("change", (e) => {
  state.case = e.target.value || null;
  status(state.case ? `Working in case ${state.case}.` : "");
  show("search");
});
$("#nav-search").addEventListener("click", () => show("search"));
$("#nav-audit").addEventListener("click", () => { show("audit"); loadAudit(); });

function needCase() {
  if (!state.case) { status("Choose a case first.", true); $("#case-select").focus(); return false; }
  return true;
}

// -- search -------------------------------------------------------------------------
$("#search-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!needCase()) return;
  const f = new FormData(e.target);
  const params = { case: state.case };
  for (const k of ["name", "organisation", "role", "visited", "met_organisation", "exposure_above", "limit"]) params[k] = f.get(k);
  params.since = utc(f.get("since"));
  params.until = utc(f.get("until"));
  try {
    status("Searching…");
    const r = await api("/api/search", { params });
    const body = $("#results tbody");
    body.replaceChildren();
    for (const p of r.results) {
      body.append(el("tr", {},
        el("td", {}, p.name || "–"), el("td", {}, p.person),
        el("td", {}, (p.organisations || []).join(", ")), el("td", {}, fmt(p.exposure)),
        el("td", {}, el("button", { type: "button", onclick: () => openDossier(p.person) }, `Open dossier of ${p.name || p.person}`))));
    }
    $("#results").hidden = false;
    status(`${r.results.length} people in the case's scope${r.truncated ? " (more exist: narrow the search)" : ""}.`);
  } catch (err) { status(`Search failed (${err.message})`, true); }
});

// -- dossier ------------------------------------------------------------------------
async function openDossier(person) {
  if (!needCase()) return;
  try {
    status("Opening dossier…");
    const d = await api(`/api/dossiers/${encodeURIComponent(person)}`, { params: { case: state.case } });
    state.person = person;
    show("dossier");
    renderDossier(d);
    status(`Dossier of ${d.name || person} (read recorded in the audit log).`);
    $("#dossier-h").focus();
    await Promise.all([loadHypotheses(), drawMap(d), drawGraph()]);
  } catch (err) { status(`Cannot open ${person} (${err.message})`, true); }
}

function evidenceButton(cite) {
  return el("button", { type: "button", class: "cite", onclick: () => showEvidence(cite) }, cite);
}

function renderDossier(d) {
  $("#dossier-h").textContent = `Dossier: ${d.name || d.person}`;
  $("#dossier-h").setAttribute("tabindex", "-1");
  $("#dossier-meta").textContent = `${d.person} · organisations: ${(d.identities.organisations || []).join(", ") || "–"} · built ${d.built_at || "–"}`;
  $("#summary").replaceChildren(...d.summary.sentences.map((s) => el("p", {}, s.text)));
  const ids = $("#identifiers tbody");
  ids.replaceChildren();
  const idf = d.identifiers;
  for (const x of idf.devices) ids.append(el("tr", {}, el("td", {}, x.device), el("td", {}, "device"), el("td", {}, fmt(x.confidence)),
    el("td", {}, `${fmt(x.chance_baseline.value)} (${x.chance_baseline.meaning})`), el("td", {}, x.cites.slice(0, 2).map(evidenceButton))));
  for (const x of idf.vehicles) ids.append(el("tr", {}, el("td", {}, x.vehicle), el("td", {}, `vehicle (${x.role})`), el("td", {}, fmt(x.confidence)),
    el("td", {}, `${fmt(x.chance_baseline.value)} (${x.chance_baseline.meaning})`), el("td", {}, x.cites.slice(0, 2).map(evidenceButton))));
  for (const x of idf.second_phones) ids.append(el("tr", {}, el("td", {}, x.second), el("td", {}, `second phone of ${x.primary_device}`), el("td", {}, fmt(x.confidence)), el("td", {}, "–"), el("td", {}, x.cites.slice(0, 1).map(evidenceButton))));
  renderHeatmap(d.routine.heatmap_hours);
  const tl = $("#timeline");
  tl.replaceChildren(...d.timeline.slice(0, 200).map((ev) => el("li", {}, `${ev.started_at || ""} ${ev.kind}: ${ev.detail} `, ev.cites.slice(0, 1).map(evidenceButton))));
  const cb = $("#contacts tbody");
  cb.replaceChildren(...d.contacts.slice(0, 50).map((c) => el("tr", {}, el("td", {}, c.other_name ? `${c.other_name} (${c.other})` : c.other), el("td", {}, fmt(c.weight)), el("td", {}, c.evidence || "", " ", c.cites.slice(0, 1).map(evidenceButton)))));
  $("#meetings").replaceChildren(...d.meetings.slice(0, 30).map((m) => el("li", {}, `${m.started_at} – ${m.finished_at} with ${(m.with_subjects || []).join(", ")} `, m.cites.slice(0, 1).map(evidenceButton))));
  const ex = d.exposure;
  $("#exposure").replaceChildren(ex ? el("div", {},
    el("p", {}, `Surveillance exposure ${fmt(ex.exposure)} (how easily this person is singled out and linked in the data).`),
    el("ul", {}, (ex.whatif || []).slice(0, 6).map((w) => el("li", {}, `${w.countermeasure.replaceAll("_", " ")}: exposure ${fmt(w.exposure_before)} → ${fmt(w.exposure_after)}`)))) : el("p", {}, "No exposure assessment."));
  const q = `case=${encodeURIComponent(state.case)}&person=${encodeURIComponent(d.person)}`;
  $("#export-json").href = `/api/exports?${q}&format=json`;
  $("#export-html").href = `/api/exports?${q}&format=html`;
  $("#export-json").parentElement.hidden = !can("export");
  $("#evidence").hidden = true;
}

function renderHeatmap(grid) {
  const max = Math.max(0.0001, ...grid.flat());
  const head = el("tr", {}, el("th", {}, ""), [...Array(24).keys()].map((h) => el("th", { scope: "col" }, h % 3 === 0 ? String(h) : "")));
  const rows = grid.map((row, i) => el("tr", {}, el("th", { scope: "row" }, DAYS[i]),
    row.map((v, h) => { const td = el("td", { title: `${DAYS[i]} ${h}:00 — ${fmt(v, 1)} h` }); td.style.background = `rgba(9,105,218,${(v / max).toFixed(3)})`; return td; })));
  $("#heatmap").replaceChildren(el("table", { class: "heat" }, el("caption", { class: "sr" }, "Hours present by weekday and hour"), el("thead", {}, head), el("tbody", {}, rows)));
}

async function showEvidence(cite) {
  const i = cite.indexOf(":");
  const kind = cite.slice(0, i), ident = cite.slice(i + 1);
  const panel = $("#evidence");
  try {
    const r = await api(`/api/evidence/${encodeURIComponent(kind)}/${encodeURIComponent(ident)}`, { params: { case: state.case, person: state.person } });
    panel.replaceChildren(el("h4", {}, `Evidence ${cite}`), el("button", { type: "button", onclick: () => { panel.hidden = true; } }, "Close evidence"),
      ...r.rows.map((row) => el("pre", {}, JSON.stringify(row, null, 1))));
    panel.hidden = false;
    panel.focus();
  } catch (err) { status(`Evidence ${cite}: ${err.message}`, true); }
}

async function loadHypotheses() {
  const box = $("#hypotheses");
  try {
    const r = await api("/api/hypotheses", { params: { case: state.case, person: state.person } });
    box.replaceChildren(...r.hypotheses.map((h, n) => hypothesisCard(h, n, r.reasons)));
    if (!r.hypotheses.length) box.append(el("p", {}, "No link hypotheses."));
  } catch (err) { box.replaceChildren(el("p", {}, `Hypotheses unavailable (${err.message}).`)); }
}

function hypothesisCard(h, n, reasons) {
  const j = h.judgement;
  const card = el("div", { class: "hyp", "data-id": h.id },
    el("div", {}, `${h.kind}: ${h.a} ↔ ${h.b}`),
    el("div", {}, `score ${fmt(h.score)} · confidence ${fmt(h.confidence)} · chance baseline ${fmt(h.chance_baseline && h.chance_baseline.value)}`),
    el("div", { class: "verdict" }, j ? `${j.verdict}ed by ${j.user} (${j.reason})` : "not judged"));
  if (can("judge")) {
    const sel = el("select", { id: `reason-${n}` }, reasons.map((r) => el("option", { value: r }, r.replaceAll("_", " "))));
    card.append(el("label", { for: `reason-${n}` }, "Reason "), sel,
      el("button", { type: "button", onclick: () => judge(h, "confirm", sel.value) }, "Confirm"),
      el("button", { type: "button", onclick: () => judge(h, "reject", sel.value) }, "Reject"));
  }
  return card;
}

async function judge(h, verdict, reason) {
  try {
    await api(`/api/hypotheses/${encodeURIComponent(h.id)}/judgement`, { method: "POST", params: { case: state.case }, body: { person: state.person, verdict, reason } });
    status(`${verdict === "confirm" ? "Confirmed" : "Rejected"} ${h.id}.`);
    await loadHypotheses();
  } catch (err) { status(`Judgement failed (${err.message})`, true); }
}

// -- map: the data's own geometry, no tiles ------------------------------------------
async function drawMap(d) {
  if (!window.L) return;
  const m = await api("/api/map", { params: { case: state.case } });
  if (state.map) state.map.remove();
  const map = L.map("map", { zoomControl: true, attributionControl: false, keyboard: true });
  state.map = map;
  const layers = [];
  if (m.outline.length >= 3) layers.push(L.polygon(m.outline, { color: "#57606a", weight: 1, fillOpacity: 0.04 }).bindTooltip("district outline (hull of the sensors)"));
  for (const s of m.sensors) layers.push(L.circleMarker([s.lat, s.lon], { radius: 2, color: "#8c959f", weight: 1 }).bindTooltip(`${s.kind} ${s.id}`));
  for (const s of m.sites) layers.push(L.circleMarker([s.lat, s.lon], { radius: 3, color: "#57606a", weight: 1 }).bindTooltip(`site ${s.id}`));
  for (const ev of d.timeline) if (ev.kind === "stay" && ev.lat !== null) layers.push(L.circleMarker([ev.lat, ev.lon], { radius: 3, color: "#0969da" }).bindTooltip(`stay ${ev.started_at}`));
  for (const [role, p] of [["home", d.places.home], ["work", d.places.work]]) {
    if (p && p.lat !== null) layers.push(L.circleMarker([p.lat, p.lon], { radius: 8, color: role === "home" ? "#cf222e" : "#8250df", weight: 3 }).bindTooltip(role, { permanent: true }));
  }
  const group = L.featureGroup(layers).addTo(map);
  if (layers.length) map.fitBounds(group.getBounds(), { padding: [10, 10] });
  else map.setView([0, 0], 2);
}

// -- network ------------------------------------------------------------------------
async function drawGraph() {
  const list = $("#graph-list");
  try {
    const g = await api(`/api/graph/${encodeURIComponent(state.person)}`, { params: { case: state.case, depth: 1 } });
    list.replaceChildren(...g.nodes.map((n) => el("li", {}, `${n.id} (${n.kind}, ${n.hops} hop${n.hops === 1 ? "" : "s"})`)));
    if (!window.cytoscape) return;
    if (state.cy) state.cy.destroy();
    state.cy = cytoscape({
      container: $("#graph"),
      elements: [
        ...g.nodes.map((n) => ({ data: { id: n.id, label: n.id.split(":").pop().slice(-6), hops: n.hops } })),
        ...g.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.a, target: e.b, w: e.weight || 0.1, hidden: !!e.hidden } })),
      ],
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 8, width: 10, height: 10, "background-color": "#57606a" } },
        { selector: "node[hops = 0]", style: { "background-color": "#cf222e", width: 16, height: 16 } },
        { selector: "edge", style: { width: "mapData(w, 0, 5, 0.5, 4)", "line-color": "#8c959f" } },
        { selector: "edge[?hidden]", style: { "line-style": "dashed", "line-color": "#8250df" } },
      ],
      layout: { name: "cose", animate: false },
    });
  } catch (err) { list.replaceChildren(el("li", {}, `Network unavailable (${err.message}).`)); $("#graph").replaceChildren(); }
}

// -- audit --------------------------------------------------------------------------
$("#audit-form").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(); });

async function loadAudit() {
  const f = new FormData($("#audit-form"));
  const params = { user: f.get("user"), case: f.get("case"), action: f.get("action"), since: utc(f.get("since")), until: utc(f.get("until")) };
  try {
    const r = await api("/api/audit", { params });
    $("#audit-verified").textContent = r.verified ? "The hash chain verifies." : "The audit log FAILS verification: run `tessera audit verify`.";
    $("#audit-table tbody").replaceChildren(...r.entries.slice().reverse().map((x) => el("tr", {},
      el("td", {}, x.seq), el("td", {}, x.at), el("td", {}, x.user), el("td", {}, x.case), el("td", {}, x.legal_basis),
      el("td", {}, x.action), el("td", {}, x.target), el("td", {}, x.result_size))));
    const fl = await api("/api/audit/flags");
    $("#flags").replaceChildren(...(fl.flags.length ? fl.flags.map((x) => el("li", { class: "flag" }, `${x.user}: ${x.kind} (${x.count})`)) : [el("li", {}, "No flags.")]));
    status(`${r.entries.length} audit entries.`);
  } catch (err) { status(`Audit unavailable (${err.message})`, true); }
}

// -- start --------------------------------------------------------------------------
(async () => {
  try { await afterLogin(await api("/api/me")); } catch { show("login"); $("#login-name").focus(); }
})();
