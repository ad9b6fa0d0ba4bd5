"""The wiring root: builds every adapter from the settings, each as one async context.

Start-up order is the order callers need things: the FastAGI server (so the IVR is there
before the first call), then the database, Redis and Asterisk (together: none needs the
others to start), the AMI link and its consumer (with the desktops' listeners), the command
executor, the websocket gateway, then HTTP, which runs in a process of its own
(`http_process`) so that API work never holds up the calls. Shutdown runs the same stack
backwards. The HTTP child's interpreter is started first, so that its imports (seconds)
overlap the rest, and is asked to stop first but waited for last."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from agent_gateway.desk.commands.executor import CommandExecutor
from agent_gateway.desk.commands.revisit import Revisits
from agent_gateway.desk.orders import DeskOrders
from agent_gateway.desk.service import DeskService
from agent_gateway.desk.spy_publisher import SpyPublisher
from agent_gateway.desk.users import DeskUsers
from agent_gateway.edge.bus import Bus
from agent_gateway.edge.command_seal import seal_key
from agent_gateway.edge.overflow_message import overflow_switch
from agent_gateway.edge.protocol import SUPERVISORS
from agent_gateway.edge.server import GatewayServer
from call_log.spy_audit import SpyAudit
from call_log.writer import CallLog, running_call_log
from config.emergency_settings import supervisor_phones
from config.secrets import resolve_secrets
from config.settings import Settings
from config.telephony_config import document_from
from crm.db.engine import SessionFactory, session_factory
from crm.jobs.emergency_clock import EmergencyClock
from crm.jobs.handover_sender import HandoverSender, Peer
from crm.jobs.overdue_sweep import OverdueSweep
from hotline_cli.alert_publisher import AlertPublisher, Publish, emergency_rules
from hotline_cli.config_follow import POLL_S, VersionApplier, follow_versions
from hotline_cli.http_process import HttpJob, HttpProcess
from hotline_cli.ivr_routes import ivr_routes
from hotline_cli.live_settings import (
    AgentQueues,
    Followers,
    desk_agents_added,
    desk_agents_dropped,
    desk_queues,
    follow,
)
from hotline_cli.queue_callbacks import offer_after_s
from hotline_cli.recording_jobs import recording_upkeep
from hotline_cli.sounds import build_sounds
from hotline_cli.startup_store import record_started, stored_database, stored_settings
from hotline_cli.status_api import report_health, report_health_forever
from hotline_cli.tasks import TaskHealth, Tasks
from hotline_cli.trunk_alerts import TrunkAlerts
from hotline_cli.trunk_status import TrunkStatus
from hotline_cli.wall_settings import service_rule, wall_publisher
from ivr.server import FastAgiServer
from processes.redis_server import RedisProcess
from recordings.checker import RecordingChecker
from telephony.actions import add_queue_member
from telephony.ami import AmiClient
from telephony.announcer import PositionAnnouncer
from telephony.asterisk_config import Layout, layout_for, write_config
from telephony.asterisk_process import AsteriskProcess
from telephony.call_control_service import CallControl
from telephony.dialplan import (
    CONTEXT_AGENTS,
    CONTEXT_POSITION,
)
from telephony.live_config import AppliedChange, apply
from telephony.overflow_seats import OverflowControl, Switch
from telephony.service import Listener, TelephonyService
from telephony.spy_service import SpyService
from telephony.tracker import CallTracker
from telephony.trunk_health import initial_health
from telephony.trunk_monitor import TrunkMonitor

log = logging.getLogger(__name__)


@dataclass
class Hotline:
    settings: Settings
    layout: Layout
    asterisk: AsteriskProcess
    redis: Redis
    redis_url: str
    ami: AmiClient
    service: TelephonyService
    agi: FastAgiServer
    engine: AsyncEngine
    sessions: SessionFactory
    bus: Bus
    desk: DeskService
    gateway: GatewayServer
    tasks: Tasks
    desk_users: DeskUsers
    recordings: RecordingChecker
    call_log: CallLog
    control: CallControl
    spy: SpyService
    followers: Followers  # what follows a configuration applied live
    trunks: TrunkMonitor
    versions: VersionApplier | None = None  # the stored versions applied live, once running
    _applying: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def tracker(self) -> CallTracker:
        return self.service.tracker

    async def staff_queues(self) -> int:
        """Log every configured agent into the queues its skills serve; return how many joined."""
        joined = 0
        serving = self.settings.agent_queues()
        for agent in self.settings.agents:
            for queue, penalty in serving[agent.extension]:
                joined += await add_queue_member(
                    self.ami, queue, agent.extension, agent.name, penalty
                )
        return joined

    async def apply_settings(self, new: Settings) -> AppliedChange:
        """Run `new` (validated) without a restart: Asterisk reloads only what changed
        (`telephony.live_config`), then the parts reading the settings per call follow it;
        ApplyError: the old configuration still runs."""
        new = resolve_secrets(new)
        # One at a time, each from the one before; the overflow control waits until `new` is
        # followed (else it could take out a seat the apply left in as a member now).
        async with self._applying, self.followers.overflow.members:
            added = desk_agents_added(self.desk, new)
            try:
                change = await apply(self.ami, self.asterisk, self.layout.etc, self.settings, new)
            except BaseException:
                desk_agents_dropped(self.desk, added)
                raise
            old, self.settings = self.settings, new  # Asterisk runs `new` from here on
            follow(new, self.followers)
            try:
                legs_changed = await self.trunks.follow(old, new)
            except Exception:  # the centre runs `new` all the same: the apply stands
                log.exception("trunk legs of the new configuration not followed")
                legs_changed = False
        if legs_changed:  # its per-leg Getvars not under the lock (it logs a leg not read)
            await self.trunks.read_back()
        return change


@asynccontextmanager
async def _redis(settings: Settings) -> AsyncIterator[tuple[Redis, str]]:
    async with AsyncExitStack() as stack:
        url = settings.redis.url
        if not url:
            server = RedisProcess(
                settings.redis.port, settings.state_dir / "redis",
                password=settings.redis.password.get_secret_value(),
            )  # fmt: skip
            await stack.enter_async_context(server)
            url = server.url
        client = Redis.from_url(url)
        stack.push_async_callback(client.aclose)
        yield client, url


def _ami(settings: Settings) -> AmiClient:
    return AmiClient(
        host=settings.ami.host, port=settings.ami.port, username=settings.ami.username,
        secret=settings.ami.secret.get_secret_value(),
    )  # fmt: skip


def _desk(settings: Settings, bus: Bus, redis: Redis, ami: AmiClient, tracker: CallTracker,
          orders: DeskOrders) -> DeskService:  # fmt: skip
    return DeskService(
        bus, redis, ami, tracker,
        agents={a.extension: a.name for a in settings.agents},
        queues=desk_queues(settings),
        load_summary=orders.caller_summary, max_wrapup_s=settings.gateway.max_wrapup_s,
        load_recording_paused=orders.recording_paused,
        goals_s=service_rule(settings).queue_goals_s,
    )  # fmt: skip


def _gateway(settings: Settings, bus: Bus, redis: Redis, desk: DeskService) -> GatewayServer:
    return GatewayServer(
        bus, redis, host=settings.gateway.host, port=settings.gateway.port,
        secret=settings.gateway.secret.get_secret_value().encode(),
        allowed_origins=settings.desktop_origins, local=desk.writer,
        recheck_s=settings.gateway.recheck_s,
    )  # fmt: skip


def _executor(settings: Settings, bus: Bus, desk: DeskService, ami: AmiClient,
              tracker: CallTracker, orders: DeskOrders, control: CallControl, spy: SpyService,
              agent_queues: AgentQueues, checker: RecordingChecker) -> CommandExecutor:  # fmt: skip
    revisits = None if settings.outbound is None else Revisits(
        orders, settings.recordings.enabled, recorded_call_ended=checker.wake
    )  # fmt: skip
    return CommandExecutor(
        bus, desk, ami, tracker, orders, agent_queues, CONTEXT_AGENTS, control,
        settings.gateway.command_max_age_s,
        seal_key=seal_key(settings.gateway.secret.get_secret_value().encode()), spy=spy,
        revisits=revisits,
    )  # fmt: skip


def _handover_sender(settings: Settings, sessions: SessionFactory) -> HandoverSender:
    exchange = settings.exchange
    peers = {line: Peer(p.url, p.secret.get_secret_value().encode())
             for line, p in exchange.peers.items()}  # fmt: skip
    return HandoverSender(sessions, peers, retry_first_s=exchange.retry_first_s,
                          retry_max_s=exchange.retry_max_s,
                          self_id=settings.centre.inbound_number,
                          interval_s=min(1.0, exchange.retry_first_s))  # fmt: skip


async def _overflow_to_wall(publish: Publish, switch: Switch) -> None:
    """An overflow switch on the supervisors' topic (the wall shows it)."""
    body = overflow_switch(switch.queue, switch.on, list(switch.seats), switch.reason, switch.at)
    await publish(SUPERVISORS, body.model_dump(mode="json"))


