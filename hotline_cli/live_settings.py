"""The backend's parts that read the settings per call, switched to a configuration applied
live (`Hotline.apply_settings`); what they read only at start-up is listed in the README
("Changing the configuration live")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent_gateway.desk.presence import AgentPresence
from agent_gateway.desk.service import DeskService
from agent_gateway.desk.wall_publisher import WallPublisher
from config.settings import Settings
from hotline_cli.after_hours import HoursScreen
from hotline_cli.nuisance_screen import NuisanceScreen
from hotline_cli.wall_settings import service_rule, wall_serving
from ivr.welcome import WelcomeFlow
from telephony.announcer import PositionAnnouncer
from telephony.call_control_service import CallControl
from telephony.call_targets import dial_budget_s, targets_of
from telephony.dialplan import DUTY_QUEUE
from telephony.overflow_seats import OverflowControl

AgentQueues = dict[str, Sequence[tuple[str, int]]]


def desk_queues(settings: Settings) -> list[str]:
    """The queues whose figures the desk and the supervisors see: the configured ones and the
    duty group's if it has phones (after-hours calls wait there)."""
    duty = [DUTY_QUEUE] if settings.hours.duty_group.extensions else []
    return [*(q.name for q in settings.queues), *duty]


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


@dataclass(frozen=True)
class Followers:
    """The parts of the running backend that read the settings per call or per round."""

    control: CallControl
    ivr: WelcomeFlow
    agent_queues: AgentQueues  # extension → (queue, penalty): what each desk logs into
    desk: DeskService
    wall: WallPublisher
    announcer: PositionAnnouncer
    nuisance: NuisanceScreen  # the IVR's nuisance list, asked at each call
    overflow: OverflowControl
    hours: HoursScreen  # the IVR's working hours, asked at each call


def follow(settings: Settings, parts: Followers) -> None:
    """Consult and transfer targets and their dial budget, the IVR's queue per choice, the
    queues each desk logs into, the queues the desk and the wall show, whom they show
    serving them and each queue's answer goal, the queues whose callers hear their
    position, the nuisance numbers the IVR refuses, the working hours it routes by, the
    overflow seats and their thresholds (evaluated again at once): from `settings` on."""
    ivr_queues = {str(k): q for k, q in settings.ivr.queues.items()}
    parts.ivr.route(ivr_queues, settings.ivr.operator_queue)
    parts.control.targets = targets_of(settings)
    parts.control.dial_budget_s = dial_budget_s(settings)
    parts.agent_queues.clear()
    parts.agent_queues.update(settings.agent_queues())
    parts.desk.queues = desk_queues(settings)
    parts.wall.agent_queues = wall_serving(settings)
    rule = service_rule(settings)
    parts.wall.follow_rule(rule)
    parts.desk.figures.goals_s = rule.queue_goals_s
    parts.announcer.queues = frozenset(q.name for q in settings.queues if q.announce_position)
    parts.nuisance.entries = settings.nuisance
    parts.hours.hours = settings.hours
    parts.overflow.settings = settings
    parts.overflow.wake()
