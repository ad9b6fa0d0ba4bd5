"""The alerts' way to the supervisors' and duty leaders' desks: each alert the CRM raised is
pushed once to the supervisors' topic on the bus (`alert` in agent_gateway/edge/protocol.py)
and to the own desk topic of each duty leader bound to an agent extension (rules §8: told at
once even when not on the supervisor page), then marked published. It joins the CRM and the
desk's bus, so it lives in the wiring root.

Published means Redis holds every push (the outbox writer's `publish` waits for it) before
`published_at` is committed: a crash or a failed push in between pushes that alert again
(the desktops know it by `alert_id`), never loses one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from agent_gateway.edge.alert_message import Alert
from agent_gateway.edge.protocol import SUPERVISORS, agent_topic
from config.settings import Settings
from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.emergency import EmergencyRules
from crm.jobs.periodic import PeriodicJob
from crm.usecases.alerts import AlertView, DutyLeaders, duty_leaders, mark_published, unpublished

log = logging.getLogger(__name__)

Publish = Callable[[str, Mapping[str, Any]], Awaitable[int]]


def emergency_rules(settings: Settings) -> EmergencyRules:
    """The CRM's view of `[emergency]`."""
    e = settings.emergency
    return EmergencyRules(e.warn_before_s, e.result_due_h, tuple(e.duty_leaders))


def _epoch(value: datetime | None) -> float | None:
    return value.replace(tzinfo=UTC).timestamp() if value is not None else None


def alert_message(view: AlertView, rules: EmergencyRules, leaders: DutyLeaders) -> Alert:
    a, o = view.alert, view.order
    return Alert(
        alert_id=a.id, kind=a.kind.value, order_id=a.order_id, subject=a.subject or "",
        order_number=o.number if o else None, order_type=o.order_type.value if o else None,
        severity=o.severity.value if o else None, stability_clue=bool(o and o.stability_clue),
        line=view.line() or None, raised_at=a.raised_at.replace(
            tzinfo=UTC).timestamp(), due_at=_epoch(view.due_at()),
        duty_leaders=leaders.names(), message=view.message(rules), detail=a.detail,
    )  # fmt: skip


class AlertPublisher(PeriodicJob):
    """Every `interval_s` (or when woken by the clock), the alerts not yet pushed."""

    name = "alert publisher"

    def __init__(
        self, sessions: SessionFactory, publish: Publish, rules: EmergencyRules, interval_s: float
    ) -> None:
        super().__init__(interval_s)
        self.sessions = sessions
        self.publish = publish
        self.rules = rules
        self.published = 0

    async def run_once(self) -> None:
        async with self.sessions() as session:
            views = await unpublished(session)
            leaders = await duty_leaders(session, self.rules) if views else DutyLeaders((), ())
        if leaders.missing:  # once per round, whatever the number of alerts
            log.error("duty leaders %s are not active centre users: not told", leaders.missing)
        topics = [SUPERVISORS] + [
            agent_topic(leader.extension) for leader in leaders.found if leader.extension
        ]
        for view in views:
            try:
                body = alert_message(view, self.rules, leaders).model_dump(mode="json")
                for topic in topics:
                    await self.publish(topic, body)
                async with self.sessions() as session, session.begin():
                    await mark_published(session, view.alert.id, utc_now())
            except Exception:  # one bad alert never holds back the others
                self.failures += 1
                log.exception("alert %d not published; tried again next round", view.alert.id)
                continue
            self.published += 1
            log.info(
                "alert %d (%s) pushed to %s", view.alert.id, view.alert.kind.value,
                ", ".join(topics),
            )  # fmt: skip
