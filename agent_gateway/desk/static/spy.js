// The supervisor's listen / whisper / barge (监听 / 密语 / 强插 / 退出) on a live call: the
// supervisor's own phone rings and joins the call; the same buttons switch the mode (the
// phone is not rung again) and 退出 leaves. One session at a time; each step's status
// (进行中 / 已完成 / 失败（原因）) shows in #spy-step. The wall's call rows call spyControls()
// with their hook cell each time they are drawn; everything else stays here.

import { $, el, setText } from "./dom.js";

const MODES = [["listen", "监听"], ["whisper", "密语"], ["barge", "强插"]];
const MODE_WORDS = Object.fromEntries(MODES);

const spy = {
  connection: () => null, // the desk's connection, read when a button is pressed
  redraw: () => {}, // redraws the wall's call rows (the buttons follow the session)
  session: null, // {linkedid, mode} once joined
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
    after(result.result);
    step(`${what}：已完成`, "done");
  } else {
    const error = result.error || {};
    step(`${what}：失败（${error.message || error.code || "未知原因"}）`, "failed");
    if (["not_spying", "call_ended"].includes(error.code)) spy.session = null;
  }
  spy.redraw();
}

function start(linkedid, mode) {
  run(`${MODE_WORDS[mode]} ${linkedid}`, "spy_start", { linkedid, mode }, (r) => {
    spy.session = { linkedid, mode: r.mode };
  });
}

function switchMode(mode) {
  run(`切换为${MODE_WORDS[mode]}`, "spy_mode", { mode }, (r) => {
    spy.session = { ...spy.session, mode: r.mode };
  });
}

function leave() {
  run("退出监听", "spy_leave", {}, () => {
    spy.session = null;
  });
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

// The controls in one call row's cell: start on a talking call, or, on the call being spied
// on, switch mode and leave.
export function spyControls(cell, call) {
  const mine = spy.session && spy.session.linkedid === call.call_id;
  const talking = call.state === "talking";
  const box = el("span", { className: "spy", dataset: { spyCall: String(call.call_id) } });
  for (const [mode, text] of MODES) {
    const current = mine && spy.session.mode === mode;
    const enabled = !spy.busy && !current && (mine ? talking : talking && !spy.session);
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
    spy.session = null;
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
