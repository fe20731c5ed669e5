// The web board: renders the state the server pushes over SSE (/api/events). Plain DOM, no
// library, no build step. Everything from the board is put in with textContent (never
// innerHTML): an artifact or a question cannot inject markup into the page.
"use strict";

const PAGE_TOKEN = document.querySelector('meta[name="teammesh-page-token"]').content;
const READ_ONLY = document.querySelector('meta[name="teammesh-read-only"]').content === "true";
const SVG = "http://www.w3.org/2000/svg";
let current = null;
let skew = 0; // server clock minus ours, seconds

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

const now = () => Date.now() / 1000 + skew;
const secs = (s) => s < 60 ? `${Math.floor(s)} s` : `${Math.floor(s / 60)} min ${Math.floor(s % 60)} s`;

function stateText(state) {
  if ((state.kind === "running" || state.kind === "calling") && state.since) {
    return `${state.label} ${secs(Math.max(0, now() - state.since))}`;
  }
  return state.label;
}

// A finished run's clock and timeline stop at its last turn's end, not at "now".
const runEnd = (s) => (s.run.status === "running" || !s.run.ended ? now() : s.run.ended);

function renderHeader(s) {
  document.getElementById("title").textContent = `${s.run.id} · team ${s.run.team}`;
  const status = document.getElementById("status");
  status.textContent = s.run.status + (s.run.reason ? `: ${s.run.reason}` : "");
  status.className = `pill ${s.run.status}`;
  const c = s.counters;
  const items = [`round ${c.round}/${c.rounds}`, `elapsed ${secs(Math.max(0, runEnd(s) - s.run.started))}`,
    `turns ${c.turns}`, `tool calls ${c.tool_calls}`, `artifacts ${c.artifacts}`,
    `failed turns ${c.failed_turns}`, `dead letters ${c.dead_letters}`, `source: ${s.origin}`];
  if (s.read_only) items.push("read-only");
  document.getElementById("counters").replaceChildren(
    ...items.map((t) => el("span", { class: "counter", text: t })));
}

function renderMembers(s) {
  const rows = s.members.map((m) => el("tr", {
    class: "member", "data-member": m.name, "data-state": m.state.kind,
    onclick: () => openTranscript(m.name),
  }, el("td", { text: m.name }),
    el("td", {}, el("span", { class: `state ${m.state.kind}`, text: stateText(m.state) })),
    el("td", { text: String(m.queued) }), el("td", { text: m.claimed || "" }),
    el("td", { text: String(m.turns) })));
  document.querySelector("#members tbody").replaceChildren(...rows);
  renderGraph(s);
}

function levels(members) {
  // Depth in the handoff graph (longest path from a member nobody hands to), cycles cut.
  const depth = Object.fromEntries(members.map((m) => [m.name, 0]));
  for (let pass = 0; pass < members.length; pass++) {
    for (const m of members) for (const t of (m.flow.length ? m.flow : [])) {
      if (t in depth && depth[t] < depth[m.name] + 1 && depth[m.name] + 1 < members.length) {
        depth[t] = depth[m.name] + 1;
      }
    }
  }
  return depth;
}

