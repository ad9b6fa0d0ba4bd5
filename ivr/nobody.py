"""The flow of a caller nobody can answer (every member of their queue logged out or
unavailable, or the duty group not answering): never a silent hang-up.

The caller hears that nobody can answer now; key 1 asks for a callback, anything else (or
nothing) leaves a message after the beep: recorded to the recordings directory, bounded in
length, ended by silence, ``#`` or hanging up. Either becomes a work order through the wiring
root's ``take`` (the port to the CRM). ``HOTLINE_NOBODY`` says on the call which it was.
"""

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.agi import AgiError
from ivr.playback import play
from ivr.prompts import CALLBACK_TAKEN, MESSAGE_TAKEN, NOBODY
from ivr.session import AgiSession
from telephony.dialplan import (
    NOBODY_CALLBACK,
    NOBODY_MESSAGE,
    NOBODY_NOTHING,
    VAR_NOBODY,
)

log = logging.getLogger(__name__)

CALLBACK_KEY = "1"
WAV_HEADER_BYTES = 44
MIN_MESSAGE_BYTES = WAV_HEADER_BYTES + 8000 * 2  # one second of 8 kHz 16-bit audio
_UNIQUEID = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}")


@dataclass(frozen=True)
class Message:
    """What a caller nobody answered left: ``recording`` (relative to the recordings
    directory, ``YYYYMMDD/<uniqueid>.wav``) for a message, ``""`` for a callback request."""

    caller_id: str
    caller_name: str
    uniqueid: str
    recording: str = ""


TakeMessage = Callable[[Message], Awaitable[bool]]
"""Store the message as a work order; whether it was stored (failures logged by it)."""


class NobodyFlow:
    """Callback key or recorded message, each handed to ``take``; ``max_s`` bounds a message
    and ``silence_s`` of silence ends it."""

    def __init__(
        self,
        prompt_dir: Path,
        recordings_dir: Path,
        take: TakeMessage,
        *,
        max_s: int = 120,
        silence_s: int = 4,
    ) -> None:
        self._nobody = str(prompt_dir / NOBODY)
        self._message_taken = str(prompt_dir / MESSAGE_TAKEN)
        self._callback_taken = str(prompt_dir / CALLBACK_TAKEN)
        self._recordings = recordings_dir
        self._take = take
        self._max_ms = max_s * 1000
        self._silence_s = silence_s

    async def __call__(self, session: AgiSession) -> None:
        uniqueid = session.variables.get("agi_uniqueid", "")
        caller = Message(
            session.variables.get("agi_callerid", ""),
            session.variables.get("agi_calleridname", ""),
            uniqueid,
        )
        await session.set_variable(VAR_NOBODY, NOBODY_NOTHING)  # on record if they hang up
        if await play(session, self._nobody, CALLBACK_KEY) == CALLBACK_KEY:
            if await self._take(caller):
                await session.set_variable(VAR_NOBODY, NOBODY_CALLBACK)
                log.info("IVR %r: nobody to answer; callback asked", uniqueid)
                await play(session, self._callback_taken)
            return
        if not _UNIQUEID.fullmatch(uniqueid):
            log.error("IVR %r: no message recorded: not an Asterisk uniqueid", uniqueid)
            return
        name = f"{time.strftime('%Y%m%d')}/{uniqueid}.wav"
        if await self._record(session, self._recordings / name):
            message = Message(caller.caller_id, caller.caller_name, uniqueid, name)
            if await self._take(message):
                log.info("IVR %r: nobody to answer; message %s left", uniqueid, name)
                await session.set_variable(VAR_NOBODY, NOBODY_MESSAGE)
                await play(session, self._message_taken)

    async def _record(self, session: AgiSession, wav: Path) -> bool:
        """Record the message; whether it holds at least a second of audio. A caller who
        hangs up ends it too: the message stays (the port does not need the channel)."""
        wav.parent.mkdir(parents=True, exist_ok=True)
        try:
            await session.record_file(str(wav.with_suffix("")), self._max_ms, self._silence_s)
        except AgiError as exc:  # a hang-up ends a message; a failure leaves no file
            log.info("recording %s ended: %s", wav, exc)
            if not _long_enough(wav):
                raise
        return _long_enough(wav)


def _long_enough(wav: Path) -> bool:
    try:
        return wav.stat().st_size >= MIN_MESSAGE_BYTES
    except OSError:
        return False
