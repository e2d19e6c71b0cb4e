// The console page: polls the console's /api, draws the cards' figures with uPlot,
// sends flips and runs. No framework, no build step.
"use strict";

const TOKEN_KEY = "perflab-admin-token";
const tokenRequired = document.body.dataset.tokenRequired === "true";
let token = sessionStorage.getItem(TOKEN_KEY) || "";
const charts = new Map(); // card id -> {plot, flips}
const COLORS = { naive: "#d9822b", optimised: "#2a9d4b", mixed: "#9aa0a6" };

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function call(method, url, body) {
  const answer = await fetch(url, {
    method,
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await answer.json(); } catch (e) { data = null; }
  return { ok: answer.ok, status: answer.status, data };
}

function detail(result) {
  const d = result.data && result.data.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
  return `HTTP ${result.status}`;
}

function fmt(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (unit === "s") return value < 1 ? `${(value * 1000).toPrecision(3)} ms` : `${value.toPrecision(3)} s`;
  if (unit === "bytes") {
    if (value >= 1e6) return `${(value / 1e6).toPrecision(3)} MB`;
    if (value >= 1e3) return `${(value / 1e3).toPrecision(3)} KB`;
    return `${value.toFixed(0)} B`;
  }
  if (unit === "ratio") return `${(value * 100).toFixed(value >= 0.1 ? 1 : 2)} %`;
  if (unit === "" && Number.isInteger(value)) return String(value); // a count: workers, messages
  const text = value >= 100 ? value.toFixed(0) : value.toPrecision(3);
  return unit === "/s" ? `${text}/s` : unit ? `${text} ${unit}` : text;
}

function timeOf(iso) { return new Date(iso).getTime() / 1000; }

// -- flags and switches -------------------------------------------------------------

function readOnlyReason() {
  return tokenRequired && !token ? "read-only: this lab requires an admin token (enter it above)" : "";
}

function paintSwitch(input, enabled) {
  input.checked = enabled;
  input.closest(".switch").querySelector(".variant").textContent = enabled ? "optimised" : "naive";
}

function paintReadOnly() {
  const why = readOnlyReason();
  document.querySelectorAll(".flag-switch").forEach((input) => {
    input.disabled = Boolean(why);
    input.closest(".switch").title = why || `flag ${input.dataset.flag}: on = optimised`;
    const note = input.closest(".card").querySelector(".note");
    if (why) note.textContent = why;
    else if (note.dataset.kind !== "error") note.textContent = "";
  });
}

async function refreshFlags() {
  // One set of flags for every service: each card of a flag shows the same state.
  const result = await call("GET", "/api/flags");
  if (!result.ok) return;
  const state = Object.fromEntries(result.data.flags.map((f) => [f.name, f.enabled]));
  document.querySelectorAll(".flag-switch").forEach((input) => {
    if (input.dataset.flag in state && !input.dataset.busy) paintSwitch(input, state[input.dataset.flag]);
  });
}

async function flip(input) {
  const card = input.closest(".card");
  const note = card.querySelector(".note");
  const wanted = input.checked;
  input.dataset.busy = "1";
  const result = await call("PUT", `/api/flags/${input.dataset.flag}`, { enabled: wanted });
  delete input.dataset.busy;
  if (result.ok) {
    paintSwitch(input, result.data.enabled);
    note.dataset.kind = "";
    note.textContent = `${input.dataset.flag} is now ${result.data.enabled ? "on (optimised)" : "off (naive)"}`;
    refreshHistory();
  } else {
    paintSwitch(input, !wanted);
    note.dataset.kind = "error";
    note.textContent = result.status === 401 ? "refused: the admin token is missing or wrong" : detail(result);
  }
}

// -- figures ------------------------------------------------------------------------

function drawFlips(entry) {
  return (u) => {
    const { ctx, bbox } = u;
    for (const f of entry.flips) {
      const x = u.valToPos(f.t, "x", true);
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.save();
      ctx.strokeStyle = f.on ? COLORS.optimised : COLORS.naive;
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.restore();
    }
  };
}

function chartFor(card, unit) {
  let entry = charts.get(card.id);
  if (entry) return entry;
  const holder = card.querySelector(".chart");
  entry = { flips: [] };
  // Axis labels have no room for a word of unit ("queries"): numbers and symbols only.
  const axisUnit = ["s", "bytes", "/s"].includes(unit) ? unit : "";
  const series = (label) => ({ label, stroke: COLORS[label], width: 2, spanGaps: false,
    value: (u, v) => fmt(v, unit) });
  entry.plot = new uPlot({
    width: Math.max(200, holder.clientWidth || 280),
    height: 110,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true } },
    axes: [{ size: 24, font: "10px sans-serif" },
           { size: 56, font: "10px sans-serif", values: (u, vals) => vals.map((v) => fmt(v, axisUnit)) }],
    series: [{}, series("naive"), series("optimised"), series("mixed")],
    hooks: { draw: [drawFlips(entry)] },
  }, [[], [], [], []], holder);
  charts.set(card.id, entry);
  return entry;
}

