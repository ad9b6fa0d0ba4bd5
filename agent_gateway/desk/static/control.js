// The agent page's call control: hold, mute, warm transfer (一键转接 to 110/119/120, or a
// consult of an agent or colleague), three-party call, cancel, leave; each step's status
// (进行中 / 已完成 / 失败（原因）) and the 10-minute clock of an emergency hand-over.
//
// A control button is enabled only when the backend says the command applies to the call now
// (call_update.control.allowed, built from Asterisk's confirmed state): the page does not
// guess. Everything shown is text (dom.js).

import { $, el, emergencyClock, setText } from "./dom.js";
import {
  CONSULT_STATE_LABELS,
  CONTROL_REASON_LABELS,
  DIAL_STATUS_LABELS,
  LEG_LABELS,
  TARGET_KIND_LABELS,
  describeError,
  label,
} from "./labels.js";

export const CONTROL_LABELS = {
  hold: "保持",
  resume: "恢复通话",
  mute: "静音",
  unmute: "取消静音",
  consult: "转接",
  consult_complete: "完成转接",
  consult_cancel: "取消转接",
  three_way: "三方通话",
  leave: "退出三方通话",
};
const BUTTONS = {
  hold: "btn-hold",
  resume: "btn-resume",
  mute: "btn-mute",
  unmute: "btn-unmute",
  consult_complete: "btn-consult-complete",
  three_way: "btn-three-way",
  consult_cancel: "btn-consult-cancel",
  leave: "btn-leave",
};
const EMERGENCY_LINES = new Set(["110", "119", "120"]);

const view = {
  clock: { limit_s: 600, warn_before_s: 120 }, // from the ticket (the centre's settings)
  dueAt: new Map(), // call_id → the order's transfer_due_at (epoch s), from save_order
  call: null, // the call shown (a call record with its control)
  busy: false, // a control command is on its way
  consultSeen: "", // the consult step last shown
};

export function setDeskTargets(ticket, ownExtension) {
  if (ticket && ticket.emergency_clock) view.clock = ticket.emergency_clock;
  const select = $("consult-target");
  const options = (ticket && Array.isArray(ticket.targets) ? ticket.targets : [])
    .filter((t) => t && t.number !== ownExtension)
    .map((t) => el("option", { value: String(t.number) },
      `${t.number} ${t.name || ""}（${label(TARGET_KIND_LABELS, t.kind)}）`));
  select.replaceChildren(...options);
}

// An emergency order saved for the call: its clock runs to the order's transfer limit.
export function orderClock(callId, transferDueAt) {
  if (callId && typeof transferDueAt === "number") view.dueAt.set(callId, transferDueAt);
  renderClock();
}

function step(text, kind) {
  const node = $("control-step");
  node.className = `message ${kind === "failed" ? "error" : kind === "done" ? "success" : ""}`;
  node.dataset.step = kind;
  setText(node, text);
}

function reasonText(reason) {
  return label(CONTROL_REASON_LABELS, reason, "");
}

function attemptText(a) {
  const leg = label(LEG_LABELS, a.leg, a.leg);
  return `${a.line} ${leg}：${label(DIAL_STATUS_LABELS, a.status, a.status)}`;
}

// `call`: the page's record of the agent's call (or null); `mine`: answered at this desk.
export function renderControl(online, call, mine) {
  view.call = call;
  const control = call ? call.control || null : null; // shown; acted on only when `mine`
  const allowed = new Set(control && mine && !view.busy ? control.allowed || [] : []);
  for (const [name, id] of Object.entries(BUTTONS)) $(id).disabled = !(online && allowed.has(name));
  const consultOk = online && allowed.has("consult");
  $("btn-consult").disabled = !consultOk;
  for (const b of document.querySelectorAll(".quick-consult")) b.disabled = !consultOk;
  const badges = [];
  if (control && control.held) badges.push("保持中（来电人听等待音乐）");
  if (control && control.muted) badges.push("已静音");
  setText($("control-state"), badges.join("，") || (control ? "通话中" : "—"));
  renderConsult(control ? control.consult : null);
  renderClock();
}

