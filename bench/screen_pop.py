"""Screen-pop latency under load, and the gateway's cost with many idle desktops.

Starts a private hotline (real Asterisk, Redis, backend) in a child process, one websocket
desktop per agent on the backend's gateway, one SIPp phone answering for every agent, and
SIPp callers at a steady rate. Latency is Asterisk's AMI timestamp of the `AgentCalled` event
(the phone starts ringing) to the `screen_pop` frame arriving at the desktop. A pop is lost
when Asterisk rang an agent (AgentCalled, counted by a tap process on its own AMI login) and
that agent's desktop never got the pop. Then a separate gateway process
(`python -m agent_gateway.edge`, as added to scale out) takes 1,000 idle desktops: its RSS and CPU.

Everything shares this machine's cores; the tap and the gateway process are started where
they do not compete with the pops they are not part of.

    .venv/bin/python bench/screen_pop.py [--rate 20] [--calls 400] [--desktops 50]
                                         [--via-gateway-process]

Ends with one JSON line: p50_ms, p99_ms, max_ms, lost, calls, idle_1000_rss_mb,
idle_1000_cpu_pct.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from agent_gateway.desk.users import DeskUsers
from agent_gateway.edge.tickets import issue_ticket
from config.settings import load_settings
from crm.db.engine import create_engine, session_factory
from crm.domain.enums import Role
from crm.repo.directory import create_user
from hotline_cli.demo.ports import free_tcp_port, free_udp_port, rtp_range
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami_protocol import AmiParser

IDLE_DESKTOPS = 1000
CPU_WINDOW_S = 10.0
LISTENING = r"listening on ws://[\d.]+:(\d+)"


def overrides(state_dir: Path, agents: int, phone_port: int) -> dict[str, Any]:
    rtp_start, rtp_end = rtp_range(2000)
    return {
        "paths": {"state_dir": str(state_dir)},
        "sip": {"port": free_udp_port(), "rtp_start": rtp_start, "rtp_end": rtp_end},
        "ami": {"port": free_tcp_port(), "secret": secrets.token_hex(12)},
        "agi": {"port": free_tcp_port()},
        "http": {"port": free_tcp_port()},
        "redis": {"port": free_tcp_port()},
        "gateway": {"port": free_tcp_port(), "secret": secrets.token_hex(16), "max_wrapup_s": 0},
        "agents": [
            {"extension": str(2000 + i), "name": f"坐席{i:02d}", "skills": ["general"],
             "contact": f"sip:{2000 + i}@127.0.0.1:{phone_port}"}
            for i in range(agents)
        ],
        "queues": [{"name": "hotline", "skill": "general", "strategy": "rrmemory",
                    "wrapup_s": 0, "ring_timeout_s": 15, "announce_position": False}],
        "ivr": {"queues": dict.fromkeys(("consult", "complaint", "help", "operator"), "hotline"),
                "choice_timeout_ms": 1000},
    }  # fmt: skip


async def serve_backend(raw: str, http: bool = False) -> None:
    """Child-process mode: the whole hotline from these overrides, until SIGTERM (its Redis
    and its Asterisk's pid on the READY line)."""
    from config.settings import load_settings
    from hotline_cli.app import running_hotline

    settings = load_settings(overrides=json.loads(raw))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with running_hotline(settings, http=http) as hotline:
        await hotline.staff_queues()
        print(f"READY {hotline.redis_url} asterisk={hotline.asterisk.pid}", flush=True)
        await stop.wait()


class Child:
    """A child process that printed a line matching `ready`; `stop()` ends it, returns the rest
    of its output."""

    def __init__(self, process: asyncio.subprocess.Process, found: re.Match[str]) -> None:
        assert process.stdout is not None
        self.process = process
        self.pid = process.pid
        self.found = found
        self._rest = asyncio.create_task(process.stdout.read())

    async def stop(self) -> str:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 30)
        return (await self._rest).decode(errors="replace")


@asynccontextmanager
async def child(args: list[str], ready: str) -> AsyncIterator[Child]:
    """A child process that prints a line matching `ready` once it serves; SIGTERM at exit."""
    process = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not (found := re.search(ready, "".join(seen))):
                line = await process.stdout.readline()
                if not line:
                    raise RuntimeError("child exited:\n" + "".join(seen))
                seen.append(line.decode(errors="replace"))
        running = Child(process, found)
        yield running
        await running.stop()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def backend_child(
    conf: dict[str, Any], http: bool = False, profile: Path | None = None
) -> AbstractAsyncContextManager[Child]:
    """The backend serving `conf` in a child process (`serve_backend`; with `profile`, under
    cProfile, its statistics written there when it stops); its match has the Redis URL
    (group 1) and Asterisk's pid (group 2)."""
    python = [sys.executable] + ([] if profile is None else ["-m", "cProfile", "-o", str(profile)])
    serve = [*python, __file__, "--serve-backend", json.dumps(conf)]
    return child(serve + (["--with-http"] if http else []), r"READY (\S+) asterisk=(\d+)")


