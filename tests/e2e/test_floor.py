"""Managing agents from the floor, against real Asterisk (a SIPp phone on every desk): a
supervisor's desktop and agent 1001's, real websocket clients of the backend's gateway.

A forced pause shows in Asterisk's own QueueStatus (paused, with the reason), on the agent's
desktop (the notice, its presence) and on the floor's trail (database and HTTP route); a move
puts the agent in the other queue in Asterisk; an overflow seat given a queue is a
first-choice member there; an unknown extension, a bad reason, an agent's ticket: a clear
error and nothing changed in Asterisk or on the trail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from config.settings import OVERFLOW_PENALTY
from crm.db.floor_models import FloorAction
from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from telephony.actions import add_queue_member, pause_member, remove_queue_member
from telephony.call import CallState
from telephony.events import AgentRinging
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.test_desktop import Desktop, _ticket
from tests.support.polling import eventually

PAUSE = {"extension": "1001", "pause_reason": "培训", "reason": "新政策培训"}


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("floor")) as centre:
        yield centre


@pytest.fixture
async def desks(centre: Centre) -> AsyncIterator[tuple[Desktop, Desktop, str]]:
    """The supervisor 张三's desktop, agent 1001's, and the supervisor's token; afterwards
    1001 is back as it started: in hotline only, unpaused."""
    port = centre.hotline.gateway.port
    sup_token = await crm_user(centre, "张三", Role.SUPERVISOR)
    agent_token = await crm_user(centre, "王芳", Role.AGENT, "1001")
    async with aiohttp.ClientSession() as http:
        sup_ticket = await _ticket(http, centre, sup_token, None)
        agent_ticket = await _ticket(http, centre, agent_token, "1001")
    async with (
        connect(f"ws://127.0.0.1:{port}/?ticket={sup_ticket}") as sup_ws,
        connect(f"ws://127.0.0.1:{port}/?ticket={agent_ticket}") as agent_ws,
    ):
        supervisor, agent = Desktop(sup_ws), Desktop(agent_ws)
        await supervisor.wait_for("snapshot")
        await agent.wait_for("snapshot")
        try:
            yield supervisor, agent, sup_token
        finally:
            ami = centre.hotline.ami
            await add_queue_member(ami, "hotline", "1001", "王芳")
            await remove_queue_member(ami, "complaint", "1001")
            await pause_member(ami, "1001", False)
            await supervisor.close()
            await agent.close()


async def members(centre: Centre, extension: str) -> dict[str, dict[str, str]]:
    """Asterisk's own word: queue → the agent's QueueMember item there."""
    items = await centre.hotline.ami.action_list("QueueStatus")
    return {
        item["Queue"]: item
        for item in items
        if item.get("Event") == "QueueMember" and item.get("Location") == f"PJSIP/{extension}"
    }


async def standing(centre: Centre, extension: str) -> dict[str, tuple[str, str, str]]:
    """Queue → paused, its reason, penalty: what a floor action would change."""
    return {
        queue: (item["Paused"], item.get("PausedReason", ""), item["Penalty"])
        for queue, item in (await members(centre, extension)).items()
    }


async def trail(centre: Centre) -> list[FloorAction]:
    async with centre.hotline.sessions() as session:
        return list(await session.scalars(select(FloorAction).order_by(FloorAction.id)))


async def test_a_forced_pause_in_asterisk_on_the_agents_desk_and_on_the_trail(
    centre: Centre, desks: tuple[Desktop, Desktop, str]
) -> None:
    supervisor, agent, token = desks
    before = len(await trail(centre))
    result = await supervisor.command("force_pause", **PAUSE)
    assert result["ok"], result

    hotline = (await members(centre, "1001"))["hotline"]
    assert (hotline["Paused"], hotline["PausedReason"]) == ("1", "培训")  # Asterisk itself
    notice = await agent.wait_for("floor_notice", action="force_pause")
    assert notice["text"] == "班长 张三 将您置为暂停：培训（新政策培训）"
    assert result["result"]["notice"] == notice["text"]
    await agent.wait_for("presence", extension="1001", state="paused", reason="培训")
    await supervisor.wait_for("floor_notice", action="force_pause")  # its own copy

    [row] = (await trail(centre))[before:]
    assert (row.role, row.extension, row.action, row.pause_reason, row.reason, row.outcome) == (
        Role.SUPERVISOR, "1001", "force_pause", "培训", "新政策培训", "done",
    )  # fmt: skip
    url = f"http://127.0.0.1:{centre.hotline.settings.http.port}/api/floor/actions?limit=1"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 200
        [served] = (await response.json())["items"]
    assert (served["id"], served["user_name"], served["outcome"]) == (row.id, "张三", "done")

    unpause = await supervisor.command("force_unpause", extension="1001", reason="培训取消")
    assert unpause["ok"], unpause
    assert (await members(centre, "1001"))["hotline"]["Paused"] == "0"
    await agent.wait_for("presence", extension="1001", state="available")
    await agent.wait_for("floor_notice", action="force_unpause")


async def test_moving_an_agent_to_another_queue(
    centre: Centre, desks: tuple[Desktop, Desktop, str]
) -> None:
    supervisor, agent, _ = desks
    assert set(await members(centre, "1001")) == {"hotline"}
    result = await supervisor.command("move_queue", extension="1001", from_queue="hotline",
                                      to_queue="complaint", reason="投诉排队多")  # fmt: skip
    assert result["ok"], result
    now = await members(centre, "1001")
    assert set(now) == {"complaint"} and now["complaint"]["Paused"] == "0"
    notice = await agent.wait_for("floor_notice", action="move_queue")
    assert notice["text"] == "班长 张三 已将您从队列 hotline 调整到 complaint（投诉排队多）"
    assert centre.hotline.desk.presences["1001"].state.value == "available"  # never logged out
    assert (await trail(centre))[-1].queue == "complaint"


async def test_an_overflow_seat_gets_a_queue_now(
    centre: Centre, desks: tuple[Desktop, Desktop, str]
) -> None:
    supervisor, _, _ = desks
    assert (await members(centre, "1901"))["hotline"]["Penalty"] == str(OVERFLOW_PENALTY)
    try:
        result = await supervisor.command("assign_queue", extension="1901", queue="hotline",
                                          reason="排队超过 20 人")  # fmt: skip
        assert result["ok"], result
        assert (await members(centre, "1901"))["hotline"]["Penalty"] == "0"
        again = await supervisor.command("assign_queue", extension="1901", queue="hotline",
                                         reason="再来一次")  # fmt: skip
        assert again["error"]["code"] == "already_member", again
    finally:
        await centre.hotline.ami.action(
            "QueuePenalty", Queue="hotline", Interface="PJSIP/1901", Penalty=str(OVERFLOW_PENALTY)
        )


@pytest.mark.parametrize(
    ("who", "name", "args", "code"),
    [
        ("supervisor", "force_pause", {**PAUSE, "extension": "1099"}, "unknown_agent"),
        ("supervisor", "force_pause", {**PAUSE, "reason": "a\r\nAction: Hangup"}, "invalid_args"),
        ("supervisor", "force_pause", {**PAUSE, "reason": " "}, "invalid_args"),
        ("supervisor", "force_pause", {**PAUSE, "pause_reason": "wrap-up"}, "invalid_args"),
        (
            "supervisor",
            "move_queue",
            {"extension": "1001", "from_queue": "hotline", "to_queue": "nowhere", "reason": "x"},
            "unknown_queue",
        ),
        ("supervisor", "pause", {"reason": "培训"}, "forbidden"),
        ("agent", "force_pause", PAUSE, "forbidden"),
        ("agent", "force_logout", {"extension": "1002", "reason": "x"}, "forbidden"),
    ],
)
async def test_bad_requests_get_a_clear_error_and_change_nothing(
    centre: Centre, desks: tuple[Desktop, Desktop, str], who: str, name: str,
    args: dict[str, Any], code: str,
) -> None:  # fmt: skip
    supervisor, agent, _ = desks
    before = {ext: await standing(centre, ext) for ext in ("1001", "1002")}
    rows = len(await trail(centre))
    result = await (supervisor if who == "supervisor" else agent).command(name, **args)
    assert result["ok"] is False and result["error"]["code"] == code, result
    assert result["error"]["message"]
    # Answered only once handled: whatever it would have sent Asterisk is there by now.
    assert {ext: await standing(centre, ext) for ext in ("1001", "1002")} == before
    assert len(await trail(centre)) == rows
    assert not [f for _, f in agent.frames if f["type"] == "floor_notice"]


# --- a pause given while the agent talks: pending, then held after the call ---------------

MEETING = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=7000)


@asynccontextmanager
async def _on_a_call(
    centre: Centre, agent: Desktop, number: str
) -> AsyncIterator[asyncio.Task[Any]]:
    """A caller put through to 1001 (1002, the other hotline member, is paused for the block);
    enters once 1001 talks to them, with the caller's SIPp run."""
    async with centre.agents_paused("1002", reason="午饭"):
        call = asyncio.create_task(centre.call([CallerIdentity("来电人", number)], MEETING))
        talking = await centre.log.wait_talking(number, timeout=30)
        assert talking.agent_interface == "PJSIP/1001"
        await agent.wait_for("presence", extension="1001", state="talking",
                             call_id=talking.linkedid)  # fmt: skip
        yield call


