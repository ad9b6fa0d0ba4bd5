// A live call's detail cells in its wall row (来电号码, 来电人, the queue's IVR choice, the end
// reason and 录音暂停, 通话控制, 紧急计时), from what live_calls.js keeps of the call. The
// wall draws the row; this fills the cells it leaves for these. Text only (dom.js).

import { el, emergencyClock, setText } from "./dom.js";
import {
  CALL_STATE_LABELS,
  CONSULT_STATE_LABELS,
  CONTROL_REASON_LABELS,
  DIAL_STATUS_LABELS,
  IVR_LABELS,
  LEG_LABELS,
  callReason,
  label,
} from "./labels.js";

const EMERGENCY_LINES = new Set(["110", "119", "120"]);
let limits = { limit_s: 600, warn_before_s: 120 }; // the 10-minute clock (from the ticket)

export function setClockLimits(emergencyClockLimits) {
  if (emergencyClockLimits) limits = emergencyClockLimits;
}

// Hold, mute and the consult (with every trunk leg dialled) of a call, as one line of text.
export function controlText(control) {
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

// The 10-minute clock of a call handed (or being handed) to 110/119/120, "—" without one.
export function renderClockCell(cell, record) {
  const control = record ? record.control : null;
  const limit = Number(limits.limit_s);
  let started = control ? control.emergency_started_at : null;
  const due = control ? control.transfer_due_at : null;
  if (due && (!started || due - limit < started)) started = due - limit;
  cell.className = "clock-cell";
  if (!started) {
    setText(cell, "—");
    cell.dataset.state = "";
    return;
  }
  const c = control.consult;
  const reached = c && EMERGENCY_LINES.has(c.target) ? c.answered_at : null;
  const clock = emergencyClock(started, reached, limit, Number(limits.warn_before_s), Date.now() / 1000);
  cell.dataset.state = clock.state;
  cell.className = `clock-cell clock ${clock.state === "warn" ? "warn" : clock.state === "late" ? "late" : ""}`;
  setText(cell, reached ? `${c.target} ${clock.text}` : clock.text);
}

// Fill the row's detail cells; `record` is null for a call the page has no update of yet.
export function fillCallCells(row, record) {
  const cell = (field) => row.querySelector(`td[data-field="${field}"]`);
  const r = record || {};
  cell("caller_number").replaceChildren(r.caller_number || "—",
    r.caller_number && r.masked ? el("span", { className: "muted" }, "（保密）") : "");
  setText(cell("caller_name"), r.caller_name || "—");
  if (r.queue && r.ivr_label) setText(cell("queue"), `${r.queue}（${label(IVR_LABELS, r.ivr_label)}）`);
  if (record) {
    const state = cell("state");
    state.replaceChildren(label(CALL_STATE_LABELS, r.state) + (r.reason ? `（${callReason(r.reason)}）` : ""),
      r.recording_paused ? el("span", { className: "badge warn" }, "录音暂停") : "");
  }
  const control = cell("control");
  control.className = "control";
  setText(control, controlText(r.control));
  const clock = cell("clock");
  clock.dataset.callId = String(row.dataset.linkedid);
  renderClockCell(clock, record);
}
