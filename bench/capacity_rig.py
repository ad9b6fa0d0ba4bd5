"""The capacity bench's rig: a private hotline in a child process, one SIPp phone answering
with audio for every agent, a websocket desktop per agent that works its calls as an agent
would, an AMI tap in a process of its own, and the CPU and memory of every part from /proc.

Run as a script it is the tap (`capacity_rig.py '{"port": …, "secret": …}' OUT`): every
queue and agent event Asterisk sends a login of its own, one JSON line each in OUT with
when the tap got it, and at SIGTERM the count of all events per second of Asterisk's clock
as the last line.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backlog import overrides
from screen_pop import (
    Child,
    ami_tap,
    backend_child,
    child,
    desk_users,
    proc_cpu_s,
    proc_rss_mb,
)
from websockets.asyncio.client import ClientConnection, connect

from agent_gateway.edge.tickets import issue_ticket
from hotline_cli.demo.ports import free_udp_port, rtp_range
from hotline_cli.demo.sipp import AgentPhone
from tests.support.audio import tone_pcap

# What the figures are read from: the queue's and its members' events, and the whispers.
KEPT_EVENTS = frozenset({
    "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
    "AgentComplete", "AgentRingNoAnswer", "AgentDump", "QueueMemberStatus", "QueueMemberPause",
    "ChanSpyStart",
})  # fmt: skip
KEPT_HEADERS = ("Event", "Timestamp", "Queue", "Interface", "Uniqueid", "Linkedid", "Count",
                "Status", "Paused", "CallerIDNum")  # fmt: skip
COMMAND_TIMEOUT_S = 30.0
SAMPLE_EVERY_S = 0.5
AGENT_HZ = 440.0
RTP_PORTS = 4000


async def tap_queue_events(raw: str, out: Path) -> None:
    """Child-process mode: see the module's docstring."""
    per_second: Counter[int] = Counter()
    with out.open("w", encoding="utf-8") as kept:
        try:
            async with ami_tap(json.loads(raw)) as messages:
                async for headers in messages:
                    if "Response" in headers:  # the login's answer
                        if headers["Response"] != "Success":
                            raise SystemExit(f"tap login refused: {headers.get('Message')}")
                        print("TAPPING", flush=True)
                        continue
                    per_second[int(float(headers.get("Timestamp", time.time())))] += 1
                    if headers.get("Event") in KEPT_EVENTS:
                        line = {k: headers[k] for k in KEPT_HEADERS if k in headers}
                        line["Received"] = f"{time.time():.6f}"  # Asterisk's delivery delay
                        kept.write(json.dumps(line) + "\n")
        except asyncio.CancelledError:
            pass
        finally:
            kept.write(json.dumps({"per_second": per_second}) + "\n")


def read_tap(out: Path) -> tuple[list[dict[str, str]], dict[int, int]]:
    """The tap's file: the kept events in Asterisk's order, and all events per second."""
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    per_second = {int(s): n for s, n in lines[-1]["per_second"].items()} if lines else {}
    return lines[:-1], per_second


def wants_order(call_id: str, share: float) -> bool:
    """Whether the agent saves an order for this call: `share` of the calls, spread evenly."""
    return zlib.crc32(call_id.encode()) % 1000 < share * 1000


@dataclass
class DeskPlan:
    """How agents work a call: talk this long, save an order for `order_share` of the calls,
    hang up from the desk, give the outcome at wrap-up and say done."""

    talk_s: float
    order_share: float