class PopDesk:
    """One agent's desktop: the arrival time of every screen pop."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pops: list[tuple[float, dict[str, Any]]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            at = time.time()
            frame = json.loads(raw)
            if frame.get("type") == "screen_pop":
                self.pops.append((at, frame))


async def desk_users(
    conf: dict[str, Any], redis_url: str, idle: int
) -> tuple[dict[str, int], list[int]]:
    """CRM users for the desktops, published to the gateways as the backend does: an agent
    user bound to each agent (extension → id) and `idle` supervisors (ids)."""
    engine = create_engine(load_settings(overrides=conf).database_url)
    redis = Redis.from_url(redis_url)
    try:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            agents = {}
            for agent in conf["agents"]:
                ext = agent["extension"]
                user, _ = await create_user(session, agent["name"], Role.AGENT, None,
                                            agent_extension=ext)  # fmt: skip
                agents[ext] = user.id
            supervisors = [
                (await create_user(session, f"idle{i}", Role.SUPERVISOR, None))[0].id
                for i in range(idle)
            ]
        await DeskUsers(sessions, redis).publish()
        return agents, supervisors
    finally:
        await redis.aclose()
        await engine.dispose()


@asynccontextmanager
async def ami_tap(ami: dict[str, Any]) -> AsyncIterator[AsyncIterator[dict[str, str]]]:
    """A login of its own on Asterisk's AMI (a tap process's): every message Asterisk sends
    it. SIGTERM cancels the task reading them, the tap's way to stop."""
    reader, writer = await asyncio.open_connection("127.0.0.1", ami["port"])
    writer.write(f"Action: Login\r\nUsername: hotline\r\nSecret: {ami['secret']}\r\n\r\n".encode())
    await writer.drain()
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    async def messages() -> AsyncIterator[dict[str, str]]:
        parser = AmiParser()
        while data := await reader.read(65536):
            for headers in parser.feed(data):
                yield headers

    try:
        yield messages()
    finally:
        writer.close()


async def tap_agent_called(raw: str) -> None:
    """Child-process mode: Asterisk's own count of rings, every AgentCalled (Linkedid,
    extension) on a login of its own, with how late it reached us after its Timestamp
    (Asterisk's own delivery delay); printed as JSON at SIGTERM."""
    seen: list[tuple[str, str, float, float]] = []
    try:
        async with ami_tap(json.loads(raw)["ami"]) as messages:
            print("TAPPING", flush=True)
            async for headers in messages:
                if headers.get("Event") == "AgentCalled":
                    at = float(headers["Timestamp"])
                    ext = headers["Interface"].split("/")[1]
                    seen.append((headers["Linkedid"], ext, at, time.time() - at))
    except asyncio.CancelledError:
        pass
    finally:
        print(json.dumps(seen), flush=True)


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Rig:
    """A backend in a child process with a desktop per agent, and its SIPp phones."""

    conf: dict[str, Any]
    state: Path
    secret: bytes
    redis_url: str
    desks: dict[str, PopDesk]
    idle_ids: list[int]
    gateway_process: list[str]
    gateway: Child | None  # the gateway process the desktops are on, if not the backend's


@asynccontextmanager
async def pop_rig(
    desktops: int, *, via_process: bool = False, http: bool = False, idle: int = IDLE_DESKTOPS
) -> AsyncIterator[Rig]:
    """The backend (`http`: with its HTTP app) and `desktops` agents each on a SIPp phone and a
    websocket desktop; `idle` supervisor users for idle desktops."""
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        state = Path(tmp)
        phone_port = free_udp_port()
        conf = overrides(state, desktops, phone_port)
        secret = conf["gateway"]["secret"].encode()
        async with AsyncExitStack() as stack:
            backend = await stack.enter_async_context(backend_child(conf, http))
            redis_url = backend.found.group(1)
            os.environ["BENCH_GATEWAY_SECRET"] = secret.decode()
            gateway_process = [
                sys.executable, "-m", "agent_gateway.edge", "--redis-url", redis_url, "--port", "0",
                "--secret-env", "BENCH_GATEWAY_SECRET",
            ]  # fmt: skip
            gateway: Child | None = None
            port = conf["gateway"]["port"]  # the backend's own gateway
            if via_process:  # the pops take the Redis hop to a gateway process of their own
                gateway = await stack.enter_async_context(child(gateway_process, LISTENING))
                port = int(gateway.found.group(1))
            phones = AgentPhone(state / "sipp", "127.0.0.1", phone_port, ring_ms=300)
            await stack.enter_async_context(phones)
            agent_ids, idle_ids = await desk_users(conf, redis_url, idle)
            desks: dict[str, PopDesk] = {}
            for agent in conf["agents"]:
                ext = agent["extension"]
                ticket = issue_ticket(secret, agent_ids[ext], agent["name"], "agent", ext, 60,
                                      time.time(), version=1)  # fmt: skip
                ws = await stack.enter_async_context(
                    connect(f"ws://127.0.0.1:{port}/?ticket={ticket}")
                )
                desks[ext] = PopDesk(ws)
            yield Rig(conf, state, secret, redis_url, desks, idle_ids, gateway_process, gateway)
            for desk in desks.values():
                desk.task.cancel()


