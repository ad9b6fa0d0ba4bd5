// The supervisor's listen / whisper / barge (监听 / 密语 / 强插 / 退出) on a live call: the
// supervisor's own phone rings and joins the call; the same buttons switch the mode (the
// phone is not rung again) and 退出 leaves, also while the phone still rings. One session at
// a time, drawn from the backend's word: the snapshot's `spy` and each `spy_session` message
// (so a reload or a late answer still shows 退出); each step's status (进行中 / 已完成 /
// 失败（原因）) shows in #spy-step. The wall's call rows call spyControls() with their hook
// cell each time they are drawn; everything else stays here.

import { $, el, setText } from "./dom.js";

const MODES = [["listen", "监听"], ["whisper", "密语"], ["barge", "强插"]];
const MODE_WORDS = Object.fromEntries(MODES);

const spy = {
  connection: () => null, // the desk's connection, read when a button is pressed
  redraw: () => {}, // redraws the wall's call rows (the buttons follow the session)
  session: null, // the live spy_session message (phase calling, ringing, joined, switching)
  busy: false,
};

function step(text, kind) {
  const node = $("spy-step");
  setText(node, text);
  node.dataset.step = kind;
  node.className = `message ${kind === "failed" ? "error" : ""}`;
}

async function run(what, name, args, after) {
  const connection = spy.connection();
  if (!connection || spy.busy) return;
  spy.busy = true;
  step(`${what}：进行中…`, "running");
  spy.redraw();
  const result = await connection.command(name, args);
  spy.busy = false;
  if (result.ok) {
    if (after) step(after, "done");
  } else {
    const error = result.error || {};
    step(`${what}：失败（${error.message || error.code || "未知原因"}）`, "failed");
  }
  spy.redraw();
}

function start(linkedid, mode) {
  run(`${MODE_WORDS[mode]} ${linkedid}`, "spy_start", { linkedid, mode }, null); // see receiveSpy
}

function switchMode(mode) {
  run(`切换为${MODE_WORDS[mode]}`, "spy_mode", { mode }, `切换为${MODE_WORDS[mode]}：已完成`);
}

function leave() {
  run("退出监听", "spy_leave", {}, "退出监听：已完成");
}

// A spy_session message (or the snapshot's `spy`): the session the controls are drawn from.
export function receiveSpy(message) {
  const live = message && message.phase !== "ended";
  if (!live) {
    if (message && spy.session && spy.session.uniqueid === message.uniqueid) {
      if (message.end_code === "left") step("退出监听：已完成", "done");
      else step(`监听已结束（${message.reason || message.end_code}）`,
        message.end_code === "spyee_gone" ? "done" : "failed");
    }
    spy.session = null;
  } else {
    const joinedNow = message.phase === "joined" && spy.session?.phase !== "joined";
    spy.session = message;
    const what = `${MODE_WORDS[message.mode]} ${message.linkedid}`;
    if (message.phase === "calling") step(`${what}：正在呼叫您的话机…`, "running");
    else if (message.phase === "ringing") step(`${what}：您的话机正在振铃，请接听`, "running");
    else if (joinedNow) step(`${what}：已完成`, "done");
  }
  spy.redraw();
}

function button(text, dataset, enabled, onClick) {
  const node = el("button", { type: "button", dataset }, text);
  node.disabled = !enabled;
  node.addEventListener("click", (event) => {
    event.stopPropagation(); // not the row's click (its recordings)
    onClick();
  });
  return node;
}

// The controls in one call row's cell: start on a talking call, or, on the call being
// spied on, switch mode and leave.
export function spyControls(cell, call) {
  const mine = spy.session && spy.session.linkedid === call.call_id;
  const talking = call.state === "talking";
  const box = el("span", { className: "spy", dataset: { spyCall: String(call.call_id) } });
  const joined = mine && spy.session.phase === "joined";
  for (const [mode, text] of MODES) {
    const current = mine && spy.session.mode === mode;
    const enabled = !spy.busy && !current && (mine ? talking && joined : talking && !spy.session);
    box.append(button(text, { spy: mode, current: current ? "yes" : "no" }, enabled,
      () => (mine ? switchMode(mode) : start(String(call.call_id), mode))));
  }
  if (mine) box.append(button("退出", { spy: "leave" }, !spy.busy, leave));
  const old = cell.querySelector(".spy");
  if (old) old.replaceWith(box);
  else cell.append(box);
}

// A call the supervisor spied on has ended: so has the session (the spy ends with the call).
export function spyCallEnded(callId) {
  if (spy.session && spy.session.linkedid === callId) {
    spy.session = null; // its spy_session (ended) follows
    step(`通话 ${callId} 已结束，监听随之结束`, "done");
  }
}

export function wireSpy(connection, redraw) {
  spy.connection = connection;
  spy.redraw = redraw;
}

export function clearSpy() {
  spy.session = null;
  spy.busy = false;
  setText($("spy-step"), "");
}
