"""Issue 14's acceptance: a configuration stored by an admin through the HTTP API reaches the
running centre during live calls (one talking, two queued) in one PUT: a new agent, a queue's
new strategy and wrap-up, the 110 primary trunk moved to another port, a lower overflow
threshold, a nuisance number. Nobody is dropped, the queued callers stay queued; the new agent
takes the next call and gets a desk ticket, the overflow seat comes in for the two waiting
callers, takes one and leaves the drained queue, the wrap-up holds the agent back, a transfer
to 110 reaches the new port, the nuisance number is refused with the message, logged and never
queued; a stale edit gets 409 and a change only a restart applies 422, the centre unchanged.
The revert through the API brings each old behaviour back live: the old strategy, the removed
agent finishing its call, 110 on the old port, the seat out for two waiting, the number through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from config.settings import Settings
from crm.domain.calls import CallOutcome
from crm.domain.enums import Role
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerPlan
from processes.supervised import ProcessError
from telephony.call import CallState
from telephony.live_config import ApplyError
from tests.e2e.harness import Centre, crm_user, running_centre
from tests.e2e.live_config_changes import (
    BACKUP,
    NEW_AGENT_PORT,
    NEW_PRIMARY,
    NUISANCE,
    OLD_PRIMARY,
    OLD_SEATS,
    SEAT,
    WRAPUP_S,
    changed,
    changed_data,
    holding,
    print_figures,
    seat_stays_out,
)
from tests.e2e.live_config_support import (
    ANSWERED_SOON,
    ROOT,
    AdminApi,
    answered_by,
    applied,
    calling,
    desk_available,
    desk_ticket,
    first_held,
    hang_up,
    in_state,
    members,
    refused_as_nuisance,
    transfer_reaches_110_primary,
)
from tests.e2e.queue_support import (
    ended_record,
    member_is,
    overflow_switches,
    queue_status,
)
from tests.support.polling import eventually


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    # not qualified: its far ends come and go with each test (a leg found down is skipped)
    police = {"number": "110", "primary": f"127.0.0.1:{OLD_PRIMARY}",
              "backup": f"127.0.0.1:{BACKUP}", "dial_timeout_s": 3, "qualify_s": 0}  # fmt: skip
    state = tmp_path_factory.mktemp("live-config")
    # the seat's phone answers after the new agent's (0.8 s): the one to answer is known
    async with running_centre(
        state, trunks={"police": police}, seats=OLD_SEATS, rings={"1901": 2000}
    ) as centre:
        yield centre


async def test_five_changes_through_the_api_apply_live_drop_nobody_and_revert(
    centre: Centre, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotline_cli.nuisance_screen")
    hotline = centre.hotline
    admin = await crm_user(centre, "配置管理员", Role.ADMIN)
    new_agent = await crm_user(centre, "张伟", Role.AGENT, agent="1003")
    async with (
        aiohttp.ClientSession() as client,
        centre.agents_paused("1002", reason="会议"),  # 1001 alone takes calls
        AgentPhone(centre.workdir, "127.0.0.1", NEW_AGENT_PORT, ring_ms=800),  # 1003's phone
    ):
        api = AdminApi(client, centre, admin)
        status, current = await api.call("GET", ROOT)
        assert status == 200, current
        base = current["version"]
        assert await desk_ticket(api, new_agent) == 409  # 1003 is no configured agent yet

        a = calling(centre, "13900000101")
        talking_a = await in_state(centre, "13900000101", CallState.TALKING)
        b = calling(centre, "13900000102")
        await in_state(centre, "13900000102", CallState.QUEUED)
        c = calling(centre, "13900000103")  # queued behind B
        await in_state(centre, "13900000103", CallState.QUEUED)
        await seat_stays_out(centre)  # two wait: under the old threshold of three
        seq = await hotline.bus.last_seq()

        # A change only a restart applies is refused at the door, nothing stored.
        queues = [q | {"strategy": "linear"} for q in current["document"]["queues"]]
        linear = current["document"] | {"queues": queues}
        status, body = await api.call("PUT", ROOT, {"base_version": base, "document": linear})
        assert status == 422 and body["error"]["code"] == "config_not_runnable", body
        assert "linear" in body["error"]["errors"][0]["message"]

        # All five changes in one PUT: one version to revert, applied while B and C wait.
        status, body = await api.call(
            "PUT", ROOT, {"base_version": base, "document": changed_data(current["document"])}
        )
        stored_at = time.monotonic()
        assert status == 200 and body["version"] == base + 1, body
        new = body["version"]
        waiting: list[set[str]] = []
        applied_ms = await first_held(holding(centre, new=True, waiting=waiting), stored_at)
        assert waiting[-1] == {"13900000102", "13900000103"}  # still queued
        followers = hotline.followers
        assert "1003" in hotline.control.targets and followers.wall.agent_queues["1003"] == [
            "hotline"] and followers.agent_queues["1003"] == [("hotline", 0)]  # fmt: skip

        await eventually(lambda: applied(api, new), 5, f"version {new} shown applied")
        refused_task = calling(centre, NUISANCE, CallerPlan(dtmf=None, hangup_after_ms=40_000))

        async def ticket_is(status: int) -> bool:
            return await desk_ticket(api, new_agent) == status

        await eventually(lambda: ticket_is(200), 5, "a desk ticket for the new agent 1003")

        # A second admin's edit on the old version: 409 with the current one, nothing applied.
        status, body = await api.call("PUT", ROOT, {"base_version": base,
                                                    "document": current["document"]})  # fmt: skip
        assert status == 409 and body["error"]["current_version"] == new, body
        assert (await queue_status(centre))[0] == "ringall"

        # The new agent takes the next call (its phone rings 0.8 s, the seat's 2 s), the seat
        # the one after it, and leaves the drained queue; its call goes on.
        talking_b = await in_state(centre, "13900000102", CallState.TALKING)
        to_new_agent_s = time.monotonic() - stored_at
        assert talking_b.agent_interface == "PJSIP/1003"
        talking_c = await in_state(centre, "13900000103", CallState.TALKING)
        assert talking_c.agent_interface == SEAT
        await member_is(centre, SEAT, False, "the seat out of the drained queue")
        still_c = hotline.tracker.get(talking_c.linkedid)
        assert still_c is not None and still_c.state is CallState.TALKING  # not hung up
        told = await overflow_switches(centre, seq)
        assert [on for on, _ in told] == [True, False], told
        assert told[0][1] == "溢出席位启用（hotline）：排队 2 人，达到启用阈值 2 人", told
        await hang_up(centre, talking_c)

        # D waits for 1001; A ends; 1001 waits out the new wrap-up before it takes D.
        d = calling(centre, "13900000104")
        await in_state(centre, "13900000104", CallState.QUEUED)
        await hang_up(centre, talking_a)
        ended_a = await centre.log.wait_ended("13900000101")
        talking_d = await in_state(centre, "13900000104", CallState.TALKING)
        assert talking_d.agent_interface == talking_a.agent_interface == "PJSIP/1001"
        assert ended_a.ended_at is not None and talking_d.answered_at is not None
        assert talking_d.answered_at - ended_a.ended_at >= WRAPUP_S - 0.2
        await transfer_reaches_110_primary(centre, talking_d, NEW_PRIMARY, tmp_path)

        await refused_as_nuisance(centre, NUISANCE, caplog)  # never queued, logged

        # Back to the previous version while 1003 talks with B and F waits (1001 paused).
        await desk_available(centre, "1001")
        async with centre.agents_paused("1001", reason="培训"):
            f = calling(centre, "13900000106")
            await in_state(centre, "13900000106", CallState.QUEUED)
            status, body = await api.call("POST", f"{ROOT}/versions/{base}/revert",
                                          {"base_version": new})  # fmt: skip
            reverted_at = time.monotonic()
            assert status == 200 and body["reverted_from"] == base, body
            reverted_ms = await first_held(holding(centre, new=False, waiting=waiting), reverted_at)
            assert waiting[-1] == {"13900000106"}  # F still queued
            await eventually(lambda: applied(api, new + 1), 5, f"version {new + 1} shown applied")
            assert "1003" not in hotline.control.targets and "1003" not in followers.agent_queues
            await eventually(lambda: ticket_is(409), 5, "no desk ticket for 1003 any more")
            active_b = hotline.tracker.get(talking_b.linkedid)
            assert active_b is not None and active_b.state is CallState.TALKING  # not hung up
            # The number goes through again, and two waiting leave the seat out.
            through = calling(centre, NUISANCE)
            again = await in_state(centre, NUISANCE, CallState.QUEUED)
            await seat_stays_out(centre)
        talking_f = await in_state(centre, "13900000106", CallState.TALKING)
        assert talking_f.agent_interface == "PJSIP/1001"
        await hang_up(centre, talking_f)  # the number, queued behind F, is 1001's next
        ended_f = await centre.log.wait_ended("13900000106")
        talking_again = await in_state(centre, NUISANCE, CallState.TALKING)
        assert talking_again.linkedid == again.linkedid
        assert talking_again.agent_interface == "PJSIP/1001"
        assert ended_f.ended_at is not None and talking_again.answered_at is not None
        assert talking_again.answered_at - ended_f.ended_at < WRAPUP_S  # the wrap-up back to 0
        await transfer_reaches_110_primary(centre, talking_again, OLD_PRIMARY, tmp_path)
        await hang_up(centre, talking_b)  # 1003's call ran until now
        results = await asyncio.gather(a, b, c, d, refused_task, f, through)
        await desk_available(centre, "1001")  # the next test pauses it
        _, listed = await api.call("GET", f"{ROOT}/versions")
    assert all(r.ok for r in results), [r.errors for r in results]
    assert (await ended_record(centre, talking_f.linkedid)).outcome is CallOutcome.ANSWERED
    ended_b = await centre.log.wait_ended("13900000102")
    assert ended_b.end_reason == "hung up by agent", ended_b
    print_figures(listed, new, applied_ms, to_new_agent_s, reverted_ms)


async def test_a_failed_reload_puts_the_old_configuration_back(
    centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dialplan reload fails after res_pjsip and app_queue took the new files: the old
    files are back on disk and in Asterisk, nobody joined a queue, the backend is unchanged."""
    hotline = centre.hotline
    old, real_cli = hotline.settings, hotline.asterisk.cli
    etc = hotline.layout.etc
    before = {name: (etc / name).read_text() for name in ("pjsip.conf", "queues.conf",
                                                           "extensions.conf")}  # fmt: skip
    desk_agents = set(hotline.desk.presences)

    async def cli(command: str, timeout: float = 10.0) -> str:
        if command == "dialplan reload":
            raise ProcessError("asterisk -rx 'dialplan reload' timed out")
        return await real_cli(command, timeout)

    monkeypatch.setattr(hotline.asterisk, "cli", cli)
    with pytest.raises(ApplyError, match=r"配置未生效，已恢复原配置: .*dialplan reload"):
        await hotline.apply_settings(changed(old))
    monkeypatch.undo()
    assert {name: (etc / name).read_text() for name in before} == before
    strategy, members, _ = await queue_status(centre)
    assert strategy == "rrmemory" and "PJSIP/1003" not in members
    assert "Unable to find object 1003" in await hotline.asterisk.cli("pjsip show endpoint 1003")
    assert "127.0.0.1:" + str(OLD_PRIMARY) in await hotline.asterisk.cli(
        "pjsip show aor trunk-110-primary"
    )
    assert hotline.settings is old and "1003" not in hotline.control.targets
    assert (
        set(hotline.desk.presences) == desk_agents and "1003" not in hotline.followers.agent_queues
    )


