"""Warm transfers to 110 on real calls: SIPp callers speaking a tone, agents' SIPp phones,
a SIPp UAS as 110's primary trunk, all through a private Asterisk and the backend's
CallControl (three-way consult: the operator is dialled into the caller's room, then the
agent leaves). Measured from Asterisk's own event times:

- command_to_ring: the consult command sent → DialBegin of the trunk leg (its INVITE out);
- answer_to_bridge: the trunk answered (DialEnd ANSWER) → its ConfbridgeJoin in the caller's
  room (it shares the caller's conference).

Last line: JSON with command_to_ring_p50_ms, command_to_ring_p99_ms, answer_to_bridge_p50_ms,
answer_to_bridge_p99_ms, transfers, failed.
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
from telephony.actions import hang_up
from telephony.call import Call, CallChanged, CallState
from telephony.call_control import ControlState
from telephony.control_store import ControlFailed
from tests.support.audio import AGENT_B_HZ, CALLER_HZ, tone_pcap

CONFIRM_S = 20.0


async def run(transfers: int, agents: int, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        state = Path(tmp)
        phone_port, trunk_port = free_udp_port(), free_udp_port()
        settings = load_settings(overrides={
            **overrides(state, agents, phone_port, announce_position=False),
            "trunks": {"police": {"number": "110", "primary": f"127.0.0.1:{trunk_port}",
                                  "dial_timeout_s": 10}},
        })  # fmt: skip
        caller_tone = tone_pcap(state / "caller.pcap", CALLER_HZ, 120)
        operator_tone = tone_pcap(state / "operator.pcap", AGENT_B_HZ, 120)
        talking: asyncio.Queue[Call] = asyncio.Queue()

        async def on_call(effect: CallChanged) -> None:
            if effect.call.state is CallState.TALKING and effect.previous is not CallState.TALKING:
                talking.put_nowait(effect.call)

        bridged: dict[str, float] = {}

        async def on_control(st: ControlState, call: Call) -> None:
            if st.three_party and call.linkedid not in bridged:
                bridged[call.linkedid] = st.changed_at  # the trunk's ConfbridgeJoin

        async with (
            running_hotline(settings, [on_call], http=False) as hotline,
            AgentPhone(state / "sipp", "127.0.0.1", phone_port, ring_ms=200),
            AgentPhone(state / "sipp", "127.0.0.1", trunk_port, 300, operator_tone),
        ):
            await hotline.staff_queues()
            hotline.control.add_listener(on_control)
            hotline.control.confirm_s = CONFIRM_S
            callers = [CallerIdentity(f"市民{i:03d}", f"1390000{i:04d}") for i in range(transfers)]
            plan = CallerPlan(dtmf="1", dtmf_after_ms=300, hangup_after_ms=120_000,
                              audio=caller_tone)  # fmt: skip
            calling = asyncio.create_task(place_calls(
                state / "sipp", target=f"{settings.sip.host}:{settings.sip.port}",
                service=settings.centre.inbound_number, callers=callers, plan=plan,
                source_ip=settings.carrier.match, rate_per_s=rate, timeout_s=transfers * 30,
            ))  # fmt: skip
            to_ring, to_bridge, failed = [], [], 0

            async def transfer(call: Call) -> None:
                nonlocal failed
                control = hotline.control
                try:
                    sent = time.time()
                    st = await control.consult(call, "110", "three_way")
                    assert st.consult is not None
                    rang = st.consult.attempts[0].started_at
                    deadline = time.monotonic() + CONFIRM_S
                    # The trunk's ConfbridgeJoin and its DialEnd ANSWER come in either order.
                    while (answered := _answered(control.state(call.linkedid))) is None or (
                        call.linkedid not in bridged
                    ):
                        if time.monotonic() > deadline:
                            raise TimeoutError("the trunk never joined the caller's room")
                        await asyncio.sleep(0.02)
                    to_ring.append((rang - sent) * 1000)
                    to_bridge.append((bridged[call.linkedid] - answered) * 1000)
                    await control.leave(call)
                except (ControlFailed, TimeoutError, AssertionError) as exc:
                    failed += 1
                    print(f"transfer of {call.linkedid} failed: {exc!r}", file=sys.stderr)
                finally:
                    await hang_up(hotline.ami, call.channel)

            tasks = []
            for placed in range(transfers):
                try:
                    call = await asyncio.wait_for(talking.get(), 60)
                except TimeoutError:  # no more calls connect: the rest count as failed
                    failed += transfers - placed
                    print(f"only {placed} calls connected", file=sys.stderr)
                    break
                await asyncio.sleep(0.3)  # caller and agent exchange a word
                tasks.append(asyncio.create_task(transfer(call)))
            await asyncio.gather(*tasks)
            if len(tasks) == transfers:
                await calling
            else:
                calling.cancel()
        to_ring.sort()
        to_bridge.sort()
        return {
            "transfers": transfers,
            "agents": agents,
            "command_to_ring_p50_ms": percentile(to_ring, 0.5),
            "command_to_ring_p99_ms": percentile(to_ring, 0.99),
            "answer_to_bridge_p50_ms": percentile(to_bridge, 0.5),
            "answer_to_bridge_p99_ms": percentile(to_bridge, 0.99),
            "failed": failed,
        }


def _answered(st: ControlState | None) -> float | None:
    """When the consult's trunk leg answered (its DialEnd), once known."""
    if st is None or st.consult is None:
        return None
    return next((a.ended_at for a in st.consult.attempts if a.status == "ANSWER"), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", type=int, default=50)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2.0, help="callers per second")
    args = parser.parse_args()
    figures = asyncio.run(run(args.transfers, args.agents, args.rate))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
