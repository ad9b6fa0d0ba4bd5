// The supervisors' live wall (实时大屏): the `wall` message drawn at a glance, per queue
// (排队人数, 最长等待, N秒接通率 within its own goal today and in the last hour, 放弃,
// 坐席状态), per agent, the live calls, the emergency clocks, the wall's alerts and the trunk
// legs' health (trunks.js). Durations tick on in the page from the instants the message
// carries. Everything from the server is put in as text (dom.js).
//
// Rows are keyed (data-extension, data-linkedid) and kept across updates, so the hook cells
// other modules fill (the floor's agent controls, the listen buttons of a call) stay: their
// code registers with onAgentRow / onCallRow and is called with (cell, data, row) each time a
// row is drawn, to update what it put there. A call row also leaves the cells of what the
// wall does not carry (caller, control state, emergency clock) to a call row hook, and
// setExtraCalls adds the calls just ended (the wall drops a call once it is over).

import { $, el, emergencyClock, formatClock, formatSeconds, setText } from "./dom.js";
import { CALL_STATE_LABELS, PRESENCE_LABELS, label, pendingPauseText } from "./labels.js";
import { trunkRows } from "./trunks.js";

const STATES = ["available", "ringing", "talking", "wrap_up", "paused", "logged_out"];
const agentHooks = [];
const callHooks = [];
let extraCalls = () => [];
let wall = null;
let clock = { limit_s: 600, warn_before_s: 120 };

export function onAgentRow(fn) { agentHooks.push(fn); }
export function onCallRow(fn) { callHooks.push(fn); }
export function setExtraCalls(fn) { extraCalls = fn; }
export function wallQueues() { return wall ? wall.queues.map((q) => q.queue) : []; }

// Draw the call rows again (what a call row hook shows has changed).
export function redrawCalls() {
  if (wall) renderCalls();
}

export function setWallClock(emergencyClockLimits) {
  if (emergencyClockLimits) clock = emergencyClockLimits;
}

export function receiveWall(message) {
  if (!message || message.type !== "wall") return;
  wall = message;
  render();
}

export function clearWall() {
  wall = null;
  for (const id of ["wall-queues", "wall-alerts", "wall-emergencies", "wall-agents-body", "wall-calls-body", "wall-trunks-body"]) {
    $(id).replaceChildren();
  }
  $("wall-panel").hidden = true;
}

function percent(share) {
  return share === null || share === undefined ? "—" : `${(Number(share) * 100).toFixed(1)}%`;
}

function ticking(className, from, field) {
  // A duration counted on from `from` (epoch s) every second; "—" without one.
  return el("span", { className: `tick ${className || ""}`, dataset: { from: from ? String(from) : "", field } },
    from ? formatSeconds(Date.now() / 1000 - from) : "—");
}

function figure(caption, value, field, extra) {
  return el("div", { className: "wall-figure" },
    el("div", { className: "wall-caption" }, caption),
    el("div", { className: "wall-value", dataset: { field } }, value),
    extra ? el("div", { className: "wall-extra muted", dataset: { field: `${field}_detail` } }, extra) : null);
}

