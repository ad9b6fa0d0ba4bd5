"""Capacity: SIPp callers at rising rates through the whole path, then a backlog (issue 16).

A private hotline (real Asterisk, Redis, backend in a child process: `bench/capacity_rig.py`)
with `--agents` agents, each on a SIPp phone that rings 0.3 s and answers speaking a tone,
recording on, and a websocket desktop per agent that works every call as an agent does:
talks `--talk-s`, saves an order for `--order-share` of the calls (the rest get the
disposition 测试电话 at wrap-up), hangs up from the desk, says 话后处理完成. Callers are
patient SIPp callers (a process group of their own) who press 0 in the IVR and wait in the
queue, position whispers on. Each rate in `--rates` runs `--duration-s`; then the backlog:
`--backlog` callers at `--backlog-rate` for only `--backlog-agents` agents (the others
paused from their desks) who talk `--backlog-talk-s`, so callers pile up.

Per phase, measured outside the backend: SIPp's own counts of calls placed and failed; answered
within 15 s of joining the queue, % of the calls placed (Asterisk's QueueCallerJoin and
AgentConnect); free agent to ring (`tests/e2e/free_agents.py`: from app_queue seeing the agent
free again, after AgentComplete and the desk's wrap-up, to AgentCalled, while a caller waited
unrung: a spell ends uncounted once another agent rings for every waiting caller); pop latency
from AgentCalled's timestamp to the desk, and of it Asterisk's own delivery of AgentCalled to
the tap; lost pops (rings a desk never popped); AMI events/s Asterisk sent the tap's login; CPU
(% of one core) of Asterisk, the backend, the SIPp callers, the SIPp phones, the tap and this
process, from /proc, and the backend's and Asterisk's CPU ms per call placed (robust to the
other work on the machine, which the latencies are not); the backend's peak RSS. Everything
shares the machine's cores: look at `load_1m`.

    .venv/bin/python bench/capacity.py [--rates 10,20,30,40,50,60] [--duration-s 60]
        [--agents 200] [--talk-s 2] [--order-share 0.3] [--backlog 300] [--backlog-rate 40]
        [--backlog-agents 8] [--backlog-talk-s 0.5] [--profile-backend FILE]
    .venv/bin/python bench/capacity.py --rates 5,10 --duration-s 15 --agents 30 \\
        --backlog 40 --backlog-rate 10 --backlog-agents 2       # a small smoke run

Ends with one JSON line: max_cps_zero_failures, pop_p50_ms_at_max, pop_p99_ms_at_max,
answered_15s_pct (at that rate), free_agent_to_ring_p99_ms (all phases), backlog_pop_p99_ms,
lost_pops, then `rates` and `backlog` (every figure per phase).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from backlog import QUEUE
from capacity_figures import Phase, acceptance, first_pops, phase_figures
from capacity_rig import AgentDesk, DeskPlan, Rig, capacity_rig, read_tap

from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, place_calls, sipp_stats
from tests.e2e.free_agents import free_spells

PATIENT_MS = 600_000  # callers wait for an agent, who ends the call
SETTLE_TIMEOUT_S = 60.0
BUSY_STATES = ("ringing", "talking", "wrap_up")
PROFILE_TOP = 25
OUR_CODE = r"/(telephony|agent_gateway|crm|call_log|recordings|ivr|hotline_cli)/"


async def settled(desks: list[AgentDesk]) -> None:
    """Until every desk is done with its calls (wrap-up over), or SETTLE_TIMEOUT_S."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while any(d.busy or d.state in BUSY_STATES for d in desks):
        if time.monotonic() > deadline:
            print(f"  desks still busy after {SETTLE_TIMEOUT_S:.0f} s", flush=True)
            return
        await asyncio.sleep(0.1)


