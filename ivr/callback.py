"""A waiting caller's callback key (回拨保留排队位置): the request stored, then the caller
told and let go; or refused, and the dialplan puts the caller back at its place.

The dialplan runs this route only once the caller waited past `[callback] offer_after_s`
(earlier, the key just puts the caller back), with the queue and the caller's position as
its arguments. A number that cannot be dialled back (withheld, anonymous, hostile), a bad
argument or a request the backend could not store is refused with a short prompt; else
``HOTLINE_CALLBACK_REQUESTED`` names the request on the call (its record says so; `pending`
while it is stored, cleared if it was not) and the dialplan hangs up after the confirmation.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.callback_prompts import CALLBACK_PLACED, CALLBACK_REFUSED
from ivr.playback import play
from ivr.session import AgiSession
from telephony.dialplan import VAR_CALLBACK_REQUESTED, dialable

log = logging.getLogger(__name__)

MAX_POSITION = 100_000
PENDING = "pending"  # HOTLINE_CALLBACK_REQUESTED while the request is being stored


@dataclass(frozen=True)
class CallbackAsk:
    linkedid: str  # the caller's call (its channel's Uniqueid)
    queue: str
    number: str  # to dial back: never logged
    position: int  # its place in the queue when it pressed the key
    queued_at: int  # when it first joined the queue (epoch s): the order the place keeps


TakeCallback = Callable[[CallbackAsk], Awaitable[int | None]]
"""Store the request (and have its placeholder placed); its id, None if not stored (the
failure logged by it)."""


def ask_of(get: Callable[[str], str]) -> CallbackAsk | None:
    """The request the AGI variables describe, None if they describe none that can be kept."""
    position, queue, number = get("agi_arg_2"), get("agi_arg_1"), get("agi_callerid")
    queued_at = get("agi_arg_3")
    if not (position.isdigit() and 1 <= int(position) <= MAX_POSITION and queue.isprintable()):
        return None
    if not queue or not dialable(number) or not get("agi_uniqueid"):
        return None
    if not (queued_at.isdigit() and 0 < int(queued_at) < 10**12):  # its first join unknown
        return None
    return CallbackAsk(get("agi_uniqueid"), queue, number, int(position), int(queued_at))


class CallbackFlow:
    def __init__(self, prompt_dir: Path, take: TakeCallback) -> None:
        self._placed = str(prompt_dir / CALLBACK_PLACED)
        self._refused = str(prompt_dir / CALLBACK_REFUSED)
        self._take = take

    async def __call__(self, session: AgiSession) -> None:
        uniqueid = session.variables.get("agi_uniqueid", "")
        ask = ask_of(lambda name: session.variables.get(name, ""))
        request = None
        if ask is not None:
            # marked first: a hang-up while the request is stored leaves no "abandoned" call
            await session.set_variable(VAR_CALLBACK_REQUESTED, PENDING)
            request = await self._take(ask)
        if ask is None or request is None:
            if ask is not None:
                await session.set_variable(VAR_CALLBACK_REQUESTED, "")
            log.info("callback %r refused (no number to call back, or not stored)", uniqueid)
            await play(session, self._refused)
            return  # the dialplan puts the caller back at its place
        await session.set_variable(VAR_CALLBACK_REQUESTED, str(request))
        log.info("callback %r: request %d keeps position %d in %s", uniqueid, request,
                 ask.position, ask.queue)  # fmt: skip
        await play(session, self._placed)
