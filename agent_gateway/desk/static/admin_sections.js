// The sections of the admin page's configuration form: 坐席, 队列, 中继, 外呼中继, 溢出席位,
// 骚扰号码, 值班与工作时间, each drawn from the document (the API's, secrets as "******") with
// fields bound to it (admin_fields.js); adding or removing an item redraws its section.
// Inbound numbers are edited here too; colleagues and the IVR travel unchanged.

import { el } from "./dom.js";
import { errorSlot, field } from "./admin_fields.js";

const STRATEGIES = {
  rrmemory: "轮询（记忆）", ringall: "全部振铃", leastrecent: "最久未接", fewestcalls: "接听最少",
  random: "随机", linear: "顺序",
};
const WEEKDAYS = { mon: "周一", tue: "周二", wed: "周三", thu: "周四", fri: "周五", sat: "周六", sun: "周日" };

function removeButton(text, onClick) {
  const button = el("button", { type: "button", className: "danger" }, text);
  button.addEventListener("click", onClick);
  return button;
}

function item(path, title, children, onRemove) {
  return el("fieldset", { className: "config-item", "data-item": path },
    el("legend", {}, title), ...children, errorSlot(path),
    onRemove ? removeButton("删除", onRemove) : null);
}

function addButton(text, onClick) {
  const button = el("button", { type: "button", className: "add" }, text);
  button.addEventListener("click", onClick);
  return button;
}

function listSection(doc, name, redraw, draw, blank, addText) {
  const list = doc[name];
  const items = list.map((entry, i) => draw(entry, i, () => {
    list.splice(i, 1);
    redraw(name);
  }));
  return [...items, errorSlot(name), addButton(addText, () => {
    list.push(blank());
    redraw(name);
  })];
}

function agents(doc, redraw) {
  return listSection(doc, "agents", redraw, (agent, i, remove) => item(`agents.${i}`,
    `坐席 ${agent.extension || "（新）"} ${agent.name || ""}`, [
      field(doc, `agents.${i}.extension`, "分机", { size: 8 }),
      field(doc, `agents.${i}.name`, "姓名", { size: 10 }),
      field(doc, `agents.${i}.skills`, "技能（逗号分隔）", { kind: "list", size: 24 }),
      field(doc, `agents.${i}.penalties`, "技能优先级（技能=数值）", { kind: "penalties", size: 24, placeholder: "如 complaint=2" }),
      field(doc, `agents.${i}.contact`, "话机地址", { size: 28, placeholder: "sip:1003@127.0.0.1:5070" }),
      field(doc, `agents.${i}.sip_password`, "SIP 密码（留空自动生成）", { type: "password", size: 16 }),
      field(doc, `agents.${i}.crm_user_id`, "CRM 用户编号", { kind: "int", type: "number", size: 6 }),
    ], remove),
  () => ({ extension: "", name: "", skills: [], penalties: {}, contact: "", sip_password: "", crm_user_id: null }),
  "添加坐席");
}

function queues(doc, redraw) {
  return listSection(doc, "queues", redraw, (queue, i, remove) => item(`queues.${i}`,
    `队列 ${queue.name || "（新）"}`, [
      field(doc, `queues.${i}.name`, "队列名", { size: 12 }),
      field(doc, `queues.${i}.skill`, "技能", { size: 12 }),
      field(doc, `queues.${i}.strategy`, "振铃策略", { options: STRATEGIES }),
      field(doc, `queues.${i}.ring_timeout_s`, "振铃超时（秒）", { kind: "int", type: "number" }),
      field(doc, `queues.${i}.wrapup_s`, "话后处理（秒）", { kind: "int", type: "number" }),
      field(doc, `queues.${i}.service_level_s`, "服务水平目标（秒）", { kind: "int", type: "number" }),
      field(doc, `queues.${i}.max_wait_s`, "最长排队（秒）", { kind: "int", type: "number" }),
      field(doc, `queues.${i}.overflow_skill`, "溢出技能", { kind: "optional", size: 12 }),
      field(doc, `queues.${i}.overflow_after_s`, "溢出前等待（秒）", { kind: "int", type: "number" }),
      field(doc, `queues.${i}.announce_position`, "播报排队位置", { type: "checkbox" }),
    ], remove),
  () => ({ name: "", skill: "", strategy: "rrmemory", ring_timeout_s: 15, wrapup_s: 3, announce_position: true,
    max_wait_s: 3600, overflow_skill: null, overflow_after_s: 30, service_level_s: 15 }),
  "添加队列");
}

function trunks(doc, redraw) {
  const keyInput = el("input", { type: "text", size: 12, placeholder: "如 police", "data-new-trunk": "" });
  const parts = Object.keys(doc.trunks).map((key) => item(`trunks.${key}`, `中继 ${key}（${doc.trunks[key].number}）`, [
    field(doc, `trunks.${key}.number`, "号码", { size: 6 }),
    field(doc, `trunks.${key}.primary`, "主用 主机:端口", { size: 18 }),
    field(doc, `trunks.${key}.backup`, "备用 主机:端口", { kind: "optional", size: 18 }),
    field(doc, `trunks.${key}.dial_timeout_s`, "拨号超时（秒）", { kind: "int", type: "number" }),
    field(doc, `trunks.${key}.username`, "认证用户名", { kind: "optional", size: 12 }),
    field(doc, `trunks.${key}.password`, "认证密码", { kind: "optional", type: "password", size: 16 }),
  ], () => {
    delete doc.trunks[key];
    redraw("trunks");
  }));
  const add = addButton("添加中继", () => {
    const key = keyInput.value.trim();
    if (!key || key in doc.trunks) return;
    doc.trunks[key] = { number: "", primary: "", backup: null, dial_timeout_s: 10, transport: "udp", username: null, password: null };
    redraw("trunks");
  });
  return [...parts, errorSlot("trunks"), el("label", { className: "field" }, el("span", { className: "field-label" }, "新中继名"), keyInput), add];
}

