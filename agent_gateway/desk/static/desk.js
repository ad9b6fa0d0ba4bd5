// Shared by the agent and supervisor desktops: the gateway connection, labels, DOM helpers.
//
// Safety rule of these pages: everything that comes from the server (and so, possibly, from a
// caller) is put into the page as text, through el()/setText() (textContent, text nodes).
// Nothing here or in the pages uses innerHTML, outerHTML, insertAdjacentHTML or
// document.write; tests/browser checks that.

export const PROTOCOL_VERSION = 1;

export const PRESENCE_LABELS = {
  logged_out: "未签入",
  available: "空闲",
  ringing: "振铃",
  talking: "通话中",
  wrap_up: "话后处理",
  paused: "示忙",
};

// Call states: the tracker's (in_ivr … abandoned) and the protocol document's (answered, held).
export const CALL_STATE_LABELS = {
  in_ivr: "语音导航中",
  queued: "排队中",
  ringing: "振铃中",
  talking: "通话中",
  answered: "通话中",
  held: "保持中",
  transferred: "已转接",
  ended: "已结束",
  abandoned: "已放弃",
};
export const FINAL_CALL_STATES = new Set(["ended", "abandoned"]);

// Why a call ended (the call tracker's end_reason); anything else is shown as it comes.
export const CALL_REASON_LABELS = {
  "hung up by caller": "来电人挂机",
  "hung up by agent": "坐席挂机",
  "hung up by transfer": "已转接后挂机",
  "caller hung up in IVR": "来电人在语音导航中挂机",
  "caller hung up while waiting in queue": "来电人排队时挂机",
  "not found in Asterisk after re-sync": "交换机中已无此通话",
};

export function callReason(reason) {
  if (!reason) return "";
  const text = String(reason);
  if (Object.prototype.hasOwnProperty.call(CALL_REASON_LABELS, text)) return CALL_REASON_LABELS[text];
  if (text.startsWith("asterisk connection lost")) return "与交换机的连接中断";
  if (text.startsWith("transfer to ")) return `转接至 ${text.slice("transfer to ".length)}`;
  return text;
}

export const IVR_LABELS = {
  consult: "咨询",
  complaint: "投诉",
  help: "求助",
  operator: "人工服务",
};

export const ORDER_TYPE_LABELS = {
  consultation: "咨询",
  help: "求助",
  suggestion: "意见建议",
  complaint: "投诉",
  report: "举报",
  other: "其他",
  police: "治安（转110）",
  fire: "火警（转119）",
  medical: "医疗（转120）",
  disaster: "灾害",
};

export const ORDER_STATUS_LABELS = {
  registered: "已登记",
  dispatched: "已派单",
  returned: "已退回",
  accepted: "已签收",
  contacted: "已联系",
  replied: "已答复",
  reopened: "重办",
  closed: "已办结",
  not_accepted: "不予受理",
  answered: "直接答复",
  transferred: "已转办",
};

// Errors of command_result, from the gateway and from the backend.
export const ERROR_LABELS = {
  malformed_json: "消息格式错误",
  invalid_message: "消息内容错误",
  unknown_type: "未知消息类型",
  unknown_command: "未知操作",
  invalid_args: "参数有误",
  forbidden: "无权执行",
  rate_limited: "操作过于频繁",
  no_extension: "不是坐席分机",
  unknown_queue: "未服务该队列",
  logged_out: "尚未签入",
  not_in_wrap_up: "当前不在话后处理",
  outcome_required: "尚无处理结果",
  has_order: "已登记工单",
  invalid_note: "备注有误",
  not_paused: "录音未暂停",
  no_recording: "该通话没有录音",
  not_your_call: "不是本席接听的通话",
  no_call: "当前没有通话",
  invalid_order: "工单内容有误",
  asterisk_refused: "交换机拒绝执行",
  asterisk_unavailable: "交换机暂不可用",
  expired: "操作已过期，未执行",
  internal_error: "服务器内部错误，未执行",
  timeout: "等待结果超时",
  disconnected: "未连接到服务器",
};

export function label(map, value, fallback = "—") {
  if (value === null || value === undefined || value === "") return fallback;
  return Object.prototype.hasOwnProperty.call(map, value) ? map[value] : String(value);
}

