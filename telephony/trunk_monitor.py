"""The trunk legs' health in the call process: follows Asterisk's ContactStatus events, reads
every leg's state back at each re-sync (a restart of either side loses nothing), logs each
leg that goes down or comes back once, and hands the whole table to `publish` on every
change (the HTTP process reads it from there). A configuration applied live (`follow`)
changes the legs followed: new and moved ones start unknown and are read back at once,
removed ones leave the table (one that was down told stopped, as is one no longer qualified).

The AMI user may not run PJSIPShowContacts (it needs the `system` write class, which also
allows restarting Asterisk): the state is read with Getvar of PJSIP_AOR / PJSIP_CONTACT,
which the `call` class it has allows."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from config.settings import Settings
from telephony.actions import AmiActions
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.events import ContactStatusChanged, DomainEvent, QueueMembersListed
from telephony.trunk_health import (
    LegChange,
    LegHealth,
    LegState,
    followed,
    followed_trunks,
    observed,
    stopped,
)

log = logging.getLogger(__name__)

READ_S = 2.0

Publish = Callable[[Mapping[str, LegHealth]], Awaitable[None]]
ChangeListener = Callable[[LegChange], Awaitable[None]]


class TrunkMonitor:
    """`health`: the legs to follow (`initial_health(settings)`), kept up to date in place."""

    def __init__(
        self,
        ami: AmiActions,
        health: dict[str, LegHealth],
        publish: Publish,
        on_change: tuple[ChangeListener, ...] = (),
    ) -> None:
        self.ami = ami
        self.health = health
        self.publish = publish
        self.on_change = on_change

    async def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, ContactStatusChanged):
            rtt = None if event.rtt_us is None else event.rtt_us / 1000
            await self._observed(event.aor, event.status, rtt, event.at)
        elif isinstance(event, QueueMembersListed):  # a re-sync just ran
            await self.read_back()

    async def follow(self, old: Settings, new: Settings) -> bool:
        """The legs of `new` from now on (Asterisk already runs it); a down leg that `new`
        removes or stops qualifying is told stopped. True when the legs changed: the caller
        then reads them back (a ContactStatus of a new leg may have come before it was
        followed), outside any lock it holds."""
        if followed_trunks(old) == followed_trunks(new):
            return False
        ended = stopped(self.health, new, time.time())
        legs = followed(self.health, old, new)
        self.health.clear()
        self.health.update(legs)
        for change in ended:
            log.info("trunk %s %s no longer followed while down", change.before.line,
                     change.before.leg)  # fmt: skip
            for listener in self.on_change:
                await listener(change)
        return True

    async def read_back(self) -> None:
        """Every leg's state as Asterisk holds it now."""
        now = time.time()
        for aor in list(self.health):
            try:
                status, rtt = await self._read(aor)
            except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
                log.warning("trunk leg %s: state not read back (%s)", aor, exc)
                continue
            await self._observed(aor, status, rtt, now, publish=False)
        await self.publish(dict(self.health))  # once for the whole read-back

    async def _read(self, aor: str) -> tuple[str, float | None]:
        contact = await self._getvar(f"PJSIP_AOR({aor},contact)")
        if not contact:
            return "Removed", None
        status = await self._getvar(f"PJSIP_CONTACT({contact},status)")
        rtt = await self._getvar(f"PJSIP_CONTACT({contact},rtt)")  # µs, or N/A
        return status, int(rtt) / 1000 if rtt.isdigit() and int(rtt) > 0 else None

    async def _getvar(self, expression: str) -> str:
        answer = await self.ami.action("Getvar", READ_S, Variable=expression)
        return answer.get("Value", "").strip()

    async def _observed(
        self, aor: str, status: str, rtt_ms: float | None, at: float, publish: bool = True
    ) -> None:
        result = observed(self.health, aor, status, rtt_ms, at)
        if result is None:
            return
        leg, change = result
        changed = leg != self.health[aor]
        self.health[aor] = leg
        if change is not None:
            if change.down:
                log.warning("trunk %s %s unreachable (qualify)", leg.line, leg.leg)
            elif change.before.state is LegState.UNREACHABLE:
                log.info("trunk %s %s reachable again (%s ms)", leg.line, leg.leg, leg.rtt_ms)
            for listener in self.on_change:
                await listener(change)
        if changed and publish:
            await self.publish(dict(self.health))
