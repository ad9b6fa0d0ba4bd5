// The supervisor desktop: live queue figures, every agent's presence, live calls.
// Everything from the server is shown as text only (see dom.js).

import { TicketError } from "./connection.js";
import { endDesk, explainLogin, restoreLogin, startDesk, statusShower } from "./desk.js";
import { clearAlerts, loadAlerts, receiveAlert, wireAlerts } from "./alerts.js";
import { $, el, emergencyClock, formatClock, formatSeconds, setText } from "./dom.js";
import {
  CALL_STATE_LABELS,
  CONSULT_STATE_LABELS,
  CONTROL_REASON_LABELS,
  DIAL_STATUS_LABELS,
  LEG_LABELS,
  FINAL_CALL_STATES,
  IVR_LABELS,
  PRESENCE_LABELS,
  ROLE_LABELS,
  callReason,
  label,
} from "./labels.js";
import { RecordingsView } from "./recordings.js";
import { floorControls, receiveFloorNotice, wireFloor } from "./floor.js";
import { clearWall, receiveWall, setWallClock } from "./wall.js";
import { clearSpy, receiveSpy, spyCallEnded, spyControls, wireSpy } from "./spy.js";

const PRESENCE_ORDER = ["available", "ringing", "talking", "wrap_up", "paused", "logged_out"];
const FINAL_CALL_KEPT_MS = 10000; // an ended call stays listed (greyed) this long
const SESSION_KEY = "hotline.supervisor.login";
const EMERGENCY_LINES = new Set(["110", "119", "120"]);

const state = {
  connection: null,
  queues: new Map(), // queue → queue_stats message (with receivedAt)
  agents: new Map(), // extension → presence message
  calls: new Map(), // call_id → record
  clock: { limit_s: 600, warn_before_s: 120 }, // the 10-minute clock (from the ticket)
};

const showStatus = statusShower(SESSION_KEY);
const recordings = new RecordingsView($("recording-list"), $("recording-message"), () => state.connection?.token);

function explain(exc) {
  if (exc instanceof TicketError && exc.code === "wrong_role") { // only agents have other desks
    return "该账号是坐席账号，请使用坐席工作台（/agent）";
  }
  return explainLogin(exc);
}

async function login(token) {
  const options = {
    token,
    roles: ["supervisor", "admin"],
    onMessage: receive,
    onStatus: showStatus,
    onUser: (user) => setText($("who"), `${user.name}（${label(ROLE_LABELS, user.role)}）`),
  };
  const connection = await startDesk(SESSION_KEY, options, { token }, explain);
  if (connection) {
    state.connection = connection;
    if (connection.ticket && connection.ticket.emergency_clock) state.clock = connection.ticket.emergency_clock;
    setWallClock(state.clock);
    loadAlerts(token);
  }
}

function logoutPage() {
  endDesk(state.connection, SESSION_KEY);
  state.connection = null;
  state.queues.clear();
  state.agents.clear();
  state.calls.clear();
  recordings.clear();
  clearAlerts();
  clearWall();
  clearSpy();
  renderAll();
}

function receive(message) {
  switch (message.type) {
    case "snapshot":
      state.agents.clear();
      for (const [ext, presence] of Object.entries(message.presence || {})) {
        state.agents.set(ext, presence);
      }
      state.calls.clear();
      for (const call of message.calls || []) state.calls.set(call.call_id, { ...call });
      state.queues.clear();
      for (const stats of message.queues || []) receiveQueueStats(stats);
      if (message.wall) receiveWall(message.wall);
      receiveSpy(message.spy || null);
      renderAll();
      break;
    case "wall":
      receiveWall(message);
      break;
    case "presence":
      state.agents.set(message.extension, message);
      renderAgents();
      break;
    case "queue_stats":
      receiveQueueStats(message);
      renderQueues();
      break;
    case "call_update":
      applyCallUpdate(message);
      break;
    case "alert":
      receiveAlert(message);
      break;
    case "floor_notice":
      receiveFloorNotice(message);
      break;
    case "spy_session":
      receiveSpy(message);
      break;
    default:
      break;
  }
}

function receiveQueueStats(stats) {
  if (stats && stats.queue) state.queues.set(stats.queue, { ...stats, receivedAt: Date.now() / 1000 });
}

