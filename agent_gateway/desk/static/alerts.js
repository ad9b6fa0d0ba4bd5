// The supervisor page's alerts (the CRM's, pushed once each on the supervisors' topic as
// `alert` messages; the unacknowledged ones listed from GET /api/alerts when the page opens)
// and their acknowledgement (POST /api/alerts/{id}/ack). A centre alert (a trunk leg down or
// back) has no order: its order cell shows "—". Shown as text only (dom.js).

import { $, el, formatClock, formatSeconds, setText } from "./dom.js";
import { TRUNK_LINE_LABELS, describeError, label } from "./labels.js";

export const ALERT_KIND_LABELS = {
  transfer_warning: "即将超时",
  transfer_escalation: "移交超时",
  severity: "重大事件",
  stability_clue: "维稳线索",
  handover_rejected: "对方拒收",
  handover_undelivered: "移交失败",
  result_overdue: "结果逾期",
  inbound_matter: "110 移交",
  trunk_down: "中继中断",
  trunk_up: "中继恢复",
};

const alerts = new Map(); // alert_id → alert (the bus message's shape)

function epoch(value) {
  if (typeof value === "number") return value;
  const parsed = value ? Date.parse(value) : NaN;
  return Number.isNaN(parsed) ? null : parsed / 1000;
}

// An alert of the bus, or one of the API's list (`id`, ISO times), in the bus's shape.
export function receiveAlert(alert) {
  const id = alert.alert_id ?? alert.id;
  if (id === undefined || id === null || alerts.has(id)) return;
  alerts.set(id, {
    ...alert, alert_id: id, raised_at: epoch(alert.raised_at), due_at: epoch(alert.due_at),
    acknowledged: Boolean(alert.acknowledged_at),
  });
  renderAlerts();
}

export async function loadAlerts(token) {
  try {
    const response = await fetch("/api/alerts?unacknowledged=true", {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!response.ok) return;
    const body = await response.json();
    for (const alert of body.items || []) receiveAlert(alert);
  } catch (_exc) {
    // the list is a convenience: live alerts still arrive on the bus
  }
}

async function acknowledge(token, alert, button) {
  button.disabled = true;
  const response = await fetch(`/api/alerts/${encodeURIComponent(alert.alert_id)}/ack`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({}),
  });
  if (response.ok) {
    alert.acknowledged = true;
    setText($("alerts-message"), "");
  } else {
    const body = await response.json().catch(() => ({}));
    setText($("alerts-message"), `确认失败：${describeError(body.error)}`);
    button.disabled = false;
  }
  renderAlerts();
}

let tokenOf = () => null;

export function wireAlerts(token) {
  tokenOf = token;
  setInterval(renderAlerts, 1000);
}

export function clearAlerts() {
  alerts.clear();
  renderAlerts();
}

function dueText(alert, now) {
  if (!alert.due_at) return "—";
  const left = alert.due_at - now;
  return left >= 0 ? `剩余 ${formatSeconds(left)}` : `已超时 ${formatSeconds(-left)}`;
}

function renderAlerts() {
  const body = $("alerts-body");
  const now = Date.now() / 1000;
  const list = [...alerts.values()].sort((a, b) => (b.raised_at || 0) - (a.raised_at || 0));
  body.replaceChildren(...list.map((a) => {
    const ack = el("button", { type: "button", className: "ack" }, a.acknowledged ? "已确认" : "确认");
    ack.disabled = a.acknowledged;
    ack.addEventListener("click", () => acknowledge(tokenOf(), a, ack));
    return el(
      "tr",
      { className: a.acknowledged ? "final" : "alert", dataset: { alertId: String(a.alert_id), kind: String(a.kind) } },
      el("td", {}, label(ALERT_KIND_LABELS, a.kind)),
      el("td", {}, a.order_number || (a.order_id == null ? "—" : String(a.order_id))),
      el("td", {}, label(TRUNK_LINE_LABELS, a.line)),
      el("td", { className: "alert-message" }, a.message || ""),
      el("td", { className: "due" }, dueText(a, now)),
      el("td", { className: "muted" }, formatClock(a.raised_at)),
      el("td", {}, ack),
    );
  }));
  const open = list.filter((a) => !a.acknowledged).length;
  setText($("alerts-count"), String(open));
  $("alerts-count").classList.toggle("warn", open > 0);
  $("alerts-table").hidden = list.length === 0;
  $("alerts-empty").hidden = list.length !== 0;
}
