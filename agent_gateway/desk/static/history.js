// The caller's earlier orders on the agent page, their open ones highlighted.
// Caller data is shown as text only (see dom.js).

import { $, el, formatDateTime, setText } from "./dom.js";
import { ORDER_STATUS_LABELS, ORDER_TYPE_LABELS, label } from "./labels.js";

const OPEN_STATUSES = new Set([
  "registered", "dispatched", "returned", "accepted", "contacted", "replied", "reopened",
  "transferred",
]);

function historyRow(item, open) {
  return el(
    "tr",
    { className: open ? "open" : "", dataset: { number: String(item.number ?? "") } },
    el("td", {}, item.number ?? ""),
    el("td", {}, formatDateTime(item.registered_at)),
    el("td", {}, label(ORDER_TYPE_LABELS, item.order_type)),
    el("td", {}, label(ORDER_STATUS_LABELS, item.status), open ? el("span", { className: "badge warn" }, "未办结") : null),
    el("td", { className: "excerpt" }, item.title ?? item.excerpt ?? ""),
  );
}

export function renderHistory(history, openOrders) {
  const body = $("history-body");
  body.replaceChildren();
  const openNumbers = new Set(openOrders.map((o) => o.number));
  for (const item of history) {
    body.append(historyRow(item, openNumbers.has(item.number) || OPEN_STATUSES.has(item.status)));
  }
  // Open orders that are not in the history list (the backend may send them apart).
  const listed = new Set(history.map((h) => h.number));
  for (const item of openOrders) {
    if (!listed.has(item.number)) body.append(historyRow(item, true));
  }
  const count = body.children.length;
  setText($("history-count"), String(count));
  const openCount = body.querySelectorAll("tr.open").length;
  $("open-count").hidden = openCount === 0;
  setText($("open-count"), `未办结 ${openCount} 件`);
  $("history-table").hidden = count === 0;
  $("history-empty").hidden = count !== 0;
}
