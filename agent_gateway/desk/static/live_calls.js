// What the supervisor page knows of each call beyond the wall's rows: the caller (number,
// masked as the backend decided, and name), the IVR choice, the call control state (hold,
// mute, consult, three-way), the end reason and the recording's pause, kept from the
// snapshot's call records and the `call_update` messages. An ended call stays known (and on
// the wall, greyed) FINAL_CALL_KEPT_MS so the supervisor sees how it ended.

import { FINAL_CALL_STATES } from "./labels.js";

const FINAL_CALL_KEPT_MS = 10000;
const calls = new Map(); // call_id → record
let changed = () => {};

export function onCallsChanged(fn) { changed = fn; }

export function callRecord(callId) { return calls.get(callId) || null; }

// The ended calls still shown, as wall call rows (the wall drops a call once it is over).
export function endedCalls() {
  return [...calls.values()].filter((c) => FINAL_CALL_STATES.has(c.state)).map((c) => ({
    call_id: c.call_id, queue: c.queue ?? null, state: c.state, agent_extension: c.agent_extension ?? null,
    queued_at: null, answered_at: null,
  }));
}

export function receiveSnapshotCalls(records) {
  calls.clear();
  for (const call of records || []) calls.set(call.call_id, { ...call });
}

export function clearCalls() { calls.clear(); }

// A call update names the caller as {number, name, masked} and the IVR choice as {choice,
// label}, where a snapshot's call record has caller_number, caller_name, masked and ivr_label.
export function applyCallUpdate(update) {
  const known = calls.get(update.call_id) || { call_id: update.call_id };
  const caller = update.caller || null;
  calls.set(update.call_id, {
    ...known,
    state: update.state,
    agent_extension: update.agent_extension ?? known.agent_extension ?? null,
    caller_number: caller ? caller.number : known.caller_number,
    caller_name: caller ? caller.name : known.caller_name,
    masked: caller ? Boolean(caller.masked) : known.masked,
    queue: update.queue ?? known.queue ?? null,
    ivr_label: update.ivr?.label ?? known.ivr_label ?? null,
    reason: update.reason,
    recording_paused: Boolean(update.recording_paused),
    control: update.control || null,
  });
  if (FINAL_CALL_STATES.has(update.state)) {
    setTimeout(() => {
      const now = calls.get(update.call_id);
      if (now && FINAL_CALL_STATES.has(now.state)) {
        calls.delete(update.call_id);
        changed();
      }
    }, FINAL_CALL_KEPT_MS);
  }
  changed();
}
