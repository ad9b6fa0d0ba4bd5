// The agent desktop: presence, screen pop and call control; the order form of the call is
// order.js's. Caller data is shown as text only (see dom.js).

import { PROTOCOL_VERSION } from "./connection.js";
import { endDesk, restoreLogin, startDesk, statusShower } from "./desk.js";
import { $, el, formatClock, formatSeconds, formatWait, setText } from "./dom.js";
import { renderHistory } from "./history.js";
import {
  CALL_STATE_LABELS,
  FINAL_CALL_STATES,
  IVR_LABELS,
  PRESENCE_LABELS,
  callReason,
  describeError,
  label,
  pendingPauseText,
} from "./labels.js";
import { CONTROL_LABELS, renderControl, setDeskTargets, wireControl } from "./control.js";
import { clearOrder, fillOrderForm, orderCallId, renderOrderSave, wireOrder } from "./order.js";
import { renderOutcome, wireOutcome } from "./outcome.js";
import { renderRevisit, wireRevisit } from "./revisit.js";
import { wireRevisitDue } from "./revisit_due.js";
import { RecordingsView } from "./recordings.js";

const CONNECTED_STATES = new Set(["talking", "answered", "held", "transferred"]);
const COMMAND_LABELS = {
  login: "签入",
  logout: "签出",
  pause: "示忙",
  unpause: "示闲",
  hangup: "挂断",
  transfer: "转接",
  wrapup_done: "话后处理完成",
  save_order: "保存工单",
  dispose: "提交处理结果",
  recording_pause: "暂停录音",
  recording_resume: "恢复录音",
  revisit_call: "发起回访",
  revisit_result: "记录回访结果",
  ...CONTROL_LABELS,
};
const SESSION_KEY = "hotline.agent.login";

const state = {
  connection: null,
  user: null,
  presence: null, // this agent's presence message
  calls: new Map(), // call_id → {call_id, state, ...} (snapshot records, updated by call_update)
  pop: null, // the screen pop shown (a screen_pop message, or one rebuilt from a snapshot)
};

// --- login -------------------------------------------------------------------------------

const showStatus = statusShower(SESSION_KEY, () => updateButtons());
const recordings = new RecordingsView($("recording-list"), $("recording-message"), () => state.connection?.token);
let loadDue = async () => {}; // 回访待办, once wired

async function login(token, extension) {
  const options = {
    token,
    extension,
    roles: ["agent"],
    onMessage: receive,
    onStatus: showStatus,
    onUser: (user) => {
      state.user = user;
      renderWho();
    },
  };
  const connection = await startDesk(SESSION_KEY, options, { token, extension });
  if (connection) {
    state.connection = connection;
    setDeskTargets(connection.ticket, extension);
    loadDue();
  }
}

function logoutPage() {
  endDesk(state.connection, SESSION_KEY);
  state.connection = null;
  state.user = null;
  state.presence = null;
  state.calls.clear();
  clearPop();
}

// --- messages ----------------------------------------------------------------------------

function receive(message) {
  switch (message.type) {
    case "hello":
      if (message.v !== PROTOCOL_VERSION) {
        showCommandMessage(`服务器协议版本 ${message.v} 与本页面（${PROTOCOL_VERSION}）不一致`, true);
      }
      break;
    case "snapshot":
      applySnapshot(message);
      break;
    case "presence":
      if (!state.user || message.extension === state.user.extension) {
        state.presence = message;
        renderPresence();
      }
      break;
    case "screen_pop":
      showPop(message);
      break;
    case "call_update":
      applyCallUpdate(message);
      break;
    case "command_result":
      // Results of this page's commands are handled where they were sent (runCommand).
      break;
    case "floor_notice": // a supervisor acted on this agent (paused, moved it …): say who and why
      showFloorNotice(message);
      break;
    case "error":
      showCommandMessage(`服务器拒绝了消息：${describeError(message)}`, true);
      break;
    default:
      break;
  }
}

function showFloorNotice(notice) {
  setText($("floor-notice"), `${formatClock(notice.at)} ${notice.text}`);
  $("floor-notice").hidden = false;
}

function applySnapshot(snapshot) {
  if (snapshot.floor_notice) showFloorNotice(snapshot.floor_notice); // kept across a reload
  const mine = state.user && snapshot.presence ? snapshot.presence[state.user.extension] : null;
  state.presence = mine || null;
  state.calls.clear();
  for (const call of snapshot.calls || []) {
    state.calls.set(call.call_id, { ...call });
  }
  // The pop's call is gone from the live calls: it ended while the desktop was away.
  if (state.pop && !state.calls.has(state.pop.call_id)) {
    state.calls.set(state.pop.call_id, { call_id: state.pop.call_id, state: "ended" });
  }
  // A live call the desktop has no pop for (a reload mid-call): show what the snapshot says.
  const shown = state.pop ? state.calls.get(state.pop.call_id) : null;
  if (!shown || FINAL_CALL_STATES.has(shown.state)) {
    const live = [...state.calls.values()].find((c) => !FINAL_CALL_STATES.has(c.state));
    if (live) showPop(popFromRecord(live));
  }
  renderPresence();
  renderCall();
}