@asynccontextmanager
async def running_hotline(
    settings: Settings,
    listeners: Sequence[Listener] = (),
    *,
    http: bool = True,
    commands: bool = True,
) -> AsyncIterator[Hotline]:
    """Everything up and connected on entry; everything stopped on exit (`commands=False`:
    no command executor, for tests that run their own). `settings` are the file's: its
    telephony sections seed the database's configuration on first start, which runs from
    then on (`config_follow`). Each line enters one part."""
    seed = document_from(settings)  # its empty secrets stay "generate one"
    file_settings = resolve_secrets(settings)
    tracker, tasks = CallTracker(), Tasks()
    async with AsyncExitStack() as stack:
        enter, supervised = stack.enter_async_context, tasks.supervised
        # The HTTP child imports the app (seconds) while the rest comes up; ends as it stops.
        web_process = await enter(HttpProcess()) if http else None
        engine = await enter(stored_database(file_settings, seed))
        sessions = session_factory(engine)
        # Hotline.settings carries the secrets in use
        settings, version = await stored_settings(file_settings, sessions)
        layout = layout_for(settings)
        write_config(settings, layout)
        build_sounds(layout)
        redis, redis_url = await enter(_redis(settings))
        bus = Bus(redis)
        ivr = ivr_routes(settings, layout, sessions, tracker)
        agent_queues: AgentQueues = dict(settings.agent_queues())
        emergency = [t.number for t in settings.trunks.values()]
        agi_server = FastAgiServer(settings.agi.host, settings.agi.port, ivr.routes)
        agi = await enter(agi_server)  # before Asterisk sends the first call
        asterisk = AsteriskProcess(layout)
        await enter(asterisk)
        ami = await enter(_ami(settings))
        orders = DeskOrders(sessions, settings.centre.code)
        desk = await enter(_desk(settings, bus, redis, ami, tracker, orders))
        announcer = PositionAnnouncer(
            ami, tracker, [q.name for q in settings.queues if q.announce_position],
            CONTEXT_POSITION, offer_after_s=offer_after_s(settings),
        )  # fmt: skip
        checker = await enter(RecordingChecker.from_settings(settings, sessions))
        call_log = await enter(
            running_call_log(sessions, tracker, emergency, supervised, checker.wake)
        )
        control = CallControl.from_settings(settings, ami, tracker)
        control.add_listener(desk.on_control)
        control.add_listener(call_log.on_control)
        wall = wall_publisher(settings, desk, sessions)
        spy = SpyService(ami, tracker, control.state, supervisor_phones(settings.colleagues))
        spy_audit = SpyAudit(sessions)
        spy.listeners += [spy_audit.on_session, SpyPublisher(desk.writer).on_session]
        spy.recover = spy_audit.open_sessions
        spy.refusal_listeners.append(spy_audit.on_session)
        await enter(supervised("spy audit", spy_audit.run))
        rules, clock_s = emergency_rules(settings), settings.emergency.clock_interval_s
        alerts = await enter(AlertPublisher(sessions, desk.writer.publish, rules, clock_s))
        trunk_alerts = TrunkAlerts(sessions, alerts.wake)  # from the first read-back on
        await enter(supervised("trunk alerts", trunk_alerts.run))
        status = TrunkStatus(redis, wall.wake)
        trunks = TrunkMonitor(ami, initial_health(settings), status, (trunk_alerts,))
        wall.trunks = trunks.health
        service = await enter(TelephonyService(
            ami, tracker, [desk.on_call, wall.on_call, announcer.on_call, call_log.on_call,
                           *ivr.call_listeners, *listeners],
            [control.on_event, desk.on_event, wall.on_event, call_log.on_event, spy.on_event,
             trunks.on_event],
        ))  # fmt: skip
        await ami.wait_connected(10)
        await service.wait_synced(10)
        tasks.watch("ami consumer", lambda: TaskHealth(
            service.stats.listener_errors + service.stats.consumer_errors))  # fmt: skip
        tasks.watch("desk outbox writer", lambda: TaskHealth(desk.writer.failures))
        if ivr.callbacks is not None:  # after the first re-sync: it knows the live placeholders
            callbacks = partial(ivr.callbacks.run, ami, tracker, service.synced)
            await enter(supervised("queue callbacks", callbacks, ivr.callbacks.health))
        tasks.watch("spy audit", lambda: TaskHealth(spy_audit.dropped))
        to_wall = partial(_overflow_to_wall, desk.writer.publish)
        overflow = OverflowControl(ami, tracker, settings, to_wall)
        await enter(supervised("overflow seats", overflow.run))
        if commands:
            executor = _executor(
                settings, bus, desk, ami, tracker, orders, control, spy, agent_queues, checker
            )
            await enter(supervised("agent commands", executor.run))
        overdue = await enter(OverdueSweep(sessions, settings.database.supervision_interval_s))
        tasks.watch("supervision sweeps", lambda: TaskHealth(overdue.failures))
        clock = await enter(EmergencyClock(sessions, rules, clock_s, after=alerts.wake))
        tasks.watch("emergency clock", lambda: TaskHealth(
            clock.failures + alerts.failures + trunk_alerts.failures))  # fmt: skip
        await enter(wall)
        tasks.watch("live wall", lambda: TaskHealth(wall.failures))
        sender = await enter(_handover_sender(settings, sessions))
        tasks.watch("hand-over sender", lambda: TaskHealth(sender.failures))
        upkeep = await enter(recording_upkeep(settings, sessions, lambda: set(tracker.calls)))
        tasks.watch("recording upkeep", lambda: TaskHealth(upkeep.failures))
        tasks.watch("recording checks", lambda: TaskHealth(checker.stats.failures), checker.alarms)
        await enter(supervised("queue positions", announcer.run))
        desk_users = DeskUsers(sessions, redis)
        await desk_users.publish()  # before any desktop connects
        recheck_s = settings.gateway.recheck_s
        await enter(supervised("desk users", lambda: desk_users.run(recheck_s)))
        gateway = await enter(_gateway(settings, bus, redis, desk))
        tasks.watch("desk users recheck", lambda: TaskHealth(gateway.recheck_failures))
        if web_process is not None:
            ws_url = f"ws://{settings.gateway.host}:{gateway.port}/"
            level = logging.getLogger().getEffectiveLevel()
            job = HttpJob(file_settings, redis_url, ws_url, level)
            await web_process.serve(job)
            # Asked to stop first (it started serving last); waited for at the very end.
            stack.push_async_callback(web_process.ask_to_stop)
            tasks.watch("http process", lambda: web_process.health)
        await report_health(redis, service, tasks)  # /health is whole once we are up
        reports = partial(report_health_forever, redis, service, tasks)
        await enter(supervised("health report", reports))
        hotline = Hotline(
            settings, layout, asterisk, redis, redis_url, ami, service, agi, engine, sessions,
            bus, desk, gateway, tasks, desk_users, checker, call_log, control, spy,
            Followers(control, ivr.welcome, agent_queues, desk, wall, announcer, ivr.nuisance,
                      overflow, ivr.hours),
            trunks,
        )  # fmt: skip
        await record_started(sessions, version)
        hotline.versions = VersionApplier(hotline, file_settings, sessions, version)
        follower = partial(follow_versions, redis, hotline.versions, POLL_S)
        await enter(supervised("telephony configuration", follower))
        yield hotline
