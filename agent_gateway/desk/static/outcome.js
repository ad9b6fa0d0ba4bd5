// The outcome of the agent's call and the pause of its recording (the agent page's part).
// No answered call without an outcome: at wrap-up the page asks for a work order or one of
// the dispositions (the backend refuses 话后处理完成 until there is one); during the call a
// button pauses and resumes the recording (a caller reading out a bank card number).

import { $, el, setText } from "./dom.js";

// The dispositions the CRM offers (crm.domain.calls.OFFERED_DISPOSITIONS: not
// emergency_referred, an emergency needs its work order), in its order;
// tests/unit/desk/test_verbs.py keeps this table in step with it and with the protocol.
export const DISPOSITION_LABELS = {
  answered_at_once: "当场解答(知识库)",
  wrong_number: "打错电话",
  silent: "无声电话",
  nuisance: "骚扰电话",
  test: "测试电话",
  dropped: "通话中断",
};

const OUTCOME_TEXT = {
  order: "已登记工单",
  disposition: "已选择处理结果",
};

const given = new Map(); // call_id → "order" | "disposition", as this page saw it given

// The call the outcome is for: the one the agent talks on or wraps up.
function outcomeCallId(presence) {
  const busy = presence && (presence.state === "talking" || presence.state === "wrap_up");
  return busy ? presence.call_id : null;
}

export function outcomeGiven(callId, kind) {
  if (callId) given.set(callId, kind);
}

// `call`: the agent's call as the page knows it (call_update records), or null.
export function renderOutcome(online, presence, call) {
  const callId = outcomeCallId(presence);
  const kind = callId ? given.get(callId) : undefined;
  // A call passed on to another agent gets its outcome there (call_update's agent_extension
  // names who has the caller last): this page does not ask for it.
  const passedOn = Boolean(call && call.agent_extension && presence && call.agent_extension !== presence.extension);
  const wrapping = Boolean(presence && presence.state === "wrap_up" && !passedOn);
  $("outcome-prompt").hidden = !(wrapping && !kind);
  const panel = $("outcome-panel");
  panel.classList.toggle("asking", wrapping && !kind);
  setText($("outcome-state"), kind ? OUTCOME_TEXT[kind] : callId ? "尚无处理结果" : "—");
  $("outcome-state").dataset.outcome = kind || "";
  $("btn-dispose").disabled = !(online && callId);
  $("disposition").disabled = !callId;
  $("disposition-note").disabled = !callId;

  const talking = Boolean(presence && presence.state === "talking" && call);
  const paused = Boolean(talking && call.recording_paused);
  const button = $("btn-recording");
  button.disabled = !(online && talking);
  button.dataset.paused = String(paused);
  setText(button, paused ? "恢复录音" : "暂停录音");
  $("recording-paused").hidden = !paused;
}

// `runCommand(name, args)` sends a command and resolves to its command_result; `current()`
// is {presence, call} now; `refresh()` re-renders the buttons.
export function wireOutcome(runCommand, current, refresh) {
  const select = $("disposition");
  for (const [code, text] of Object.entries(DISPOSITION_LABELS)) {
    select.append(el("option", { value: code }, text));
  }
  $("btn-dispose").addEventListener("click", async () => {
    const callId = outcomeCallId(current().presence);
    if (!callId) return;
    const args = { call_id: callId, disposition: select.value };
    const note = $("disposition-note").value.trim();
    if (note) args.note = note;
    const result = await runCommand("dispose", args);
    if (result && result.ok) outcomeGiven(callId, "disposition");
    else if (result && result.error && result.error.code === "has_order") outcomeGiven(callId, "order");
    refresh();
  });
  $("btn-recording").addEventListener("click", async () => {
    const { call } = current();
    if (!call) return;
    const name = call.recording_paused ? "recording_resume" : "recording_pause";
    await runCommand(name, { call_id: call.call_id }); // the call_update that follows shows it
    refresh();
  });
}

// A new call: what the agent typed for the last one's disposition is not for this one.
export function resetOutcomeForm() {
  $("disposition").selectedIndex = 0;
  $("disposition-note").value = "";
}
