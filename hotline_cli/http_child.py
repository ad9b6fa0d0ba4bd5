"""The HTTP process's own side: read the job from stdin, serve until stdin closes.

Ctrl-C, which reaches the whole process group, is left to the parent, which stops this
process in its own shutdown order by closing stdin (`http_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from aiohttp import web
from redis.asyncio import Redis

from agent_gateway.desk.http import DeskHttp
from agent_gateway.desk.users import DeskUsers
from config.emergency_settings import department_phones, supervisor_phones
from config.settings import Settings, SettingsError
from config.telephony_config import TelephonyConfig, settings_with
from crm.api import create_app as create_crm_app
from crm.api.access_log import PathOnlyAccessLogger
from crm.api.exchange import ExchangeDoor
from crm.api.telephony import TelephonyHooks
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.usecases import telephony_config as store
from crm.usecases.telephony_applies import running_version
from hotline_cli.alert_publisher import emergency_rules
from hotline_cli.config_follow import POLL_S, announce, follow_versions, newer_version, runnable
from hotline_cli.http_doc import DOCUMENTED
from hotline_cli.http_process import JOB_LENGTH, READY, HttpJob
from hotline_cli.log_format import configure_logging
from hotline_cli.status_api import add_status_routes
from hotline_cli.trunk_status import read_trunks
from hotline_cli.unit_dialler import AmiDialler

log = logging.getLogger(__name__)


def exchange_door(settings: Settings) -> ExchangeDoor:
    """The receiving centres' door as configured ([exchange]; secrets resolved)."""
    exchange = settings.exchange
    return ExchangeDoor(
        secrets={line: p.secret.get_secret_value().encode() for line, p in exchange.peers.items()},
        max_body_bytes=exchange.max_body_bytes, max_clock_skew_s=exchange.max_clock_skew_s,
    )  # fmt: skip


def unit_dialler(settings: Settings) -> AmiDialler | None:
    """The handling units' calls to citizens, with an outbound trunk configured at start."""
    if settings.outbound is None:
        return None
    return AmiDialler(settings.ami, settings.recordings.enabled)


def desk_follows(desk: DeskHttp, settings: Settings) -> None:
    """Who gets a desk ticket, whom the consult picker offers, the supervisors' phones: from
    `settings` on."""
    desk.extensions = frozenset(a.extension for a in settings.agents)
    desk.phones = frozenset(supervisor_phones(settings.colleagues))
    desk.targets = [{"number": a.extension, "name": a.name, "kind": "agent"}
                    for a in settings.agents]  # fmt: skip
    desk.targets += [{"number": c.extension, "name": c.name, "kind": c.kind}
                     for c in settings.colleagues]  # fmt: skip


class DeskFollower:
    """The HTTP process's `config_follow.follow_versions` check: the desk's view of the
    version the call process runs (the newest applied: one it failed to apply is never
    followed), and that version's document (`document`, what a change is checked against)."""

    def __init__(self, desk: DeskHttp, job: HttpJob, sessions: SessionFactory) -> None:
        self.desk, self.job, self.sessions = desk, job, sessions
        self.version = 0
        self.document: TelephonyConfig | None = None  # None: no apply recorded yet

    async def __call__(self) -> None:
        row = await newer_version(self.sessions, self.version, running_version)
        if row is None:
            return
        self.version = row.version
        document = store.document_of(row)
        try:
            desk_follows(self.desk, settings_with(self.job.settings, document))
        except SettingsError as exc:
            log.error("telephony configuration version %d not followed: %s", row.version, exc)
            return
        self.document = document
        log.info("desk tickets follow telephony configuration version %d", row.version)


@asynccontextmanager
async def serving(job: HttpJob) -> AsyncIterator[None]:
    """The HTTP app on its port, with a database engine and a Redis client of its own, its
    settings the file's infrastructure running the stored telephony configuration."""
    async with AsyncExitStack() as stack:
        engine = create_engine(job.settings.database_url)  # migrated by the call process
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        # seeded by the call process (none yet: the file's, until one is stored)
        row = await newer_version(sessions, 0)
        settings = (
            job.settings if row is None else settings_with(job.settings, store.document_of(row))
        )
        redis = Redis.from_url(job.redis_url)
        stack.push_async_callback(redis.aclose)
        secret = settings.gateway.secret.get_secret_value().encode()
        desk = DeskHttp(sessions, redis, secret, (), job.ws_url, settings.gateway.ticket_ttl_s,
                        warn_before_s=settings.emergency.warn_before_s)  # fmt: skip
        desk_follows(desk, settings)
        follower = DeskFollower(desk, job, sessions)
        await follower()  # the version running, once the call process has applied one
        hooks = TelephonyHooks(runnable(job.settings, lambda: follower.document), announce(redis))
        app = create_crm_app(
            sessions, centre_code=settings.centre.code,
            users_changed=DeskUsers(sessions, redis).changed, documented=DOCUMENTED,
            connect_src=[job.ws_url], recordings_dir=settings.recordings_dir,
            link_secret=secret, emergency=emergency_rules(settings),
            exchange_door=exchange_door(settings),
            supervisor_phones=supervisor_phones(settings.colleagues),
            department_phones=department_phones(settings.colleagues),
            telephony_hooks=hooks, trunk_states=partial(read_trunks, redis),
            unit_dialler=unit_dialler(settings),
        )  # fmt: skip
        add_status_routes(app, redis)
        desk.add_routes(app)
        following = asyncio.create_task(follow_versions(redis, follower, POLL_S))
        stack.push_async_callback(_cancelled, following)
        web_runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
        await web_runner.setup()
        stack.push_async_callback(web_runner.cleanup)
        await web.TCPSite(web_runner, settings.http.host, settings.http.port).start()
        yield


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _read_job() -> HttpJob:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = os.read(0, count - len(data))
            if not chunk:
                raise EOFError("stdin closed before the job was read")
            data += chunk
        return data

    (length,) = JOB_LENGTH.unpack(exactly(JOB_LENGTH.size))
    job = pickle.loads(exactly(length))
    if not isinstance(job, HttpJob):
        raise TypeError(f"not an HTTP job: {type(job).__name__}")
    return job


async def _serve_until_stdin_closes(job: HttpJob) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_stdin() -> None:
        with contextlib.suppress(OSError):
            if os.read(0, 4096):
                return  # nothing more is sent; only the end of stdin means anything
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with serving(job):
        loop.add_reader(0, on_stdin)
        sys.stdout.buffer.write(READY)
        sys.stdout.buffer.flush()
        os.dup2(2, 1)  # nobody reads the pipe any more: a stray print must not fill it
        await stop.wait()
        loop.remove_reader(0)


# Where calls and API work compete for a core, calls win: the scheduler gives a process
# niced by 10 about a tenth of the share of the call process (exports merely take longer).
NICENESS = 10


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us (module docstring)
    os.nice(NICENESS)
    try:
        job = _read_job()
    except EOFError:
        return  # the backend stopped before it started serving: nothing to serve
    configure_logging(job.log_level)
    asyncio.run(_serve_until_stdin_closes(job))


if __name__ == "__main__":
    main()
