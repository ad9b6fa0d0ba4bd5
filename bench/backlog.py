"""The worst hour: a backlog of callers, position announcements on, a few agents.

Starts a private hotline (real Asterisk, Redis, backend) in this process, one SIPp phone
answering for every agent, and SIPp callers arriving at `--rate` until `--callers` have
called; they are patient, so a backlog builds up and drains. Each agent ends each call
`--talk` seconds after answering (AMI `Hangup` of their leg, as the desktop's 挂断 does).

Figures, all from Asterisk itself (its event timestamps and /proc):
- free-agent-to-ring delay: from app_queue seeing an agent free (`QueueMemberStatus` not in
  use and not paused) to `AgentCalled` for them, while callers waited unrung
  (`tests/e2e/free_agents.py`, shared with `tests/e2e/test_burst.py`);
- whispers: position whispers started (`ChanSpyStart`);
- Asterisk's CPU over the run (% of one core) and the machine's load average (shared cores);
- lost: callers never connected to an agent (never queued, gave up, or their call failed
  before) and SIPp calls that failed.

    .venv/bin/python bench/backlog.py [--callers 200] [--rate 30] [--agents 4] [--talk 1.0]

Ends with one JSON line: free_to_ring_p50_s, free_to_ring_p99_s, free_to_ring_max_s, spells,
whispers, asterisk_cpu_pct, lost, sipp_failed_calls, ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from config.settings import load_settings
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_tcp_port, free_udp_port, rtp_range
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami import AmiClient
from telephony.dialplan import interface_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the measuring code is in tests/

from tests.e2e.free_agents import AgentLegTap, free_spells

QUEUE = "hotline"


def overrides(
    state_dir: Path, agents: int, phone_port: int, announce_position: bool = True
) -> dict[str, Any]:
    """A private centre of `agents` agents (one SIPp phone at `phone_port` answers for all)
    in one `hotline` queue every IVR choice leads to."""
    rtp_start, rtp_end = rtp_range(2000)
    return {
        "paths": {"state_dir": str(state_dir)},
        "sip": {"port": free_udp_port(), "rtp_start": rtp_start, "rtp_end": rtp_end},
        "ami": {"port": free_tcp_port(), "secret": secrets.token_hex(12)},
        "agi": {"port": free_tcp_port()},
        "http": {"port": free_tcp_port()},
        "redis": {"port": free_tcp_port()},
        "gateway": {"port": free_tcp_port(), "secret": secrets.token_hex(16),
                    "max_wrapup_s": 0.5},
        "agents": [
            {"extension": str(2000 + i), "name": f"坐席{i:02d}", "skills": ["general"],
             "contact": f"sip:{2000 + i}@127.0.0.1:{phone_port}"}
            for i in range(agents)
        ],
        "queues": [{"name": QUEUE, "skill": "general", "strategy": "rrmemory",
                    "wrapup_s": 0, "ring_timeout_s": 15,
                    "announce_position": announce_position}],
        "ivr": {"queues": dict.fromkeys(("consult", "complaint", "help", "operator"), QUEUE),
                "choice_timeout_ms": 1000},
    }  # fmt: skip


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float | None:
    return round(values[int(q * (len(values) - 1))], 3) if values else None


async def run(callers: int, rate: float, agents: int, talk_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        state = Path(tmp)
        phone_port = free_udp_port()
        settings = load_settings(overrides=overrides(state, agents, phone_port))
        async with (
            running_hotline(settings, http=False) as hotline,
            AgentPhone(state / "sipp", "127.0.0.1", phone_port, ring_ms=300),
            AmiClient(
                host=settings.ami.host, port=settings.ami.port, username=settings.ami.username,
                secret=settings.ami.secret.get_secret_value(),
            ) as ami,
        ):  # fmt: skip
            await hotline.staff_queues()
            await ami.wait_connected(10)
            tap = AgentLegTap(ami, QUEUE, talk_s)
            tapping = asyncio.create_task(tap.run())
            pid = hotline.asterisk.pid
            assert pid is not None
            people = [CallerIdentity(f"市民{i:04d}", f"139{i:08d}") for i in range(callers)]
            cpu_before, wall_before = proc_cpu_s(pid), time.monotonic()
            result = await place_calls(
                state / "sipp", target=f"{settings.sip.host}:{settings.sip.port}",
                service=settings.centre.inbound_number, callers=people,
                source_ip=settings.carrier.match, rate_per_s=rate, timeout_s=900,
                # Patient callers: they wait for an agent, who ends the call.
                plan=CallerPlan(dtmf="0", dtmf_after_ms=300, hangup_after_ms=600_000),
            )  # fmt: skip
            wall_s = time.monotonic() - wall_before
            cpu_pct = 100 * (proc_cpu_s(pid) - cpu_before) / wall_s
            load_1m = os.getloadavg()[0]
            await asyncio.sleep(1.0)  # the last events in flight
            tapping.cancel()
            await asyncio.gather(tapping, *tap.hangups, return_exceptions=True)
    interfaces = [interface_of(a.extension) for a in settings.agents]
    spells = free_spells(tap.events, QUEUE, interfaces)
    delays = sorted(s.delay_s for s in spells if s.rung and s.delay_s is not None)
    joined = {e.get("CallerIDNum") for e in tap.named("QueueCallerJoin")}
    answered = {e.get("CallerIDNum") for e in tap.named("AgentConnect")}
    numbers = {p.number for p in people}
    most_waiting = max((int(e.get("Count", "0")) for e in tap.named("QueueCallerJoin")), default=0)
    failed_ids = set(re.findall(r"\b(\d+-\d+@[\d.]+)", result.errors))  # SIPp's Call-IDs
    return {
        "free_to_ring_p50_s": round(statistics.median(delays), 3) if delays else None,
        "free_to_ring_p99_s": percentile(delays, 0.99),
        "free_to_ring_max_s": round(delays[-1], 3) if delays else None,
        "spells": len(spells),
        "spells_rung": len(delays),
        "whispers": len(tap.named("ChanSpyStart")),
        "asterisk_cpu_pct": round(cpu_pct, 1),
        "load_1m": round(load_1m, 2),
        "cores": os.cpu_count(),
        "callers": callers,
        "rate_per_s": rate,
        "agents": agents,
        "talk_s": talk_s,
        "most_waiting": most_waiting,
        "never_queued": len(numbers - joined),
        "lost": len(numbers - answered),
        "sipp_ok": result.ok,
        "sipp_failed_calls": len(failed_ids),
        "run_s": round(wall_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--talk", type=float, default=1.0, help="seconds each call is talked")
    args = parser.parse_args()
    figures = asyncio.run(run(args.callers, args.rate, args.agents, args.talk))
    print(
        f"{figures['callers']} callers at {args.rate}/s, {figures['agents']} agents talking "
        f"{args.talk} s, up to {figures['most_waiting']} waiting, {figures['run_s']} s"
    )
    print(
        f"  free agent to ring  p50 {figures['free_to_ring_p50_s']} s  "
        f"p99 {figures['free_to_ring_p99_s']} s  max {figures['free_to_ring_max_s']} s  "
        f"({figures['spells_rung']} of {figures['spells']} free spells ended by a ring)"
    )
    print(
        f"  {figures['whispers']} position whispers; Asterisk {figures['asterisk_cpu_pct']} % of a "
        f"core (load {figures['load_1m']} on {figures['cores']} cores)"
    )
    print(
        f"  lost {figures['lost']} (never queued {figures['never_queued']}), SIPp ok "
        f"{figures['sipp_ok']}, failed calls {figures['sipp_failed_calls']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