function renderGraph(s) {
  const graph = document.getElementById("graph");
  const depth = levels(s.members);
  const columns = {};
  for (const m of s.members) (columns[depth[m.name]] ||= []).push(m);
  const ncol = Math.max(...Object.keys(columns).map(Number)) + 1;
  const width = Math.max(graph.clientWidth || 600, 300), height = 220, w = 132, h = 34;
  const pos = {};
  for (const [col, list] of Object.entries(columns)) {
    list.forEach((m, i) => {
      pos[m.name] = { x: 10 + (Number(col) * (width - w - 20)) / Math.max(1, ncol - 1),
                      y: ((i + 1) * height) / (list.length + 1) - h / 2 };
    });
  }
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                 markerWidth: "7", markerHeight: "7", orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#9ca3af" }));
  defs.append(marker);
  const parts = [defs];
  for (const m of s.members) for (const t of m.targets) {
    if (!(t in pos)) continue;
    const a = pos[m.name], b = pos[t];
    const planned = m.flow.includes(t);
    parts.push(svg("path", { class: planned ? "edge" : "edge allowed", d: `M${a.x + w},${a.y + h / 2} C${a.x + w + 40},${a.y + h / 2} ${b.x - 40},${b.y + h / 2} ${b.x},${b.y + h / 2}` }));
  }
  const colors = { idle: "#9ca3af", running: "#2563eb", calling: "#7c3aed", approval: "#d97706",
                   failed: "#dc2626", done: "#16a34a" };
  for (const m of s.members) {
    const p = pos[m.name];
    const g = svg("g", { class: "node", "data-member": m.name, transform: `translate(${p.x},${p.y})` });
    g.addEventListener("click", () => openTranscript(m.name));
    g.append(svg("rect", { width: w, height: h, fill: colors[m.state.kind] || "#6b7280" }));
    g.append(svg("text", { x: 6, y: 14 }, `${m.name} · ${m.queued} queued`));
    g.append(svg("text", { x: 6, y: 28 }, stateText(m.state).slice(0, 22)));
    parts.push(g);
  }
  graph.setAttribute("viewBox", `0 0 ${width} ${height}`);
  graph.replaceChildren(...parts);
}

let approvalsShown = null;

function renderApprovals(s) {
  const pending = s.approvals.filter((a) => a.state === "pending");
  const box = document.getElementById("approvals");
  // Redrawn only when the approvals change: a button must not be replaced under the cursor.
  const key = JSON.stringify(s.approvals);
  if (key === approvalsShown) return;
  approvalsShown = key;
  if (!pending.length) {
    const answered = s.approvals.filter((a) => a.state !== "pending").slice(-3);
    box.replaceChildren(el("p", { class: "muted", text: "none pending" }),
      ...answered.map((a) => el("p", { class: "muted", "data-answered": String(a.id),
        text: `#${a.id} ${a.member} ${a.tool}: ${a.state} by ${a.answered_by}` })));
    return;
  }
  box.replaceChildren(...pending.map((a) => {
    const buttons = READ_ONLY ? el("p", { class: "muted", text: "read-only: answer elsewhere" })
      : el("div", {},
        el("button", { class: "approve", "data-approve": String(a.id), text: "approve",
                       onclick: () => decide(a.id, "approve") }), " ",
        el("button", { class: "deny", "data-deny": String(a.id), text: "deny",
                       onclick: () => decide(a.id, "deny") }));
    return el("div", { class: "approval", "data-approval": String(a.id) },
      el("div", { text: `#${a.id} ${a.member} wants ${a.tool}` }),
      el("code", { text: a.question }), buttons,
      el("div", { class: "notice", id: `notice-${a.id}` }));
  }));
}

async function decide(id, decision) {
  const notice = document.getElementById(`notice-${id}`);
  try {
    const r = await fetch(`/api/approvals/${id}/decision`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Teammesh-Page": PAGE_TOKEN },
      body: JSON.stringify({ decision }),
    });
    const body = await r.json();
    if (notice) notice.textContent = r.ok ? `${body.approval.state}` : body.message;
  } catch (e) {
    if (notice) notice.textContent = `could not send: ${e}`;
  }
}