// A call update names the caller as {number, name, masked} (the number masked as the backend
// decided) and the IVR choice as {choice, label}, where a snapshot's call record has
// caller_number, caller_name, masked and ivr_label.
function applyCallUpdate(update) {
  const known = state.calls.get(update.call_id) || { call_id: update.call_id };
  const caller = update.caller || null;
  const record = {
    ...known,
    state: update.state,
    agent_extension: update.agent_extension ?? known.agent_extension ?? null,
    caller_number: caller ? caller.number : known.caller_number,
    caller_name: caller ? caller.name : known.caller_name,
    masked: caller ? Boolean(caller.masked) : known.masked,
    queue: update.queue ?? known.queue ?? null,
    ivr_label: update.ivr?.label ?? known.ivr_label ?? null,
    reason: update.reason,
    at: update.at,
    recording_paused: Boolean(update.recording_paused),
    control: update.control || null,
  };
  state.calls.set(update.call_id, record);
  if (FINAL_CALL_STATES.has(update.state)) {
    spyCallEnded(update.call_id);
    setTimeout(() => {
      const now = state.calls.get(update.call_id);
      if (now && FINAL_CALL_STATES.has(now.state)) {
        state.calls.delete(update.call_id);
        renderCalls();
      }
    }, FINAL_CALL_KEPT_MS);
  }
  renderCalls();
}

// --- rendering ---------------------------------------------------------------------------

function renderAll() {
  renderQueues();
  renderAgents();
  renderCalls();
}

