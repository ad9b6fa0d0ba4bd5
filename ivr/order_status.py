"""Order status self-service (key 8 of the main menu): the AGI edge of order_status_rules.

A caller whose caller ID is the phone of an open order hears it offered first (1: listen,
2: another order, 0: an agent). Otherwise they key the order number's fourteen digits, then,
unless their caller ID already proves a non-confidential order theirs, the order's phone
number; an order is read out only when that identity holds. ``0`` alone asks for an agent, as
does silence; ``*`` or a wrong length asks again, up to ``tries`` times; two failed checks
end it.
The flow then returns and the call goes on to the operator queue; ``HOTLINE_ORDER_STATUS``
says how it ended. A unit's name is synthesised once (espeak-ng + sox in a thread, cached by
its digest like every prompt), so a renamed unit is said by its new name at the next call.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivr.order_status_prompts import (
    ASK_ORDER,
    ASK_PHONE,
    END_MENU,
    INVALID_ENTRY,
    NOT_MATCHED,
    OWN_BEFORE,
    OWN_MENU,
    UNIT_PREFIX,
)
from ivr.order_status_rules import (
    AGENT_KEY,
    MAX_ENTRY,
    EntryKind,
    OrderFacts,
    OrderLookup,
    date_words,
    identity_holds,
    offered,
    read_entry,
    readout,
    valid_order_digits,
    valid_phone_digits,
)
from ivr.playback import play, play_all
from ivr.prompts import PromptError, build_prompts
from ivr.session import AgiSession
from telephony.dialplan import (
    ORDER_STATUS_AGENT,
    ORDER_STATUS_READ,
    ORDER_STATUS_REFUSED,
    VAR_ORDER_STATUS,
)

log = logging.getLogger(__name__)

LISTEN, ANOTHER = "1", "2"
_MENU_KEYS = LISTEN + ANOTHER + AGENT_KEY
_CHECKS = 2  # failed identity checks a call may have before it goes to an agent


class _Leave(Exception):
    """The flow ends early: the caller pressed 0, or gave no usable entry after every try."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class _Progress:
    read: bool = False  # an order was read out on this call


class OrderStatusFlow:
    """``prompt_dir`` holds the built prompts (unit names are added there); ``lookup`` is the
    CRM behind the port."""

    def __init__(
        self,
        prompt_dir: Path,
        lookup: OrderLookup,
        *,
        entry_timeout_ms: int = 5000,
        menu_timeout_ms: int = 5000,
        tries: int = 3,
    ) -> None:
        self._dir = prompt_dir
        self._lookup = lookup
        self._entry_timeout_ms = entry_timeout_ms
        self._menu_timeout_ms = menu_timeout_ms
        self._tries = tries
        self._synthesis = asyncio.Lock()  # one writer per prompt file

    async def __call__(self, session: AgiSession) -> None:
        uniqueid = session.variables.get("agi_uniqueid", "")
        progress = _Progress()
        outcome = ORDER_STATUS_REFUSED
        try:
            await self._serve(session, uniqueid, progress)
        except _Leave as leave:
            outcome = leave.outcome
        if progress.read:
            outcome = ORDER_STATUS_READ  # already set, before it was read
        else:
            await session.set_variable(VAR_ORDER_STATUS, outcome)
        log.info("IVR %r: order status self-service ended: %s", uniqueid, outcome)

    async def _serve(self, session: AgiSession, uniqueid: str, progress: _Progress) -> None:
        """Offer the caller's own order, then take order numbers until the caller is done;
        raises _Leave."""
        caller_id = session.variables.get("agi_callerid", "")
        caller = self._lookup.national(caller_id)
        order = offered(await self._lookup.open_order_of(caller_id, uniqueid), caller)
        if order is not None:
            key = await self._menu(session, [OWN_BEFORE, *date_words(order.registered), OWN_MENU])
            if key != LISTEN:
                order = None
        failures = 0
        while True:
            if order is None:
                order = await self._checked_order(session, caller, uniqueid)
            if order is None:
                failures += 1
                await self._play(session, NOT_MATCHED)
                if failures == _CHECKS:
                    return
                continue
            if not progress.read:  # set first: a caller who hangs up while hearing it was told
                await session.set_variable(VAR_ORDER_STATUS, ORDER_STATUS_READ)
                progress.read = True
            key = await self._menu(session, [*await self._readout(order), END_MENU])
            if key == ANOTHER:
                order = None
            elif key != LISTEN:
                return

    async def _checked_order(
        self, session: AgiSession, caller: str | None, uniqueid: str
    ) -> OrderFacts | None:
        """The order keyed in if the caller's identity holds; None (the same for an unknown
        order and for a wrong number) otherwise."""
        digits = await self._entry(session, ASK_ORDER, valid_order_digits)
        found = await self._lookup.order(digits, uniqueid)
        if found is not None and identity_holds(found, caller, None):
            return found
        keyed = self._lookup.national(await self._entry(session, ASK_PHONE, valid_phone_digits))
        if found is not None and identity_holds(found, caller, keyed):
            return found
        return None

    async def _entry(self, session: AgiSession, prompt: str, valid: Callable[[str], bool]) -> str:
        """The digits keyed after ``prompt`` that ``valid`` accepts; raises _Leave."""
        path = str(self._dir / prompt)
        for attempt in range(self._tries):
            if attempt:
                await self._play(session, INVALID_ENTRY)
            raw = await session.get_data(path, self._entry_timeout_ms, MAX_ENTRY)
            entry = read_entry(raw, valid)
            if entry.kind is EntryKind.VALUE:
                return entry.digits
            if entry.kind is EntryKind.AGENT:
                raise _Leave(ORDER_STATUS_AGENT)
            if entry.kind is EntryKind.NOTHING:
                break
        raise _Leave(ORDER_STATUS_REFUSED)

    async def _menu(self, session: AgiSession, prompts: list[str]) -> str | None:
        """Play ``prompts`` (a menu key stops them), wait for a key; ``0`` raises _Leave."""
        paths = [str(self._dir / name) for name in prompts]
        key = await play_all(session, paths, _MENU_KEYS)
        key = key or await session.wait_for_digit(self._menu_timeout_ms)
        if key == AGENT_KEY:
            raise _Leave(ORDER_STATUS_AGENT)
        return key

    async def _readout(self, order: OrderFacts) -> list[str]:
        return list(readout(order, await self._unit_prompt(order.unit)))

    async def _unit_prompt(self, unit: str) -> str | None:
        """The unit's name as a prompt, made on first use; None when it cannot be made."""
        if not unit:
            return None
        name = UNIT_PREFIX + hashlib.sha256(unit.encode()).hexdigest()[:16]
        try:
            async with self._synthesis:
                await asyncio.to_thread(build_prompts, self._dir, {name: unit})
        except (PromptError, OSError) as exc:
            log.warning("unit prompt %s not made: %s", name, exc)
            return None
        return name

    async def _play(self, session: AgiSession, name: str) -> None:
        await play(session, str(self._dir / name))
