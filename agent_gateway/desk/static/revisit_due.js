// 回访待办 on the agent page: the orders whose centre callback is due (the unit replied),
// the oldest reply first (GET /api/callbacks/due with the page's bearer token). A row shows
// the order's number, its matter, when the unit replied, the callback attempts so far and
// the caller's number (masked for a confidential caller); a click puts the order into the
// 回访 form. Everything from the server is shown as text only (see dom.js).

import { $, el, formatDateTime, setText } from "./dom.js";

const ERRORS = { unauthenticated: "令牌无效或已停用", role_forbidden: "无权查看回访待办" };

async function fetchDue(token) {
  let response;
  try {
    response = await fetch("/api/callbacks/due", { headers: { Authorization: `Bearer ${token}` } });
  } catch (exc) {
    throw new Error(`无法连接服务器：${exc}`);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new Error(ERRORS[error.code] || error.message || `HTTP ${response.status}`);
  }
  return data.items;
}

function row(item, pick) {
  const tr = el(
    "tr",
    { className: "due-row", dataset: { orderId: String(item.order_id) }, title: "点击填入回访工单" },
    el("td", {}, item.number),
    el("td", {}, item.matter),
    el("td", {}, formatDateTime(item.replied_at)),
    el("td", {}, `${item.attempts} 次`),
    el("td", {}, item.caller_number),
  );
  tr.addEventListener("click", () => pick(item, tr));
  return tr;
}

// `token()`: the page's bearer token (null before login). Returns `load`, to call again
// once a callback's result is stored or when the page comes online.
export function wireRevisitDue(token, refresh) {
  const body = $("revisit-due-body");
  const pick = (item, tr) => {
    $("revisit-order").value = String(item.order_id);
    for (const other of body.querySelectorAll("tr.selected")) other.classList.remove("selected");
    tr.classList.add("selected");
    refresh();
  };
  const load = async () => {
    const current = token();
    if (!current) return;
    try {
      const items = await fetchDue(current);
      body.replaceChildren(...items.map((item) => row(item, pick)));
      setText($("revisit-due-message"), items.length ? "" : "暂无待回访工单");
    } catch (exc) {
      setText($("revisit-due-message"), exc.message);
    }
  };
  $("btn-revisit-due").addEventListener("click", load);
  return load;
}