async def run_phase(
    rig: Rig, name: str, rate: float, callers: int, first: int, timeout_s: float, agents: int
) -> Phase:
    """`callers` SIPp calls at `rate`/s (numbered from `first`) until all have ended and the
    desks are done."""
    desks = list(rig.desks.values())
    errors = {d.extension: len(d.errors) for d in desks}
    orders = sum(d.orders for d in desks)
    before, start = rig.sampler.mark(), time.time()
    people = [CallerIdentity(f"市民{i:05d}", f"139{i:08d}") for i in range(first, first + callers)]
    stats = rig.state / f"sipp-{first}.csv"
    result = await place_calls(
        rig.state / "sipp", target=f"127.0.0.1:{rig.conf['sip']['port']}", service="12345",
        callers=people, source_ip="127.0.0.2", rate_per_s=rate, timeout_s=timeout_s,
        plan=CallerPlan(dtmf="0", dtmf_after_ms=300, hangup_after_ms=PATIENT_MS),
        stats=stats, own_session=True,
    )  # fmt: skip
    if not result.ok:
        print(f"  {name}: SIPp exited {result.returncode}: {result.errors[-500:]}", flush=True)
    await settled(desks)
    after, end = rig.sampler.mark(), time.time()
    return Phase(
        name=name, rate=rate, callers=callers, agents=agents, start=start, end=end,
        sipp=sipp_stats(stats) if stats.exists() else {}, sipp_ok=result.ok,
        cpu_s={part: s - before.cpu_s.get(part, 0.0) for part, s in after.cpu_s.items()},
        backend_rss_mb=after.backend_rss_mb,
        desk_errors=tuple(e for d in desks for e in d.errors[errors[d.extension]:]),
        orders=sum(d.orders for d in desks) - orders,
    )  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    plan = DeskPlan(talk_s=args.talk_s, order_share=args.order_share)
    speak_s = max(args.talk_s, args.backlog_talk_s) + 5
    phases: list[Phase] = []
    first = 0
    async with capacity_rig(args.agents, plan, speak_s, args.profile_backend) as rig:
        for rate in args.rates:
            callers = round(rate * args.duration_s)
            phase = await run_phase(rig, f"{rate:g}/s", rate, callers, first,
                                    args.duration_s + 120, args.agents)  # fmt: skip
            phases.append(phase)
            first += callers
            print(f"  {phase.name}: {callers} callers, {phase.end - phase.start:.1f} s", flush=True)
        backlog: Phase | None = None
        if args.backlog:
            desks = list(rig.desks.values())
            resting = desks[args.backlog_agents :]
            await asyncio.gather(*(d.command("pause", reason="培训") for d in resting))
            plan.talk_s = args.backlog_talk_s
            backlog = await run_phase(rig, "backlog", args.backlog_rate, args.backlog, first,
                                      900, min(args.backlog_agents, args.agents))  # fmt: skip
            await asyncio.gather(*(d.command("unpause") for d in resting))
            print(f"  backlog: {args.backlog} callers, {backlog.end - backlog.start:.1f} s")
        await rig.tap.stop()
        events, per_second = read_tap(rig.tap_out)
        pops = first_pops(
            (at, call_id, d.extension, ts) for d in rig.desks.values() for at, call_id, ts in d.pops
        )
        spells = free_spells(events, QUEUE, rig.interfaces, until_served=True)
    rates = [phase_figures(p, events, per_second, pops, spells) for p in phases]
    backlog_figures = phase_figures(backlog, events, per_second, pops, spells) if backlog else None
    return {
        **acceptance(rates, backlog_figures, spells),
        "rates": rates,
        "backlog": backlog_figures,
        "agents": args.agents,
        "talk_s": args.talk_s,
        "order_share": args.order_share,
        "cores": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def describe(f: dict[str, Any]) -> str:
    cpu = ", ".join(f"{part} {pct}" for part, pct in f["cpu_pct"].items())
    return (
        f"{f['phase']}: placed {f['placed']} failed {f['failed']} (SIPp), answered ≤15 s "
        f"{f['answered_15s_pct']} %, up to {f['most_waiting']} waiting\n"
        f"    pops p50 {f['pop_p50_ms']} p99 {f['pop_p99_ms']} max {f['pop_max_ms']} ms, "
        f"lost {f['lost_pops']} of {f['rings']} (AMI delivery p50 {f['ami_delivery_p50_ms']} "
        f"p99 {f['ami_delivery_p99_ms']} ms); free→ring p50 {f['free_to_ring_p50_ms']} "
        f"p99 {f['free_to_ring_p99_ms']} ms ({f['free_spells_rung']} spells)\n"
        f"    AMI {f['ami_events_per_s']} events/s (peak {f['ami_events_peak_per_s']}); "
        f"CPU % of a core: {cpu}; backend RSS {f['backend_rss_mb']} MB\n"
        f"    CPU ms per call: backend {f['backend_cpu_ms_per_call']}, "
        f"Asterisk {f['asterisk_cpu_ms_per_call']}\n"
        f"    orders saved {f['orders_saved']}, desk errors {f['desk_errors']} "
        f"{f['desk_error_kinds'][:3]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=lambda s: [float(r) for r in s.split(",")],
                        default=[10.0, 20.0, 30.0, 40.0, 50.0, 60.0])  # fmt: skip
    parser.add_argument("--duration-s", type=float, default=60.0, help="of each rate")
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--talk-s", type=float, default=2.0)
    parser.add_argument("--order-share", type=float, default=0.3)
    parser.add_argument("--backlog", type=int, default=300, help="callers (0: no backlog)")
    parser.add_argument("--backlog-rate", type=float, default=40.0)
    parser.add_argument("--backlog-agents", type=int, default=8)
    parser.add_argument("--backlog-talk-s", type=float, default=0.5)
    parser.add_argument(
        "--profile-backend", type=Path, metavar="FILE",
        help="the backend under cProfile (slower), its statistics to FILE",
    )  # fmt: skip
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    if args.profile_backend:  # where the backend's own time went (its event loop's thread)
        stats = pstats.Stats(str(args.profile_backend))
        stats.sort_stats("tottime").print_stats(PROFILE_TOP)
        stats.sort_stats("cumulative").print_stats(OUR_CODE, PROFILE_TOP)
    for phase in [*figures["rates"], *([figures["backlog"]] if figures["backlog"] else [])]:
        print(describe(phase))
    print(
        f"max {figures['max_cps_zero_failures']} calls/s with no failed call; pops there p50 "
        f"{figures['pop_p50_ms_at_max']} p99 {figures['pop_p99_ms_at_max']} ms; free agent "
        f"rung p99 {figures['free_agent_to_ring_p99_ms']} ms; lost pops {figures['lost_pops']} "
        f"(load {figures['load_1m']} on {figures['cores']} cores)"
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