async def test_an_overflow_threshold_reloads_the_queue_rules(centre: Centre) -> None:
    hotline = centre.hotline
    old = hotline.settings
    data: dict[str, Any] = old.model_dump()
    # the hotline's overflow is on seats here: the complaint queue gains penalty-1 seats
    overflow = {"overflow_skill": "overflow", "overflow_after_s": 20}
    data["queues"] = [q | overflow if q["name"] == "complaint" else q for q in data["queues"]]
    change = await hotline.apply_settings(Settings.model_validate(data))
    assert [r.value for r in change.reloads] == ["queue_rules"]
    rules = await hotline.asterisk.cli("queue show rules complaint-overflow")
    assert "After 20 seconds" in rules, rules
    await hotline.apply_settings(old)
    assert "After 20" not in await hotline.asterisk.cli("queue show rules complaint-overflow")


async def test_a_change_that_needs_a_restart_is_refused_untouched(centre: Centre) -> None:
    hotline = centre.hotline
    old, etc = hotline.settings, hotline.layout.etc
    before = {p.name: p.read_text() for p in etc.iterdir() if p.suffix == ".conf"}
    data: dict[str, Any] = changed(old).model_dump()  # a new agent, and a new SIP port
    data["sip"] = data["sip"] | {"port": free_udp_port()}
    with pytest.raises(ApplyError, match=r"需要重启.*sip: read at start-up"):
        await hotline.apply_settings(Settings.model_validate(data))
    assert {p.name: p.read_text() for p in etc.iterdir() if p.suffix == ".conf"} == before
    assert hotline.settings is old and "1003" not in hotline.control.targets