export function describeError(error) {
  if (!error) return "未知错误";
  const code = String(error.code ?? "");
  const name = label(ERROR_LABELS, code, "错误");
  const message = error.message ? String(error.message) : "";
  return message ? `${name}（${code}：${message}）` : `${name}（${code}）`;
}

// --- DOM, text only ---------------------------------------------------------------------

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

// --- the gateway connection -------------------------------------------------------------

export const ROLE_LABELS = { agent: "坐席", supervisor: "班长", admin: "管理员" };

export const STATUS_LABELS = {
  idle: "未连接",
  ticket: "正在获取凭证…",
  connecting: "正在连接…",
  connected: "已连接",
  reconnecting: "连接中断，正在重连…",
  failed: "登录失败",
  closed: "已退出",
};

const COMMAND_TIMEOUT_MS = 15000;
const PING_EVERY_MS = 25000;

export class TicketError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Trade the CRM bearer token for a gateway ticket ({ticket, ws_url, expires_at, user}).
export async function fetchTicket(token, extension) {
  const body = extension ? { extension } : {};
  let response;
  try {
    response = await fetch("/api/desk/ticket", {
      method: "POST",
      headers: { "Authorization": `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (exc) {
    throw new TicketError(0, "network", `无法连接服务器：${exc}`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || !data || typeof data.ticket !== "string") {
    const error = (data && data.error) || {};
    const code = error.code || `http_${response.status}`;
    const reasons = {
      unauthenticated: "令牌无效或已停用",
      forbidden: "该用户没有坐席工作台权限",
      not_your_extension: "该分机不是您的席位，请输入本账号绑定的分机号",
      no_agent_binding: "该坐席账号尚未绑定分机，请联系管理员",
      unknown_extension: "本账号绑定的分机未配置，请联系管理员",
      invalid_body: "请求格式错误",
    };
    throw new TicketError(response.status, code, reasons[code] || error.message || `HTTP ${response.status}`);
  }
  return data;
}

// One desktop's websocket to the gateway: ticket, hello/snapshot, resume with last_seq after a
// disconnect (a ticket admits one handshake: a fresh one for every reconnect), commands with
// results.
export class DeskConnection {
  constructor({ token, extension = null, roles = null, onMessage, onStatus, onUser }) {
    this.token = token;
    this.extension = extension;
    this.roles = roles; // the roles this page is for (null: any)
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.onUser = onUser || (() => {});
    this.ticket = null;
    this.ws = null;
    this.lastSeq = null;
    this.stopped = false;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.timer = null;
    this.pinger = null;
    this.status = "idle";
  }

  // Resolves once the first ticket is in hand (the socket then opens on its own);
  // rejects with TicketError when the token or extension is refused.
  async start() {
    this._status("ticket");
    const ticket = await fetchTicket(this.token, this.extension);
    if (this.roles && !this.roles.includes(ticket.user.role)) {
      throw new TicketError(403, "wrong_role", `该账号（${ROLE_LABELS[ticket.user.role] || ticket.user.role}）不能使用本页面`);
    }
    this.ticket = ticket;
    this.onUser(ticket.user);
    this._open(false);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000, "logout");
    this._failPending({ code: "disconnected", message: "已退出" });
    this._status("closed");
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // Send a command; resolves with its command_result (ok or not), never rejects.
  command(name, args) {
    const id = `c-${this.nextId++}`;
    const message = { type: "command", id, name };
    if (args !== undefined) message.args = args;
    if (!this.connected) {
      return Promise.resolve({
        type: "command_result", id, ok: false, result: null,
        error: { code: "disconnected", message: "连接已断开，请稍后重试" },
      });
    }
    return new Promise((resolve) => {
      const timeout = setTimeout(() => {
        this.pending.delete(id);
        resolve({ type: "command_result", id, ok: false, result: null,
                  error: { code: "timeout", message: `${COMMAND_TIMEOUT_MS / 1000} 秒内未收到结果` } });
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, timeout });
      this.ws.send(JSON.stringify(message));
    });
  }

  _status(status, detail = "") {
    this.status = status;
    this.onStatus(status, detail);
  }

  _open(resuming) {
    const url = new URL(this.ticket.ws_url);
    url.searchParams.set("ticket", this.ticket.ticket);
    if (resuming && this.lastSeq !== null) url.searchParams.set("last_seq", String(this.lastSeq));
    this._status(resuming ? "reconnecting" : "connecting");
    const ws = new WebSocket(url.toString());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this._status("connected");
      clearInterval(this.pinger);
      this.pinger = setInterval(() => {
        if (this.connected) this.ws.send(JSON.stringify({ type: "ping" }));
      }, PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message.type !== "string") return;
      this._receive(message);
    };
    ws.onclose = (event) => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      this._failPending({ code: "disconnected", message: "连接已断开，结果未知" });
      if (this.stopped) return;
      this._reconnectLater(event.code);
    };
  }

  _receive(message) {
    if (message.type === "command_result" && this.pending.has(message.id)) {
      const { resolve, timeout } = this.pending.get(message.id);
      clearTimeout(timeout);
      this.pending.delete(message.id);
      try {
        this.onMessage(message);
      } finally {
        resolve(message);
      }
    } else {
      this.onMessage(message);
    }
    // The highest seq processed (a snapshot's counts): where a reconnect resumes from.
    if (typeof message.seq === "number" && (this.lastSeq === null || message.seq > this.lastSeq)) {
      this.lastSeq = message.seq;
    }
  }

  _failPending(error) {
    for (const [id, { resolve, timeout }] of this.pending) {
      clearTimeout(timeout);
      resolve({ type: "command_result", id, ok: false, result: null, error });
    }
    this.pending.clear();
  }

  _reconnectLater(code) {
    this.attempt += 1;
    let delay = Math.min(15000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    if (code === 4029) delay = Math.max(delay, 10000); // flood: back off
    delay += Math.floor(Math.random() * 250);
    this._status("reconnecting", `${Math.ceil(delay / 1000)} 秒后重连（第 ${this.attempt} 次）`);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._reconnect(), delay);
  }

  async _reconnect() {
    if (this.stopped) return;
    // A ticket admits one handshake, and a refused or revoked login (4401) shows here as the
    // ticket endpoint's 401/403.
    try {
      this._status("ticket");
      this.ticket = await fetchTicket(this.token, this.extension);
    } catch (exc) {
      if (exc instanceof TicketError && [401, 403, 409].includes(exc.status)) {
        this.stopped = true;
        this._status("failed", exc.message);
        return;
      }
      this._reconnectLater(0);
      return;
    }
    if (!this.stopped) this._open(true);
  }
}

// --- the login/desk switch and the connection status, the same on both pages ----------------

export function showDesk(visible) {
  $("login-form").hidden = visible;
  $("desk").hidden = !visible;
  $("logout-page").hidden = !visible;
}

/** The connection-status handler of a page whose saved login is kept under `sessionKey`. */
export function statusShower(sessionKey, afterEach = () => {}) {
  return (status, detail) => {
    const node = $("conn");
    node.dataset.status = status;
    setText(node, STATUS_LABELS[status] || status);
    setText($("conn-detail"), detail || "");
    if (status === "failed") {
      sessionStorage.removeItem(sessionKey);
      showDesk(false);
      setText($("login-error"), `登录已失效：${detail}`);
    }
    afterEach();
  };
}

/** Log in from the page's form: open the connection, keep `saved` for a reload, show the
 *  desk. Returns the connection, or null with the reason shown under the form. */
export async function startDesk(sessionKey, options, saved, explain = explainLogin) {
  setText($("login-error"), "");
  $("login-submit").disabled = true;
  const connection = new DeskConnection(options);
  try {
    await connection.start();
  } catch (exc) {
    setText($("login-error"), `登录失败：${explain(exc)}`);
    options.onStatus("idle", "");
    sessionStorage.removeItem(sessionKey);
    return null;
  } finally {
    $("login-submit").disabled = false;
  }
  sessionStorage.setItem(sessionKey, JSON.stringify(saved));
  showDesk(true);
  return connection;
}

export function explainLogin(exc) {
  return exc instanceof TicketError ? exc.message : String(exc);
}

/** Log out of the page: close the connection, forget the saved login, show the form. */
export function endDesk(connection, sessionKey) {
  if (connection) connection.stop();
  sessionStorage.removeItem(sessionKey);
  showDesk(false);
  setText($("who"), "");
}

/** After a reload: log in again with the login saved under `sessionKey`, if readable. */
export function restoreLogin(sessionKey, resume) {
  const saved = sessionStorage.getItem(sessionKey);
  if (!saved) return;
  try {
    resume(JSON.parse(saved));
  } catch {
    sessionStorage.removeItem(sessionKey);
  }
}
