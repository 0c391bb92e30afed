// The zdm status page: polls /api/status and redraws. Everything from the server is written as
// text nodes (never as HTML), so identifiers and error messages cannot inject markup.
"use strict";

const POLL_MS = 1000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = String(v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function time(t) {
  if (!t) return "";
  return String(t).replace("T", " ").replace(/\.\d+/, "").replace(/(Z|\+00:00)$/, "");
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "";
  let s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

function number(n) {
  if (n === null || n === undefined) return "?";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 });
}

function bar(kind, subject, table, done, total) {
  const p = el("progress", { "data-kind": kind, "data-subject": subject, "data-table": table });
  p.max = Math.max(total || 0, done || 0, 1);
  p.value = done || 0;
  return p;
}

function replace(container, nodes, empty) {
  container.replaceChildren(...(nodes.length ? nodes : [el("p", { class: "muted" }, empty)]));
}

function renderHealth(s) {
  const badge = document.getElementById("health");
  const status = s.ledger_up ? (s.health ? s.health.status : "unknown") : "down";
  badge.dataset.status = status;
  badge.textContent = status;
  document.getElementById("updated").textContent = "as of " + time(s.generated_at) + " UTC";
  const down = document.getElementById("down");
  down.hidden = s.ledger_up;
  document.getElementById("down-reason").textContent = s.error || "";
}

function renderInflight(s) {
  const items = [];
  for (const m of s.migrations || []) {
    if (!["running", "expanded", "completing", "rolling_back"].includes(m.state)) continue;
    const item = el("div", { class: "item", "data-migration": m.id },
      el("div", { class: "row" }, el("strong", {}, m.id), el("span", { class: "state" }, m.state), el("span", { class: "muted" }, m.next || "")));
    for (const b of m.backfill || []) {
      const eta = b.finished ? "done" : (b.eta_seconds !== null && b.eta_seconds !== undefined ? "ETA " + duration(b.eta_seconds) : "");
      const rate = b.rows_per_second ? number(b.rows_per_second) + " rows/s" : "";
      item.append(el("div", { class: "row" }, el("span", {}, "backfill " + b.table), el("span", { class: "muted" },
        `${number(b.rows_done)} of ~${number(b.rows_estimated)} rows`), el("span", { class: "muted" }, rate), el("span", { class: "eta" }, eta)),
        bar("backfill", m.id, b.table, b.rows_done, b.rows_estimated));
    }
    items.push(item);
  }
  replace(document.getElementById("inflight"), items, "nothing in flight");
}

