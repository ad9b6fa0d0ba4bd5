// The admin page's version list: each version with when, who and what it changed, and a
// 回滚 button per earlier version that asks for confirmation in its own row before the
// revert is sent. Text only (see dom.js).

import { $, el, formatDateTime, setText } from "./dom.js";

/** Draw `items` (the API's versions, newest first); `current` is the current version,
 *  `authors` user id → name, `onRevert(version)` runs a confirmed revert. */
export function drawVersions(items, current, authors, onRevert) {
  const body = $("versions-body");
  body.replaceChildren();
  for (const version of items) {
    const who = version.author_id === null ? "配置文件" : authors.get(version.author_id) || `用户 ${version.author_id}`;
    const actions = el("td", { "data-field": "actions" });
    if (version.version === current) {
      actions.append(el("span", { className: "badge" }, "当前版本"));
    } else {
      const button = el("button", { type: "button", "data-revert": version.version }, "回滚");
      button.addEventListener("click", () => confirmRevert(actions, version.version, onRevert));
      actions.append(button);
    }
    body.append(el("tr", { "data-version": version.version },
      el("td", { "data-field": "version" }, `第 ${version.version} 版`),
      el("td", { "data-field": "created_at" }, formatDateTime(version.created_at)),
      el("td", { "data-field": "author" }, who),
      el("td", { "data-field": "summary" }, version.summary),
      actions));
  }
}

function confirmRevert(cell, version, onRevert) {
  const yes = el("button", { type: "button", className: "danger", "data-confirm-revert": version }, "确认回滚");
  const no = el("button", { type: "button" }, "取消");
  const before = [...cell.childNodes];
  cell.replaceChildren(el("span", {}, `回滚到第 ${version} 版？将保存为新版本。`), yes, no);
  no.addEventListener("click", () => cell.replaceChildren(...before));
  yes.addEventListener("click", () => {
    yes.disabled = true;
    onRevert(version);
  });
}

export function clearVersions() {
  $("versions-body").replaceChildren();
  setText($("versions-message"), "");
}