function renderConsult(consult) {
  const status = $("consult-status");
  const list = $("consult-attempts");
  if (!consult) {
    setText(status, "无转接");
    status.dataset.state = "";
    list.replaceChildren();
    return;
  }
  let text = `${consult.target} ${label(CONSULT_STATE_LABELS, consult.state)}`;
  if (consult.reason) text += `（${reasonText(consult.reason)}）`;
  if (consult.mode === "three_way" && consult.state !== "three_way") text += " · 三方";
  setText(status, text);
  status.dataset.state = consult.state;
  status.classList.toggle("warn", consult.state === "failed" || consult.state === "cancelled");
  list.replaceChildren(...(consult.attempts || []).map((a) => el("li", {}, attemptText(a))));
  const seen = `${consult.started_at}:${consult.state}`;
  if (seen !== view.consultSeen) {
    view.consultSeen = seen;
    consultStep(consult);
  }
}

// The 10-minute clock: from the call's first consult to 110/119/120, or the emergency order's
// intake; it stops once the operator answered (the hand-over's time).
function renderClock() {
  const node = $("emergency-clock");
  const call = view.call;
  const control = call ? call.control : null;
  const limit = Number(view.clock.limit_s) || 600;
  let started = control && control.emergency_started_at ? control.emergency_started_at : null;
  const due = call ? view.dueAt.get(call.call_id) ?? control?.transfer_due_at ?? undefined : undefined;
  if (due !== undefined && (started === null || due - limit < started)) started = due - limit;
  if (!call || started === null) {
    node.hidden = true;
    return;
  }
  const consult = control ? control.consult : null;
  const reached = consult && EMERGENCY_LINES.has(consult.target) ? consult.answered_at : null;
  const clock = emergencyClock(started, reached, limit, Number(view.clock.warn_before_s), Date.now() / 1000);
  node.hidden = false;
  node.dataset.state = clock.state;
  node.classList.toggle("warn", clock.state === "warn");
  node.classList.toggle("late", clock.state === "late");
  const line = reached ? `${consult.target} ` : "";
  setText(node, `紧急转办计时：${line}${clock.text}`);
}

export function wireControl(send, after) {
  async function run(name, args) {
    const title = name === "consult" && args ? `${CONTROL_LABELS.consult} ${args.target}` : CONTROL_LABELS[name];
    step(`${title}：进行中…`, "running");
    view.busy = true;
    after();
    let result;
    try {
      result = await send(name, args);
    } finally {
      view.busy = false;
    }
    if (result && result.ok && name === "consult") {
      const consult = result.result && result.result.control ? result.result.control.consult : null;
      // A call update may have overtaken the answer (both trunks refused at once): the
      // consult's later step stays shown.
      const latest = view.call && view.call.control ? view.call.control.consult : null;
      const overtaken = latest && consult && latest.started_at === consult.started_at
        && ["failed", "answered", "completed"].includes(latest.state);
      if (overtaken) consultStep(latest);
      else if (consult && consult.state !== "answered") step(`${title}：已完成，正在呼叫对方`, "done");
    } else if (result && result.ok) {
      step(`${title}：已完成`, "done");
    } else if (result) {
      step(`${title}：失败（${describeError(result.error)}）`, "failed");
    }
    after();
  }
  for (const [name, id] of Object.entries(BUTTONS)) $(id).addEventListener("click", () => run(name));
  const mode = () => $("consult-mode").value;
  $("btn-consult").addEventListener("click", () => {
    const target = $("consult-target").value;
    if (target) run("consult", { target, mode: mode() });
  });
  for (const button of document.querySelectorAll(".quick-consult")) {
    button.addEventListener("click", () => run("consult", { target: button.dataset.target, mode: mode() }));
  }
  setInterval(renderClock, 1000);
}

// A consult's later steps, as the backend reports them (answered, failed), show as step status.
function consultStep(consult) {
  const what = `${CONTROL_LABELS.consult} ${consult.target}`;
  if (consult.state === "failed") step(`${what}：失败（${reasonText(consult.reason)}）`, "failed");
  if (consult.state === "answered") step(`${what}：对方已接通，可完成转接、三方通话或取消`, "done");
  if (consult.state === "completed") step(`${what}：已完成，来电人已与对方通话`, "done");
}