function queueTile(q) {
  const by = q.agents_by_state || {};
  const states = STATES.map((s) => el("span", { className: "wall-state", dataset: { state: s } },
    `${PRESENCE_LABELS[s]} `, el("b", { dataset: { field: `agents_${s}` } }, String(by[s] ?? 0))));
  const reasons = Object.entries(q.paused_by_reason || {}).map(([r, n]) => `${r || "未说明"} ${n}`).join("，");
  const waitCell = el("div", { className: "wall-value", dataset: { field: "longest_wait" } },
    q.oldest_queued_at ? ticking("", q.oldest_queued_at, "longest_wait_tick") : "0 秒");
  const long = q.waiting && q.longest_wait_s > 0 && (wall.alerts || []).some((a) => a.kind === "long_wait" && a.queue === q.queue);
  const t = q.today;
  const h = q.last_hour;
  const goal = `${Math.round(q.goal_s ?? wall.goal_s)}秒`;  // the queue's own answer goal
  return el("div", { className: `wall-queue${long ? " alerting" : ""}`, dataset: { queue: q.queue } },
    el("h3", {}, q.queue),
    el("div", { className: "wall-figures" },
      figure("排队人数", String(q.waiting), "waiting"),
      el("div", { className: "wall-figure" }, el("div", { className: "wall-caption" }, "最长等待"), waitCell),
      figure(`${goal}接通率（今日）`, percent(t.service_level), "service_level_today",
        `${t.answered_in_goal} / ${t.offered}`),
      figure(`${goal}接通率（近1小时）`, percent(h.service_level), "service_level_hour",
        `${h.answered_in_goal} / ${h.offered}`),
      figure("今日接通", String(t.answered), "answered_today", `${goal}内 ${t.answered_in_goal}`),
      figure("今日放弃", String(t.abandoned), "abandoned_today",
        `其中${formatSeconds(wall.short_abandon_s)}内放弃 ${t.abandoned_short}（不计入）`),
      figure("今日最长等待", formatSeconds(t.longest_wait_s), "longest_wait_today"),
      figure("今日满意率", percent(t.satisfaction_rate), "satisfaction_today",
        `满意及基本满意 ${t.satisfied} / 评价 ${t.surveyed}`),
    ),
    el("div", { className: "wall-states" }, el("span", { className: "wall-caption" }, "坐席状态："), ...states,
      reasons ? el("span", { className: "muted", dataset: { field: "paused_reasons" } }, `（示忙：${reasons}）`) : null),
  );
}

function keyedRows(body, items, key, make, fill) {
  // Keep a row per key (its hook cell untouched), drop the rows gone, keep the order given.
  const old = new Map([...body.children].map((row) => [row.dataset.key, row]));
  const rows = items.map((item) => {
    const k = key(item);
    let row = old.get(k);
    if (!row) row = make(item, k);
    fill(row, item);
    return row;
  });
  body.replaceChildren(...rows);
}

function agentRow(a, key) {
  const hook = el("td", { className: "wall-hook wall-agent-hook", dataset: { extension: a.extension } });
  const row = el("tr", { dataset: { key, extension: a.extension } },
    ...["extension", "name", "state", "since", "call", "call_duration", "calls_today", "average_talk", "average_wrap_up"]
      .map((field) => el("td", { className: ["calls_today", "average_talk", "average_wrap_up"].includes(field) ? "num" : "", dataset: { field } })),
    hook);
  return row;
}

function fillAgent(row, a) {
  const cell = (field) => row.querySelector(`td[data-field="${field}"]`);
  row.dataset.state = a.state;
  setText(cell("extension"), a.extension);
  setText(cell("name"), a.name);
  const pending = a.pending_pause ? `（${pendingPauseText(a.pending_pause)}）` : "";
  setText(cell("state"), label(PRESENCE_LABELS, a.state) + (a.reason ? `（${a.reason}）` : "") + pending);
  cell("since").replaceChildren(ticking("", a.since, "since_tick"));
  setText(cell("call"), a.call_id || "—");
  cell("call_duration").replaceChildren(a.call_answered_at ? ticking("", a.call_answered_at, "call_tick") : "—");
  setText(cell("calls_today"), String(a.calls_today));
  setText(cell("average_talk"), formatSeconds(a.average_talk_s));
  setText(cell("average_wrap_up"), formatSeconds(a.average_wrap_up_s));
  row.classList.toggle("alert", (wall.alerts || []).some((x) => x.kind === "long_pause" && x.extension === a.extension));
  for (const fn of agentHooks) fn(row.querySelector("td.wall-agent-hook"), a, row);
}

const CALL_FIELDS = ["call_id", "caller_number", "caller_name", "queue", "state", "agent_cell", "duration", "control", "clock"];