async def _held_after_the_call(centre: Centre, call: asyncio.Task[Any], number: str) -> None:
    """After the call and its wrap-up 1001 is paused with 会议 in Asterisk, and a next caller
    waits until 1002 is back rather than ring 1001."""
    await call
    await centre.log.wait_ended(number)
    await agent_paused_in_desk(centre, "会议")
    assert {q: (m["Paused"], m["PausedReason"]) for q, m in (await members(centre, "1001")).items()
            } == {"hotline": ("1", "会议")}  # fmt: skip
    nxt = "13900000009"
    plan = CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=8000)
    second = asyncio.create_task(centre.call([CallerIdentity("下一位", nxt)], plan))
    queued = await centre.log.wait_for(
        lambda e: e.call.caller_number == nxt and e.call.state is CallState.QUEUED, 30
    )
    await pause_member(centre.hotline.ami, "1002", False)  # the next caller's only agent
    answered = await centre.log.wait_talking(nxt, timeout=30)
    await second
    rung = {e.cause.interface for e in centre.log.effects if isinstance(e.cause, AgentRinging)
            and e.call.linkedid == queued.call.linkedid}  # fmt: skip
    assert (answered.agent_interface, rung) == ("PJSIP/1002", {"PJSIP/1002"})


async def agent_paused_in_desk(centre: Centre, reason: str, timeout: float = 20) -> None:
    """The desk says 1001 is paused with `reason` (past its wrap-up, which lasts 0.5 s)."""

    async def paused() -> bool:
        p = centre.hotline.desk.presences["1001"]
        return p.state.value == "paused" and p.reason == reason

    await eventually(paused, timeout, f"1001 paused with {reason} after the call")


