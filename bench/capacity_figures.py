"""The capacity bench's figures, from what was measured outside the backend: Asterisk's own
events (their timestamps, through the tap), SIPp's own counts, the desks' arrival times and
/proc. Pure functions over those records."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from backlog import percentile

from tests.e2e.free_agents import FreeSpell

SERVICE_LEVEL_S = 15.0
SLOWEST_SPELLS = 3

Pops = Mapping[tuple[str, str], tuple[float, float]]  # (Linkedid, ext) -> (arrival, ami_ts)


@dataclass(frozen=True)
class Phase:
    """One phase as it ran: its window on the wall clock (from its first call to the last
    desk done), SIPp's statistics, the CPU seconds each part used, what the desks met."""

    name: str
    rate: float
    callers: int
    agents: int
    start: float
    end: float
    sipp: Mapping[str, str]
    sipp_ok: bool
    cpu_s: Mapping[str, float]
    backend_rss_mb: float
    desk_errors: tuple[str, ...]
    orders: int


def first_pops(
    arrivals: Iterable[tuple[float, str, str, float]],
) -> dict[tuple[str, str], tuple[float, float]]:
    """(arrival, call_id, extension, ami_ts) → the first arrival of each call's pop per desk."""
    pops: dict[tuple[str, str], tuple[float, float]] = {}
    for at, call_id, ext, ami_ts in sorted(arrivals):
        pops.setdefault((call_id, ext), (at, ami_ts))
    return pops


def _ms(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": round(ordered[-1], 2) if ordered else None,
    }


def _per_call(cpu_s: float | None, placed: int) -> float | None:
    return round(1000 * cpu_s / placed, 1) if cpu_s is not None and placed else None


def phase_figures(
    phase: Phase,
    events: list[dict[str, str]],
    per_second: Mapping[int, int],
    pops: Pops,
    spells: list[FreeSpell],
) -> dict[str, Any]:
    """Every figure of the issue for one phase."""
    start, end = phase.start, phase.end
    inside = [e for e in events if start <= float(e.get("Timestamp", "0")) < end]
    calls = [e for e in inside if e.get("Event") == "AgentCalled"]
    rung = {(e["Linkedid"], e["Interface"].split("/", 1)[1]) for e in calls}
    delivery = _ms([1000 * (float(e["Received"]) - float(e["Timestamp"])) for e in calls])
    latencies = [1000 * (at - ts) for at, ts in pops.values() if start <= ts < end]
    joined = {
        e["Uniqueid"]: float(e["Timestamp"]) for e in inside if e["Event"] == "QueueCallerJoin"
    }
    connected = {
        e["Uniqueid"]: float(e["Timestamp"]) for e in inside if e["Event"] == "AgentConnect"
    }
    within = sum(
        1 for u, at in joined.items() if u in connected and connected[u] - at <= SERVICE_LEVEL_S
    )
    placed = int(phase.sipp.get("TotalCallCreated", "0"))
    rung_spells = [
        s for s in spells if s.rung and s.delay_s is not None and start <= s.free_at < end
    ]
    delays = [1000 * (s.delay_s or 0.0) for s in rung_spells]
    slowest = sorted(rung_spells, key=lambda s: -(s.delay_s or 0.0))[:SLOWEST_SPELLS]
    counted = [n for second, n in per_second.items() if start <= second < end]
    wall_s = end - start
    pop = _ms(latencies)
    ring = _ms(delays)
    return {
        "phase": phase.name,
        "rate": phase.rate,
        "callers": phase.callers,
        "agents": phase.agents,
        "placed": placed,
        "failed": int(phase.sipp.get("FailedCall(C)", "0")),
        "successful": int(phase.sipp.get("SuccessfulCall(C)", "0")),
        "sipp_ok": phase.sipp_ok,
        "queued": len(joined),
        "answered": len(connected),
        "answered_15s_pct": round(100 * within / placed, 1) if placed else None,
        "most_waiting": max(
            (int(e.get("Count", "0")) for e in inside if e["Event"] == "QueueCallerJoin"), default=0
        ),
        "free_to_ring_p50_ms": ring["p50_ms"],
        "free_to_ring_p99_ms": ring["p99_ms"],
        "free_to_ring_max_ms": ring["max_ms"],
        "free_spells_rung": len(delays),
        # the longest waits of a free agent: who, when (s into the phase), callers waiting, ringing
        "slowest_free_spells": [
            [
                s.interface,
                round(s.free_at - start, 3),
                round(s.delay_s or 0.0, 3),
                s.waiting,
                s.ringing,
            ]
            for s in slowest
        ],
        "rings": len(rung),
        "pops": len(latencies),
        "pop_p50_ms": pop["p50_ms"],
        "pop_p99_ms": pop["p99_ms"],
        "pop_max_ms": pop["max_ms"],
        "lost_pops": len(rung - set(pops)),
        # of the pops' latency, Asterisk's own delivery of AgentCalled (to the tap's login)
        "ami_delivery_p50_ms": delivery["p50_ms"],
        "ami_delivery_p99_ms": delivery["p99_ms"],
        "whispers": sum(1 for e in inside if e["Event"] == "ChanSpyStart"),
        "ami_events_per_s": round(sum(counted) / wall_s, 1) if wall_s > 0 else None,
        "ami_events_peak_per_s": max(counted, default=0),
        "cpu_pct": {part: round(100 * s / wall_s, 1) for part, s in sorted(phase.cpu_s.items())},
        # CPU per call placed: robust to the other work on the machine, unlike the latencies
        "backend_cpu_ms_per_call": _per_call(phase.cpu_s.get("backend"), placed),
        "asterisk_cpu_ms_per_call": _per_call(phase.cpu_s.get("asterisk"), placed),
        "backend_rss_mb": round(phase.backend_rss_mb, 1),
        "orders_saved": phase.orders,
        "desk_errors": len(phase.desk_errors),
        "desk_error_kinds": sorted(set(phase.desk_errors)),
        "wall_s": round(wall_s, 1),
    }


def acceptance(
    rates: list[dict[str, Any]], backlog: dict[str, Any] | None, spells: list[FreeSpell]
) -> dict[str, Any]:
    """The issue's keys: the highest rate reached with no failed call (every lower rate too),
    its pops and service level; free-agent-to-ring over the whole run; the backlog's pops;
    every lost pop."""
    at_max: dict[str, Any] | None = None
    for figures in sorted(rates, key=lambda f: f["rate"]):
        clean = figures["sipp_ok"] and figures["failed"] == 0
        if not clean or figures["placed"] != figures["callers"]:
            break
        at_max = figures
    delays = sorted(1000 * s.delay_s for s in spells if s.rung and s.delay_s is not None)
    return {
        "max_cps_zero_failures": at_max["rate"] if at_max else 0,
        "pop_p50_ms_at_max": at_max["pop_p50_ms"] if at_max else None,
        "pop_p99_ms_at_max": at_max["pop_p99_ms"] if at_max else None,
        "answered_15s_pct": at_max["answered_15s_pct"] if at_max else None,
        "free_agent_to_ring_p99_ms": percentile(delays, 0.99),
        "backlog_pop_p99_ms": backlog["pop_p99_ms"] if backlog else None,
        "lost_pops": sum(f["lost_pops"] for f in [*rates, *([backlog] if backlog else [])]),
    }