async def test_a_paused_agent_given_a_queue_stays_paused(centre: Centre) -> None:
    """1001 in a meeting gains the complaint queue and a new name: it joins complaint paused
    with its reason, and its hotline membership is left as it was (no QueueRemove/QueueAdd)."""
    hotline = centre.hotline
    old = hotline.settings
    data: dict[str, Any] = old.model_dump()
    data["agents"] = [a | {"skills": ["general", "complaint"], "name": "王芳芳"}
                      if a["extension"] == "1001" else a for a in data["agents"]]  # fmt: skip
    async with centre.agents_paused("1001", reason="会议"):
        await hotline.apply_settings(Settings.model_validate(data))
        items = await hotline.ami.action_list("QueueStatus", Member="PJSIP/1001")
        held = {i["Queue"]: (i["Name"], i["Paused"], i["PausedReason"]) for i in items
                if i.get("Event") == "QueueMember"}  # fmt: skip
        await hotline.apply_settings(old)
    assert held == {"hotline": ("王芳", "1", "会议"), "complaint": ("王芳芳", "1", "会议")}


async def test_an_agent_s_penalty_rings_it_last_and_changes_in_place(centre: Centre) -> None:
    """1002 at penalty 1 in general: two callers one after the other both reach 1001 (the
    queue's rrmemory would alternate; the hotline's overflow here is on seats). A caller
    waits (1001 in a meeting, 1002 on a break) while 1002's penalty rises to 2: no rule
    changes (app_queue keeps the rule a caller joined with: a cap following the penalties
    would strand it), and 1002 back from its break takes it; its penalty set back live is
    changed in place: its call and 1001's pause kept."""
    hotline = centre.hotline
    old = hotline.settings

    def at_penalty(penalty: int) -> Settings:
        data: dict[str, Any] = old.model_dump()
        data["agents"] = [a | {"penalties": {"general": penalty}} if a["extension"] == "1002"
                          else a for a in data["agents"]]  # fmt: skip
        return Settings.model_validate(data)

    change = await hotline.apply_settings(at_penalty(1))
    assert change.reloads == ()  # the rules hold no agent's penalty
    held = await members(centre, "hotline")
    assert {ext: m["Penalty"] for ext, m in held.items()} == {"1001": "0", "1002": "1"}

    async def free(ext: str) -> bool:
        m = (await members(centre, "hotline"))[ext]
        return m["Paused"] == "0" and m["InCall"] == "0" and m["Status"] == "1"

    for number in ("13900003001", "13900003002"):
        await eventually(lambda: free("1001"), 10, "1001 free again after its call")
        assert await answered_by(centre, number) == "PJSIP/1001"
    await desk_available(centre, "1001")
    async with centre.agents_paused("1001", reason="会议"):
        async with centre.agents_paused("1002", reason="休息"):
            caller = calling(centre, "13900003003", ANSWERED_SOON)
            await in_state(centre, "13900003003", CallState.QUEUED)
            assert (await hotline.apply_settings(at_penalty(2))).reloads == ()
            assert (await members(centre, "hotline"))["1002"]["Penalty"] == "2"
        talking = await in_state(centre, "13900003003", CallState.TALKING, timeout=10)
        assert talking.agent_interface == "PJSIP/1002"
        await hotline.apply_settings(old)
        now = await members(centre, "hotline")
        assert (now["1002"]["Penalty"], now["1002"]["InCall"]) == ("0", "1")
        assert (now["1001"]["Paused"], now["1001"]["PausedReason"]) == ("1", "会议")
        assert hotline.tracker.calls[talking.linkedid].state is CallState.TALKING
        await hang_up(centre, talking)
        assert (await caller).ok


