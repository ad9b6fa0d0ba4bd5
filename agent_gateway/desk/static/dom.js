// Putting text into the desktop pages: DOM helpers and the formatting of times and durations.
//
// Safety rule of these pages: everything that comes from the server (and so, possibly, from a
// caller) is put into the page as text, through el()/setText() (textContent, text nodes).
// Nothing here or in the pages uses innerHTML, outerHTML, insertAdjacentHTML or
// document.write; tests/browser checks that.

// el("td", {className: "x", dataset: {ext: "1001"}}, "text", childNode, ...): strings become
// text nodes; attributes are set as properties/attributes, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "title") node.title = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(node, value) {
  node.textContent = value === null || value === undefined ? "" : String(value);
}

export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} 分 ${s % 60} 秒`;
  return `${Math.floor(m / 60)} 时 ${m % 60} 分`;
}

// A short wait with a tenth of a second ("3.4 秒"), longer ones as formatSeconds.
export function formatWait(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  const s = Math.max(0, Number(seconds));
  return s < 60 ? `${s.toFixed(1)} 秒` : formatSeconds(s);
}

export function formatClock(epochSeconds) {
  if (!epochSeconds) return "—";
  return new Date(Number(epochSeconds) * 1000).toLocaleTimeString("zh-CN", { hour12: false });
}

export function formatDateTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString("zh-CN", { hour12: false });
}

// The 10-minute clock of an emergency hand-over, as text and a state ("running", "warn",
// "late", "reached"): from `started` (epoch s) to now, or to `reachedAt` once the operator
// of 110/119/120 answered.
export function emergencyClock(started, reachedAt, limitS, warnBeforeS, now) {
  const end = reachedAt || now;
  const elapsed = Math.max(0, end - started);
  const left = limitS - elapsed;
  if (reachedAt) return { state: "reached", text: `已接通，用时 ${formatSeconds(elapsed)}` };
  if (left <= 0) return { state: "late", text: `已超时 ${formatSeconds(-left)}（限时 ${formatSeconds(limitS)}）` };
  const warn = left <= warnBeforeS;
  const text = `已用 ${formatSeconds(elapsed)}，剩余 ${formatSeconds(left)}${warn ? "（即将超时）" : ""}`;
  return { state: warn ? "warn" : "running", text };
}
