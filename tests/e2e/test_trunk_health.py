"""Trunk health with a real Asterisk qualifying 110's legs every second (SIP OPTIONS to SIPp
far ends that answer them): the primary's far end stopped is found unreachable within a few
intervals and told once (one centre alert, listed by the alerts API); a transfer to 110 then
goes straight to the backup (no INVITE ever reaches the primary's port) instead of waiting
out the primary's dial timeout; the far end back, it is reachable again, told once (a
notice), and the next transfer takes the primary. Trunks changed by a live apply (moved,
added, removed) are followed from then on; so is the outbound trunk put and moved through
the admin API, each next call back (回访) reaching its far end of the moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.exceptions import RedisError

from crm.domain.enums import Role
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, CallerResult
from hotline_cli.trunk_status import read_trunks
from telephony.actions import blind_transfer, call_out
from telephony.call import Call, CallState
from telephony.call_control import ControlCode
from telephony.control_store import ControlFailed
from telephony.dialplan import CONTEXT_AGENTS
from telephony.trunk_health import LegChange, LegState
from tests.e2e.control_support import channels, trunk_channels
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.support.polling import eventually
from tests.support.trunk_peers import DeafPort, with_trunks

PRIMARY, BACKUP = free_udp_port(), free_udp_port()
QUALIFY_S = 1
DIAL_TIMEOUT_S = 5  # what a transfer would wait on a dead primary without the skip
RING_MS = 300


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    police = {
        "number": "110", "primary": f"127.0.0.1:{PRIMARY}", "backup": f"127.0.0.1:{BACKUP}",
        "dial_timeout_s": DIAL_TIMEOUT_S, "qualify_s": QUALIFY_S,
    }  # fmt: skip
    async with running_centre(tmp_path_factory.mktemp("trunk-health"), trunks={"police": police}
                              ) as centre:  # fmt: skip
        yield centre


async def over_http(centre: Centre, path: str, token: str, status: int = 200) -> dict[str, Any]:
    """GET `path` as the user of `token`: its JSON answer, with that status."""
    http = centre.hotline.settings.http
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://{http.host}:{http.port}{path}",
                   headers={"Authorization": f"Bearer {token}"}) as response,
    ):  # fmt: skip
        body: dict[str, Any] = await response.json()
        assert response.status == status, body
        return body


async def trunks_over_http(centre: Centre, token: str, status: int = 200) -> dict[str, Any]:
    return await over_http(centre, "/api/trunks", token, status)


async def trunk_alerts(centre: Centre, token: str, subject: str) -> list[tuple[str, bool]]:
    """The alerts about `subject`, oldest first: kind, pushed to the desks."""
    items = (await over_http(centre, "/api/alerts", token))["items"]
    return [(a["kind"], a["published_at"] is not None) for a in reversed(items)
            if a["subject"] == subject and a["order_id"] is None]  # fmt: skip


def state(centre: Centre, leg: str) -> LegState:
    return centre.hotline.trunks.health[f"trunk-110-{leg}"].state


async def answered(
    centre: Centre, number: str, hangup_after_ms: int
) -> tuple[asyncio.Task[CallerResult], Call]:
    """A SIPp call from `number` (hanging up after `hangup_after_ms`), once an agent talks."""
    call = asyncio.create_task(centre.call(
        [CallerIdentity("周十", number)],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=hangup_after_ms),
    ))  # fmt: skip
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == number and e.call.state is CallState.TALKING, 20
    )
    return call, talking.call


async def transfer_to_110(centre: Centre, number: str, answering: str) -> tuple[float, set[str]]:
    """A call answered by an agent, sent on to 110: how long until `answering`'s leg is up,
    and every 110 leg (primary, backup) seen meanwhile; the operator then hangs up."""
    call, talking = await answered(centre, number, hangup_after_ms=30_000)
    started = time.monotonic()
    await blind_transfer(centre.hotline.ami, talking.agent_channel, CONTEXT_AGENTS, "110")
    seen: set[str] = set()
    async with asyncio.timeout(2 * DIAL_TIMEOUT_S + 5):
        while (legs := trunk_channels(await channels(centre), "110")).get(answering) != "Up":
            seen |= set(legs)
            await asyncio.sleep(0.05)
    took = time.monotonic() - started
    seen |= set(legs)
    hung_up = await centre.hotline.ami.action_list(
        "Hangup", Channel=f"/^PJSIP/trunk-110-{answering}-/", Cause="16"
    )
    assert len(hung_up) == 1, hung_up
    assert (await call).ok  # the caller was not dropped: it took the operator's BYE
    await centre.log.wait_ended(number)
    return took, seen


async def test_a_dead_primary_is_skipped_and_told_once(centre: Centre, tmp_path: Path) -> None:
    changes: list[LegChange] = []
    supervisor = await crm_user(centre, "孙班长", Role.SUPERVISOR)
    agent = await crm_user(centre, "钱坐席", Role.AGENT)
    assert await trunks_over_http(centre, agent, status=403)

    async def told(change: LegChange) -> None:
        if change.after.line == "110":  # 119's and 120's (the packaged ports) go down too
            changes.append(change)

    loop = asyncio.get_running_loop()
    async with AgentPhone(tmp_path, "127.0.0.1", BACKUP, RING_MS):
        async with AgentPhone(tmp_path, "127.0.0.1", PRIMARY, RING_MS):

            async def both_reachable() -> bool:
                return all(
                    state(centre, leg) is LegState.REACHABLE for leg in ("primary", "backup")
                )

            await eventually(both_reachable, 10, "both 110 legs reachable")
            centre.hotline.trunks.on_change += (told,)  # what is told from now on
            alerted = partial(trunk_alerts, centre, supervisor, "trunk-110-primary")

            async def none_open() -> bool:  # found down at start (no far end yet): now back
                return (told_before := await alerted()) == [] or told_before[-1] == (
                    "trunk_up", True)  # fmt: skip

            await eventually(none_open, 5, "no trunk_down alert left open")
            before = await alerted()
            snapshot = await read_trunks(centre.hotline.redis)
            legs = {(leg.line, leg.leg): leg for leg in snapshot.legs}
            assert legs[("110", "primary")].state == "reachable"
            assert legs[("110", "primary")].rtt_ms is not None
            stopped = time.monotonic()
        deaf = DeafPort()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: deaf, local_addr=("127.0.0.1", PRIMARY)
        )
        try:

            async def primary_down() -> bool:
                return state(centre, "primary") is LegState.UNREACHABLE

            await eventually(primary_down, 6 * QUALIFY_S + 3, "the primary found unreachable")
            detected_s = time.monotonic() - stopped
            took, seen = await transfer_to_110(centre, "13911116666", answering="backup")
            assert "primary" not in seen, seen
            assert deaf.count("INVITE") == 0, deaf.requests
            assert took < DIAL_TIMEOUT_S, took  # straight to the backup, no dial timeout
            # No storm: qualify goes on (three more OPTIONS unanswered), nothing more told.
            asked = deaf.count("OPTIONS")

            async def three_more() -> bool:
                return deaf.count("OPTIONS") >= asked + 3

            await eventually(three_more, 10 * QUALIFY_S, "three more OPTIONS to the primary")
            assert [(c.after.leg, c.after.state) for c in changes] == [
                ("primary", LegState.UNREACHABLE)
            ], changes
            down = await trunks_over_http(centre, supervisor)
            assert {(leg["leg"], leg["state"]) for leg in down["legs"] if leg["line"] == "110"
                    } == {("primary", "unreachable"), ("backup", "reachable")}  # fmt: skip

            async def pushed_once() -> bool:
                return await alerted() == [*before, ("trunk_down", True)]

            await eventually(pushed_once, 5, "one trunk_down alert, pushed")
        finally:
            transport.close()
        async with AgentPhone(tmp_path, "127.0.0.1", PRIMARY, RING_MS):

            async def primary_up() -> bool:
                return state(centre, "primary") is LegState.REACHABLE

            await eventually(primary_up, 6 * QUALIFY_S + 3, "the primary reachable again")
            assert [(c.after.leg, c.after.state) for c in changes] == [
                ("primary", LegState.UNREACHABLE), ("primary", LegState.REACHABLE)]  # fmt: skip

            async def noticed_back() -> bool:
                return await alerted() == [*before, ("trunk_down", True), ("trunk_up", True)]

            await eventually(noticed_back, 5, "the trunk_up notice, pushed")
            again, seen = await transfer_to_110(centre, "13911117777", answering="primary")
            assert "backup" not in seen, seen
    print(f"trunk health: down found in {detected_s:.2f} s (qualify {QUALIFY_S} s); "
          f"110 transfer to the backup up in {took:.2f} s, to the primary in {again:.2f} s "
          f"(without the skip: {DIAL_TIMEOUT_S} s of the primary's timeout first)")  # fmt: skip


async def test_both_legs_known_down_tell_the_agent_at_once(centre: Centre) -> None:
    loop = asyncio.get_running_loop()
    deaf = {port: DeafPort() for port in (PRIMARY, BACKUP)}
    ends = []
    for port, listener in deaf.items():
        transport, _ = await loop.create_datagram_endpoint(
            partial(DeafPort.itself, listener), local_addr=("127.0.0.1", port)
        )
        ends.append(transport)
    try:

        async def both_down() -> bool:
            return all(state(centre, leg) is LegState.UNREACHABLE for leg in ("primary", "backup"))

        await eventually(both_down, 6 * QUALIFY_S + 3, "both 110 legs unreachable")
        number = "13911118888"
        call, talking = await answered(centre, number, hangup_after_ms=6_000)
        started = time.monotonic()
        with pytest.raises(ControlFailed) as failed:
            await centre.hotline.control.consult(talking, "110", "hold")
        told_s = time.monotonic() - started
        assert failed.value.code is ControlCode.ALL_TRUNKS_DOWN
        assert told_s < 2.0, told_s  # nothing dialled: no dial timeout waited out
        assert [d.count("INVITE") for d in deaf.values()] == [0, 0]
        assert (await call).ok  # the caller stayed with the agent and hung up itself
        print(f"both 110 legs known down: the agent told after {told_s * 1000:.0f} ms")
    finally:
        for transport in ends:
            transport.close()


async def test_trunks_changed_live_are_followed(centre: Centre, tmp_path: Path) -> None:
    hotline = centre.hotline
    before = hotline.settings
    answering = free_udp_port()
    qualified = {"primary": f"127.0.0.1:{answering}", "qualify_s": QUALIFY_S}

    async def legs() -> dict[tuple[str, str], str]:
        return {(leg.line, leg.leg): leg.state for leg in
                (await read_trunks(hotline.redis)).legs}  # fmt: skip

    async with AgentPhone(tmp_path, "127.0.0.1", answering, RING_MS):
        try:
            # 119's primary moved onto a far end that answers, a trunk added on it too
            added = {"number": "96119", "dial_timeout_s": 5, **qualified}
            await hotline.apply_settings(with_trunks(before, fire=qualified, forest=added))

            async def moved_and_added_up() -> bool:
                found = await legs()
                return found.get(("119", "primary")) == found.get(("96119", "primary")) == (
                    "reachable")  # fmt: skip

            await eventually(moved_and_added_up, 6 * QUALIFY_S + 3, "moved and added legs up")
            assert hotline.trunks.health["trunk-96119-primary"].state is LegState.REACHABLE
            # 119's backup and the added trunk removed: gone from the snapshot
            await hotline.apply_settings(
                with_trunks(hotline.settings, fire={"backup": None}, forest=None)
            )
            found = await legs()
            assert ("119", "backup") not in found and ("96119", "primary") not in found
            assert found[("119", "primary")] == "reachable"  # unchanged: its state kept
            assert ("110", "primary") in found  # untouched: still followed
        finally:
            await hotline.apply_settings(before)
    assert set(await legs()) >= {("119", "primary"), ("119", "backup")}


async def called_back_over(centre: Centre, number: str, channel_id: str) -> str:
    """`number` called back (回访) with agent 1001: the far end that answered on the outbound
    primary (its Contact, sip:host:port), once up; then hung up."""
    ami = centre.hotline.ami
    await call_out(ami, number, "1001", channel_id, 10, "回访")

    async def up() -> bool:
        return trunk_channels(await channels(centre), "outbound").get("primary") == "Up"

    await eventually(up, 10, "the outbound primary up")
    leg = next(n for n in await channels(centre) if n.startswith("PJSIP/trunk-outbound-"))
    far = (await ami.action("Getvar", Channel=leg, Variable="CHANNEL(pjsip,target_uri)"))["Value"]
    await ami.action_list("Hangup", Channel="/^PJSIP/trunk-outbound-/", Cause="16")

    async def gone() -> bool:
        return not trunk_channels(await channels(centre), "outbound")

    await eventually(gone, 10, "the call back hung up")
    return str(far).split(";")[0]


async def test_the_outbound_trunk_put_through_the_api_is_followed_and_used(
    centre: Centre, tmp_path: Path
) -> None:
    """Added through the admin API, its primary is qualified (正常 in the trunks' snapshot)
    and a call back goes out on it; moved through the API onto another far end, the next call
    back reaches the new one; that far end stopped, it is told down (外呼 主用)."""
    admin = await crm_user(centre, "吴管理", Role.ADMIN)
    supervisor = await crm_user(centre, "冯班长", Role.SUPERVISOR)
    first, second = free_udp_port(), free_udp_port()
    outbound = {"primary": f"127.0.0.1:{first}", "qualify_s": QUALIFY_S, "dial_timeout_s": 5}

    async def put(changed: dict[str, Any] | None) -> None:
        current = await over_http(centre, "/api/admin/telephony", admin)
        document = {**current["document"], "outbound": changed}
        http = centre.hotline.settings.http
        async with (
            aiohttp.ClientSession() as client,
            client.put(f"http://{http.host}:{http.port}/api/admin/telephony",
                       json={"base_version": current["version"], "document": document},
                       headers={"Authorization": f"Bearer {admin}"}) as response,
        ):  # fmt: skip
            assert response.status == 200, await response.json()

    async def primary_is(state: str, since: float = 0.0) -> bool:
        legs = (await trunks_over_http(centre, supervisor))["legs"]
        return any(leg["line"] == "outbound" and leg["leg"] == "primary" and leg["state"] == state
                   and (leg["since"] or 0) >= since for leg in legs)  # fmt: skip

    async def up_at(port: int, since: float) -> bool:
        """Asterisk qualified the primary at `port`, and the snapshot says so since then."""
        ami = centre.hotline.ami
        aor = await ami.action("Getvar", Variable="PJSIP_AOR(trunk-outbound-primary,contact)")
        contact = f"PJSIP_CONTACT({aor['Value']},"
        uri, status = [(await ami.action("Getvar", Variable=f"{contact}{field})"))["Value"]
                       for field in ("uri", "status")]  # fmt: skip
        return (uri, status) == (f"sip:127.0.0.1:{port}", "Reachable") and await primary_is(
            "reachable", since)  # fmt: skip

    settle_s = 6 * QUALIFY_S + 5
    try:
        async with AgentPhone(tmp_path, "127.0.0.1", first, RING_MS):
            put_at = time.time()
            await put(outbound)
            await eventually(partial(up_at, first, put_at), settle_s, "qualified")
            far = await called_back_over(centre, "13933330001", "out-health-1")
            assert far == f"sip:127.0.0.1:{first}"
        async with AgentPhone(tmp_path, "127.0.0.1", second, RING_MS):
            put_at = time.time()
            await put({**outbound, "primary": f"127.0.0.1:{second}"})
            await eventually(partial(up_at, second, put_at), settle_s, "moved, qualified")
            far = await called_back_over(centre, "13933330002", "out-health-2")
            assert far == f"sip:127.0.0.1:{second}"
        await eventually(partial(primary_is, "unreachable"), settle_s, "told down")

        async def alerted() -> bool:
            told = await trunk_alerts(centre, supervisor, "trunk-outbound-primary")
            return ("trunk_down", True) in told

        await eventually(alerted, 10, "the outbound primary's down alert pushed")
        items = (await over_http(centre, "/api/alerts", supervisor))["items"]
        message = next(a["message"] for a in items if a["subject"] == "trunk-outbound-primary")
        assert message.startswith("外呼 主用") and "回访外呼" in message, message
    finally:
        await put(None)


async def test_a_leg_removed_while_down_closes_its_alert(centre: Centre) -> None:
    """96119 added live on a far end that answers nothing: down, told without a word of the
    emergency transfer (not a 110/119/120 line); removed while down: its down closed (已移除或
    停止探测); added again and down again: told again, not hidden by the first down."""
    hotline, before = centre.hotline, centre.hotline.settings
    supervisor = await crm_user(centre, "李班长", Role.SUPERVISOR)
    silent = {"number": "96119", "primary": f"127.0.0.1:{free_udp_port()}",
              "dial_timeout_s": 5, "qualify_s": QUALIFY_S}  # fmt: skip

    async def told() -> list[tuple[str, str]]:
        items = (await over_http(centre, "/api/alerts", supervisor))["items"]
        return [(a["kind"], a["message"]) for a in reversed(items)
                if a["subject"] == "trunk-96119-primary"]  # fmt: skip

    async def told_count(count: int) -> bool:
        return len(await told()) == count

    down = ("trunk_down", "96119 主用中继线路无应答（探测失败）")
    closed = ("trunk_up", "96119 主用中继线路已移除或停止探测，告警关闭")
    try:
        for round_ in (1, 2):
            await hotline.apply_settings(with_trunks(before, forest=silent))
            await eventually(partial(told_count, 2 * round_ - 1), 6 * QUALIFY_S + 3, "told")
            await hotline.apply_settings(before)  # removed while down
            await eventually(partial(told_count, 2 * round_), 5, "its down closed")
    finally:
        await hotline.apply_settings(before)
    assert await told() == [down, closed, down, closed]


async def test_trunk_states_not_published_never_fail_the_apply(
    centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis refusing the trunks' snapshot: the apply stands, the settings are the new ones."""
    hotline, before = centre.hotline, centre.hotline.settings

    async def refused(*_args: object, **_kwargs: object) -> None:
        raise RedisError("Redis is down")

    monkeypatch.setattr(hotline.redis, "set", refused)
    try:
        await hotline.apply_settings(with_trunks(before, fire={"backup": None}))
        assert hotline.settings.trunks["fire"].backup is None
        assert "trunk-119-backup" not in hotline.trunks.health
    finally:
        monkeypatch.undo()
        await hotline.apply_settings(before)
