// The supervisor desktop: one page around the live wall (wall.js: per queue figures, agents,
// live calls, emergency clocks, the wall's alerts), with each agent's floor controls
// (floor.js) and each call's caller, control state and clock (call_cells.js, from
// live_calls.js) and listen buttons (spy.js) in the wall's own rows; the CRM's alerts
// (alerts.js) and a call's recordings (recordings.js) beside it. Everything from the server
// is shown as text only (see dom.js).

import { TicketError } from "./connection.js";
import { endDesk, explainLogin, restoreLogin, startDesk, statusShower } from "./desk.js";
import { clearAlerts, loadAlerts, receiveAlert, wireAlerts } from "./alerts.js";
import { $, setText } from "./dom.js";
import { FINAL_CALL_STATES, ROLE_LABELS, label } from "./labels.js";
import { RecordingsView } from "./recordings.js";
import { floorControls, receiveFloorNotice, wireFloor } from "./floor.js";
import { clearOverflow, receiveOverflow } from "./overflow.js";
import {
  clearWall, onAgentRow, onCallRow, receiveWall, redrawCalls, setExtraCalls, setWallClock, wallQueues,
} from "./wall.js";
import { clearSpy, receiveSpy, spyCallEnded, spyControls, wireSpy } from "./spy.js";
import {
  applyCallUpdate, callRecord, clearCalls, endedCalls, onCallsChanged, receiveSnapshotCalls,
} from "./live_calls.js";
import { fillCallCells, renderClockCell, setClockLimits } from "./call_cells.js";

const SESSION_KEY = "hotline.supervisor.login";

const state = { connection: null };

const showStatus = statusShower(SESSION_KEY);
const recordings = new RecordingsView($("recording-list"), $("recording-message"), () => state.connection?.token);

function explain(exc) {
  if (exc instanceof TicketError && exc.code === "wrong_role") { // only agents have other desks
    return "该账号是坐席账号，请使用坐席工作台（/agent）";
  }
  return explainLogin(exc);
}

async function login(token) {
  const options = {
    token,
    roles: ["supervisor", "admin"],
    onMessage: receive,
    onStatus: showStatus,
    onUser: (user) => {
      setText($("who"), `${user.name}（${label(ROLE_LABELS, user.role)}）`);
      $("admin-link").hidden = user.role !== "admin"; // only admins may open the admin page
    },
  };
  const connection = await startDesk(SESSION_KEY, options, { token }, explain);
  if (connection) {
    state.connection = connection;
    const clock = connection.ticket ? connection.ticket.emergency_clock : null;
    setWallClock(clock);
    setClockLimits(clock);
    loadAlerts(token);
  }
}

function logoutPage() {
  endDesk(state.connection, SESSION_KEY);
  state.connection = null;
  $("admin-link").hidden = true;
  clearCalls();
  recordings.clear();
  clearAlerts();
  clearWall();
  clearOverflow();
  clearSpy();
}

// The wall carries the figures, agents and calls; presence and queue_stats messages (the
// older per-change figures) are not shown: the wall has them, from the call records.
function receive(message) {
  switch (message.type) {
    case "snapshot":
      receiveSnapshotCalls(message.calls);
      if (message.wall) receiveWall(message.wall);
      receiveSpy(message.spy || null);
      break;
    case "wall":
      receiveWall(message);
      break;
    case "call_update":
      if (FINAL_CALL_STATES.has(message.state)) spyCallEnded(message.call_id);
      applyCallUpdate(message);
      break;
    case "alert":
      receiveAlert(message);
      break;
    case "floor_notice":
      receiveFloorNotice(message);
      break;
    case "overflow": // a queue's overflow seats switched in or out (overflow.js)
      receiveOverflow(message);
      break;
    case "spy_session":
      receiveSpy(message);
      break;
    default:
      break;
  }
}

// A wall call row: what the call updates know of it, then the listen buttons (on the
// call's own state: an update is sooner than the next wall).
function callHook(cell, call, row) {
  const record = callRecord(call.call_id);
  fillCallCells(row, record);
  row.classList.toggle("final", Boolean(record && FINAL_CALL_STATES.has(record.state)));
  spyControls(cell, record ? { ...call, state: record.state } : call);
}

function tickClocks() {
  for (const cell of document.querySelectorAll("#wall-calls-body td.clock-cell")) {
    const record = callRecord(cell.dataset.callId);
    if (record) renderClockCell(cell, record);
  }
}

function wire() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    login($("login-token").value.trim());
  });
  $("logout-page").addEventListener("click", logoutPage);
  $("recording-form").addEventListener("submit", (event) => {
    event.preventDefault();
    recordings.show($("recording-call").value);
  });
  $("wall-calls-body").addEventListener("click", (event) => { // a call's row: its recordings
    if (event.target.closest("button")) return;
    const row = event.target.closest("tr[data-linkedid]");
    if (!row) return;
    $("recording-call").value = row.dataset.linkedid;
    recordings.show(row.dataset.linkedid);
  });
  onAgentRow(floorControls);
  onCallRow(callHook);
  setExtraCalls(endedCalls);
  onCallsChanged(redrawCalls);
  setInterval(tickClocks, 1000);
  wireSpy(() => state.connection, redrawCalls);
  wireAlerts(() => state.connection?.token);
  const notConnected = { ok: false, error: { code: "disconnected", message: "" } };
  wireFloor((name, args) => (state.connection ? state.connection.command(name, args) : notConnected), wallQueues);
  restoreLogin(SESSION_KEY, ({ token }) => {
    if (token) login(token);
  });
}

wire();
