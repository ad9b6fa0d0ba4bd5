// The trunks' legs (110 / 119 / 120 and 外呼, the outbound trunk; primary and backup) as
// qualify (SIP OPTIONS) finds them: one row per line, each leg 正常 (reachable), 中断 (unreachable) or 未知 and since
// when. Drawn on the supervisors' wall (the `wall` message's `trunks`) and on the admin page
// (GET /api/trunks, `watchTrunks`). Text only (dom.js).

import { el, formatClock, setText } from "./dom.js";
import { TRUNK_LINE_LABELS, label } from "./labels.js";

export const TRUNK_STATE_LABELS = { reachable: "正常", unreachable: "中断", unknown: "未知" };
const LEGS = ["primary", "backup"];
const POLL_MS = 2000;

function legCell(leg) {
  if (!leg) return el("td", { className: "muted" }, "未配置");
  return el("td", { className: `trunk-leg ${leg.state}`, dataset: { leg: leg.leg, state: leg.state } },
    label(TRUNK_STATE_LABELS, leg.state),
    el("span", { className: "muted" }, leg.since ? `（自 ${formatClock(leg.since)}）` : ""));
}

// The rows of `legs` (each {line, leg, state, since}), a line's primary before its backup.
export function trunkRows(legs) {
  const lines = new Map();
  for (const leg of legs || []) {
    if (!lines.has(leg.line)) lines.set(leg.line, {});
    lines.get(leg.line)[leg.leg] = leg;
  }
  return [...lines].map(([line, byLeg]) =>
    el("tr", { dataset: { line } }, el("td", {}, label(TRUNK_LINE_LABELS, line)), ...LEGS.map((name) => legCell(byLeg[name]))));
}

// Every POLL_MS, GET /api/trunks with `token` into `body` (a tbody), what it says of the
// report into `note`; the function returned stops it.
export function watchTrunks(token, body, note) {
  async function poll() {
    try {
      const response = await fetch("/api/trunks", { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const snapshot = await response.json();
      body.replaceChildren(...trunkRows(snapshot.legs));
      setText(note, snapshot.reported_at ? `状态更新于 ${formatClock(snapshot.reported_at)}` : "呼叫处理进程尚未报告中继状态");
    } catch (exc) {
      setText(note, `中继状态加载失败：${exc.message}`);
    }
  }
  poll();
  const timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}
