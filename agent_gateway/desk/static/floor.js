// Managing agents from the floor (supervisor page only): per agent 强制暂停 / 恢复 / 签出 /
// 调整队列, each asking for a reason in a small form, sent as a supervisor command
// (docs/agent_protocol.md, "Supervisor commands"); the backend answers once Asterisk confirmed
// it, and the agent's desktop shows the notice. The wall's agent rows call floorControls()
// with their hook cell each time they are drawn; nothing else here touches those rows.

import { $, el, setText } from "./dom.js";
import { describeError } from "./labels.js";

// The desk's pause reasons (agent.html's 示忙原因; the protocol accepts only these).
export const PAUSE_REASONS = ["小休", "培训", "午餐", "会议"];
const MAX_REASON_CHARS = 200;
const TITLES = {
  force_pause: "强制暂停",
  force_unpause: "恢复接听",
  force_logout: "强制签出",
  move_queue: "调整队列",
};
// Each control applies to an agent (its wall row) in these states; on a call, a forced pause
// is pending until the call is done, and 恢复 cancels it.
const BUTTONS = [
  ["force_pause", "强制暂停", (a) => a.state !== "logged_out"],
  ["force_unpause", "恢复", (a) => a.state === "paused" || Boolean(a.pending_pause)],
  ["force_logout", "签出", (a) => a.state !== "logged_out"],
  ["move_queue", "调整队列", (a) => a.state !== "logged_out"],
];

const floor = { send: null, queues: () => [], form: null, pending: null };

// One agent row's controls, put in its cell once, enabled by the agent's state each time.
export function floorControls(cell, agent) {
  const ext = agent.extension;
  let box = cell.querySelector(".floor-controls");
  if (!box) {
    box = el("span", { className: "floor-controls" },
      ...BUTTONS.map(([action, text]) => el("button", { type: "button", dataset: { floorAction: action, ext } }, text)));
    cell.append(box);
  }
  for (const [action, , applies] of BUTTONS) {
    box.querySelector(`button[data-floor-action="${action}"]`).disabled = !applies(agent) || floor.send === null;
  }
}

// `send(name, args)` resolves with the command_result; `queues()` lists the queues known.
export function wireFloor(send, queues) {
  floor.send = send;
  floor.queues = queues;
  floor.form = buildForm();
  $("floor-box").append(floor.form, el("p", { id: "floor-message", className: "message", role: "status" }));
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-floor-action]");
    if (button && !button.disabled) openForm(button.dataset.floorAction, button.dataset.ext);
  });
}

// A floor_notice on the supervisor's own topic: what was done, as the agent reads it.
export function receiveFloorNotice(notice) {
  setText($("floor-message"), `已执行：${notice.text}`);
  $("floor-message").className = "message ok";
}

function buildForm() {
  const options = (values) => values.map((v) => el("option", { value: v }, v));
  const form = el(
    "form", { id: "floor-form", className: "panel floor-form", autocomplete: "off" },
    el("h3", { id: "floor-title" }),
    el("label", { className: "inline", dataset: { for: "force_pause" } }, "暂停原因 ",
      el("select", { id: "floor-pause-reason" }, ...options(PAUSE_REASONS))),
    el("label", { className: "inline", dataset: { for: "move_queue" } }, "方式 ",
      el("select", { id: "floor-move-kind" },
        el("option", { value: "move_queue" }, "移到其他队列"),
        el("option", { value: "assign_queue" }, "支援席即时接听"))),
    el("label", { className: "inline", dataset: { for: "move_queue", kind: "move_queue" } }, "原队列 ",
      el("select", { id: "floor-from-queue" })),
    el("label", { className: "inline", dataset: { for: "move_queue" } }, "目标队列 ",
      el("select", { id: "floor-to-queue" })),
    el("label", { className: "inline" }, "原因 ",
      el("input", { id: "floor-reason", type: "text", maxlength: String(MAX_REASON_CHARS), size: "32", required: "", placeholder: "必填：操作原因" })),
    el("button", { id: "floor-submit", type: "submit", className: "primary" }, "确定"),
    el("button", { id: "floor-cancel", type: "button" }, "取消"),
  );
  form.hidden = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  form.querySelector("#floor-cancel").addEventListener("click", () => { form.hidden = true; });
  form.querySelector("#floor-move-kind").addEventListener("change", showFields);
  return form;
}

function openForm(action, ext) {
  const form = floor.form;
  floor.pending = { action, ext };
  setText(form.querySelector("#floor-title"), `${TITLES[action]}：坐席 ${ext}`);
  const queues = [...floor.queues()].sort();
  for (const id of ["floor-from-queue", "floor-to-queue"]) {
    form.querySelector(`#${id}`).replaceChildren(...queues.map((q) => el("option", { value: q }, q)));
  }
  form.querySelector("#floor-reason").value = "";
  setText($("floor-message"), "");
  form.hidden = false;
  showFields();
  form.querySelector("#floor-reason").focus();
}

function showFields() {
  const form = floor.form;
  const action = floor.pending ? floor.pending.action : "";
  const kind = form.querySelector("#floor-move-kind").value;
  for (const field of form.querySelectorAll("label[data-for]")) {
    field.hidden = field.dataset.for !== action || (field.dataset.kind !== undefined && field.dataset.kind !== kind);
  }
}

// The command and its arguments from the form; null (with the reason shown) if incomplete.
function command() {
  const form = floor.form;
  const { action, ext } = floor.pending;
  const reason = form.querySelector("#floor-reason").value;
  if (!reason.trim()) return null;
  const args = { extension: ext, reason };
  if (action === "force_pause") return ["force_pause", { ...args, pause_reason: form.querySelector("#floor-pause-reason").value }];
  if (action !== "move_queue") return [action, args];
  const to = form.querySelector("#floor-to-queue").value;
  if (form.querySelector("#floor-move-kind").value === "assign_queue") return ["assign_queue", { ...args, queue: to }];
  return ["move_queue", { ...args, from_queue: form.querySelector("#floor-from-queue").value, to_queue: to }];
}

async function submit() {
  const message = $("floor-message");
  const built = command();
  if (!built) {
    setText(message, "请填写操作原因");
    message.className = "message error";
    return;
  }
  floor.form.hidden = true;
  setText(message, `${TITLES[floor.pending.action]}：执行中……`);
  message.className = "message";
  const result = await floor.send(...built);
  if (result.ok) {
    setText(message, `已执行：${result.result?.notice ?? ""}`);
    message.className = "message ok";
  } else {
    setText(message, `失败：${describeError(result.error)}`);
    message.className = "message error";
  }
}