function renderCriteria(s) {
  const item = (c) => el("div", { class: `crit ${c.holds ? "holds" : "missing"}` },
    el("span", { text: c.description }),
    ...(c.parts.length ? c.parts.map(item)
      : c.missing.map((m) => el("div", { class: "why", text: m }))));
  const top = s.criteria;
  document.getElementById("criteria").replaceChildren(
    el("div", { text: top.holds ? "the completion criteria hold" : "not yet complete" }),
    ...(top.parts.length ? top.parts.map(item) : [item(top)]));
  const u = s.counters.usage;
  const rows = [];
  if (u) {
    rows.push(el("div", { text: `tokens: ${u.total.total} (input ${u.total.input}, cached ${u.total.cached_input}, output ${u.total.output}, reasoning ${u.total.reasoning})` }));
    rows.push(el("div", { text: `cost: ${u.cost_usd === null ? "unknown (model not priced)" : "$" + u.cost_usd.toFixed(4)}` }));
    for (const [m, v] of Object.entries(u.by_member)) rows.push(el("div", { class: "muted", text: `${m}: ${v.total} tokens` }));
  } else {
    rows.push(el("div", { text: "tokens: — (no usage recorded: the playbook runtime has no model)" }));
  }
  for (const limit of s.limits) {
    rows.push(el("div", { class: `crit ${limit.missing.length ? "missing" : "holds"}`,
                          text: `${limit.description}${limit.missing.length ? ": " + limit.missing.join("; ") : ""}` }));
  }
  document.getElementById("usage").replaceChildren(...rows);
}

function renderTimeline(s) {
  const tl = s.timeline, box = document.getElementById("timeline");
  document.getElementById("timeline-source").textContent =
    tl.source === "board" ? "(times from the board's run record)" : "(times as this page saw them)";
  const names = s.members.map((m) => m.name), lane = 26, left = 90;
  const width = Math.max(box.clientWidth || 900, 400), height = names.length * lane + 24;
  const end = Math.max(runEnd(s), tl.start + 1), span = end - tl.start;
  const x = (t) => left + ((t - tl.start) / span) * (width - left - 10);
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow-h", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                 markerWidth: "6", markerHeight: "6", orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#d97706" }));
  defs.append(marker);
  const parts = [defs];
  let bars = 0;
  names.forEach((name, i) => {
    const y = i * lane;
    parts.push(svg("rect", { class: "lane", x: left, y: y + 2, width: width - left - 10, height: lane - 4 }));
    parts.push(svg("text", { class: "lane-name", x: 4, y: y + lane / 2 + 4 }, name));
    for (const bar of tl.lanes[name] || []) {
      const x0 = x(bar.start), x1 = x(bar.end || end);
      const r = bar.kind === "turn"
        ? svg("rect", { class: `turn ${bar.state}`, x: x0, y: y + 3, width: Math.max(2, x1 - x0), height: lane - 6 })
        : svg("rect", { class: "call", x: x0, y: y + 9, width: Math.max(3, x1 - x0), height: lane - 18 });
      r.append(svg("title", {}, `${name}: ${bar.kind} ${bar.label} ${bar.state || ""}${bar.end ? " " + (bar.end - bar.start).toFixed(2) + " s" : " (running)"}`));
      parts.push(r);
      bars++;
    }
  });
  for (const h of tl.handoffs) {
    const a = names.indexOf(h.from), b = names.indexOf(h.to);
    if (a < 0 || b < 0) continue;
    const hx = x(h.at);
    const line = svg("line", { class: "handoff", x1: hx, y1: a * lane + lane / 2, x2: hx + 6, y2: b * lane + lane / 2 });
    line.append(svg("title", {}, `handoff ${h.from} → ${h.to}${h.task ? ` (task ${h.task})` : ""}`));
    parts.push(line);
  }
  for (let k = 0; k <= 4; k++) {
    const t = tl.start + (span * k) / 4;
    parts.push(svg("text", { class: "axis", x: x(t) - 8, y: height - 6 }, `${((t - tl.start)).toFixed(1)} s`));
  }
  box.setAttribute("viewBox", `0 0 ${width} ${height}`);
  box.setAttribute("height", String(height));
  box.setAttribute("data-bars", String(bars));
  box.replaceChildren(...parts);
}

// The server sends the newest tasks and artifacts only (snapshot.LISTED); say so.
const fewer = (shown, total, what) => (total > shown
  ? el("p", { class: "muted", "data-fewer": what, text: `the last ${shown} of ${total} ${what} (teammesh board show lists all)` })
  : null);

