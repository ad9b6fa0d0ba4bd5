"""The HTTP process's own side: read the job from stdin, serve until stdin closes.

Ctrl-C, which reaches the whole process group, is left to the parent, which stops this
process in its own shutdown order by closing stdin (`http_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
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
from config.emergency_settings import supervisor_phones
from config.settings import Settings
from crm.api import create_app as create_crm_app
from crm.api.access_log import PathOnlyAccessLogger
from crm.api.exchange import ExchangeDoor
from crm.db.engine import create_engine, session_factory
from hotline_cli.alert_publisher import emergency_rules
from hotline_cli.http_doc import DOCUMENTED
from hotline_cli.http_process import JOB_LENGTH, READY, HttpJob
from hotline_cli.log_format import configure_logging
from hotline_cli.status_api import add_status_routes
from hotline_cli.trunk_status import read_trunks


def exchange_door(settings: Settings) -> ExchangeDoor:
    """The receiving centres' door as configured ([exchange]; secrets resolved)."""
    exchange = settings.exchange
    return ExchangeDoor(
        secrets={line: p.secret.get_secret_value().encode() for line, p in exchange.peers.items()},
        max_body_bytes=exchange.max_body_bytes, max_clock_skew_s=exchange.max_clock_skew_s,
    )  # fmt: skip


@asynccontextmanager
async def serving(job: HttpJob) -> AsyncIterator[None]:
    """The HTTP app on its port, with a database engine and a Redis client of its own."""
    settings = job.settings
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)  # migrated by the call process
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        redis = Redis.from_url(job.redis_url)
        stack.push_async_callback(redis.aclose)
        secret = settings.gateway.secret.get_secret_value().encode()
        app = create_crm_app(
            sessions, centre_code=settings.centre.code,
            users_changed=DeskUsers(sessions, redis).changed, documented=DOCUMENTED,
            connect_src=[job.ws_url], recordings_dir=settings.recordings_dir,
            link_secret=secret, emergency=emergency_rules(settings),
            exchange_door=exchange_door(settings),
            supervisor_phones=supervisor_phones(settings.colleagues),
            trunk_states=partial(read_trunks, redis),
        )  # fmt: skip
        add_status_routes(app, redis)
        targets = [{"number": a.extension, "name": a.name, "kind": "agent"}
                   for a in settings.agents]  # fmt: skip
        targets += [{"number": c.extension, "name": c.name, "kind": c.kind}
                    for c in settings.colleagues]  # fmt: skip
        DeskHttp(
            sessions, redis, secret, {a.extension for a in settings.agents}, job.ws_url,
            settings.gateway.ticket_ttl_s, targets=targets,
            warn_before_s=settings.emergency.warn_before_s,
            phones=supervisor_phones(settings.colleagues),
        ).add_routes(app)  # fmt: skip
        web_runner = web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
        await web_runner.setup()
        stack.push_async_callback(web_runner.cleanup)
        await web.TCPSite(web_runner, settings.http.host, settings.http.port).start()
        yield


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
    job = _read_job()
    configure_logging(job.log_level)
    asyncio.run(_serve_until_stdin_closes(job))


if __name__ == "__main__":
    main()
