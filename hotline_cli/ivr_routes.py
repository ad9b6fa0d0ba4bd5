"""The IVR's FastAGI routes, wired: the welcome menu (nuisance screen, working hours, order
status), the satisfaction survey, the nobody-answers flow and the callback key (its backend
task kept here, for the wiring root to start), each given its ports over the CRM and the
tracker. The screens are kept for the live followers (`live_settings.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from config.settings import Settings
from crm.db.engine import SessionFactory
from hotline_cli.after_hours import CallerMessages, HoursScreen
from hotline_cli.nuisance_screen import NuisanceScreen
from hotline_cli.order_lookup import OrderStatusLookup
from hotline_cli.queue_callbacks import QueueCallbacks
from hotline_cli.sounds import prompt_dir
from hotline_cli.survey_offer import SurveyOffer
from ivr.callback import CallbackFlow
from ivr.nobody import NobodyFlow
from ivr.order_status import OrderStatusFlow
from ivr.server import Flow
from ivr.survey import SurveyFlow
from ivr.welcome import WelcomeFlow
from telephony.asterisk_config import Layout
from telephony.dialplan import (
    AGI_ROUTE_CALLBACK,
    AGI_ROUTE_IVR,
    AGI_ROUTE_NOBODY,
    AGI_ROUTE_SURVEY,
)
from telephony.service import Listener
from telephony.tracker import CallTracker


@dataclass(frozen=True)
class IvrRoutes:
    routes: dict[str, Flow]  # by agi_network_script
    welcome: WelcomeFlow
    nuisance: NuisanceScreen
    hours: HoursScreen
    callbacks: QueueCallbacks | None = None  # the callback keeping the place, if offered
    call_listeners: list[Listener] = field(default_factory=list)


def ivr_routes(
    settings: Settings, layout: Layout, sessions: SessionFactory, tracker: CallTracker
) -> IvrRoutes:
    prompts = prompt_dir(layout)
    nuisance, hours = NuisanceScreen(settings.nuisance), HoursScreen(settings.hours, sessions)
    welcome = WelcomeFlow(
        prompts,
        queues={str(label): queue for label, queue in settings.ivr.queues.items()},
        default_queue=settings.ivr.operator_queue,
        choice_timeout_ms=settings.ivr.choice_timeout_ms,
        emergency_line=settings.emergency_key_line,
        refuse=nuisance,
        order_status=OrderStatusFlow(prompts, OrderStatusLookup(sessions, settings.centre.code)),
        in_hours=hours,
    )
    survey = SurveyFlow(
        prompts,
        offer=SurveyOffer(tracker, [t.number for t in settings.trunks.values()]),
        answer_timeout_ms=settings.ivr.choice_timeout_ms,
    )
    nobody = NobodyFlow(prompts, layout.monitor, CallerMessages(sessions, settings.centre.code))
    routes: dict[str, Flow] = {
        AGI_ROUTE_IVR: welcome, AGI_ROUTE_SURVEY: survey, AGI_ROUTE_NOBODY: nobody,
    }  # fmt: skip
    if settings.outbound is None:  # nobody to call back through: no callback key
        return IvrRoutes(routes, welcome, nuisance, hours)
    callbacks = QueueCallbacks(settings, sessions)
    routes[AGI_ROUTE_CALLBACK] = CallbackFlow(prompts, callbacks.take)
    return IvrRoutes(routes, welcome, nuisance, hours, callbacks, [callbacks.on_call])
