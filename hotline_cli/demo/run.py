"""`hotline demo`: the hotline with real SIPp phones and callers; what became of each call."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from agent_gateway.edge.tickets import issue_ticket
from config.settings import Settings
from crm.db.models import User
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.repo.directory import active_user_at
from crm.usecases.users import add_user
from hotline_cli.app import Hotline, running_hotline
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult, place_calls
from hotline_cli.main import describe
from telephony.call import Call, CallChanged


@dataclass(frozen=True)
class CallerGroup:
    """Citizens who behave alike: same menu key, same patience."""

    title: str
    callers: tuple[CallerIdentity, ...]
    plan: CallerPlan
    start_after_s: float = 0.0


# The complaint caller queues first: its queue's agents serve the consult queue too, and two
# consult callers queued before it could take both (Asterisk's round robin starts wherever
# its member list, restored after a restart, starts) and leave it to give up.
DEMO_GROUPS: tuple[CallerGroup, ...] = (
    CallerGroup(
        "complaint line",
        (CallerIdentity("王五", "13800000003"),),
        CallerPlan(dtmf="2", dtmf_after_ms=800, hangup_after_ms=6000),
    ),
    CallerGroup(
        "talk to an agent",
        (
            CallerIdentity("张三", "13800000001"),
            CallerIdentity("李四", "13800000002"),
        ),
        CallerPlan(dtmf="1", dtmf_after_ms=800, hangup_after_ms=9000),
        start_after_s=0.5,
    ),
    CallerGroup(
        "hangs up in the IVR",
        (CallerIdentity("赵六", "13800000004"),),
        CallerPlan(dtmf=None, hangup_after_ms=1500),
        start_after_s=0.5,
    ),
    CallerGroup(
        "gives up while queued",
        (CallerIdentity("钱七", "13800000005"),),
        CallerPlan(dtmf="0", dtmf_after_ms=800, hangup_after_ms=5000),
        start_after_s=1.5,
    ),
)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _pop(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.0f}ms"


class DemoDesktops:
    """One websocket desktop per agent, as the agent page would be: it notes each pop."""

    def __init__(self) -> None:
        self.pop_ms: dict[str, float] = {}  # Linkedid → ms from Asterisk's ring to the pop
        self.states: dict[str, str] = {}  # extension → presence state the desk last showed
        self._readers: list[asyncio.Task[None]] = []

    async def connect(self, stack: AsyncExitStack, hotline: Hotline) -> None:
        """Each desktop as the user bound to its agent (made on the first demo run)."""
        settings = hotline.settings
        secret = settings.gateway.secret.get_secret_value().encode()
        users = await demo_users(hotline)
        for agent in settings.agents:
            user = users[agent.extension]
            ticket = issue_ticket(
                secret, user.id, user.name, "agent", agent.extension,
                settings.gateway.ticket_ttl_s, time.time(), version=user.generation,
            )  # fmt: skip
            url = f"ws://{settings.gateway.host}:{hotline.gateway.port}/?ticket={ticket}"
            ws = await stack.enter_async_context(connect(url))
            self._readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "screen_pop":
                self.pop_ms[frame["call_id"]] = (time.time() - frame["ami_ts"]) * 1000
            elif frame.get("type") == "presence":
                self.states[frame["extension"]] = frame["state"]
                if frame["state"] == "wrap_up":  # the agent gives the outcome, then 话后处理完成
                    await ws.send(
                        json.dumps(
                            {
                                "type": "command",
                                "id": f"dispose-{frame['seq']}",
                                "name": "dispose",
                                "args": {"call_id": frame["call_id"], "disposition": "test"},
                            }
                        )
                    )  # the demo's calls are test calls (commands are carried out in order)
                    command = {"type": "command", "id": f"wrapup-{frame['seq']}",
                               "name": "wrapup_done", "args": {}}  # fmt: skip
                    await ws.send(json.dumps(command))

    async def wait_wrapped_up(self, timeout_s: float = 10.0) -> bool:
        """Whether every desk left wrap-up in time: an agent left paused in Asterisk (which
        keeps pauses across restarts) would leave the next demo's callers unanswered."""
        deadline = time.monotonic() + timeout_s
        while "wrap_up" in self.states.values():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def close(self) -> None:
        for reader in self._readers:
            reader.cancel()


