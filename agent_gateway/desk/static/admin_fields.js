// The admin page's form fields, each bound to one place of the configuration document by
// its path ("queues.1.skill", the API's own field names), and the API's refusals shown
// next to the field they name. Text only (see dom.js).

import { el, setText } from "./dom.js";

function at(document, path) {
  return path.split(".").reduce((node, key) => (node === null || node === undefined ? undefined : node[key]), document);
}

function put(document, path, value) {
  const keys = path.split(".");
  const last = keys.pop();
  const parent = keys.reduce((node, key) => node[key], document);
  parent[last] = value;
}

const splitList = (text) => text.split(/[\s,，、]+/).filter(Boolean);

// kind → [the document's value shown as the input's text, the input's text into the value]
const KINDS = {
  text: [(v) => v ?? "", (t) => t],
  optional: [(v) => v ?? "", (t) => (t.trim() === "" ? null : t.trim())],
  int: [(v) => (v === null || v === undefined ? "" : String(v)), (t) => (t.trim() === "" ? null : Number(t))],
  list: [(v) => (v || []).join(", "), splitList],
  // per-skill penalties: "complaint=2 general=0"
  penalties: [
    (v) => Object.entries(v || {}).map(([skill, n]) => `${skill}=${n}`).join(" "),
    (t) => Object.fromEntries(splitList(t).map((pair) => {
      const [skill, n] = pair.split("=");
      return [skill, n === undefined || n === "" || Number.isNaN(Number(n)) ? n ?? null : Number(n)];
    })),
  ],
  // one day's working hours: "08:30-12:00, 13:30-17:30"
  ranges: [
    (v) => (v || []).map((r) => `${String(r.start).slice(0, 5)}-${String(r.end).slice(0, 5)}`).join(", "),
    (t) => splitList(t).map((range) => {
      const [start, end] = range.split("-");
      return { start, end: end ?? "" };
    }),
  ],
  // an aware time shown in the browser's time zone (datetime-local), sent as ISO (UTC)
  moment: [
    (v) => {
      if (!v) return "";
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) return "";
      const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
      return local.toISOString().slice(0, 16);
    },
    (t) => (t ? new Date(t).toISOString() : null),
  ],
};

/** A labelled input for `path` of `document`: every edit is written back into the document.
 *  `options`: a select's values → labels; `type`: the input's type (text, number, password,
 *  datetime-local, checkbox). */
export function field(document, path, label, { kind = "text", type = "text", options = null, size = null, placeholder = null } = {}) {
  let input;
  if (options) {
    input = el("select", { "data-path": path });
    for (const [value, text] of Object.entries(options)) input.append(el("option", { value }, text));
    input.value = at(document, path) ?? "";
    input.addEventListener("change", () => put(document, path, input.value));
  } else if (type === "checkbox") {
    input = el("input", { type, "data-path": path });
    input.checked = Boolean(at(document, path));
    input.addEventListener("change", () => put(document, path, input.checked));
  } else {
    const [show, read] = KINDS[kind];
    input = el("input", { type, "data-path": path, size, placeholder, autocomplete: "off" });
    input.value = show(at(document, path));
    input.addEventListener("input", () => put(document, path, read(input.value)));
  }
  return el("label", { className: "field" }, el("span", { className: "field-label" }, label), input,
    el("span", { className: "field-error", "data-error-for": path, role: "alert" }));
}

/** A place for the refusals of `path` that no field of it shows (a whole item, a section). */
export function errorSlot(path) {
  return el("p", { className: "field-error", "data-error-for": path, role: "alert" });
}

export function clearErrors(root) {
  for (const slot of root.querySelectorAll("[data-error-for]")) setText(slot, "");
  for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Each refusal ({field, message}) next to the field it names, or else next to the nearest
 *  enclosing path that has a place; the ones with none at all are returned. */
export function showErrors(root, errors) {
  const slots = new Map([...root.querySelectorAll("[data-error-for]")].map((s) => [s.dataset.errorFor, s]));
  const unplaced = [];
  for (const error of errors) {
    let path = String(error.field || "");
    while (path && !slots.has(path)) path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    const slot = slots.get(path);
    if (!slot) {
      unplaced.push(error);
      continue;
    }
    setText(slot, slot.textContent ? `${slot.textContent}；${error.message}` : error.message);
    const input = slot.parentElement && slot.parentElement.querySelector(`[data-path]`);
    if (input && slot.classList.contains("field-error") && input.dataset.path === path) input.setAttribute("aria-invalid", "true");
  }
  return unplaced;
}
