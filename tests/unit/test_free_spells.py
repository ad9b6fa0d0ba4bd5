"""The free-agent-to-ring measure (`tests/e2e/free_agents.py`) on a queue with agents to spare."""

from __future__ import annotations

from tests.e2e.free_agents import free_spells

A, B = "PJSIP/1001", "PJSIP/1002"


def event(name: str, at: float, **headers: str) -> dict[str, str]:
    return {"Event": name, "Timestamp": f"{at:.3f}", "Queue": "hotline", **headers}


# B idle from the start; caller c1 joins, A comes free, B is rung for c1 and takes it; A
# stays free, nobody waiting, until caller c2 joins and A is rung at once.
EVENTS = [
    event("QueueMemberStatus", 0.0, Interface=B, Status="1", Paused="0"),
    event("QueueCallerJoin", 1.0, Uniqueid="c1", Count="1"),
    event("QueueMemberStatus", 1.005, Interface=A, Status="1", Paused="0"),
    event("AgentCalled", 1.01, Interface=B, Uniqueid="c1"),
    event("QueueMemberStatus", 1.4, Interface=B, Status="2", Paused="0"),
    event("QueueCallerLeave", 1.5, Uniqueid="c1", Count="0"),
    event("QueueCallerJoin", 4.99, Uniqueid="c2", Count="1"),
    event("AgentCalled", 5.0, Interface=A, Uniqueid="c2"),
]


def rung(until_served: bool) -> list[tuple[str, float, float]]:
    spells = free_spells(EVENTS, "hotline", [A, B], until_served=until_served)
    return [(s.interface, s.free_at, round(s.delay_s or 0, 3)) for s in spells if s.rung]


def test_a_free_agent_left_alone_while_another_took_the_caller_is_no_delay() -> None:
    assert rung(until_served=True) == [(B, 1.0, 0.01), (A, 4.99, 0.01)]


def test_by_default_the_spell_runs_from_freedom_to_the_ring() -> None:
    assert rung(until_served=False) == [(A, 1.005, 3.995)]  # as the burst test reads it