async def demo_users(hotline: Hotline) -> dict[str, User]:
    """The active user bound to each configured agent, created where there is none."""
    found = {}
    async with hotline.sessions() as session, session.begin():
        for agent in hotline.settings.agents:
            user = await active_user_at(session, agent.extension)
            if user is None:
                user, _ = await add_user(
                    session, None, utc_now(), agent.name, Role.AGENT, None, agent.extension
                )
            found[agent.extension] = user
    await hotline.desk_users.publish()
    return found


def report(calls: Sequence[Call], pop_ms: dict[str, float]) -> str:
    header = (
        f"{'caller':<22} {'IVR':<10} {'queue':<10} {'outcome':<10} {'waited':>7} "
        f"{'answered by':<18} {'talked':>7} {'pop':>7}  end"
    )
    lines = [header, "-" * len(header)]
    for call in sorted(calls, key=lambda c: c.started_at):
        caller = f"{call.caller_name} {call.caller_number}"
        agent = f"{call.agent_interface} {call.agent_name}".strip() or "-"
        lines.append(
            f"{caller:<22} {call.ivr_label or '-':<10} {call.queue or '-':<10} "
            f"{call.state.value:<10} {_seconds(call.wait_time_s):>7} {agent:<18} "
            f"{_seconds(call.talk_time_s):>7} {_pop(pop_ms.get(call.linkedid)):>7}  "
            f"{call.end_reason}"
        )
    return "\n".join(lines)


async def _run_group(group: CallerGroup, workdir: Path, settings: Settings) -> CallerResult:
    await asyncio.sleep(group.start_after_s)
    return await place_calls(
        workdir,
        target=f"{settings.sip.host}:{settings.sip.port}",
        service=settings.centre.inbound_number,
        callers=group.callers,
        plan=group.plan,
        source_ip=settings.carrier.match,
        rate_per_s=10,
        timeout_s=60,
    )


@dataclass(frozen=True)
class DemoOutcome:
    calls: list[Call]  # every call of the demo, as it ended
    pop_ms: dict[str, float]
    failed_groups: list[str]  # SIPp groups whose callers did not behave as planned
    expected: int
    workdir: Path


async def play_demo(settings: Settings, groups: Sequence[CallerGroup] = DEMO_GROUPS) -> DemoOutcome:
    """Run the hotline, its phones and desktops, and the demo's callers; what became of them."""
    finished: list[Call] = []
    expected = sum(len(g.callers) for g in groups)
    all_done = asyncio.Event()

    async def collect(effect: CallChanged) -> None:
        if not effect.call.active:
            finished.append(effect.call)
            if len(finished) >= expected:
                all_done.set()

    workdir = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
    desktops = DemoDesktops()
    async with running_hotline(settings, [collect]) as hotline, AsyncExitStack() as phones:
        await hotline.staff_queues()
        print(describe(settings, hotline.redis_url), flush=True)
        await desktops.connect(phones, hotline)
        for agent in settings.agents:
            host, port = agent.contact.split("@", 1)[1].split(":")
            await phones.enter_async_context(AgentPhone(workdir, host, int(port), ring_ms=1500))
        print(f"\nplacing {expected} calls with SIPp (agent phones ring 1.5 s)…", flush=True)
        results = await asyncio.gather(*(_run_group(g, workdir, settings) for g in groups))
        try:
            await asyncio.wait_for(all_done.wait(), 10)
        except TimeoutError:
            print("some calls were still live when the demo ended")
        if not await desktops.wait_wrapped_up():
            print("some agents were still in wrap-up when the demo ended")
        desktops.close()
    failed = [g.title for g, r in zip(groups, results, strict=True) if not r.ok]
    return DemoOutcome(finished, desktops.pop_ms, failed, expected, workdir)


async def run_demo(settings: Settings, groups: Sequence[CallerGroup] = DEMO_GROUPS) -> int:
    outcome = await play_demo(settings, groups)
    print()
    print(report(outcome.calls, outcome.pop_ms))
    print("(pop: from Asterisk ringing the agent's phone to the screen pop at the agent's desktop)")
    if outcome.failed_groups or len(outcome.calls) < outcome.expected:
        print(
            f"\ndemo FAILED: SIPp groups failing: {outcome.failed_groups}; calls seen ended: "
            f"{len(outcome.calls)}/{outcome.expected}; SIPp files in {outcome.workdir}"
        )
        return 1
    print(f"\n{len(outcome.calls)} calls, all accounted for.")
    return 0