@pytest.mark.parametrize(("by", "number"), [("agent", "13900000001"),
                                            ("supervisor", "13900000002")])  # fmt: skip
async def test_a_pause_during_a_call_holds_after_it(
    centre: Centre, desks: tuple[Desktop, Desktop, str], by: str, number: str
) -> None:
    """The agent's own pause, or a supervisor's force_pause."""
    supervisor, agent, _ = desks
    async with _on_a_call(centre, agent, number) as call:
        if by == "agent":
            result = await agent.command("pause", reason="会议")
        else:
            result = await supervisor.command("force_pause", **{**PAUSE, "pause_reason": "会议"})
        assert result["ok"], result
        # Pending, on the desk and on the wall's feed; the call goes on.
        await agent.wait_for("presence", extension="1001", state="talking", pending_pause="会议")
        await supervisor.wait_for("presence", extension="1001", pending_pause="会议")
        if by == "supervisor":
            refused = await agent.command("unpause")  # the supervisor's, also while pending
            assert refused["error"]["code"] == "forced_pause", refused
        await _held_after_the_call(centre, call, number)


async def test_an_unpause_during_the_call_cancels_the_pending_pause(
    centre: Centre, desks: tuple[Desktop, Desktop, str]
) -> None:
    _, agent, _ = desks
    number = "13900000003"
    async with _on_a_call(centre, agent, number) as call:
        assert (await agent.command("pause", reason="会议"))["ok"]
        pending = await agent.wait_for("presence", extension="1001", pending_pause="会议")
        assert (await agent.command("unpause"))["ok"]
        since = agent.arrival(pending)

        async def cancelled() -> bool:  # a presence after the pending one: nothing pending
            return any(f["type"] == "presence" and f["state"] == "talking" and at > since
                       and f["pending_pause"] is None for at, f in agent.frames)  # fmt: skip

        await eventually(cancelled, 10, "the pending pause cancelled on the desk")
        await call
        await agent.wait_for("presence", extension="1001", state="available")
        assert (await members(centre, "1001"))["hotline"]["Paused"] == "0"