async def test_a_queue_s_service_level_reaches_asterisk_and_the_wall_live(centre: Centre) -> None:
    hotline = centre.hotline
    old = hotline.settings

    async def servicelevel() -> str:
        items = await hotline.ami.action_list("QueueStatus", Queue="hotline")
        return next(i["ServiceLevel"] for i in items if i.get("Event") == "QueueParams")

    assert await servicelevel() == "15"
    data: dict[str, Any] = old.model_dump()
    data["queues"] = [q | {"service_level_s": 20} if q["name"] == "hotline" else q
                      for q in data["queues"]]  # fmt: skip
    change = await hotline.apply_settings(Settings.model_validate(data))
    assert [r.value for r in change.reloads] == ["queue_parameters"]
    assert await servicelevel() == "20"
    wall, desk = hotline.followers.wall, hotline.followers.desk
    assert (wall.rule.goal_of("hotline"), wall.rule.goal_of("complaint")) == (20.0, 15.0)
    assert desk.figures.goal_of("hotline") == 20.0
    await hotline.apply_settings(old)
    assert await servicelevel() == "15" and wall.rule.goal_of("hotline") == 15.0


async def test_a_lower_longest_wait_threshold_through_the_api_brings_the_seat_in(
    centre: Centre,
) -> None:
    """One caller waits (1001 and 1002 in a meeting): under the seat's thresholds (3 waiting
    or 600 s). The longest wait's threshold lowered to 1 s through the admin API: the seat
    comes in (QueueStatus) and takes the caller; the revert leaves it out of the queue."""
    number = "13900004001"
    admin = await crm_user(centre, "阈值管理员", Role.ADMIN)
    for ext in ("1001", "1002"):
        await desk_available(centre, ext)
    async with (
        aiohttp.ClientSession() as client,
        centre.agents_paused("1001", "1002", reason="会议"),
    ):
        api = AdminApi(client, centre, admin)
        _, current = await api.call("GET", ROOT)
        caller = calling(centre, number, ANSWERED_SOON)
        await in_state(centre, number, CallState.QUEUED)
        await seat_stays_out(centre)
        overflow = [o | {"start_wait_s": 1, "stop_wait_s": 0}
                    for o in current["document"]["overflow"]]  # fmt: skip
        document = current["document"] | {"overflow": overflow}
        status, body = await api.call(
            "PUT", ROOT, {"base_version": current["version"], "document": document}
        )
        assert status == 200, body
        await member_is(centre, SEAT, True, "the seat in on the lowered wait threshold")
        talking = await in_state(centre, number, CallState.TALKING)
        assert talking.agent_interface == SEAT
        status, _ = await api.call("POST", f"{ROOT}/versions/{current['version']}/revert",
                                   {"base_version": body["version"]})  # fmt: skip
        assert status == 200
        await hang_up(centre, talking)
        assert (await caller).ok
        await member_is(centre, SEAT, False, "the seat out of the drained queue")