function lagChart(samples) {
  const w = 600, h = 120, pad = 4;
  const svg = svgEl("svg", { class: "chart", viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none", role: "img" });
  if (!samples || !samples.length) {
    const t = svgEl("text", { x: 8, y: 16 }); t.textContent = "no lag samples yet"; svg.append(t); return svg;
  }
  const now = samples[samples.length - 1][0];
  const max = Math.max(35, ...samples.map((p) => p[1]));
  const x = (t) => w - pad - ((now - t) / 3600) * (w - 2 * pad);
  const y = (v) => h - pad - (v / max) * (h - 2 * pad);
  svg.append(svgEl("line", { class: "limit", x1: 0, x2: w, y1: y(30), y2: y(30) }));
  svg.append(svgEl("polyline", { points: samples.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ") }));
  const label = svgEl("text", { x: 8, y: 14 }); label.textContent = `lag, last hour (max ${number(max)} s; dashed: 30 s)`; svg.append(label);
  return svg;
}

function renderMoves(s) {
  const items = [];
  for (const m of s.moves || []) {
    const item = el("div", { class: "item", "data-move": m.job },
      el("h3", {}, `move ${m.job} → ${m.target_schema}`),
      el("div", { class: "row" },
        el("span", { class: "state", "data-state": m.phase }, m.phase + (m.converged ? " (converged)" : "")),
        el("span", {}, `copied ${number(m.rows_copied)} of ~${number(m.rows_estimated)} rows`),
        m.copy_rows_per_second ? el("span", { class: "muted" }, number(m.copy_rows_per_second) + " rows/s") : null,
        el("span", { class: "lag" }, m.lag_seconds === null || m.lag_seconds === undefined ? "" : `lag ${number(m.lag_seconds)} s`),
        el("span", { class: "muted" }, `at ${m.position.file}:${m.position.pos}` + (m.position.gtid ? ` (${m.position.gtid})` : "")),
        el("span", { class: "muted" }, `${number(m.applied_events)} changes applied`)),
      m.last_error ? el("p", { class: "error" }, m.last_error) : null);
    for (const t of m.tables || []) {
      // Every chunk copied: the count is exact, whatever the source's estimate said.
      const copied = t.chunks > 0 && t.chunks_done === t.chunks;
      const total = copied ? t.rows_copied : t.rows_estimated;
      item.append(el("div", { class: "row" }, el("span", {}, t.target), el("span", { class: "muted" }, copied ? `${number(t.rows_copied)} rows copied` : `${number(t.rows_copied)} / ~${number(total)}`)),
        bar("copy", m.job, t.target, t.rows_copied, total));
    }
    item.append(lagChart((s.lag_history || {})[m.job]));
    items.push(item);
  }
  replace(document.getElementById("moves"), items, "no move");
}

function renderMigrations(s) {
  const rows = (s.migrations || []).map((m) => {
    const notes = [];
    if (m.last_error) notes.push(`error in ${m.failed_phase || "?"}: ${m.last_error}`);
    if (m.interrupted) notes.push("interrupted");
    if (m.next) notes.push(m.next);
    return el("tr", { "data-id": m.id },
      el("td", {}, m.id), el("td", {}, m.kind),
      el("td", { class: "state", "data-state": m.state }, m.state),
      el("td", {}, time(m.started_at)),
      el("td", {}, m.duration_ms === null || m.duration_ms === undefined ? "" : duration(m.duration_ms / 1000)),
      el("td", { class: "notes" }, notes.join("; ")));
  });
  document.querySelector("#migrations tbody").replaceChildren(...rows);
}

function renderVerify(s) {
  const items = (s.verify || []).map((v) => {
    const differing = (v.tables || []).filter((t) => t.differences > 0).map((t) => `${t.name}: ${t.differences}`);
    return el("div", { class: "item", "data-verify": v.job || "standalone" },
      el("div", { class: "row" },
        el("strong", {}, v.job ? `move ${v.job}` : "standalone"),
        el("span", { class: "state", "data-state": v.equal ? "completed" : "failed" }, v.equal ? "equal" : (v.error ? "error" : `${number(v.differences)} differences`)),
        el("span", { class: "muted" }, `${number(v.rows_compared)} rows` + (v.rows_per_second ? `, ${number(v.rows_per_second)} rows/s` : "")),
        el("span", { class: "muted" }, "finished " + time(v.finished_at))),
      v.error ? el("p", { class: "error" }, v.error) : null,
      differing.length ? el("p", {}, "differing: " + differing.join(", ")) : null);
  });
  replace(document.getElementById("verify"), items, "no verification recorded");
}

function renderEvents(s) {
  const rows = (s.events || []).slice().reverse().map((e) =>
    el("tr", { "data-level": e.level }, el("td", {}, time(e.at)), el("td", {}, e.migration_id || ""), el("td", {}, e.phase), el("td", {}, e.level), el("td", { class: "notes" }, e.message)));
  document.querySelector("#events tbody").replaceChildren(...rows);
}

async function poll() {
  try {
    const r = await fetch("/api/status", { cache: "no-store", credentials: "same-origin" });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const s = await r.json();
    renderHealth(s); renderInflight(s); renderMoves(s); renderMigrations(s); renderVerify(s); renderEvents(s);
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (e) {
    const badge = document.getElementById("health");
    badge.dataset.status = "down";
    badge.textContent = "no answer (" + e.message + ")";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