function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${(Number(share) * 100).toFixed(1)}%`;
}

function renderQueues() {
  const body = $("queues-body");
  body.replaceChildren();
  for (const name of [...state.queues.keys()].sort()) {
    const q = state.queues.get(name);
    const by = q.agents_by_state || {};
    const count = (key) => String(by[key] ?? 0);
    body.append(
      el(
        "tr",
        { dataset: { queue: name } },
        el("td", {}, name),
        el("td", { className: "num", dataset: { field: "waiting" } }, String(q.waiting ?? 0)),
        el("td", { className: "num", dataset: { field: "longest_wait" } }, formatSeconds(q.longest_wait_s)),
        el("td", { className: "num", dataset: { field: "available" } }, count("available")),
        el("td", { className: "num", dataset: { field: "ringing" } }, count("ringing")),
        el("td", { className: "num", dataset: { field: "talking" } }, count("talking")),
        el("td", { className: "num", dataset: { field: "wrap_up" } }, count("wrap_up")),
        el("td", { className: "num", dataset: { field: "paused" } }, count("paused")),
        el("td", { className: "num", dataset: { field: "answered" } }, String(q.answered_today ?? 0)),
        el("td", { className: "num", dataset: { field: "abandoned" } }, String(q.abandoned_today ?? 0)),
        el("td", { className: "num", dataset: { field: "service_level" } }, percent(q.service_level_15s)),
        el("td", { className: "muted" }, formatClock(q.receivedAt)),
      ),
    );
  }
  $("queues-table").hidden = state.queues.size === 0;
  $("queues-empty").hidden = state.queues.size !== 0;
}

function renderAgents() {
  const body = $("agents-body");
  body.replaceChildren();
  const now = Date.now() / 1000;
  const counts = {};
  for (const ext of [...state.agents.keys()].sort()) {
    const p = state.agents.get(ext);
    counts[p.state] = (counts[p.state] || 0) + 1;
    body.append(
      el(
        "tr",
        { dataset: { ext, state: p.state } },
        el("td", {}, ext),
        el("td", {}, p.name ?? ""),
        el("td", {}, label(PRESENCE_LABELS, p.state)),
        el("td", {}, p.reason ?? ""),
        el("td", { className: "since", dataset: { since: String(p.since ?? "") } }, p.since ? formatSeconds(now - p.since) : "—"),
        el("td", { className: "muted" }, p.call_id ?? ""),
        floorControls(ext, p),
      ),
    );
  }
  const summary = PRESENCE_ORDER.filter((s) => counts[s])
    .map((s) => `${PRESENCE_LABELS[s]} ${counts[s]}`)
    .join(" · ");
  setText($("agents-summary"), summary || "无");
  $("agents-table").hidden = state.agents.size === 0;
  $("agents-empty").hidden = state.agents.size !== 0;
}

function tickDurations() {
  const now = Date.now() / 1000;
  for (const cell of document.querySelectorAll("#agents-body td.since")) {
    const since = Number(cell.dataset.since);
    if (since) setText(cell, formatSeconds(now - since));
  }
  for (const cell of document.querySelectorAll("#calls-body td.clock-cell")) {
    const call = state.calls.get(cell.dataset.callId);
    if (call) renderClockCell(cell, call);
  }
}

// Hold, mute and the consult (with every trunk leg dialled) of a call, as one line of text.
function controlText(control) {
  if (!control) return "—";
  const parts = [];
  if (control.held) parts.push("保持中");
  if (control.muted) parts.push("静音");
  const c = control.consult;
  if (c) {
    let text = `转接 ${c.target} ${label(CONSULT_STATE_LABELS, c.state)}`;
    if (c.reason) text += `（${label(CONTROL_REASON_LABELS, c.reason)}）`;
    const legs = (c.attempts || []).map((a) => `${label(LEG_LABELS, a.leg, a.leg)} ${label(DIAL_STATUS_LABELS, a.status, a.status)}`);
    if (legs.length) text += `：${legs.join("，")}`;
    parts.push(text);
  }
  if (!control.agent_in_call) parts.push("坐席已离开");
  return parts.join("；") || "—";
}

function renderClockCell(cell, call) {
  const control = call.control;
  const limit = Number(state.clock.limit_s);
  let started = control ? control.emergency_started_at : null;
  const due = control ? control.transfer_due_at : null;
  if (due && (!started || due - limit < started)) started = due - limit;
  if (!started) {
    setText(cell, "—");
    cell.dataset.state = "";
    return;
  }
  const c = control.consult;
  const reached = c && EMERGENCY_LINES.has(c.target) ? c.answered_at : null;
  const clock = emergencyClock(started, reached, limit, Number(state.clock.warn_before_s), Date.now() / 1000);
  cell.dataset.state = clock.state;
  cell.className = `clock-cell clock ${clock.state === "warn" ? "warn" : clock.state === "late" ? "late" : ""}`;
  setText(cell, reached ? `${c.target} ${clock.text}` : clock.text);
}

function renderCalls() {
  const body = $("calls-body");
  body.replaceChildren();
  const calls = [...state.calls.values()].sort((a, b) => String(a.call_id).localeCompare(String(b.call_id)));
  for (const call of calls) {
    const agent = call.agent_extension
      ? `${call.agent_extension}${state.agents.get(call.agent_extension)?.name ? ` ${state.agents.get(call.agent_extension).name}` : ""}`
      : (call.ringing_extensions || []).length ? `振铃：${call.ringing_extensions.join("、")}` : "—";
    let stateText = label(CALL_STATE_LABELS, call.state);
    if (call.reason) stateText += `（${callReason(call.reason)}）`;
    const queue = call.queue ? call.queue + (call.ivr_label ? `（${label(IVR_LABELS, call.ivr_label)}）` : "") : "—";
    body.append(
      el(
        "tr",
        { className: FINAL_CALL_STATES.has(call.state) ? "final" : "", dataset: { callId: String(call.call_id), state: String(call.state ?? "") } },
        el("td", { className: "muted" }, call.call_id),
        el("td", {}, call.caller_number || "—", call.caller_number && call.masked ? el("span", { className: "muted" }, "（保密）") : null),
        el("td", {}, call.caller_name || "—"),
        el("td", {}, queue),
        el("td", {}, stateText, call.recording_paused ? el("span", { className: "badge warn" }, "录音暂停") : null),
        el("td", { className: "control" }, controlText(call.control)),
        clockCell(call),
        el("td", {}, agent),
        el("td", { className: "muted" }, formatClock(call.at ?? call.answered_at ?? call.queued_at)),
        el("td", {}, spyControls(call)),
      ),
    );
  }
  setText($("calls-count"), String(calls.filter((c) => !FINAL_CALL_STATES.has(c.state)).length));
  $("calls-table").hidden = calls.length === 0;
  $("calls-empty").hidden = calls.length !== 0;
}

function clockCell(call) {
  const cell = el("td", { className: "clock-cell", dataset: { callId: String(call.call_id) } });
  renderClockCell(cell, call);
  return cell;
}

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("login-token").value.trim());
  });
  $("logout-page").addEventListener("click", logoutPage);
  $("recording-form").addEventListener("submit", (event) => {
    event.preventDefault();
    recordings.show($("recording-call").value);
  });
  $("calls-body").addEventListener("click", (event) => { // a call's row: its recordings
    const row = event.target.closest("tr[data-call-id]");
    if (!row) return;
    $("recording-call").value = row.dataset.callId;
    recordings.show(row.dataset.callId);
  });
  setInterval(tickDurations, 1000);
  wireSpy(() => state.connection, renderCalls);
  wireAlerts(() => state.connection?.token);
  const notConnected = { ok: false, error: { code: "disconnected", message: "" } };
  wireFloor((name, args) => (state.connection ? state.connection.command(name, args) : notConnected),
    () => state.queues.keys());
  restoreLogin(SESSION_KEY, ({ token }) => {
    if (token) login(token);
  });
}

wire();
