"""The backend side of agent desktops: calls and queue events in, bus messages out.

Runs inside the telephony consumer (as its listeners), so it sees events in Asterisk's
order. It keeps each agent's presence (the one writer of it), publishes screen pops, call
updates, presence and queue figures on the bus, and mirrors live calls and presence into
Redis for the snapshot a (re)connecting desktop gets. The caller's summary (their earlier
orders, whether they asked for confidentiality: the CRM's, crm.domain.caller) is fetched as
soon as the call arrives, so the pop does not wait for the database when the phone rings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis

from agent_gateway.desk.control_view import ControlStates, agent_left, taker
from agent_gateway.desk.figures import QueueFigures
from agent_gateway.desk.outbox import WRAP_UPS_KEY, Outbox, OutboxWriter, reset_mirror
from agent_gateway.desk.presence import (
    AgentPresence,
    CallEnded,
    FoundWrappingUp,
    IllegalTransition,
    PresenceInput,
    TookOver,
    Unpaused,
    WrapUpDone,
    apply,
)
from agent_gateway.desk.rules import (
    WrapUp,
    audience,
    call_record,
    call_update,
    is_login,
    memberships,
    presence_input_for_member,
    presence_input_for_ring_no_answer,
    presence_inputs_for_call,
    presence_inputs_for_listing,
    screen_pop,
    stale_wrap_up_pauses,
    wrap_ups_from_records,
)
from agent_gateway.desk.summaries import CallerSummaries, SummaryLoader
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.protocol import SUPERVISORS, WRAP_UP_REASON, PresenceState, agent_topic
from agent_gateway.edge.store import text
from crm.domain.caller import CallerSummary
from telephony.actions import AmiActions, pause_member
from telephony.call import CONNECTED, FINAL, WAITING, Call, CallChanged, CallState
from telephony.call_control import ControlState
from telephony.dialplan import extension_of, interface_of
from telephony.events import AgentRinging, DomainEvent, QueueMemberChanged, QueueMembersListed
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

PauseLoader = Callable[[str], Coroutine[Any, Any, bool]]  # is the call's recording paused?


def _json(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


class DeskService:
    """Async context manager: entering resets the Redis mirror and starts the writer; leaving
    stops the writer, then the background work (AMI actions, wrap-up timers, summaries)."""

    def __init__(
        self,
        bus: Bus,
        redis: Redis,
        ami: AmiActions,
        tracker: CallTracker,
        agents: dict[str, str],
        queues: Iterable[str],
        load_summary: SummaryLoader,
        max_wrapup_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        load_recording_paused: PauseLoader | None = None,
        goals_s: Mapping[str, float] | None = None,  # queue → its answer goal (15 s if none)
    ) -> None:
        self.redis = redis
        self.ami = ami
        self.tracker = tracker
        self.queues = list(queues)
        self.load_recording_paused = load_recording_paused
        self.max_wrapup_s = max_wrapup_s
        self.clock = clock
        now = clock()
        self.presences = {
            ext: AgentPresence.logged_out(ext, name, now) for ext, name in agents.items()
        }
        self.members: dict[str, set[str]] = {ext: set() for ext in agents}
        self.wrap_ups: dict[str, WrapUp] = {}  # the wrap-ups we started, mirrored in Redis
        self.recording_paused: set[str] = set()  # live calls whose agent paused the recording
        self.control = ControlStates()  # hold, mute and consults of the controlled calls
        self.figures = QueueFigures(goals_s=goals_s or {})
        self.summaries = CallerSummaries(load_summary)
        self._background: set[asyncio.Task[None]] = set()
        self.writer = OutboxWriter(bus)

    async def __aenter__(self) -> DeskService:
        """Start from a clean mirror: live calls are re-announced by the tracker's re-sync.
        Every configured queue has its figures from the start (nobody in it yet), so that a
        supervisor's snapshot lists each queue even before the re-sync or its first call.
        The wrap-ups an earlier backend started are read back: the re-sync resumes them."""
        raw: dict[Any, Any] = await self.redis.hgetall(WRAP_UPS_KEY)
        found, bad = wrap_ups_from_records({text(k): v for k, v in raw.items()})
        self.wrap_ups = {ext: w for ext, w in found.items() if ext in self.presences}
        if bad:
            log.warning("unusable wrap-up records of %s dropped", ", ".join(sorted(bad)))
        await reset_mirror(
            self.redis,
            {q: self._queue_stats(q) for q in self.queues},
            {ext: _json(p.to_message()) for ext, p in self.presences.items()},
            dropped=[ext for ext in (*found, *bad) if ext not in self.wrap_ups],
        )
        await self.writer.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop writing (what is queued goes out first), then the background work."""
        await self.writer.__aexit__(*exc_info)
        for task in [*self._background, *self.summaries.tasks.values()]:
            task.cancel()
        for task in [*self._background, *self.summaries.tasks.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- telephony listeners: each event's writes go out in one round trip ------------------

    async def on_event(self, event: DomainEvent) -> None:
        """Queue-member events and unanswered rings: what Asterisk says about agents."""
        out = Outbox()
        if isinstance(event, QueueMemberChanged):
            await self._member_changed(out, event)
        elif isinstance(event, QueueMembersListed):
            await self._listed(out, event)
        elif (found := presence_input_for_ring_no_answer(event)) is not None:
            await self._apply(out, *found, at=event.at)
        self.writer.submit(out)

    async def on_call(self, effect: CallChanged) -> None:
        call = effect.call
        out = Outbox()
        if effect.previous is None and call.caller_number:
            self.summaries.prefetch(call.linkedid, call.caller_number)
        if effect.previous is None and call.state in CONNECTED:
            self._in_background(self._recall_recording_pause(call))
        confidential = self._summary(call).confidential
        self._mirror(out, call, confidential)
        if call.state is CallState.QUEUED and effect.previous in CONNECTED:
            self.control.forget(call.linkedid)  # back from call control's rooms: afresh
        if isinstance(effect.cause, AgentRinging) and call.state is CallState.RINGING:
            # The pop goes out first, on its own: the phone is ringing now.
            ext = self._extension(effect.cause.interface)
            await self._pop(out, call, ext, effect.cause.at)
            self.writer.submit(out)  # on its way to this process's desktops already
            await asyncio.sleep(0)  # let their connections send it before the consumer goes on
            out = Outbox()
        self._publish_update(out, call, confidential)
        for ext, presence_input in presence_inputs_for_call(effect, self.presences.values()):
            await self._apply(
                out, ext, presence_input, at=effect.cause.at if effect.cause else None
            )
        if call.queue and (call.state in FINAL or call.state is CallState.TALKING):
            self.figures.record(call, self.clock())
        if call.queue and (call.state in FINAL or effect.previous in (None, *WAITING)):
            self._stats(out, call.queue)
        self.writer.submit(out)

    def recording_changed(self, call: Call, paused: bool) -> None:
        """The agent paused (or resumed) the call's recording: its desktops are told."""
        if paused:
            self.recording_paused.add(call.linkedid)
        else:
            self.recording_paused.discard(call.linkedid)
        self.writer.submit(self._republished(call))

    async def on_control(self, state: ControlState, call: Call) -> None:
        """The call's control changed (hold, mute, a consult's step): its desktops are told.
        An agent whose part is over (its leg left, the call handed on) wraps up although the
        call goes on; the agent it was handed to has it as if it had answered it."""
        before = self.control.changed(state)
        out = Outbox()
        if (to := taker(before, state)) is not None:
            call = self.tracker.handed_to(call.linkedid, interface_of(to)) or call
            await self._pop(out, call, to, state.changed_at)
            await self._apply(out, to, TookOver(call.linkedid), at=None)
        self._republished(call, out)
        if (ext := agent_left(before, state)) is not None:
            await self._apply(out, ext, CallEnded(call.linkedid), at=None)
        self.writer.submit(out)

    def order_saved(self, linkedid: str, transfer_due_at: float | None) -> None:
        """An emergency order of the live call was saved at the desk: its clock is shown."""
        call = self.tracker.get(linkedid)
        if transfer_due_at is not None and call is not None and call.active:
            self.control.transfer_due[linkedid] = transfer_due_at
            self.writer.submit(self._republished(call))

    def _republished(self, call: Call, out: Outbox | None = None) -> Outbox:
        call = self.tracker.get(call.linkedid) or call  # as it is now
        out = Outbox() if out is None else out
        confidential = self._summary(call).confidential
        self._mirror(out, call, confidential)
        self._publish_update(out, call, confidential)
        return out

    async def _recall_recording_pause(self, call: Call) -> None:
        """A call the re-sync found talking (the backend restarted): Asterisk keeps its
        recording muted, so the desktops are told if the CRM says the agent paused it."""
        if self.load_recording_paused is None:
            return
        try:
            paused = await self.load_recording_paused(call.linkedid)
        except Exception:
            log.exception("call %s: whether its recording is paused is not known", call.linkedid)
            return
        now = self.tracker.get(call.linkedid)
        if paused and now is not None and now.active:
            self.recording_changed(now, True)

    async def apply_command_input(self, extension: str, presence_input: PresenceInput) -> None:
        """A presence change the agent asked for (wrap-up done); raises IllegalTransition."""
        presence = self.presences[extension]
        out = Outbox()
        new = apply(presence, presence_input, self.clock())
        await self._store(out, new, presence.state, presence_input)
        self.writer.submit(out)

    # --- what desktops see -----------------------------------------------------------------

    def _publish_update(self, out: Outbox, call: Call, confidential: bool) -> None:
        paused = call.linkedid in self.recording_paused
        control = self.control.info(call)
        update = _json(call_update(call, self.clock(), confidential, paused, control))
        for ext in sorted(audience(call, self.presences.values())):
            out.publish(agent_topic(ext), update)
        out.publish(SUPERVISORS, update)

    def _stats(self, out: Outbox, queue: str) -> None:
        stats = self._queue_stats(queue)
        out.write_queue_stats(queue, stats)
        out.publish(SUPERVISORS, stats)

    def _queue_stats(self, queue: str) -> dict[str, Any]:
        members = [ext for ext, queues in self.members.items() if queue in queues]
        by_state: dict[str, int] = {}
        for ext in members:
            state = self.presences[ext].state.value
            by_state[state] = by_state.get(state, 0) + 1
        figures = self.figures.snapshot(queue, self.tracker.calls.values(), by_state, self.clock())
        return {"type": "queue_stats", **figures}

    async def _pop(self, out: Outbox, call: Call, ext: str | None, at: float) -> None:
        if ext is None:
            return
        await self.summaries.wait(call.linkedid)
        pop = screen_pop(call, ext, at, self._summary(call))
        out.publish(agent_topic(ext), _json(pop))

    def _summary(self, call: Call) -> CallerSummary:
        return self.summaries.of(call.linkedid)

    def _mirror(self, out: Outbox, call: Call, confidential: bool) -> None:
        if call.active:
            paused = call.linkedid in self.recording_paused
            control = self.control.info(call)
            out.write_call(call.linkedid, call_record(call, confidential, paused, control))
            return
        out.remove_call(call.linkedid)
        self.recording_paused.discard(call.linkedid)
        self.control.forget(call.linkedid)
        self.summaries.drop(call.linkedid)

    # --- presence --------------------------------------------------------------------------

    def _extension(self, interface: str) -> str | None:
        ext = extension_of(interface)
        return ext if ext in self.presences else None

    async def _listed(self, out: Outbox, event: QueueMembersListed) -> None:
        """After a (re)connect, every agent's presence comes from Asterisk's member list; our
        own wrap-up pauses are resumed to their recorded deadline, or lifted if it is unknown
        or over."""
        self.members = memberships(event, self.presences)
        for ext in stale_wrap_up_pauses(event, self.wrap_ups, self.presences):
            log.info("agent %s: wrap-up pause with no running wrap-up lifted", ext)
            self._in_background(pause_member(self.ami, ext, False))
        calls = self.tracker.calls.values()  # the tracker has re-synced already
        for ext, found in presence_inputs_for_listing(event, self.presences, calls, self.wrap_ups):
            await self._apply(out, ext, found, at=event.at)
        for ext in [e for e, p in self.presences.items() if p.state is not PresenceState.WRAP_UP]:
            if self.wrap_ups.pop(ext, None) is not None:  # over (an earlier backend's record)
                out.remove_wrap_up(ext)
        for queue in self.queues:
            self._stats(out, queue)

    async def _member_changed(self, out: Outbox, event: QueueMemberChanged) -> None:
        ext = self._extension(event.interface)
        if ext is None or not is_login(event):
            return
        queues = self.members[ext]
        if event.removed:
            queues.discard(event.queue)
        else:
            queues.add(event.queue)
        found = presence_input_for_member(event, self.presences[ext], bool(queues))
        if found is not None:
            await self._apply(out, ext, found, at=event.at)
        self._stats(out, event.queue)

    async def _apply(
        self, out: Outbox, ext: str, presence_input: PresenceInput, at: float | None
    ) -> None:
        presence = self.presences.get(ext)
        if presence is None:
            return
        try:
            new = apply(presence, presence_input, at if at is not None else self.clock())
        except IllegalTransition as exc:
            log.info("presence input ignored: %s", exc)
            return
        await self._store(out, new, presence.state, presence_input)

    async def _store(
        self, out: Outbox, new: AgentPresence, before: PresenceState, cause: PresenceInput
    ) -> None:
        self.presences[new.extension] = new
        message = _json(new.to_message())
        out.write_presence(new.extension, message)
        out.publish(agent_topic(new.extension), message)
        out.publish(SUPERVISORS, message)
        if new.state is PresenceState.WRAP_UP:
            if before is not PresenceState.WRAP_UP:
                await self._wrap_up(out, new, cause)
            elif isinstance(cause, Unpaused):  # the pending pause cancelled: Asterisk unpaused
                self._in_background(pause_member(self.ami, new.extension, True, WRAP_UP_REASON))
        elif before is PresenceState.WRAP_UP:
            if self.wrap_ups.pop(new.extension, None) is not None:
                out.remove_wrap_up(new.extension)
            if new.state is PresenceState.AVAILABLE:
                self._in_background(pause_member(self.ami, new.extension, False))

    async def _wrap_up(self, out: Outbox, new: AgentPresence, cause: PresenceInput) -> None:
        """Pause the agent in Asterisk for the wrap-up and record its deadline where a
        restarted backend finds it; a wrap-up the re-sync found keeps its pause and deadline.
        A pause given during the call holds it paused already, with its own reason: kept, so
        that it outlasts the wrap-up (and a restart of the backend)."""
        if isinstance(cause, FoundWrappingUp):
            deadline = cause.deadline
        elif self.max_wrapup_s <= 0:  # a centre that works without wrap-up time
            await self._apply(out, new.extension, WrapUpDone(), at=new.since)
            return
        else:
            deadline = self.clock() + self.max_wrapup_s
            if new.pending_pause is None:
                self._in_background(pause_member(self.ami, new.extension, True, WRAP_UP_REASON))
        wrap_up = WrapUp(new.call_id or "", deadline)
        self.wrap_ups[new.extension] = wrap_up
        out.write_wrap_up(new.extension, wrap_up.to_record())
        self._in_background(self._end_wrap_up_at(new, deadline))

    async def _end_wrap_up_at(self, wrapping: AgentPresence, deadline: float) -> None:
        """Nobody wraps up forever: at the deadline the agent is available again."""
        await asyncio.sleep(max(0.0, deadline - self.clock()))
        now = self.presences[wrapping.extension]  # the same wrap-up (a pause given meanwhile)
        if replace(now, pending_pause=None) == replace(wrapping, pending_pause=None):
            log.info("agent %s: wrap-up of %s timed out", wrapping.extension, wrapping.call_id)
            out = Outbox()
            await self._apply(out, wrapping.extension, WrapUpDone(), at=None)
            self.writer.submit(out)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that must not hold up the event consumer (AMI actions, a CRM lookup); failures
        are logged."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background AMI action failed: %s", task.exception())
