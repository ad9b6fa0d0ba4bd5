"""What call control does by itself over AMI, as the reactions (`control_reactions.py`) and
the caller's hang-up decide: the third party to the caller, the agent back, the call ended,
the caller back in its queue, a consult that never got going marked failed, the consult
room hung up after the caller.
Each action runs as a task of its own (the event consumer never waits for Asterisk)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable

from telephony import actions
from telephony.ami_connection import AmiActionError
from telephony.call_control import (
    ConsultState,
    ControlCode,
    ControlState,
    Room,
    caller_hung_up,
    out_of_rooms,
)
from telephony.control_reactions import Reaction, reaction, who_left
from telephony.control_resync import AmiLists
from telephony.control_store import ControlStore
from telephony.dialplan import CONTEXT_REQUEUE, CONTEXT_ROOM_PARTY
from telephony.hold_music import HoldMusic

log = logging.getLogger(__name__)


class FollowUps:
    def __init__(self, ami: AmiLists, store: ControlStore, hold_music: HoldMusic) -> None:
        self.ami = ami
        self.store = store
        self.hold_music = hold_music
        self._tasks: set[asyncio.Task[None]] = set()

    def react(self, before: ControlState, after: ControlState) -> None:
        """What the backend does by itself (`control_reactions.py`)."""
        c = after.consult
        match reaction(before, after):
            case Reaction.PARTY_TO_CALLER:
                assert c is not None
                log.info("agent left call %s during a consult: third party to the caller",
                         after.linkedid)  # fmt: skip
                self.spawn(actions.redirect(
                    self.ami, c.party_channel, CONTEXT_ROOM_PARTY, after.linkedid))  # fmt: skip
            case Reaction.KEEP_CALLER:
                log.info("agent left call %s during a consult: caller kept", after.linkedid)
            case Reaction.END_CALL:
                who = who_left(before, after)
                log.info("%s left call %s with nobody else: call ended", who, after.linkedid)
                self.store.tracker.left_last(after.linkedid, who)  # its end reason
                self.spawn(actions.hang_up(self.ami, after.caller_channel))
            case Reaction.REQUEUE:
                log.info("consult of call %s over with nobody left: caller back in its queue",
                         after.linkedid)  # fmt: skip
                self.spawn(actions.redirect(
                    self.ami, after.caller_channel, CONTEXT_REQUEUE, after.linkedid))  # fmt: skip
            case Reaction.AGENT_BACK:
                log.info("consult of call %s failed: agent back with the caller", after.linkedid)
                self.spawn(actions.redirect(
                    self.ami, after.agent_channel, CONTEXT_ROOM_PARTY, after.linkedid))  # fmt: skip

    async def abandon(self, linkedid: str) -> None:
        """A consult that never got going (refused, or no leg dialled in time): marked
        failed, its Local hung up if it exists, the agent back with the caller."""
        st = self.store.states.get(linkedid)
        if st is None or st.consult is None:
            return
        c = dataclasses.replace(st.consult, state=ConsultState.FAILED,
                                reason=ControlCode.NOT_CONFIRMED.value)  # fmt: skip
        await self.store.set(linkedid, dataclasses.replace(st, consult=c))
        if c.party_channel:
            self.spawn(actions.hang_up(self.ami, c.party_channel))
        if st.agent_in_call and st.agent_room is Room.CONSULT:
            self.spawn(actions.redirect(self.ami, st.agent_channel, CONTEXT_ROOM_PARTY, linkedid))

    async def requeued(self, linkedid: str, at: float) -> None:
        """The caller joined its queue again (`Reaction.REQUEUE`): the call is out of the
        rooms, its control over (the agent who answers next starts afresh)."""
        st = await self.store.drop(linkedid)
        self.hold_music.stop(linkedid)
        await self.store.notify(out_of_rooms(st, at))

    def spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except (AmiActionError, TimeoutError, ConnectionError) as exc:
                log.warning("call control follow-up failed: %s", exc)

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def forget(self, linkedid: str, at: float) -> None:
        """The caller hung up (at `at`): the call's main room ends (the others there are
        end_marked), but the consult room does not: its third party and the agent are hung
        up. The last state closes the consult and its legs still ringing (`caller_hung_up`):
        their own DialEnd comes after the call's keys are gone."""
        st = await self.store.drop(linkedid)
        self.hold_music.stop(linkedid)
        c = st.consult
        if c is not None and not c.final and c.party_channel:
            self.spawn(actions.hang_up(self.ami, c.party_channel))
        if st.agent_in_call and st.agent_room is Room.CONSULT:
            self.spawn(actions.hang_up(self.ami, st.agent_channel))
        await self.store.notify(caller_hung_up(st, at))