// The outbound trunk (回访): none, or one with its legs; a backup is optional here.
function outbound(doc, redraw) {
  if (!doc.outbound) {
    return [el("p", { className: "muted" }, "未配置外呼中继：中心不能回访市民。"), errorSlot("outbound"),
      addButton("配置外呼中继", () => {
        doc.outbound = { primary: "", backup: null, dial_timeout_s: 10, qualify_s: 30, transport: "udp",
          username: null, password: null, caller_id: null };
        redraw("outbound");
      })];
  }
  return [item("outbound", "外呼中继（回访）", [
    field(doc, "outbound.primary", "主用 主机:端口", { size: 18 }),
    field(doc, "outbound.backup", "备用 主机:端口（可不配）", { kind: "optional", size: 18 }),
    field(doc, "outbound.dial_timeout_s", "拨号超时（秒）", { kind: "int", type: "number" }),
    field(doc, "outbound.qualify_s", "探测间隔（秒，0 为不探测）", { kind: "int", type: "number" }),
    field(doc, "outbound.caller_id", "主叫号码（留空：呼入号码）", { kind: "optional", size: 12 }),
    field(doc, "outbound.username", "认证用户名", { kind: "optional", size: 12 }),
    field(doc, "outbound.password", "认证密码", { kind: "optional", type: "password", size: 16 }),
  ], () => {
    doc.outbound = null;
    redraw("outbound");
  })];
}

function overflow(doc, redraw) {
  return listSection(doc, "overflow", redraw, (seats, i, remove) => item(`overflow.${i}`,
    `溢出席位 · 队列 ${seats.queue || "（新）"}`, [
      field(doc, `overflow.${i}.queue`, "队列", { size: 12 }),
      field(doc, `overflow.${i}.skill`, "席位技能", { kind: "optional", size: 12 }),
      field(doc, `overflow.${i}.extensions`, "席位分机（逗号分隔）", { kind: "list", size: 16 }),
      field(doc, `overflow.${i}.start_wait_s`, "启动：最长等待（秒）", { kind: "int", type: "number" }),
      field(doc, `overflow.${i}.start_waiting`, "启动：排队人数", { kind: "int", type: "number" }),
      field(doc, `overflow.${i}.stop_wait_s`, "停止：最长等待（秒）", { kind: "int", type: "number" }),
      field(doc, `overflow.${i}.stop_waiting`, "停止：排队人数", { kind: "int", type: "number" }),
    ], remove),
  () => ({ queue: "", skill: null, extensions: [], start_wait_s: 30, start_waiting: 3, stop_wait_s: 10, stop_waiting: 0 }),
  "添加溢出席位");
}

function nuisance(doc, redraw) {
  return listSection(doc, "nuisance", redraw, (entry, i, remove) => item(`nuisance.${i}`,
    `骚扰号码 ${entry.number || "（新）"}`, [
      field(doc, `nuisance.${i}.number`, "号码", { size: 14 }),
      field(doc, `nuisance.${i}.reason`, "原因", { size: 24 }),
      field(doc, `nuisance.${i}.until`, "截止时间（留空：长期）", { kind: "moment", type: "datetime-local" }),
    ], remove),
  () => ({ number: "", reason: "", until: null }),
  "添加骚扰号码");
}

function hours(doc) {
  const days = Object.entries(WEEKDAYS).map(([day, text]) => {
    if (!(day in doc.hours.weekly)) doc.hours.weekly[day] = [];
    return field(doc, `hours.weekly.${day}`, `${text}（如 08:30-12:00, 13:30-17:30）`, { kind: "ranges", size: 28 });
  });
  return [
    el("p", { className: "muted" }, "每天的工作时间段；全部留空表示全天候服务。工作时间以外由值班组接听。"),
    ...days, errorSlot("hours.weekly"),
    field(doc, "hours.duty_group.extensions", "值班组分机（逗号分隔）", { kind: "list", size: 24 }),
    field(doc, "hours.duty_group.user_ids", "值班组 CRM 用户编号（逗号分隔）", { kind: "list", size: 24 }),
    errorSlot("hours"),
  ];
}

function inbound(doc) {
  return [field(doc, "inbound_numbers", "呼入号码（逗号分隔）", { kind: "list", size: 24 }), errorSlot("colleagues"), errorSlot("ivr")];
}

export const SECTIONS = { inbound_numbers: inbound, agents, queues, trunks, outbound, overflow, nuisance, hours };

/** The document as the API takes it back: empty weekdays dropped (a day not named is outside
 *  the working hours either way), duty user ids as numbers, secrets left as sent. */
export function outgoing(doc) {
  const copy = structuredClone(doc);
  copy.hours.weekly = Object.fromEntries(Object.entries(copy.hours.weekly).filter(([, ranges]) => ranges.length));
  copy.hours.duty_group.user_ids = copy.hours.duty_group.user_ids.map((id) => (/^\d+$/.test(String(id)) ? Number(id) : id));
  return copy;
}
