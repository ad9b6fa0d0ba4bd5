// The work order of the agent's call: the form filled from the screen pop's draft order and
// saved with save_order (the order's number and time limit shown under it).
// Caller data is shown as text only (see dom.js).

import { orderClock } from "./control.js";
import { $, el, setText } from "./dom.js";
import { ORDER_TYPE_LABELS, describeError } from "./labels.js";
import { outcomeGiven, resetOutcomeForm } from "./outcome.js";

const form = {
  callId: null, // the call the order form belongs to
  saving: false,
  draftChannel: null, // the draft order's channel (phone)
  runCommand: null, // (name, args) → its command_result; set by wireOrder
  refresh: () => {}, // re-renders the page's buttons; set by wireOrder
};

// The call the order form belongs to, or null.
export function orderCallId() {
  return form.callId;
}

// No pop shown: the form belongs to no call.
export function clearOrder() {
  form.callId = null;
}

// The save button: the order can be saved once its call was answered at this desk
// (`answeredHere`), and still after it ended, to finish writing it.
export function renderOrderSave(online, answeredHere) {
  $("order-save").disabled = !online || form.saving || !answeredHere;
}

export function fillOrderForm(pop) {
  if (form.callId === pop.call_id) return; // keep what the agent typed for this call
  const draft = pop.draft_order || {};
  form.callId = draft.call_id || pop.call_id;
  const type = $("order-type");
  type.value = ORDER_TYPE_LABELS[draft.order_type] ? draft.order_type : "consultation";
  $("order-urgency").value = draft.urgency || "normal";
  $("order-severity").value = draft.severity || "general";
  $("order-caller-name").value = String(draft.caller_name ?? pop.caller?.name ?? "").slice(0, 100);
  $("order-location").value = String(draft.location ?? "");
  $("order-text").value = String(draft.text ?? "");
  $("order-confidential").checked = Boolean(draft.confidential);
  $("order-stability-clue").checked = Boolean(draft.stability_clue);
  form.draftChannel = draft.channel || null;
  resetOutcomeForm();
  setText($("order-call"), `关联通话 ${form.callId}`);
  const result = $("order-result");
  result.className = "message";
  setText(result, "");
  form.refresh();
}

async function saveOrder(event) {
  event.preventDefault();
  if (!form.callId || form.saving) return;
  const order = {
    call_id: form.callId,
    order_type: $("order-type").value,
    text: $("order-text").value.trim(),
    caller_name: $("order-caller-name").value.trim(),
    location: $("order-location").value.trim(),
    confidential: $("order-confidential").checked,
    stability_clue: $("order-stability-clue").checked,
    urgency: $("order-urgency").value,
    severity: $("order-severity").value,
  };
  if (form.draftChannel) order.channel = form.draftChannel;
  const node = $("order-result");
  form.saving = true;
  form.refresh();
  node.className = "message";
  setText(node, "正在保存…");
  try {
    const result = await form.runCommand("save_order", { order });
    if (result && result.ok) {
      outcomeGiven(order.call_id, "order");
      const number = result.result && result.result.number ? result.result.number : "";
      const amended = result.result ? result.result.amended : undefined;
      const said = amended === undefined ? "工单已保存" : amended.length ? "工单已更新" : "工单无改动";
      node.className = "message success";
      node.replaceChildren(`${said}，编号 `, el("strong", { id: "order-number" }, number));
      // a provisional limit was counted over predicted holidays: 调休 may still move it
      const { due_date: due, due_date_note: note } = result.result || {};
      const limit = note ? `${due}（${note}）` : due;
      if (due) node.append("，办理时限 ", el("span", { id: "order-due" }, limit));
      // an emergency order handed to the line the agent reached: the hand-over follows
      const to = result.result ? result.result.transferred_to : undefined;
      if (to) node.append("，", el("span", { id: "order-transferred" }, `已转 ${to}，警单移交中`));
      orderClock(order.call_id, result.result ? result.result.transfer_due_at : undefined);
    } else if (result) {
      node.className = "message error";
      setText(node, `保存失败：${describeError(result.error)}`);
    }
  } finally {
    form.saving = false;
    form.refresh();
  }
}

// `runCommand(name, args)` sends a command and resolves to its command_result (or null when
// the page is not connected); `refresh()` re-renders the buttons.
export function wireOrder(runCommand, refresh) {
  form.runCommand = runCommand;
  form.refresh = refresh;
  $("order-form").addEventListener("submit", saveOrder);
}