class AgentDesk:
    """One agent's desktop over the gateway: each pop's arrival, and each call worked through
    the desk's commands (save_order, hangup, dispose, wrapup_done), their refusals kept."""

    def __init__(self, ws: ClientConnection, extension: str, plan: DeskPlan) -> None:
        self.ws, self.extension, self.plan = ws, extension, plan
        self.pops: list[tuple[float, str, float]] = []  # (arrival, call_id, ami_ts)
        self.state = ""  # the presence the desk last showed
        self.errors: list[str] = []  # "command: code" of every refused or unanswered command
        self.orders = 0
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._worked: set[str] = set()
        self._ordered: set[str] = set()
        self.busy: set[asyncio.Task[None]] = set()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            at = time.time()
            frame = json.loads(raw)
            kind, call_id = frame.get("type"), frame.get("call_id")
            if kind == "screen_pop":
                self.pops.append((at, call_id, frame["ami_ts"]))
            elif kind == "call_update" and frame.get("state") == "talking":
                if frame.get("agent_extension") == self.extension and call_id not in self._worked:
                    self._worked.add(call_id)
                    self._spawn(self._talk(call_id))
            elif kind == "presence" and frame.get("extension") == self.extension:
                self.state = frame["state"]
                if self.state == "wrap_up" and call_id:
                    self._spawn(self._wrap_up(call_id))
            elif kind == "command_result" and (waiting := self._pending.pop(frame["id"], None)):
                waiting.set_result(frame)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.busy.add(task)
        task.add_done_callback(self.busy.discard)

    async def command(self, name: str, **args: Any) -> bool:
        """Send a command and wait for its result; whether it was carried out."""
        command_id = f"{name}-{next(self._ids)}"
        self._pending[command_id] = asyncio.get_running_loop().create_future()
        frame = {"type": "command", "id": command_id, "name": name, "args": args}
        await self.ws.send(json.dumps(frame, ensure_ascii=False))
        try:
            result = await asyncio.wait_for(self._pending[command_id], COMMAND_TIMEOUT_S)
        except TimeoutError:
            self._pending.pop(command_id, None)
            self.errors.append(f"{name}: no result in {COMMAND_TIMEOUT_S:.0f} s")
            return False
        if not result["ok"]:
            self.errors.append(f"{name}: {(result.get('error') or {}).get('code')}")
        return bool(result["ok"])

    async def _talk(self, call_id: str) -> None:
        await asyncio.sleep(self.plan.talk_s)
        if wants_order(call_id, self.plan.order_share):
            order = {
                "call_id": call_id,
                "order_type": "consultation",
                "text": "容量测试 咨询公积金",
            }
            if await self.command("save_order", order=order):
                self._ordered.add(call_id)
                self.orders += 1
        await self.command("hangup")

    async def _wrap_up(self, call_id: str) -> None:
        if call_id not in self._ordered:
            await self.command("dispose", call_id=call_id, disposition="test")
        await self.command("wrapup_done")


def proc_children(parent: int, comm: str) -> list[int]:
    """Pids of `parent`'s children named `comm` (SIPp runs started meanwhile)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                stat = (entry / "stat").read_text()
                name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
                if name == comm and int(rest.split()[1]) == parent:
                    found.append(int(entry.name))
    return found


@dataclass
class Usage:
    """CPU seconds per part of the rig since it started, and the backend's largest RSS."""

    cpu_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    backend_rss_mb: float = 0.0


class Sampler:
    """Every SAMPLE_EVERY_S, each part's CPU from /proc (SIPp callers found as this process's
    children named sipp: one that exits between samples loses its last half second)."""

    def __init__(self, parts: dict[str, int]) -> None:
        self.parts = parts  # role -> pid
        self.usage = Usage()
        self._last: dict[int, float] = {}
        self.task = asyncio.create_task(self._run())

    def _add(self, role: str, pid: int) -> None:
        with suppress(OSError):
            now = proc_cpu_s(pid)
            self.usage.cpu_s[role] += now - self._last.get(pid, 0.0)
            self._last[pid] = now

    def sample(self) -> None:
        for role, pid in self.parts.items():
            self._add(role, pid)
        known = set(self.parts.values())
        for pid in proc_children(os.getpid(), "sipp"):
            if pid not in known:
                self._add("sipp_callers", pid)
        with suppress(OSError):
            rss = proc_rss_mb(self.parts["backend"])
            self.usage.backend_rss_mb = max(self.usage.backend_rss_mb, rss)

    def mark(self) -> Usage:
        """The usage so far; the RSS peak starts again from now."""
        self.sample()
        done = Usage(defaultdict(float, self.usage.cpu_s), self.usage.backend_rss_mb)
        self.usage.backend_rss_mb = 0.0
        return done

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)


