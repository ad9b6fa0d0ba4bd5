"""The live wall against a scripted run of SIPp calls on a real Asterisk, and again after the
backend was killed and restarted: the day's figures come from the call records.

The centre's [supervision] limits are scaled down (a 6 s answer goal, abandons under 2 s not
offered, alerts past a 5 s wait and a 4 s pause) so the script runs in seconds, not minutes.
The script, one agent (1001): caller A is answered at once; then the agent is paused (AMI
QueuePause, reason 开会) while B and C call; C gives up after about 5 s in the queue (offered:
more than `short_abandon_s`, and missed), B is answered once the agent is unpaused after it
waited more than the goal. So today: 2 answered, 1 of them within the goal, 1 abandoned, 3
offered, service level 1/3, the longest wait B's; on the way, the queue's longest wait and the
pause past their thresholds raised their alerts, cleared once over. Then the agent is paused
again, past the pause threshold, and the backend killed: the new backend's wall shows the same
day, the same time in state and the same long-pause alert.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from agent_gateway.edge.store import read_wall
from config.secrets import read_secret, secrets_dir
from config.settings import load_settings
from crm.db.call_models import CallRecord
from crm.db.engine import create_engine, session_factory
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from telephony.ami import AmiClient
from tests.e2e.harness import backend_config, backend_process, stop_backends

A, B, C = "13900000001", "13900000002", "13900000003"
GOAL_S, SHORT_ABANDON_S = 6, 2  # the answer goal; abandons shorter than this not offered
LONG_WAIT_ALERT_S, PAUSE_ALERT_S = 5, 4
B_WAIT_S = 9.0  # the agent stays paused at least this long after B queued: past the goal
C_HANGUP_MS = 5000  # C hangs up so long after its choice: about 5 s in the queue


def _config(tmp: Path, phone_port: int) -> Path:
    config = backend_config(tmp, [("1001", "王芳", phone_port)], max_wrapup_s=1,
                            service_level_s=GOAL_S)  # fmt: skip
    with config.open("a", encoding="utf-8") as f:
        f.write(
            f"[supervision]\nshort_abandon_s = {SHORT_ABANDON_S}\n"
            f"longest_wait_alert_s = {LONG_WAIT_ALERT_S}\npause_alert_s = {PAUSE_ALERT_S}\n"
        )
    return config


class Wall:
    """The wall supervisors' snapshots get, read from the backend's Redis."""

    def __init__(self, config: Path) -> None:
        settings = load_settings(config)
        password = read_secret(secrets_dir(settings.state_dir) / "redis")
        self.redis = Redis(host="127.0.0.1", port=settings.redis.port, password=password)

    async def when(self, ok: Callable[[dict[str, Any]], bool], what: str, timeout: float = 40
                   ) -> dict[str, Any]:  # fmt: skip
        last: dict[str, Any] | None = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    last = await read_wall(self.redis)
                    if last is not None and ok(last):
                        return last
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"the wall never showed {what}: {last}") from None


def queue(wall: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in wall["queues"] if q["queue"] == "hotline")
    return found


def agent(wall: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in wall["agents"] if a["extension"] == "1001")
    return found


def kinds(wall: dict[str, Any]) -> set[str]:
    return {a["kind"] for a in wall["alerts"]}


async def _records(db: Path) -> dict[str, CallRecord]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        async with session_factory(engine)() as session:
            rows = await session.scalars(select(CallRecord))
            return {r.caller_number: r for r in rows}
    finally:
        await engine.dispose()


async def _pause(config: Path, paused: bool) -> None:
    ami = load_settings(config).ami
    client = AmiClient(host=ami.host, port=ami.port, username=ami.username,
                       secret=ami.secret.get_secret_value())  # fmt: skip
    async with client:
        await client.wait_connected(10)
        if paused:
            await client.action("QueuePause", Interface="PJSIP/1001", Paused="true",
                                Reason="开会")  # fmt: skip
        else:
            await client.action("QueuePause", Interface="PJSIP/1001", Paused="false")


async def _pause_shown(config: Path, wall: Wall) -> None:
    """The backend unpauses the agent in Asterisk as the wrap-up ends, just after the wall
    shows it available: a pause sent in between is undone. So it is sent again."""
    for attempt in range(5):
        await _pause(config, True)
        try:
            await wall.when(lambda w: agent(w)["state"] == "paused", "paused", 3)
            return
        except AssertionError:
            assert attempt < 4, "the agent could not be paused"


def _call(tmp: Path, sip: int, number: str, hangup_after_ms: int) -> asyncio.Task[Any]:
    return asyncio.create_task(place_calls(
        tmp / f"sipp-{number}", target=f"127.0.0.1:{sip}", service="12345",
        callers=[CallerIdentity("来电人", number)],
        plan=CallerPlan(dtmf="0", dtmf_after_ms=500, hangup_after_ms=hangup_after_ms),
    ))  # fmt: skip


def _long_pause(wall: dict[str, Any]) -> tuple[str, float]:
    found = [(a["key"], a["raised_at"]) for a in wall["alerts"] if a["kind"] == "long_pause"]
    assert len(found) == 1, wall["alerts"]
    return found[0]


def day_figures(wall: dict[str, Any]) -> tuple[Any, ...]:
    """What must survive a restart: the queue's day and the agent's day."""
    q, a = queue(wall), agent(wall)
    return (q["today"], a["calls_today"], a["average_talk_s"], a["average_wrap_up_s"])


async def test_the_wall_counts_a_scripted_run_and_keeps_it_across_a_restart(tmp_path: Path
                                                                           ) -> None:  # fmt: skip
    phone_port = free_udp_port()
    config = _config(tmp_path, phone_port)
    sip = load_settings(config).sip.port
    first = await backend_process(config)
    second: asyncio.subprocess.Process | None = None
    wall = Wall(config)
    try:
        async with AgentPhone(tmp_path / "sipp", "127.0.0.1", phone_port, ring_ms=300):
            await wall.when(lambda w: agent(w)["state"] == "available", "the agent available")
            result = await _call(tmp_path, sip, A, hangup_after_ms=3000)
            assert result.ok, result.errors
            seen = await wall.when(lambda w: queue(w)["today"]["answered"] == 1
                                   and agent(w)["state"] == "available", "A answered")  # fmt: skip
            assert queue(seen)["today"]["answered_in_goal"] == 1

            await _pause_shown(config, wall)
            b = _call(tmp_path, sip, B, hangup_after_ms=int(B_WAIT_S * 1000) + 6000)
            # C only once B waits: B is the oldest caller (both at once, C was once 11 ms first)
            b_waiting = await wall.when(lambda w: queue(w)["waiting"] == 1, "B waiting")
            b_queued = queue(b_waiting)["oldest_queued_at"]
            assert abs(b_queued - time.time()) < 5
            c = _call(tmp_path, sip, C, hangup_after_ms=C_HANGUP_MS)
            waiting = await wall.when(lambda w: queue(w)["waiting"] == 2, "B and C waiting")
            assert abs(queue(waiting)["oldest_queued_at"] - b_queued) < 0.01
            alerting = await wall.when(lambda w: {"long_wait", "long_pause"} <= kinds(w),
                                       "the long wait and the long pause alerts")  # fmt: skip
            assert agent(alerting)["reason"] == "开会"
            raised = {a["key"]: a["raised_at"] for a in alerting["alerts"]}
            result = await c
            assert result.ok, result.errors
            await wall.when(lambda w: queue(w)["today"]["abandoned"] == 1
                            and queue(w)["waiting"] == 1, "C abandoned")  # fmt: skip
            await asyncio.sleep(max(0.0, b_queued + B_WAIT_S - time.time()))  # B waits on
            still = await read_wall(wall.redis)
            assert still is not None
            # raised once: the same occurrences, not raised again
            assert {a["key"]: a["raised_at"] for a in still["alerts"]} == raised
            # the longest wait is counted on from the oldest caller's queueing: still B's
            assert abs(queue(still)["oldest_queued_at"] - b_queued) < 0.01
            await _pause(config, False)
            result = await b
            assert result.ok, result.errors
            done = await wall.when(lambda w: queue(w)["today"]["answered"] == 2
                                   and agent(w)["state"] == "available" and not w["alerts"],
                                   "B answered, the alerts cleared")  # fmt: skip

        records = await _records(load_settings(config).state_dir / "hotline.db")
        b_wait, c_wait = records[B].wait_s, records[C].wait_s
        assert b_wait is not None and c_wait is not None
        assert b_wait > B_WAIT_S - 1 > GOAL_S, (b_wait, c_wait)
        assert SHORT_ABANDON_S < c_wait < C_HANGUP_MS / 1000 + 3, (b_wait, c_wait)
        b_recorded = records[B].queued_at
        assert b_recorded is not None
        assert abs(b_recorded.replace(tzinfo=UTC).timestamp() - b_queued) < 0.01
        assert queue(done)["goal_s"] == GOAL_S  # the queue's service_level_s
        today = queue(done)["today"]
        assert today == {
            "offered": 3, "answered": 2, "answered_in_goal": 1, "abandoned": 1,
            "abandoned_short": 0, "longest_wait_s": round(b_wait, 1),
            "service_level": round(1 / 3, 3),
            "surveyed": 0, "satisfied": 0, "satisfaction_rate": None,  # no survey answered
        }  # fmt: skip
        assert queue(done)["last_hour"] == today
        assert agent(done)["calls_today"] == 2
        assert agent(done)["average_wrap_up_s"] is not None  # two wrap-ups of about 1 s
        before = day_figures(done)

        # paused across the kill: its time in state and its alert go on, not start again
        await _pause_shown(config, wall)
        paused = await wall.when(lambda w: "long_pause" in kinds(w), "the long pause alert")
        since, alert = agent(paused)["since"], _long_pause(paused)
        first.kill()  # the backend dies; Asterisk and Redis run on
        await first.wait()
        killed_at = time.time()
        second = await backend_process(config)
        again = await wall.when(lambda w: w["at"] > killed_at and agent(w)["state"] == "paused",
                                "a wall of the new backend")  # fmt: skip
        assert day_figures(again) == before
        assert (agent(again)["reason"], agent(again)["since"]) == ("开会", since)
        assert _long_pause(again) == alert  # the same occurrence, raised when it was
    finally:
        await wall.redis.aclose()
        await stop_backends(tmp_path / "state", second, first)
