"""The IVR's 24/7 ports: whether the centre is in its working hours now (the current
settings' hours, which `follow` swaps when a change is applied live, over the CRM's working
calendar), and a message or callback request of a caller nobody answered, as a work order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from config.telephony_sections import WorkingHours
from crm.db.engine import SessionFactory
from crm.domain.calendar import ChineseWorkCalendar, WorkCalendar
from crm.domain.clock import utc_now
from crm.domain.working_hours import Ranges, in_working_hours
from crm.errors import CrmError
from crm.jobs.overdue_sweep import system_actor
from crm.repo.calendar import CalendarCache
from crm.usecases.call_order import TakenCall
from crm.usecases.caller_message import take_caller_message
from ivr.nobody import Message

log = logging.getLogger(__name__)

MESSAGE_USER = "系统留言"  # the system user the orders of unanswered callers are signed by


def _now() -> datetime:
    return datetime.now(UTC)


class HoursScreen:
    """`ivr.welcome.InHours` over `hours` (replaced whole when the settings change)."""

    def __init__(
        self, hours: WorkingHours, sessions: SessionFactory,
        clock: Callable[[], datetime] = _now,
    ) -> None:  # fmt: skip
        self.hours = hours
        self._sessions = sessions
        self._clock = clock
        self._calendar = CalendarCache()

    async def __call__(self) -> bool:
        weekly: dict[str, Ranges] = {
            day: [(r.start, r.end) for r in ranges] for day, ranges in self.hours.weekly.items()
        }
        if not weekly:
            return True  # around the clock: no calendar needed
        return in_working_hours(weekly, await self._work_calendar(), self._clock())

    async def _work_calendar(self) -> WorkCalendar:
        """The admin's calendar; the package's alone if the database cannot say (a caller
        is routed all the same)."""
        try:
            async with self._sessions() as session:
                return await self._calendar.get(session)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("working calendar not read (%r): the published calendar alone", exc)
            return ChineseWorkCalendar()


class CallerMessages:
    """`ivr.nobody.TakeMessage` over the CRM: each message or callback request an order,
    signed by the system user `MESSAGE_USER`."""

    def __init__(self, sessions: SessionFactory, centre_code: str) -> None:
        self._sessions = sessions
        self._centre_code = centre_code
        self._calendar = CalendarCache()

    async def __call__(self, message: Message) -> bool:
        call = TakenCall(message.uniqueid, message.caller_id, message.caller_name,
                         message.recording)  # fmt: skip
        try:
            actor = await system_actor(self._sessions, MESSAGE_USER)
            async with self._sessions() as session, session.begin():
                order = await take_caller_message(
                    session, call, actor, centre_code=self._centre_code, now=utc_now(),
                    calendar=await self._calendar.get(session),
                )  # fmt: skip
        except (CrmError, SQLAlchemyError, OSError):
            log.exception("IVR %r: the caller's message was not stored", message.uniqueid)
            return False
        what = "message" if message.recording else "callback request"
        log.info("IVR %r: %s stored as order %s", message.uniqueid, what, order["number"])
        return True