@dataclass
class Rig:
    conf: dict[str, Any]
    state: Path
    desks: dict[str, AgentDesk]
    sampler: Sampler
    tap: Child
    tap_out: Path

    @property
    def interfaces(self) -> list[str]:
        return [f"PJSIP/{ext}" for ext in self.desks]


def capacity_overrides(state: Path, agents: int, phone_port: int) -> dict[str, Any]:
    """The backlog bench's centre (position whispers on) with more RTP ports, recording on,
    no survey (the caller is hung up with the agent), wrap-up ended from the desk (the
    backend's limit a safety)."""
    conf = overrides(state, agents, phone_port, announce_position=True)
    # RTP for some 300 calls up at once (60 calls/s, or the backlog's waiting callers)
    conf["sip"]["rtp_start"], conf["sip"]["rtp_end"] = rtp_range(RTP_PORTS)
    conf["gateway"]["max_wrapup_s"] = 30
    conf["recordings"] = {"enabled": True}
    conf["ivr"]["survey"] = False
    return conf


@asynccontextmanager
async def capacity_rig(
    agents: int, plan: DeskPlan, speak_s: float, profile: Path | None = None
) -> AsyncIterator[Rig]:
    """Everything running; the agents' phones speak a tone for `speak_s` on every call (with
    `profile`, the backend under cProfile: `screen_pop.backend_child`)."""
    with tempfile.TemporaryDirectory(prefix="hotline-capacity-") as tmp:
        state = Path(tmp)
        phone_port = free_udp_port()
        conf = capacity_overrides(state, agents, phone_port)
        secret = conf["gateway"]["secret"].encode()
        async with AsyncExitStack() as stack:
            backend = await stack.enter_async_context(backend_child(conf, profile=profile))
            redis_url, asterisk_pid = backend.found.group(1), int(backend.found.group(2))
            pcap = tone_pcap(state / "agent.pcap", AGENT_HZ, speak_s)
            phones = AgentPhone(state / "sipp", "127.0.0.1", phone_port, ring_ms=300, audio=pcap)
            await stack.enter_async_context(phones)
            assert phones.process is not None
            agent_ids, _ = await desk_users(conf, redis_url, 0)
            desks: dict[str, AgentDesk] = {}
            for agent in conf["agents"]:
                ext = agent["extension"]
                ticket = issue_ticket(secret, agent_ids[ext], agent["name"], "agent", ext, 60,
                                      time.time(), version=1)  # fmt: skip
                url = f"ws://127.0.0.1:{conf['gateway']['port']}/?ticket={ticket}"
                desks[ext] = AgentDesk(await stack.enter_async_context(connect(url)), ext, plan)
            tap_out = state / "tap.jsonl"
            tap_args = [sys.executable, __file__, json.dumps(conf["ami"]), str(tap_out)]
            tap = await stack.enter_async_context(child(tap_args, "TAPPING"))
            parts = {"asterisk": asterisk_pid, "backend": backend.pid, "tap": tap.pid,
                     "sipp_phones": phones.process.pid, "bench": os.getpid()}  # fmt: skip
            sampler = Sampler(parts)
            try:
                yield Rig(conf, state, desks, sampler, tap, tap_out)
            finally:
                sampler.task.cancel()
                for desk in desks.values():
                    desk.task.cancel()


if __name__ == "__main__":
    asyncio.run(tap_queue_events(sys.argv[1], Path(sys.argv[2])))
