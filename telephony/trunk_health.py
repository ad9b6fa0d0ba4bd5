"""Each trunk leg's health as qualify (SIP OPTIONS) finds it, as a pure state machine: the
legs of the configured trunks, each reachable, unreachable or unknown since a time, with the
last round trip; a ContactStatus event (or a state read back at a re-sync) moves a leg, and
a move into reachable or unreachable is a change to tell (an alert, a log line). No I/O,
no clock: times are Asterisk's (events) or the caller's (re-sync)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from config.settings import Settings
from config.trunk_settings import TrunkLegs
from telephony.config_sections import trunk_endpoint, trunk_legs


class LegState(StrEnum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"  # not qualified (qualify_s = 0), not yet qualified, or removed


# ContactStatus (and PJSIP_CONTACT(…,status)) → our state; anything else (Unknown,
# NonQualified, Created, Removed) is unknown. "Updated" changes nothing (a new RTT only).
_STATES = {"Reachable": LegState.REACHABLE, "Unreachable": LegState.UNREACHABLE}
UPDATED = "Updated"


@dataclass(frozen=True, slots=True)
class LegHealth:
    line: str  # the trunk's number (110, 119, 120) or "outbound" (`OUTBOUND_LINE`)
    leg: str  # primary or backup
    state: LegState
    since: float  # when it entered `state` (epoch s); 0.0 before anything was heard
    rtt_ms: float | None = None  # the last OPTIONS' round trip


@dataclass(frozen=True, slots=True)
class LegChange:
    """A leg that went down (reachable/unknown → unreachable) or is up (→ reachable from
    unreachable, or from unknown: after a restart or a move a down told before may be over;
    the CRM tells an up only after a down): what an alert is raised for, once per change."""

    aor: str  # trunk-110-primary
    before: LegHealth
    after: LegHealth

    @property
    def down(self) -> bool:
        return self.after.state is LegState.UNREACHABLE

    @property
    def stopped(self) -> bool:
        """A down leg no longer followed (removed, or qualify off): its down is over."""
        return self.after.state is LegState.UNKNOWN


Health = Mapping[str, LegHealth]  # by AOR name (trunk-110-primary)


def followed_trunks(settings: Settings) -> tuple[TrunkLegs, ...]:
    """The trunks whose legs are followed: the lines' and the outbound trunk."""
    outbound = () if settings.outbound is None else (settings.outbound,)
    return (*settings.trunks.values(), *outbound)


def initial_health(settings: Settings) -> dict[str, LegHealth]:
    """Every leg of every configured trunk, unknown."""
    return {
        trunk_endpoint(t, role): LegHealth(t.line, role, LegState.UNKNOWN, 0.0)
        for t in followed_trunks(settings)
        for role, _hostport in trunk_legs(t)
    }


def _targets(settings: Settings) -> dict[str, tuple[str, int]]:
    """Each leg's far end and qualify interval: what, changed, makes a leg start over."""
    return {
        trunk_endpoint(t, role): (hostport, t.qualify_s)
        for t in followed_trunks(settings)
        for role, hostport in trunk_legs(t)
    }


def followed(health: Health, old: Settings, new: Settings) -> dict[str, LegHealth]:
    """The legs of `new`: a leg whose far end and qualify are as in `old` keeps its state; a
    new one, or one moved (host, port) or qualified anew, starts unknown; a removed one goes."""
    before, kept = _targets(old), initial_health(new)
    for aor, target in _targets(new).items():
        if before.get(aor) == target and aor in health:
            kept[aor] = health[aor]
    return kept


def stopped(health: Health, new: Settings, at: float) -> list[LegChange]:
    """The legs down in `health` that `new` removes or stops qualifying: nothing would ever
    tell them up again (and their open down would hide a later one of the same name)."""
    probed = {aor for aor, (_hostport, qualify_s) in _targets(new).items() if qualify_s}
    return [
        LegChange(aor, leg, LegHealth(leg.line, leg.leg, LegState.UNKNOWN, at))
        for aor, leg in health.items()
        if leg.state is LegState.UNREACHABLE and aor not in probed
    ]


def ordered(health: Health) -> list[LegHealth]:
    """By line, the primary before the backup: as the wall and the API show them."""
    return sorted(health.values(), key=lambda h: (h.line, h.leg != "primary"))


def state_of(status: str) -> LegState:
    return _STATES.get(status, LegState.UNKNOWN)


def observed(
    health: Health, aor: str, status: str, rtt_ms: float | None, at: float
) -> tuple[LegHealth, LegChange | None] | None:
    """The leg `aor` after Asterisk said `status` at `at` (None: not a trunk leg we have),
    and the change to tell if it went down or came back."""
    before = health.get(aor)
    if before is None:
        return None
    if status == UPDATED:
        return dataclasses.replace(before, rtt_ms=rtt_ms or before.rtt_ms), None
    state = state_of(status)
    rtt = rtt_ms if state is LegState.REACHABLE else None
    if state is before.state:
        return dataclasses.replace(before, rtt_ms=rtt if rtt is not None else before.rtt_ms), None
    after = LegHealth(before.line, before.leg, state, at, rtt)
    return after, LegChange(aor, before, after) if state is not LegState.UNKNOWN else None
