"""What the end-to-end tests share: a private hotline on free loopback ports, and a call log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from crm.db.call_models import CallRecord
from crm.domain.calls import CallOutcome
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.repo.directory import active_user_at
from crm.usecases.users import add_user, change_user
from hotline_cli.app import Hotline, running_hotline
from hotline_cli.demo.ports import free_tcp_port, free_udp_port, rtp_range
from hotline_cli.demo.sipp import (
    AgentPhone,
    CallerIdentity,
    CallerPlan,
    CallerResult,
    place_calls,
)
from telephony.call import Call, CallChanged, CallState
from tests.support.centre_seed import seed_state

AGENTS = (
    ("1001", "王芳", ["general"]),
    ("1002", "李娜", ["general", "complaint"]),
    ("1901", "赵敏", ["overflow"]),
)


def e2e_settings(
    state_dir: Path,
    overflow_after_s: int = 60,
    trunks: dict[str, Any] | None = None,
    announce_position: bool = True,
    max_wrapup_s: float = 0.5,
    recordings: dict[str, Any] | None = None,
    colleagues: Sequence[dict[str, Any]] = (),
    seats: Mapping[str, int] | None = None,
    outbound: dict[str, Any] | None = None,
    survey: bool = False,
    more_queues: Sequence[str] = (),
    ivr_queues: Mapping[str, str] | None = None,
    callback: dict[str, Any] | None = None,
) -> Settings:
    """The packaged settings, moved onto free ports and a private state directory (`trunks`
    replaces the packaged 110/119/120 trunks, `recordings` the [recordings] settings,
    `colleagues` adds departments' and supervisors' phones, `seats`: the hotline queue's
    overflow on seats of skill `overflow` with these thresholds instead of penalty 1,
    `outbound` the trunk citizens are called through, `callback` the [callback] settings;
    `survey` off unless asked: a caller whose agent hung up would otherwise sit through it
    in every test; `more_queues`: queues of skill `general` beside `hotline` and
    `complaint`, `ivr_queues` the IVR's queue per label instead of the usual), with the
    secrets generated there."""
    rtp_start, rtp_end = rtp_range(100)
    agents = [
        {
            "extension": ext,
            "name": name,
            "skills": skills,
            "contact": f"sip:{ext}@127.0.0.1:{free_udp_port()}",
        }
        for ext, name, skills in AGENTS
    ]
    return resolve_secrets(
        load_settings(
            overrides={
                "paths": {"state_dir": str(state_dir)},
                "sip": {"port": free_udp_port(), "rtp_start": rtp_start, "rtp_end": rtp_end},
                "ami": {"port": free_tcp_port(), "secret": secrets.token_hex(12)},
                "agi": {"port": free_tcp_port()},
                "http": {"port": free_tcp_port()},
                "gateway": {
                    "port": free_tcp_port(),
                    "secret": secrets.token_hex(16),
                    "max_wrapup_s": max_wrapup_s,
                },
                "redis": {"port": free_tcp_port()},
                "agents": agents,
                **({"trunks": trunks} if trunks is not None else {}),
                **({"recordings": recordings} if recordings is not None else {}),
                **({"colleagues": list(colleagues)} if colleagues else {}),
                **({"outbound": outbound} if outbound is not None else {}),
                **({"callback": callback} if callback is not None else {}),
                **(
                    {"overflow": [{"queue": "hotline", "skill": "overflow", **seats}]}
                    if seats
                    else {}
                ),
                "queues": [
                    {
                        "name": "hotline",
                        "skill": "general",
                        "wrapup_s": 0,
                        "ring_timeout_s": 10,
                        "overflow_skill": None if seats else "overflow",
                        "overflow_after_s": overflow_after_s,
                        "announce_position": announce_position,
                    },
                    {
                        "name": "complaint",
                        "skill": "complaint",
                        "wrapup_s": 0,
                        "ring_timeout_s": 10,
                    },
                    *(
                        {"name": name, "skill": "general", "wrapup_s": 0, "ring_timeout_s": 10}
                        for name in more_queues
                    ),
                ],
                "ivr": {
                    "queues": ivr_queues
                    or {
                        "consult": "hotline",
                        "complaint": "complaint",
                        "help": "hotline",
                        "operator": "hotline",
                    },
                    "choice_timeout_ms": 2000,
                    "survey": survey,
                },
            }
        )
    )


@dataclass
class CallLog:
    """Every effect the tracker produced, and a way to wait for one without fixed sleeps."""

    effects: list[CallChanged] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def __call__(self, effect: CallChanged) -> None:
        async with self.changed:
            self.effects.append(effect)
            self.changed.notify_all()

    def ended(self) -> list[Call]:
        return [e.call for e in self.effects if not e.call.active]

    async def wait_for(
        self, predicate: Callable[[CallChanged], bool], timeout: float
    ) -> CallChanged:
        """The first effect (already seen or to come) that matches, within `timeout` seconds."""
        async with asyncio.timeout(timeout), self.changed:
            while True:
                for effect in self.effects:
                    if predicate(effect):
                        return effect
                await self.changed.wait()

    async def wait_talking(self, caller_number: str, timeout: float = 20) -> Call:
        effect = await self.wait_for(
            lambda e: e.call.caller_number == caller_number and e.call.state is CallState.TALKING,
            timeout,
        )
        return effect.call

    async def wait_ended(self, caller_number: str, timeout: float = 30) -> Call:
        effect = await self.wait_for(
            lambda e: e.call.caller_number == caller_number and not e.call.active, timeout
        )
        return effect.call


@dataclass
class Centre:
    hotline: Hotline
    log: CallLog
    workdir: Path

    async def call(
        self, callers: Sequence[CallerIdentity], plan: CallerPlan, timeout_s: float = 60
    ) -> CallerResult:
        s = self.hotline.settings
        return await place_calls(
            self.workdir,
            target=f"{s.sip.host}:{s.sip.port}",
            service=s.centre.inbound_number,
            callers=callers,
            plan=plan,
            source_ip=s.carrier.match,
            rate_per_s=10,
            timeout_s=timeout_s,
        )

    @asynccontextmanager
    async def agents_paused(self, *extensions: str, reason: str) -> AsyncIterator[None]:
        """The agents paused in every queue for the block (a meeting), unpaused after it."""
        ami = self.hotline.ami
        for ext in extensions:
            await ami.action("QueuePause", Interface=f"PJSIP/{ext}", Paused="true", Reason=reason)
        try:
            yield
        finally:
            for ext in extensions:
                await ami.action("QueuePause", Interface=f"PJSIP/{ext}", Paused="false")


@asynccontextmanager
async def running_centre(
    state_dir: Path,
    ring_ms: int = 800,
    overflow_after_s: int = 60,
    trunks: dict[str, Any] | None = None,
    announce_position: bool = True,
    commands: bool = True,
    phone_audio: Mapping[str, Path] | None = None,
    max_wrapup_s: float = 0.5,
    recordings: dict[str, Any] | None = None,
    colleagues: Sequence[dict[str, Any]] = (),
    seats: Mapping[str, int] | None = None,
    rings: Mapping[str, int] | None = None,
    outbound: dict[str, Any] | None = None,
    survey: bool = False,
    more_queues: Sequence[str] = (),
    ivr_queues: Mapping[str, str] | None = None,
    callback: dict[str, Any] | None = None,
) -> AsyncIterator[Centre]:
    """A whole hotline with every agent logged in and a SIPp phone on every agent's desk
    (`commands=False`: without the command executor, for tests that run their own;
    `phone_audio`: extension -> the pcap its phone plays into every call it answers;
    `rings`: extension -> its phone's ring time in ms instead of `ring_ms`; `seats`,
    `more_queues`, `ivr_queues`: see `e2e_settings`)."""
    settings = e2e_settings(
        state_dir, overflow_after_s, trunks, announce_position,
        max_wrapup_s=max_wrapup_s, recordings=recordings, colleagues=colleagues, seats=seats,
        outbound=outbound, survey=survey, more_queues=more_queues, ivr_queues=ivr_queues,
        callback=callback,
    )  # fmt: skip
    await seed_state(settings)
    log = CallLog()
    workdir = state_dir / "sipp"
    hotline_up = running_hotline(settings, [log], commands=commands)
    async with hotline_up as hotline, AsyncExitStack() as phones:
        await hotline.staff_queues()
        for agent in settings.agents:
            host, port = agent.contact.split("@", 1)[1].split(":")
            audio = (phone_audio or {}).get(agent.extension)
            ring = (rings or {}).get(agent.extension, ring_ms)
            await phones.enter_async_context(AgentPhone(workdir, host, int(port), ring, audio))
        yield Centre(hotline, log, workdir)


async def crm_user(centre: Centre, name: str, role: Role, agent: str | None = None) -> str:
    """A CRM user of the centre (an agent bound to extension `agent`, taken from whoever held
    it in an earlier test); returns its bearer token."""
    async with centre.hotline.sessions() as session, session.begin():
        if agent is not None and (holder := await active_user_at(session, agent)) is not None:
            await change_user(session, None, utc_now(), holder, agent_extension=None, rebind=True)
        _, token = await add_user(session, None, utc_now(), name, role, None, agent)
    await centre.hotline.desk_users.publish()
    return token


async def post_order(http_base: str, token: str, order: dict[str, Any]) -> dict[str, Any]:
    """An order registered through the CRM's HTTP API at `http_base`, as a call taker would;
    the API's answer (id, number, …)."""
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            f"{http_base}/api/orders", json=order, headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        body: dict[str, Any] = await response.json()
        assert response.status == 201, body
        return body


async def register_order_over_http(centre: Centre, token: str, order: dict[str, Any]) -> str:
    """An order registered through the centre's HTTP API; its number."""
    http = centre.hotline.settings.http
    body = await post_order(f"http://{http.host}:{http.port}", token, order)
    number: str = body["number"]
    return number


_drains: set[asyncio.Task[bytes]] = set()


def backend_config(
    tmp: Path, agents: Sequence[tuple[str, str, int]], max_wrapup_s: float | None = None,
    service_level_s: int = 15, extra: str = "",
) -> Path:  # fmt: skip
    """A settings file for a backend in a process of its own: free ports, one `hotline` queue
    served by `agents` (extension, name, phone port) with its answer goal, every IVR choice
    to it; `extra`: more tables (TOML) at its end."""
    agent_tables = "".join(
        f"""
[[agents]]
extension = "{ext}"
name = "{name}"
skills = ["general"]
contact = "sip:{ext}@127.0.0.1:{port}"
"""
        for ext, name, port in agents
    )
    wrap_up = "" if max_wrapup_s is None else f"max_wrapup_s = {max_wrapup_s}"
    path = tmp / "hotline.toml"
    path.write_text(
        f"""
[paths]
state_dir = "{tmp / "state"}"
[sip]
port = {free_udp_port()}
[ami]
port = {free_tcp_port()}
secret = "{secrets.token_hex(12)}"
[agi]
port = {free_tcp_port()}
[http]
port = {free_tcp_port()}
[gateway]
port = {free_tcp_port()}
secret = "{secrets.token_hex(16)}"
{wrap_up}
[redis]
port = {free_tcp_port()}
{agent_tables}
[[queues]]
name = "hotline"
skill = "general"
wrapup_s = 0
service_level_s = {service_level_s}
[ivr]
queues = {{ operator = "hotline" }}
{extra}
""",
        encoding="utf-8",
    )
    return path


async def kill_left_asterisk(state: Path) -> None:
    """The Asterisk a backend under `state` started runs in a session of its own: end it."""
    pidfile = state / "asterisk" / "run" / "asterisk.pid"
    if await asyncio.to_thread(pidfile.exists):
        pid = int((await asyncio.to_thread(pidfile.read_text)).strip())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


async def stop_backends(state: Path, *procs: asyncio.subprocess.Process | None) -> None:
    """Stop the backends (SIGINT, then SIGKILL) and the Asterisk they left running."""
    for proc in procs:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
    await kill_left_asterisk(state)


async def backend_process(config: Path) -> asyncio.subprocess.Process:
    """`hotline up` in a process of its own (to be killed as a crash would), once it is up."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline_cli.main", "--config", str(config), "up",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        while b"Ctrl-C" not in (line := await proc.stdout.readline()):
            assert line, "hotline up exited early"
    _drains.add(asyncio.create_task(proc.stdout.read()))  # keep draining its log
    return proc


async def ended_records(
    centre: Centre, numbers: Collection[str], timeout: float = 30
) -> dict[str, CallRecord]:
    """The records of these callers once every one has ended (polled with a deadline)."""
    async with asyncio.timeout(timeout):
        while True:
            async with centre.hotline.sessions() as session:
                rows = (
                    await session.scalars(
                        select(CallRecord).where(CallRecord.caller_number.in_(numbers))
                    )
                ).all()
            if len(rows) >= len(numbers) and all(
                r.outcome is not CallOutcome.IN_PROGRESS for r in rows
            ):
                return {r.caller_number: r for r in rows}
            await asyncio.sleep(0.1)