function paintFigures(card, fig) {
  const current = card.querySelector(".current");
  if (fig.error) {
    current.querySelector(".value").textContent = "–";
    current.querySelector(".what").textContent = fig.error;
    return;
  }
  current.querySelector(".value").textContent = fmt(fig.current, fig.unit);
  current.querySelector(".value").dataset.variant = fig.current_variant || "";
  current.querySelector(".what").textContent =
    fig.current === null ? `${fig.label}: no traffic right now` : `${fig.label} now (${fig.current_variant})`;
  const means = card.querySelector(".means");
  means.querySelector(".naive").textContent = `naive ${fmt(fig.means.naive, fig.unit)}`;
  means.querySelector(".optimised").textContent = `optimised ${fmt(fig.means.optimised, fig.unit)}`;
  means.title = "means over the window, while each variant ran";
  const entry = chartFor(card, fig.unit);
  entry.flips = fig.flips.map((f) => ({ t: timeOf(f.at), on: f.new }));
  entry.plot.setData([fig.times, fig.naive, fig.optimised, fig.mixed]);
}

async function refreshFigures() {
  for (const section of document.querySelectorAll("section.service")) {
    const service = section.dataset.service;
    const result = await call("GET", `/api/figures/${service}`);
    const cards = section.querySelectorAll(".card");
    if (!result.ok) {
      cards.forEach((card) => { card.querySelector(".current .what").textContent = detail(result); });
      continue;
    }
    cards.forEach((card) => {
      const fig = result.data.techniques[card.dataset.technique];
      if (fig) paintFigures(card, fig);
    });
  }
}

// -- the service overview -----------------------------------------------------------

const sparks = new Map(); // "source/figure" -> {plot, flips}

function sparkFor(tile, key, unit) {
  let entry = sparks.get(key);
  if (entry) return entry;
  const holder = tile.querySelector(".spark");
  entry = { flips: [] };
  entry.plot = new uPlot({
    width: Math.max(120, holder.clientWidth || 140),
    height: 40,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: "#0b5cad", width: 1.5, spanGaps: false, value: (u, v) => fmt(v, unit) }],
    hooks: { draw: [drawFlips(entry)] },
  }, [[], []], holder);
  sparks.set(key, entry);
  return entry;
}

function paintTile(tile, key, fig, flips) {
  const value = tile.querySelector(".value");
  if (fig.current === null) {
    value.textContent = fig.idle;
    value.dataset.idle = "1";
  } else {
    value.textContent = fmt(fig.current, fig.unit);
    delete value.dataset.idle;
  }
  tile.title = `${fig.label}\n${fig.query}`;
  const entry = sparkFor(tile, key, fig.unit);
  entry.flips = flips;
  entry.plot.setData([fig.times, fig.values]);
}

async function refreshOverview() {
  for (const box of document.querySelectorAll(".overview")) {
    const source = box.dataset.source;
    const result = await call("GET", source);
    const tiles = box.querySelectorAll(".tile");
    if (!result.ok) {
      tiles.forEach((tile) => { tile.querySelector(".value").textContent = detail(result); });
      continue;
    }
    const flips = result.data.flips.map((f) => ({ t: timeOf(f.at), on: f.new }));
    tiles.forEach((tile) => {
      const fig = result.data.figures[tile.dataset.figure];
      if (fig) paintTile(tile, `${source}/${tile.dataset.figure}`, fig, flips);
    });
  }
}

// -- flips, alerts ------------------------------------------------------------------