// A task's history: each turn that claimed it (member, round, how the turn ended, attempt).
const clock = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "");
function claimLines(claims) {
  if (!claims.length) return [el("span", { class: "muted", text: "not claimed" })];
  return claims.map((c) => el("div", {
    "data-claim": `${c.member}:${c.round}:${c.attempt}`, "data-turn-state": c.turn_state,
    title: `attempt ${c.attempt}: ${c.member}'s turn in round ${c.round} claimed it at ${clock(c.claimed_at)}; the turn ended ${c.turn_state}`,
    text: `#${c.attempt} ${c.member} r${c.round} ${c.turn_state} ${clock(c.claimed_at)}`,
  }));
}

function renderTasks(s) {
  document.getElementById("tasks-fewer").replaceChildren(
    ...[fewer(s.tasks.length, s.counters.tasks, "tasks")].filter(Boolean));
  document.querySelector("#tasks tbody").replaceChildren(...s.tasks.map((t) => el("tr", {
    "data-task": String(t.id), "data-status": t.status,
  }, el("td", { text: String(t.id) }), el("td", { text: t.owner }),
    el("td", { text: t.status === "dead" ? "dead letter" : t.status }),
    el("td", { text: String(t.attempts) }),
    el("td", { text: t.queued_by + (t.parent ? ` (from #${t.parent})` : "") }),
    el("td", { class: "claims" }, ...claimLines(t.claims || [])),
    el("td", { text: t.text }))));
  document.getElementById("artifacts").replaceChildren(...(s.artifacts.length ? s.artifacts.map(
    (a) => el("div", { class: "artifact", "data-artifact": String(a.id) },
      el("strong", { text: `#${a.id} ${a.kind}` }), el("span", { class: "muted", text: ` by ${a.member}` }),
      el("pre", { text: a.summary }))) : [el("p", { class: "muted", text: "none yet" })]),
    ...[fewer(s.artifacts.length, s.counters.artifacts, "artifacts")].filter(Boolean));
}

function render() {
  if (!current) return;
  renderHeader(current); renderMembers(current); renderApprovals(current);
  renderCriteria(current); renderTimeline(current); renderTasks(current);
}

async function openTranscript(name) {
  const dialog = document.getElementById("transcript");
  document.getElementById("transcript-title").textContent = `transcript: ${name}`;
  const body = document.getElementById("transcript-body");
  body.replaceChildren(el("p", { class: "muted", text: "loading…" }));
  if (!dialog.open) dialog.showModal();
  try {
    const r = await fetch(`/api/members/${encodeURIComponent(name)}/transcript`, { credentials: "same-origin" });
    const t = await r.json();
    if (!r.ok) { body.replaceChildren(el("p", { class: "notice", text: t.message })); return; }
    body.replaceChildren(el("p", { class: "muted", text: `from the ${t.source}` }),
      ...(t.entries.length ? t.entries.map((e) => el("div", { class: "entry", "data-entry": e.role || "" },
        el("span", { class: "role", text: `${e.role || "?"}${e.tool ? " " + e.tool : ""}` }),
        el("span", { class: "muted", text: e.status || "" }),
        e.text ? el("pre", { text: e.text }) : null,
        e.arguments !== undefined ? el("pre", { text: "arguments: " + JSON.stringify(e.arguments, null, 1) }) : null,
        e.result !== undefined ? el("pre", { text: "result: " + JSON.stringify(e.result, null, 1) }) : null))
        : [el("p", { class: "muted", text: "nothing yet" })]));
  } catch (e) {
    body.replaceChildren(el("p", { class: "notice", text: `could not load: ${e}` }));
  }
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("state", (event) => {
    current = JSON.parse(event.data);
    skew = current.now - Date.now() / 1000;
    document.body.dataset.version = event.lastEventId;
    render();
  });
  source.onerror = () => {
    const status = document.getElementById("status");
    if (current && current.run.status !== "running") return; // the run ended, server gone
    status.textContent = "disconnected, retrying…";
    status.className = "pill";
  };
}

document.getElementById("transcript-close").addEventListener("click",
  () => document.getElementById("transcript").close());
setInterval(render, 1000); // timers tick here; the server pushes only real changes
connect();
