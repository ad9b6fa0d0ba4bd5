// The gateway connection of a desktop: the ticket traded for the CRM token, the websocket
// session (hello/snapshot, resume after a disconnect), commands with their results, pings.

import { ROLE_LABELS } from "./labels.js";

export const PROTOCOL_VERSION = 1;

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