async function refreshHistory() {
  const result = await call("GET", "/api/history");
  const body = document.querySelector("#history tbody");
  if (!result.ok) { body.innerHTML = ""; body.insertRow().insertCell().textContent = detail(result); return; }
  body.innerHTML = "";
  for (const f of result.data.flips.slice(0, 20)) {
    const row = body.insertRow();
    row.insertCell().textContent = new Date(f.at).toLocaleTimeString();
    row.insertCell().textContent = f.flag;
    const to = row.insertCell();
    to.textContent = f.new ? "on" : "off";
    to.className = f.new ? "optimised" : "naive";
    // token@address: a line may break before the "@", not inside a word.
    const [who, ...where] = f.actor.split("@");
    const by = row.insertCell();
    by.append(who);
    if (where.length) by.append(document.createElement("wbr"), "@" + where.join("@"));
  }
}

async function refreshAlerts() {
  const box = document.querySelector("#alerts");
  const result = await call("GET", "/api/alerts");
  box.innerHTML = "";
  if (!result.ok) { box.textContent = `alerts: ${detail(result)}`; return; }
  if (!result.data.alerts.length) {
    box.className = "panel alerts quiet";
    box.textContent = "No alert firing.";
    return;
  }
  box.className = "panel alerts firing";
  for (const a of result.data.alerts) {
    const line = document.createElement("div");
    line.className = "alert";
    const name = document.createElement("strong");
    name.textContent = `${a.name} (${a.severity}) `;
    line.append(name, document.createTextNode(a.summary + " "));
    if (a.runbook_url) {
      const link = document.createElement("a");
      link.href = a.runbook_url; link.textContent = "runbook"; link.target = "_blank";
      line.append(link);
    }
    box.append(line);
  }
}

// -- runs ---------------------------------------------------------------------------

let runTimer = null;

function paintRun(run) {
  const box = document.querySelector("#run-state");
  const cancel = document.querySelector("#run-cancel");
  box.innerHTML = "";
  if (!run) return;
  cancel.hidden = run.status !== "running";
  const head = document.createElement("p");
  head.className = `run-status ${run.status}`;
  head.textContent = `${run.kind} ${run.target} (${run.users} users, ${run.seconds} s): ${run.status}, ` +
    `${run.elapsed.toFixed(0)} of ~${run.planned.toFixed(0)} s`;
  const bar = document.createElement("progress");
  bar.max = 1; bar.value = run.progress;
  const tail = document.createElement("pre");
  tail.className = "tail";
  tail.textContent = run.tail.join("\n");
  box.append(head, bar, tail);
  if (run.report) {
    const link = document.createElement("a");
    link.href = run.report; link.className = "run-report"; link.textContent = "open the report";
    box.append(link);
  }
}

async function refreshRun() {
  const result = await call("GET", "/api/runs");
  if (!result.ok) return;
  const run = result.data.run;
  paintRun(run);
  clearTimeout(runTimer);
  runTimer = setTimeout(refreshRun, run && run.status === "running" ? 1000 : 5000);
}

async function startRun(event) {
  event.preventDefault();
  const form = event.target;
  const value = (name) => form.elements[name].value;
  const body = { kind: value("kind"), service: value("service"), target: value("target"),
    users: Number(value("users")), seconds: Number(value("seconds")), repeats: Number(value("repeats")) };
  const result = await call("POST", "/api/runs", body);
  if (!result.ok) {
    const box = document.querySelector("#run-state");
    box.innerHTML = "";
    const p = document.createElement("p");
    p.className = "error"; p.textContent = `not started: ${detail(result)}`;
    box.append(p);
    return;
  }
  paintRun(result.data.run);
  refreshRun();
}

async function cancelRun() {
  await call("DELETE", "/api/runs/current");
  refreshRun();
}

// -- wiring -------------------------------------------------------------------------

function every(seconds, fn) {
  const tick = () => fn().catch((e) => console.warn(e)).finally(() => setTimeout(tick, seconds * 1000));
  tick();
}

document.querySelectorAll(".flag-switch").forEach((input) => {
  input.addEventListener("change", () => flip(input));
});
const tokenForm = document.querySelector("#token-form");
if (tokenForm) {
  document.querySelector("#token").value = token;
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = document.querySelector("#token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    document.querySelector("#token-state").textContent = token ? "token set for this tab" : "no token: read-only";
    paintReadOnly();
  });
}
document.querySelector("#run-form").addEventListener("submit", startRun);
document.querySelector("#run-cancel").addEventListener("click", cancelRun);
paintReadOnly();
every(2, refreshFlags);
every(5, refreshFigures);
every(5, refreshOverview);
every(5, refreshHistory);
every(5, refreshAlerts);
refreshRun();
