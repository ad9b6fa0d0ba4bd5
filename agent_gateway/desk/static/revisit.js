// The centre's call back (回访) of an order from the agent page: 发起回访 rings the agent's own
// phone first, then the citizen (whose number the page never gets); 记录回访结果 stores the
// result as the order's callback step and hangs the call up if it is still on.

import { $, el, setText } from "./dom.js";

// The CRM's words (crm.domain.revisit.RevisitResult, crm.domain.enums.Satisfaction).
export const REVISIT_RESULT_LABELS = { reached: "已接通", no_answer: "无人接听", refused: "拒绝评价" };
export const SATISFACTION_LABELS = {
  satisfied: "满意",
  basically_satisfied: "基本满意",
  unsatisfied: "不满意",
};

const open = { orderId: null, callId: null }; // the callback placed from this page, if any

function fill(select, labels) {
  for (const [code, text] of Object.entries(labels)) select.append(el("option", { value: code }, text));
}

export function renderRevisit(online) {
  const placed = open.callId !== null;
  $("btn-revisit-call").disabled = !online || placed;
  $("btn-revisit-result").disabled = !online || !placed;
  $("revisit-satisfaction").disabled = !placed || $("revisit-result").value !== "reached";
  setText($("revisit-state"), placed ? `回访中（工单 ${open.orderId}）` : "—");
}

// `runCommand(name, args)` sends a command and resolves to its command_result; `stored()` is
// called once a result is on the order (the 回访待办 list changes).
export function wireRevisit(runCommand, refresh, stored = () => {}) {
  fill($("revisit-result"), REVISIT_RESULT_LABELS);
  fill($("revisit-satisfaction"), SATISFACTION_LABELS);
  $("revisit-result").addEventListener("change", refresh);
  $("btn-revisit-call").addEventListener("click", async () => {
    const orderId = Number.parseInt($("revisit-order").value, 10);
    if (!(orderId > 0)) return;
    const result = await runCommand("revisit_call", { order_id: orderId });
    if (result && result.ok) Object.assign(open, { orderId, callId: result.result.call_id });
    refresh();
  });
  $("btn-revisit-result").addEventListener("click", async () => {
    const args = { order_id: open.orderId, call_id: open.callId, result: $("revisit-result").value };
    if (args.result === "reached") args.satisfaction = $("revisit-satisfaction").value;
    const note = $("revisit-note").value.trim();
    if (note) args.note = note;
    const result = await runCommand("revisit_result", args);
    if (result && (result.ok || result.error?.code === "callback_done")) {
      Object.assign(open, { orderId: null, callId: null });
      $("revisit-note").value = "";
      stored();
    }
    refresh();
  });
}
