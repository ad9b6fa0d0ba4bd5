"""The adapter of call control: AMI actions for each command, confirmed by the Asterisk
events that follow (never by Asterisk's "Success", which it also answers to actions that
did nothing), and the pure machine of `call_control.py` fed from the one ordered consumer.

Fed as an event listener of `TelephonyService` (`on_event`), so a call's control state
changes in the order Asterisk reported; commands run in the callers' tasks and wait, with a
deadline, for the state the events build.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping

from config.settings import Settings
from telephony import actions
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.ami_headers import MalformedEvent
from telephony.call import Call, CallState
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlCode,
    ControlState,
    Room,
    apply,
    cancel_requested,
    started,
)
from telephony.call_targets import Target, dial_budget_s, targets_of
from telephony.control_follow_ups import FollowUps
from telephony.control_resync import AmiLists, adopt_controls
from telephony.control_store import ControlFailed, ControlListener, ControlStore
from telephony.dialplan import (
    CONTEXT_CONSULT,
    CONTEXT_ROOM_CALLER,
    CONTEXT_ROOM_CONSULT,
    CONTEXT_ROOM_PARTY,
    consult_party_id,
    extension_of,
    main_room,
)
from telephony.events import (
    CallerJoinedQueue,
    ChannelEvent,
    ChannelHungUp,
    DomainEvent,
    QueueMembersListed,
)
from telephony.hold_music import HoldMusic
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

CONFIRM_S = 10.0  # how long a command waits for the events that confirm it


class CallControl:
    """Hold, resume, mute, consult, complete, three-way, cancel and leave, per call."""

    def __init__(
        self,
        ami: AmiLists,
        tracker: CallTracker,
        targets: Mapping[str, Target],
        dial_budget_s: float = 40.0,
        confirm_s: float = CONFIRM_S,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.targets = dict(targets)
        self.dial_budget_s = dial_budget_s
        self._store = ControlStore(tracker, confirm_s)
        self._states, self._owner = self._store.states, self._store.owner  # the same dicts
        self._busy: set[str] = set()
        self.hold_music = HoldMusic(ami)
        self._follow = FollowUps(ami, self._store, self.hold_music)

    @classmethod
    def from_settings(
        cls, settings: Settings, ami: AmiLists, tracker: CallTracker
    ) -> CallControl:
        return cls(ami, tracker, targets_of(settings), dial_budget_s(settings))

    # -- what others read -------------------------------------------------------------

    @property
    def confirm_s(self) -> float:
        """How long a command waits for the events that confirm it."""
        return self._store.confirm_s

    @confirm_s.setter
    def confirm_s(self, seconds: float) -> None:
        self._store.confirm_s = seconds

    def state(self, linkedid: str) -> ControlState | None:
        """The call's control state; None for a call never controlled (or ended)."""
        return self._states.get(linkedid)

    def agent_leg(self, call: Call) -> str:
        """The channel of the agent who has the call now: the answering agent's, or after a
        warm transfer to another agent that agent's leg in the rooms."""
        st = self._states.get(call.linkedid)
        return call.agent_channel if st is None else st.agent_channel

    def add_listener(self, callback: ControlListener) -> None:
        """`callback(state, call)` after every change of a call's control state."""
        self._store.listeners.append(callback)

    @property
    def listener_errors(self) -> int:
        return self._store.listener_errors

    # -- commands ---------------------------------------------------------------------

    async def hold(self, call: Call) -> ControlState:
        """The agent away from the caller, who hears hold music."""
        async with self._command(call) as st:
            if st.held or (st.consult is not None and not st.consult.final):
                raise ControlFailed(ControlCode.NOT_NOW, "already held or consulting")
            if not st.conference:
                return await self._into_rooms(call, CONTEXT_ROOM_CONSULT, Room.CONSULT)
            await actions.redirect(self.ami, st.agent_channel, CONTEXT_ROOM_CONSULT, call.linkedid)
            return await self._until(call, lambda s: s.agent_room is Room.CONSULT, "hold")

    async def resume(self, call: Call) -> ControlState:
        """The agent back with the caller after a hold."""
        async with self._command(call) as st:
            if not st.held or (st.consult is not None and not st.consult.final):
                raise ControlFailed(ControlCode.NOT_NOW, "not on hold")
            await actions.redirect(self.ami, st.agent_channel, CONTEXT_ROOM_PARTY, call.linkedid)
            return await self._until(call, lambda s: s.agent_room is Room.MAIN, "resume")

    async def mute(self, call: Call, on: bool) -> ControlState:
        """The agent's audio into the call muted (on) or unmuted."""
        async with self._command(call) as st:
            if not st.conference:
                st = await self._into_rooms(call, CONTEXT_ROOM_PARTY, Room.MAIN)
            if st.agent_room is not Room.MAIN:
                raise ControlFailed(ControlCode.NOT_NOW, "the agent is not with the caller")
            if st.muted == on:
                return st
            await actions.mute_in_room(self.ami, main_room(call.linkedid), st.agent_channel, on)
            return await self._until(call, lambda s: s.muted == on, "mute")

    async def consult(self, call: Call, target: str, mode: ConsultMode | str) -> ControlState:
        """Dial `target` (110/119/120, an agent, a colleague): mode hold puts the caller on
        hold and the agent with the third party; three_way dials it into the caller's room.
        Returns once a leg is being dialled; the rest arrives through the listeners."""
        mode = ConsultMode(mode)
        found = self.targets.get(target)
        st = self._states.get(call.linkedid)
        own = st.taken_by if st is not None and st.taken_by else extension_of(call.agent_interface)
        if found is None or target == own:
            raise ControlFailed(ControlCode.BAD_TARGET, f"cannot consult {target!r}")
        async with self._command(call) as st:
            if st.consult is not None and not st.consult.final:
                raise ControlFailed(ControlCode.NOT_NOW, "a consult is in progress")
            if st.held:
                raise ControlFailed(ControlCode.NOT_NOW, "resume the call first")
            agent_room = Room.CONSULT if mode is ConsultMode.HOLD else Room.MAIN
            context = CONTEXT_ROOM_CONSULT if mode is ConsultMode.HOLD else CONTEXT_ROOM_PARTY
            if not st.conference:
                st = await self._into_rooms(call, context, agent_room)
            elif mode is ConsultMode.HOLD:
                await actions.redirect(self.ami, st.agent_channel, context, call.linkedid)
                await self._until(call, lambda s: s.agent_room is Room.CONSULT, "hold")
            party_id = consult_party_id(call.linkedid, secrets.token_hex(4))
            consult = Consult(
                target=target, target_kind=found.kind, line=found.line, mode=mode,
                state=ConsultState.DIALING, reason="", started_at=time.time(),
                party_uniqueid=party_id, dial_uniqueid=f"{party_id}-2",
            )  # fmt: skip
            await self._store.set(call.linkedid, started(self._states[call.linkedid], consult))
            self._owner[consult.party_uniqueid] = self._owner[consult.dial_uniqueid] = (
                call.linkedid
            )
            try:
                await actions.originate_into_room(
                    self.ami, target, CONTEXT_CONSULT, context, call.linkedid,
                    consult.party_uniqueid, consult.dial_uniqueid,
                    found.caller_id or call.caller_number, self.dial_budget_s,
                )  # fmt: skip
                done = await self._until(
                    call, lambda s: _consult_of(s).attempts != () or _consult_of(s).final,
                    "consult",
                )  # fmt: skip
            except (ControlFailed, AmiActionError):
                await self._follow.abandon(call.linkedid)
                raise
            failed = _consult_of(done)
            if failed.state is ConsultState.FAILED:
                raise ControlFailed(ControlCode(failed.reason), f"{target} failed")
            return done

    async def complete(self, call: Call) -> ControlState:
        """The third party with the caller, the agent's leg hung up (warm transfer done)."""
        async with self._command(call) as st:
            c = self._live_consult(st)
            if c.state not in (ConsultState.ANSWERED, ConsultState.THREE_WAY):
                raise ControlFailed(ControlCode.NOT_NOW, "the third party has not answered")
            if c.party_room is not Room.MAIN:
                await actions.redirect(
                    self.ami, c.party_channel, CONTEXT_ROOM_PARTY, call.linkedid
                )
                await self._until(
                    call, lambda s: _consult_of(s).party_room is Room.MAIN, "complete"
                )
            await actions.hang_up(self.ami, st.agent_channel)
            return await self._until(call, _left_by(st), "complete")

    async def three_way(self, call: Call) -> ControlState:
        """Caller, agent and the answered third party together in the caller's room."""
        async with self._command(call) as st:
            c = self._live_consult(st)
            if c.state is not ConsultState.ANSWERED:
                raise ControlFailed(ControlCode.NOT_NOW, "the third party has not answered")
            await actions.redirect(
                self.ami, c.party_channel, CONTEXT_ROOM_PARTY, call.linkedid,
                extra=(st.agent_channel, CONTEXT_ROOM_PARTY, call.linkedid),
            )  # fmt: skip
            return await self._until(
                call, lambda s: _consult_of(s).state is ConsultState.THREE_WAY, "three_way"
            )

    async def cancel(self, call: Call) -> ControlState:
        """The third party hung up (ringing or answered), the agent back with the caller."""
        async with self._command(call) as st:
            c = self._live_consult(st)
            await self._store.set(call.linkedid, cancel_requested(st))
            if not c.party_channel:  # originated a moment ago: its Newchannel is on the way
                c = _consult_of(await self._until(
                    call, lambda s: bool(_consult_of(s).party_channel), "cancel"))  # fmt: skip
            await actions.hang_up(self.ami, c.party_channel)
            if st.agent_room is not Room.MAIN:
                await actions.redirect(
                    self.ami, st.agent_channel, CONTEXT_ROOM_PARTY, call.linkedid
                )
            return await self._until(
                call,
                lambda s: _consult_of(s).final and s.agent_room is Room.MAIN,
                "cancel",
            )

    async def leave(self, call: Call) -> ControlState:
        """The agent's leg hung up; caller and third party stay together."""
        async with self._command(call) as st:
            c = self._live_consult(st)
            if c.state is not ConsultState.THREE_WAY:
                raise ControlFailed(ControlCode.NOT_NOW, "not a three-party call")
            await actions.hang_up(self.ami, st.agent_channel)
            return await self._until(call, _left_by(st), "leave")

    # -- events -----------------------------------------------------------------------

    async def on_event(self, event: DomainEvent) -> None:
        """Every domain event, in Asterisk's order (an event listener of the consumer)."""
        if isinstance(event, QueueMembersListed):  # a re-sync: Asterisk's word is the truth
            for gone in [k for k in self._states if k not in self.tracker.calls]:
                await self._follow.forget(gone, event.at)
            await self._rebuild()
            return
        if not isinstance(event, ChannelEvent):
            return
        linkedid = (
            self._owner.get(event.uniqueid)
            or self._owner.get(event.channel)
            or (event.linkedid if event.linkedid in self._states else None)
        )
        before = None if linkedid is None else self._states.get(linkedid)
        self.hold_music.on_event(event, before)
        if linkedid is None or before is None:
            return
        if isinstance(event, ChannelHungUp) and event.channel == before.caller_channel:
            await self._follow.forget(linkedid, event.at)
            return
        if isinstance(event, CallerJoinedQueue) and event.channel == before.caller_channel:
            await self._follow.requeued(linkedid, event.at)
            return
        after = apply(before, event)
        if after is before:
            return
        await self._store.set(linkedid, after)
        if (player := self.hold_music.follow(after)) is not None:
            self._owner[player] = self._owner[f"{player}-2"] = linkedid
        self._follow.react(before, after)

    async def _rebuild(self) -> None:
        """The control state of talking calls we never saw in their rooms (the backend
        restarted in the middle of a hold, a consult, a three-party call; a command refused
        meanwhile left a bare state), read back from Asterisk. A state we saw in the rooms
        is kept: it knows more (a consult still ringing) than the lists tell."""
        seen = {k for k, st in self._states.items() if st.conference}
        calls = self.tracker.calls.values()
        unknown = [c for c in calls if c.state is CallState.TALKING and c.linkedid not in seen]
        kinds = {number: t.kind for number, t in self.targets.items()}
        try:
            await adopt_controls(self.ami, self._store, self.hold_music, unknown, kinds)
        except (AmiActionError, AmiConnectionLost, TimeoutError, MalformedEvent) as exc:
            log.warning("call control re-sync failed (%s): calls under control stay unknown", exc)

    # -- helpers ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _command(self, call: Call) -> AsyncIterator[ControlState]:
        """One command at a time per call, on a talking call with the agent still on it."""
        if call.state is not CallState.TALKING or not call.agent_channel:
            raise ControlFailed(ControlCode.NOT_NOW, "the call is not talking with an agent")
        if call.linkedid in self._busy:
            raise ControlFailed(ControlCode.NOT_NOW, "another command is in progress")
        st = self._states.get(call.linkedid)
        if st is None:
            st = ControlState(call.linkedid, agent_channel=call.agent_channel,
                              caller_channel=call.channel)  # fmt: skip
            self._states[call.linkedid] = st
            self._owner[call.channel] = self._owner[call.agent_channel] = call.linkedid
        if not st.agent_in_call:
            raise ControlFailed(ControlCode.NOT_NOW, "the agent has left the call")
        self._busy.add(call.linkedid)
        try:
            yield st
        except AmiActionError as exc:
            raise ControlFailed(ControlCode.NOT_CONFIRMED, f"Asterisk refused: {exc}") from exc
        finally:
            self._busy.discard(call.linkedid)

    def _live_consult(self, st: ControlState) -> Consult:
        if st.consult is None or st.consult.final:
            raise ControlFailed(ControlCode.NO_CONSULT, "no consult in progress")
        return st.consult

    async def _into_rooms(self, call: Call, agent_context: str, agent_room: Room) -> ControlState:
        """The first control action: caller and agent out of the queue's bridge at once, the
        caller into its main room, the agent into `agent_room`."""
        st = self._states[call.linkedid]
        if not await actions.wait_bridged(self.ami, st.agent_channel):
            raise ControlFailed(ControlCode.NOT_NOW, "the agent's leg is not bridged yet")
        await actions.redirect(
            self.ami, st.caller_channel, CONTEXT_ROOM_CALLER, call.linkedid,
            extra=(st.agent_channel, agent_context, call.linkedid),
        )  # fmt: skip
        return await self._until(
            call, lambda s: s.conference and s.agent_room is agent_room, "into the rooms"
        )

    async def _until(
        self, call: Call, done: Callable[[ControlState], bool], what: str
    ) -> ControlState:
        return await self._store.until(call.linkedid, done, what)

def _consult_of(st: ControlState) -> Consult:
    if st.consult is None:
        raise ControlFailed(ControlCode.NO_CONSULT, "the consult is gone")
    return st.consult


def _left_by(st: ControlState) -> Callable[[ControlState], bool]:
    """The agent leg of `st` gone from the call (or the call handed to another agent)."""
    return lambda s: not s.agent_in_call or s.agent_channel != st.agent_channel