function popFromRecord(call) {
  return {
    type: "screen_pop",
    call_id: call.call_id,
    caller: { number: call.caller_number || "", name: call.caller_name || null, masked: false },
    ivr: { choice: null, label: call.ivr_label || null },
    queue: call.queue || null,
    wait_s: call.queued_at && call.answered_at ? call.answered_at - call.queued_at : null,
    history: [],
    open_orders: [],
    draft_order: { call_id: call.call_id, caller_name: call.caller_name || "" },
    fromSnapshot: true,
  };
}

function applyCallUpdate(update) {
  const known = state.calls.get(update.call_id) || { call_id: update.call_id };
  state.calls.set(update.call_id, {
    ...known,
    state: update.state,
    agent_extension: update.agent_extension,
    reason: update.reason,
    at: update.at,
    recording_paused: Boolean(update.recording_paused),
    control: update.control || null,
  });
  renderCall();
  updateButtons();
}

// --- presence ----------------------------------------------------------------------------

// The header names the agent at this desk (extension and configured name, from the presence
// messages) first, and the CRM account logged in (the ticket's user) after it.
function renderWho() {
  const who = $("who");
  if (!state.user) {
    who.replaceChildren();
    return;
  }
  const name = state.presence && state.presence.name ? ` ${state.presence.name}` : "";
  who.replaceChildren(
    el("strong", { id: "who-agent" }, `坐席 ${state.user.extension}${name}`),
    el("span", { id: "who-user", className: "who-user" }, `登录账号：${state.user.name}`),
  );
}

function renderPresence() {
  renderWho();
  const presence = state.presence;
  const current = presence ? presence.state : "logged_out";
  const node = $("presence-state");
  node.dataset.state = current;
  setText(node, label(PRESENCE_LABELS, current));
  const reason = $("presence-reason");
  reason.hidden = !(presence && presence.reason);
  setText(reason, presence && presence.reason ? presence.reason : "");
  const pending = $("presence-pending"); // a pause given during the call: after it
  pending.hidden = !(presence && presence.pending_pause);
  setText(pending, presence && presence.pending_pause ? pendingPauseText(presence.pending_pause) : "");
  renderSince();
  updateButtons();
}

function renderSince() {
  const presence = state.presence;
  if (!presence || !presence.since) {
    setText($("presence-since"), "");
    return;
  }
  const lasted = Date.now() / 1000 - presence.since;
  setText($("presence-since"), `自 ${formatClock(presence.since)} 起，已 ${formatSeconds(lasted)}`);
}

function updateButtons() {
  const online = Boolean(state.connection && state.connection.connected);
  const current = state.presence ? state.presence.state : "logged_out";
  const enable = (id, on) => {
    $(id).disabled = !(online && on);
  };
  enable("btn-login", current === "logged_out");
  enable("btn-logout", current !== "logged_out" && current !== "talking" && current !== "ringing");
  const pending = Boolean(state.presence && state.presence.pending_pause);
  enable("btn-pause", current !== "logged_out");
  enable("btn-unpause", current === "paused" || pending);
  enable("btn-wrapup-done", current === "wrap_up");
  // Hang-up and transfer act on the call the agent talks on (the backend refuses them while
  // the phone only rings); the order can be saved once its call was answered at this desk,
  // and still after it ended, to finish writing it.
  // Which of them apply is the backend's call (`control.allowed`): no hang-up while a
  // consult is live, no blind transfer once the call is in the rooms (held, consulting).
  const talking = current === "talking";
  const onCall = state.presence && state.presence.call_id ? state.calls.get(state.presence.call_id) : null;
  const applies = (name) =>
    talking && (!onCall || !onCall.control || (onCall.control.allowed || []).includes(name));
  enable("btn-hangup", applies("hangup"));
  enable("btn-transfer", applies("transfer"));
  const shown = state.pop ? state.calls.get(state.pop.call_id) || null : null;
  const mine = Boolean(talking && shown && state.presence.call_id === shown.call_id);
  renderControl(online, shown, mine);
  const orderCall = orderCallId() ? state.calls.get(orderCallId()) : null;
  const answeredHere = Boolean(orderCall && state.user && orderCall.agent_extension === state.user.extension);
  renderOrderSave(online, answeredHere);
  const callId = state.presence ? state.presence.call_id : null;
  renderOutcome(online, state.presence, callId ? state.calls.get(callId) || null : null);
  renderRevisit(online);
}