function callRow(c, key) {
  const hook = el("td", { className: "wall-hook wall-call-hook", dataset: { linkedid: c.call_id } });
  return el("tr", { dataset: { key, linkedid: c.call_id } },
    ...CALL_FIELDS.map((field) => el("td", { dataset: { field } })), hook);
}

function fillCall(row, c) {
  const cell = (field) => row.querySelector(`td[data-field="${field}"]`);
  row.dataset.state = c.state;
  setText(cell("call_id"), c.call_id);
  setText(cell("queue"), c.queue || "—");
  setText(cell("state"), label(CALL_STATE_LABELS, c.state));
  const agent = c.agent_extension ? wall.agents.find((a) => a.extension === c.agent_extension) : null;
  cell("agent_cell").replaceChildren(el("span", { dataset: { field: "agent" } }, c.agent_extension || "—"),
    agent && agent.name ? ` ${agent.name}` : "");
  const from = c.answered_at || c.queued_at;
  cell("duration").replaceChildren(from ? ticking("", from, c.answered_at ? "talk_tick" : "wait_tick") : "—");
  for (const fn of callHooks) fn(row.querySelector("td.wall-call-hook"), c, row);
}

function renderCalls() {
  const live = wall.calls || [];
  const known = new Set(live.map((c) => c.call_id));
  const calls = [...live, ...extraCalls().filter((c) => !known.has(c.call_id))];
  keyedRows($("wall-calls-body"), calls, (c) => c.call_id, callRow, fillCall);
  $("wall-calls-empty").hidden = calls.length !== 0;
}

function renderClock(node) {
  const started = Number(node.dataset.started);
  const due = Number(node.dataset.due);
  if (!started || !due) {
    setText(node, "—");
    return;
  }
  const c = emergencyClock(due - Number(clock.limit_s), null, Number(clock.limit_s), Number(clock.warn_before_s), Date.now() / 1000);
  node.className = `clock ${c.state === "warn" ? "warn" : c.state === "late" ? "late" : ""}`;
  setText(node, c.text);
}

function render() {
  $("wall-panel").hidden = false;
  setText($("wall-day"), wall.day);
  setText($("wall-updated"), `更新于 ${formatClock(wall.at)}`);
  setText($("wall-rule"), `接通率 = 队列目标时间内接通 ÷ 呼入（接通 + 等待 ${formatSeconds(wall.short_abandon_s)}及以上的放弃）；${formatSeconds(wall.short_abandon_s)}内放弃不计入。`);
  $("wall-queues").replaceChildren(...wall.queues.map(queueTile));
  $("wall-alerts").replaceChildren(...(wall.alerts || []).map((a) =>
    el("div", { className: `wall-alert ${a.kind}`, dataset: { key: a.key, kind: a.kind } },
      el("span", { className: "muted" }, formatClock(a.raised_at)), " ", a.message)));
  $("wall-emergencies").replaceChildren(...(wall.emergencies || []).map((e) => {
    const node = el("span", { className: "clock", dataset: { started: String(e.started_at), due: String(e.due_at) } });
    renderClock(node);
    return el("div", { className: "wall-emergency", dataset: { linkedid: e.call_id } },
      `紧急来电 ${e.call_id}${e.agent_extension ? `（坐席 ${e.agent_extension}）` : ""}：`, node);
  }));
  $("wall-emergencies-empty").hidden = (wall.emergencies || []).length !== 0;
  $("wall-trunks-body").replaceChildren(...trunkRows(wall.trunks));
  keyedRows($("wall-agents-body"), wall.agents, (a) => a.extension, agentRow, fillAgent);
  renderCalls();
}

function tick() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll("#wall-panel .tick")) {
    const from = Number(node.dataset.from);
    if (from) setText(node, formatSeconds(now - from));
  }
  for (const node of document.querySelectorAll("#wall-panel [data-due]")) {
    if (node.dataset.due) renderClock(node);
  }
}

setInterval(tick, 1000);
