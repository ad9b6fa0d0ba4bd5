"""The backend's parts that read the settings per call, switched to a configuration applied
live (`Hotline.apply_settings`); what they read only at start-up is listed in the README
("Changing the configuration live")."""

from __future__ import annotations

from collections.abc import Sequence

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.service import DeskService
from config.settings import Settings
from ivr.welcome import WelcomeFlow
from telephony.call_control_service import CallControl
from telephony.call_targets import dial_budget_s, targets_of

AgentQueues = dict[str, Sequence[tuple[str, int]]]


def desk_agents_added(desk: DeskService, settings: Settings) -> list[str]:
    """New agents known to the desk (logged out) before Asterisk adds them to their queues,
    so that their QueueMemberAdded sets their presence; the extensions added."""
    now = desk.clock()
    added = [a for a in settings.agents if a.extension not in desk.presences]
    for agent in added:
        desk.presences[agent.extension] = AgentPresence.logged_out(agent.extension, agent.name, now)
        desk.members[agent.extension] = set()
    return [a.extension for a in added]


def desk_agents_dropped(desk: DeskService, extensions: Sequence[str]) -> None:
    """Undo `desk_agents_added` (the configuration was not applied)."""
    for ext in extensions:
        desk.presences.pop(ext, None)
        desk.members.pop(ext, None)


def follow(
    settings: Settings, control: CallControl, ivr: WelcomeFlow, agent_queues: AgentQueues
) -> None:
    """Consult and transfer targets and their dial budget, the IVR's queue per choice, and
    the queues each agent's desk logs into: from `settings` on."""
    ivr.route({str(k): q for k, q in settings.ivr.queues.items()}, settings.ivr.operator_queue)
    control.targets = targets_of(settings)
    control.dial_budget_s = dial_budget_s(settings)
    agent_queues.clear()
    agent_queues.update(settings.agent_queues())
