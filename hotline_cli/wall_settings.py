"""The live wall's publisher built from `[supervision]` and `[emergency]` (the wiring root's)."""

from __future__ import annotations

from agent_gateway.desk.service import DeskService
from agent_gateway.desk.wall import Thresholds
from agent_gateway.desk.wall_publisher import WallPublisher
from config.settings import Settings
from crm.db.engine import SessionFactory
from crm.domain.wall_figures import ServiceRule


def wall_publisher(
    settings: Settings, desk: DeskService, sessions: SessionFactory
) -> WallPublisher:
    s = settings.supervision
    limits = Thresholds(
        longest_wait_alert_s=s.longest_wait_alert_s, pause_alert_s=s.pause_alert_s,
        pause_alert_s_by_reason=dict(s.pause_alert_s_by_reason),
        emergency_warn_s=settings.emergency.warn_before_s,
    )  # fmt: skip
    return WallPublisher(
        desk, sessions, service_rule(settings), limits, wall_serving(settings), s.wall_refresh_s
    )


def service_rule(settings: Settings) -> ServiceRule:
    """How the wall counts the service level: each queue by its own `service_level_s`."""
    s = settings.supervision
    goals = {q.name: float(q.service_level_s) for q in settings.queues}
    return ServiceRule(s.service_goal_s, s.short_abandon_s, goals)


def wall_serving(settings: Settings) -> dict[str, list[str]]:
    """Extension → the queues the wall shows it serving (logged out of them, if not in)."""
    return {ext: [q for q, _ in queues] for ext, queues in settings.agent_queues().items()}