async def measure_pops(rig: Rig, rate: int, calls: int, first: int = 0) -> dict[str, Any]:
    """Place `calls` SIPp calls at `rate`/s (callers numbered from `first`); the pops' figures."""
    conf = rig.conf
    for desk in rig.desks.values():
        desk.pops.clear()
    tapping = child([sys.executable, __file__, "--tap", json.dumps(conf)], "TAPPING")
    async with tapping as tap:
        numbers = range(first, first + calls)
        callers = [CallerIdentity(f"市民{i:04d}", f"139{i:08d}") for i in numbers]
        result = await place_calls(
            rig.state / "sipp", target=f"127.0.0.1:{conf['sip']['port']}", service="12345",
            callers=callers, source_ip="127.0.0.2", rate_per_s=rate, timeout_s=120,
            plan=CallerPlan(dtmf="0", dtmf_after_ms=300, hangup_after_ms=2500),
        )  # fmt: skip
        await asyncio.sleep(1.0)  # the last pops in flight
        tapped = json.loads(await tap.stop())
    rung = {(linkedid, ext): late for linkedid, ext, _, late in tapped}
    ring_times = sorted(at for _, _, at, _ in tapped)
    received = {(f["call_id"], f["extension"]): at - f["ami_ts"]
                for d in rig.desks.values() for at, f in d.pops}  # fmt: skip
    latencies = sorted(ms * 1000 for ms in received.values())
    delivery = sorted(ms * 1000 for ms in rung.values())
    return {
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "lost": len(set(rung) - set(received)),
        "calls": calls,
        "rings": len(rung),
        "ami_delivery_p50_ms": round(statistics.median(delivery), 2) if delivery else None,
        "pops": len(received),
        "sipp_ok": result.ok,
        # Rings per second between the first and the last (Asterisk's clock).
        "ring_rate": round((len(ring_times) - 1) / (ring_times[-1] - ring_times[0]), 1)
        if len(ring_times) > 1
        else None,
    }


async def run(rate: int, calls: int, desktops: int, via_process: bool) -> dict[str, Any]:
    async with pop_rig(desktops, via_process=via_process) as rig, AsyncExitStack() as stack:
        figures = await measure_pops(rig, rate, calls)
        gateway = rig.gateway
        if gateway is None:
            gateway = await stack.enter_async_context(child(rig.gateway_process, LISTENING))
        gateway_pid, port = gateway.pid, int(gateway.found.group(1))
        idle = []
        for i, user_id in enumerate(rig.idle_ids):
            ticket = issue_ticket(rig.secret, user_id, f"idle{i}", "supervisor", None, 60,
                                  time.time(), version=1)  # fmt: skip
            idle.append(await stack.enter_async_context(
                connect(f"ws://127.0.0.1:{port}/?ticket={ticket}")))  # fmt: skip
        await asyncio.sleep(2.0)  # let the connections settle
        cpu_before, wall_before = proc_cpu_s(gateway_pid), time.monotonic()
        await asyncio.sleep(CPU_WINDOW_S)
        busy_s = proc_cpu_s(gateway_pid) - cpu_before
        cpu_pct = 100 * busy_s / (time.monotonic() - wall_before)
        rss = proc_rss_mb(gateway_pid)
    return {
        **figures,
        "desktops": desktops,
        "desktops_on": "gateway process" if via_process else "backend",
        "idle_1000_rss_mb": round(rss, 1),
        "idle_1000_cpu_pct": round(cpu_pct, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--desktops", type=int, default=50)
    parser.add_argument(
        "--via-gateway-process",
        action="store_true",
        help="desktops on a separate gateway process (the Redis hop) instead of the backend's",
    )
    parser.add_argument("--serve-backend", help=argparse.SUPPRESS)
    parser.add_argument("--with-http", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backend:
        asyncio.run(serve_backend(args.serve_backend, args.with_http))
        return
    if args.tap:
        asyncio.run(tap_agent_called(args.tap))
        return
    figures = asyncio.run(run(args.rate, args.calls, args.desktops, args.via_gateway_process))
    print(
        f"{figures['calls']} calls at {args.rate}/s ({figures['ring_rate']} rings/s), "
        f"{figures['desktops']} desktops on the {figures['desktops_on']}: "
        f"{figures['rings']} rings, {figures['pops']} pops"
    )
    print(
        f"  pop latency  p50 {figures['p50_ms']} ms  p99 {figures['p99_ms']} ms  "
        f"max {figures['max_ms']} ms  lost {figures['lost']}"
    )
    print(
        f"  of which Asterisk's own AMI delivery (a separate login), p50: "
        f"{figures['ami_delivery_p50_ms']} ms"
    )
    print(
        f"  gateway with {IDLE_DESKTOPS} idle desktops: {figures['idle_1000_rss_mb']} MB RSS, "
        f"{figures['idle_1000_cpu_pct']} % CPU"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
