"""Whom an agent may consult or transfer to (agents, colleagues, the emergency lines) and
how long such a dial may take, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from telephony.call_control import TargetKind


@dataclass(frozen=True, slots=True)
class Target:
    number: str
    kind: TargetKind
    line: str  # the emergency line, "" otherwise
    caller_id: str = ""  # the number its phone is shown; "" for the caller's own


def targets_of(settings: Settings) -> dict[str, Target]:
    """Whom an agent may consult: agents, colleagues, the emergency lines. A department is
    outside the centre, which alone may see a caller's number (masking): its phone is shown
    the hotline's number. Agents, supervisors and 110/119/120 get the caller's."""
    found = {a.extension: Target(a.extension, TargetKind.AGENT, "") for a in settings.agents}
    hotline = settings.centre.inbound_number
    found |= {c.extension: Target(c.extension, TargetKind.COLLEAGUE, "",
                                  hotline if c.kind == "department" else "")
              for c in settings.colleagues}  # fmt: skip
    found |= {t.number: Target(t.number, TargetKind.EMERGENCY, t.number)
              for t in settings.trunks.values()}  # fmt: skip
    return found


def dial_budget_s(settings: Settings) -> float:
    """The longest a consult may ring: every trunk leg's timeout (30 s for a phone), plus
    room for Asterisk."""
    longest = max((t.dial_timeout_s * (2 if t.backup else 1) for t in settings.trunks.values()),
                  default=0)  # fmt: skip
    return max(longest, 30) + 10.0
