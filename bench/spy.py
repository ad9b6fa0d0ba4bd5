"""Supervisors joining live calls (listen): a SIPp caller and the agent's SIPp phone speaking
tones, a supervisor's SIPp phone (rings `--ring-ms` before answering), a private Asterisk and
the backend's SpyService; the supervisor starts a session, it is confirmed, the supervisor
leaves, again and again (a few calls in turn). Measured from Asterisk's own event times:

- command_to_ring: the start asked → the supervisor's phone ringing (Newstate Ringing of its
  channel, after the phone's 180);
- ring_to_joined: ringing → ChanSpyStart of the supervisor's channel (includes the phone's
  `--ring-ms` before it answers).

Last line: JSON with command_to_ring_p50_ms, command_to_ring_p99_ms, ring_to_joined_p50_ms,
ring_to_joined_p99_ms, sessions, ring_ms, failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ has the audio tools

from backlog import overrides, percentile

from config.settings import load_settings
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.call import Call, CallChanged, CallState
from telephony.spy import SpyFailed
from tests.support.audio import AGENT_A_HZ, AGENT_C_HZ, CALLER_HZ, tone_pcap

PHONE = "8001"
PER_CALL = 10  # sessions on one call before the next


async def run(sessions: int, ring_ms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        state = Path(tmp)
        phone_port, supervisor_port = free_udp_port(), free_udp_port()
        settings = load_settings(overrides={
            **overrides(state, 1, phone_port, announce_position=False),
            "colleagues": [{"extension": PHONE, "name": "张班长", "kind": "supervisor",
                            "contact": f"sip:{PHONE}@127.0.0.1:{supervisor_port}"}],
        })  # fmt: skip
        tones = {name: tone_pcap(state / f"{name}.pcap", hz, 120) for name, hz in
                 (("caller", CALLER_HZ), ("agent", AGENT_A_HZ), ("supervisor", AGENT_C_HZ))}
        talking: asyncio.Queue[Call] = asyncio.Queue()

        async def on_call(effect: CallChanged) -> None:
            if effect.call.state is CallState.TALKING and effect.previous is not CallState.TALKING:
                talking.put_nowait(effect.call)

        to_ring: list[float] = []
        to_join: list[float] = []
        failed = 0
        calls = -(-sessions // PER_CALL)
        async with (
            running_hotline(settings, [on_call], http=False) as hotline,
            AgentPhone(state / "sipp", "127.0.0.1", phone_port, 200, tones["agent"]),
            AgentPhone(state / "sipp", "127.0.0.1", supervisor_port, ring_ms,
                       tones["supervisor"]),
        ):  # fmt: skip
            await hotline.staff_queues()
            spy = hotline.spy
            callers = [CallerIdentity(f"市民{i:03d}", f"1390000{i:04d}") for i in range(calls)]
            plan = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=110_000,
                              audio=tones["caller"])  # fmt: skip
            done = 0
            for caller in callers:  # one call at a time: one agent
                calling = asyncio.create_task(place_calls(
                    state / "sipp", target=f"{settings.sip.host}:{settings.sip.port}",
                    service=settings.centre.inbound_number, callers=[caller], plan=plan,
                    source_ip=settings.carrier.match, timeout_s=150,
                ))  # fmt: skip
                call = await asyncio.wait_for(talking.get(), 60)
                await asyncio.sleep(0.3)
                for _ in range(min(PER_CALL, sessions - done)):
                    done += 1
                    asked = time.time()
                    try:
                        session = await spy.start(PHONE, call.linkedid, "listen")
                        session = await spy.joined(session.uniqueid)
                        await spy.leave(PHONE)
                    except SpyFailed as exc:
                        failed += 1
                        print(f"session {done} failed: {exc}", file=sys.stderr)
                        continue
                    if session.ringing_at is None or session.joined_at is None:
                        failed += 1
                        continue
                    to_ring.append((session.ringing_at - asked) * 1000)
                    to_join.append((session.joined_at - session.ringing_at) * 1000)
                await hotline.ami.action("Hangup", Channel=call.channel, Cause="16")
                await calling
        to_ring.sort()
        to_join.sort()
        return {
            "sessions": sessions,
            "ring_ms": ring_ms,
            "command_to_ring_p50_ms": percentile(to_ring, 0.5),
            "command_to_ring_p99_ms": percentile(to_ring, 0.99),
            "ring_to_joined_p50_ms": percentile(to_join, 0.5),
            "ring_to_joined_p99_ms": percentile(to_join, 0.99),
            "failed": failed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--ring-ms", type=int, default=300,
                        help="how long the supervisor's phone rings before it answers")
    args = parser.parse_args()
    if args.ring_ms < 1:
        parser.error("--ring-ms must be at least 1 (SIPp's timeout 0 means: never answer)")
    print(json.dumps(asyncio.run(run(args.sessions, args.ring_ms))))


if __name__ == "__main__":
    main()