// --- commands ----------------------------------------------------------------------------

function showCommandMessage(text, isError) {
  const node = $("command-message");
  node.className = `message ${isError ? "error" : "success"}`;
  setText(node, text);
}

async function runCommand(name, args) {
  if (!state.connection) return null;
  const title = COMMAND_LABELS[name] || name;
  showCommandMessage(`${title}：处理中…`, false);
  const result = await state.connection.command(name, args);
  if (result.ok) {
    showCommandMessage(`${title}：成功`, false);
  } else {
    showCommandMessage(`${title}失败：${describeError(result.error)}`, true);
  }
  return result;
}

function transfer(target) {
  const digits = String(target || "").trim();
  $("transfer-target").value = digits;
  return runCommand("transfer", { target: digits, mode: "blind" });
}

// --- screen pop and call ------------------------------------------------------------------

function clearPop() {
  recordings.clear();
  state.pop = null;
  clearOrder();
  $("pop").hidden = true;
  $("pop-empty").hidden = false;
  renderHistory([], []);
  renderCall();
}

function showPop(pop) {
  if (state.pop?.call_id !== pop.call_id) recordings.clear();
  state.pop = pop;
  if (!state.calls.has(pop.call_id)) {
    state.calls.set(pop.call_id, { call_id: pop.call_id, state: "ringing" });
  }
  const caller = pop.caller || {};
  setText($("pop-number"), caller.number || "未知号码");
  $("pop-masked").hidden = !caller.masked;
  $("pop-callback").hidden = !pop.callback;
  setText($("pop-name"), caller.name || "（未提供）");
  const ivr = pop.ivr || {};
  const ivrText = ivr.label ? label(IVR_LABELS, ivr.label) : "—";
  setText($("pop-ivr"), ivr.choice ? `${ivrText}（按键 ${ivr.choice}）` : ivrText);
  setText($("pop-queue"), pop.queue || "—");
  setText($("pop-wait"), formatWait(pop.wait_s));
  setText($("pop-call-id"), pop.call_id);
  $("pop").hidden = false;
  $("pop-empty").hidden = true;
  renderHistory(pop.history || [], pop.open_orders || []);
  fillOrderForm(pop);
  renderCall();
}

function renderCall() {
  const badge = $("call-state");
  const call = state.pop ? state.calls.get(state.pop.call_id) : null;
  if (!call) {
    setText(badge, "无通话");
    badge.dataset.state = "";
    return;
  }
  let text = label(CALL_STATE_LABELS, call.state);
  // Handed to another agent (a transfer completed): the call goes on there.
  const handedTo = call.agent_extension && state.user && call.agent_extension !== state.user.extension;
  if (handedTo && !FINAL_CALL_STATES.has(call.state)) text = `已转接给坐席 ${call.agent_extension}`;
  if (call.reason && (FINAL_CALL_STATES.has(call.state) || call.state === "transferred")) {
    text += `（${callReason(call.reason)}）`;
  }
  setText(badge, text);
  badge.dataset.state = call.state || "";
  badge.classList.toggle("warn", !CONNECTED_STATES.has(call.state));
}

// --- wiring ------------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("login-token").value.trim(), $("login-extension").value.trim());
  });
  $("logout-page").addEventListener("click", logoutPage);
  $("btn-login").addEventListener("click", () => runCommand("login"));
  $("btn-logout").addEventListener("click", () => runCommand("logout"));
  $("btn-pause").addEventListener("click", () => runCommand("pause", { reason: $("pause-reason").value }));
  $("btn-unpause").addEventListener("click", () => runCommand("unpause"));
  $("btn-wrapup-done").addEventListener("click", () => runCommand("wrapup_done"));
  $("btn-hangup").addEventListener("click", () => runCommand("hangup"));
  $("btn-transfer").addEventListener("click", () => transfer($("transfer-target").value));
  wireControl((name, args) => state.connection && state.connection.command(name, args), updateButtons);
  wireOrder(runCommand, updateButtons);
  const current = () => {
    const callId = state.presence ? state.presence.call_id : null;
    return { presence: state.presence, call: callId ? state.calls.get(callId) || null : null };
  };
  wireOutcome(runCommand, current, updateButtons);
  loadDue = wireRevisitDue(() => state.connection?.token, updateButtons);
  wireRevisit(runCommand, updateButtons, () => loadDue());
  $("btn-recordings").addEventListener("click", () => state.pop && recordings.show(state.pop.call_id));
  setInterval(renderSince, 1000);
  updateButtons();
  const params = new URLSearchParams(window.location.search);
  if (params.get("ext")) $("login-extension").value = params.get("ext");
  restoreLogin(SESSION_KEY, ({ token, extension }) => {
    if (token && extension) login(token, extension);
  });
}

wire();
