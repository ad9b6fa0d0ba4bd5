"""Hold music for a caller left alone in its room, played by a party of the room.

ConfBridge's own `music_on_hold_when_empty` would do, but while it plays, the MixMonitor on
the caller's channel records the music only, not what the caller says (Asterisk 16, see the
README). A Local channel playing `MusicOnHold` that joins the caller's room instead is
mixed like any party, and the recording keeps both. It joins when the caller is left alone
(`caller_alone`) and is hung up as soon as anyone else is back; a player that joins after
that (its Originate raced the agent's return) is hung up on arrival.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets

from telephony.actions import AmiActions, hang_up, originate_into_room
from telephony.ami_connection import AmiActionError
from telephony.call_control import ControlState
from telephony.control_rules import caller_alone
from telephony.dialplan import CONTEXT_HOLD_MUSIC, CONTEXT_ROOM_PARTY
from telephony.events import ConferenceJoined, DomainEvent

log = logging.getLogger(__name__)

PLAYER_TIMEOUT_S = 5.0
PLAYER_PREFIX = "moh-"  # its Uniqueid: a player is known by it whichever call it was for


class HoldMusic:
    def __init__(self, ami: AmiActions) -> None:
        self.ami = ami
        self.players: dict[str, str] = {}  # linkedid → the player's Local half in the room
        self._tasks: set[asyncio.Task[None]] = set()

    def ids(self, linkedid: str) -> tuple[str, ...]:
        """The player's two Uniqueids, for routing its events to the call."""
        player = self.players.get(linkedid)
        return () if player is None else (player, f"{player}-2")

    def follow(self, state: ControlState) -> str | None:
        """Start or stop the call's player as its rooms now are; the id of a new player."""
        playing = state.linkedid in self.players
        if caller_alone(state) and not playing:
            player = f"{PLAYER_PREFIX}{secrets.token_hex(8)}"
            self.players[state.linkedid] = player
            self._run(originate_into_room(
                self.ami, state.linkedid, CONTEXT_HOLD_MUSIC, CONTEXT_ROOM_PARTY,
                state.linkedid, player, f"{player}-2", "", PLAYER_TIMEOUT_S,
            ))  # fmt: skip
            return player
        if playing and not caller_alone(state):
            self.stop(state.linkedid)
        return None

    def on_event(self, event: DomainEvent, state: ControlState | None) -> None:
        """A player arriving in a room the caller is no longer alone in, or of a call that
        ended meanwhile (it would play to an empty room for ever): hung up."""
        if (
            isinstance(event, ConferenceJoined) and event.uniqueid.startswith(PLAYER_PREFIX)
            and (state is None or not caller_alone(state))
        ):  # fmt: skip
            self._run(hang_up(self.ami, event.channel))

    def stop(self, linkedid: str) -> None:
        if self.players.pop(linkedid, None) is not None:
            pattern = re.escape(f"Local/{linkedid}@{CONTEXT_HOLD_MUSIC}-")
            self._run(hang_up(self.ami, f"/^{pattern}/"))

    def _run(self, work: object) -> None:
        async def run() -> None:
            try:
                await work  # type: ignore[misc]
            except (AmiActionError, TimeoutError, ConnectionError) as exc:
                log.info("hold music: %s", exc)  # a player already gone: nothing to do

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
