"""A real Asterisk, SIPp callers and SIPp agent phones: what the call tracker makes of calls."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from hotline_cli.demo.sipp import DTMF_PCAP_MS, CallerIdentity, CallerPlan, DtmfVia, Press
from telephony.call import Call, CallState
from tests.e2e.harness import Centre
from tests.e2e.ivr_support import asterisk_witness, prompt_ms
from tests.support.audio import silence, write_rtp_pcap


async def test_answered_call_is_tracked_from_ivr_to_hang_up(centre: Centre) -> None:
    result = await centre.call(
        [CallerIdentity("张三丰", "13900000001")],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=4000),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000001")

    assert call.state is CallState.ENDED
    assert call.caller_name == "张三丰"  # UTF-8 intact from SIP through AMI
    assert call.ivr_choice == "1" and call.ivr_label == "consult"
    assert call.queue == "hotline"
    assert call.agent_interface in {"PJSIP/1001", "PJSIP/1002"}
    assert call.agent_name in {"王芳", "李娜"}
    assert call.end_reason == "hung up by caller"
    assert call.recording.endswith(f"/{call.uniqueid}.wav")
    # The phone rings 0.8 s before it answers: the wait covers at least that.
    assert call.wait_time_s is not None and 0.5 <= call.wait_time_s < 5
    assert call.talk_time_s is not None and call.talk_time_s > 0.5
    states = [e.call.state for e in centre.log.effects if e.call.linkedid == call.linkedid]
    for expected in (CallState.IN_IVR, CallState.QUEUED, CallState.RINGING, CallState.TALKING):
        assert expected in states
    assert (
        states.index(CallState.QUEUED)
        < states.index(CallState.RINGING)
        < states.index(CallState.TALKING)
    )


async def test_a_call_the_agent_ends_is_a_clean_call_for_the_caller(centre: Centre) -> None:
    """The simulated citizen answers the centre's BYE instead of failing: benches and tests
    whose agents hang up can count failed calls."""
    calling = asyncio.create_task(
        centre.call(
            [CallerIdentity("李四", "13900000009")],
            CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=30_000),
        )
    )
    talking = await centre.log.wait_for(
        lambda e: e.call.caller_number == "13900000009" and e.call.state is CallState.TALKING, 20
    )
    await centre.hotline.ami.action("Hangup", Channel=talking.call.agent_channel, Cause="16")
    result = await asyncio.wait_for(calling, 20)
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000009")
    assert call.end_reason == "hung up by agent"


@pytest.mark.parametrize(
    ("digit", "label", "queue"),
    [("2", "complaint", "complaint"), ("3", "help", "hotline"), ("0", "operator", "hotline")],
)
async def test_dtmf_choice_reaches_the_tracker(
    centre: Centre, digit: str, label: str, queue: str
) -> None:
    number = f"1370000000{digit}"
    result = await centre.call(
        [CallerIdentity("李四", number)],
        CallerPlan(dtmf=digit, dtmf_after_ms=600, hangup_after_ms=3000),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    assert (call.ivr_choice, call.ivr_label, call.queue) == (digit, label, queue)
    assert call.state is CallState.ENDED


INVALID_PROMPT_MS = 3200  # the "invalid key" prompt: not interruptible, a key during it is lost


@pytest.mark.parametrize(
    ("first", "then", "label"),
    [
        (Press("*", 600), Press("3", INVALID_PROMPT_MS + 800, DtmfVia.INFO), "help"),
        (Press("#", 600, DtmfVia.INFO), Press("2", INVALID_PROMPT_MS + 800), "complaint"),
    ],
)
async def test_a_second_key_after_an_invalid_one_counts_by_rtp_and_by_sip_info(
    centre: Centre, first: Press, then: Press, label: str
) -> None:
    """The menu replayed after a key it does not know takes the next key, whichever way the
    phone sends it (RFC 2833 in the RTP, or SIP INFO)."""
    number = f"1370000001{then.key}"
    plan = CallerPlan(dtmf=None, hangup_after_ms=3000, then=(first, then))
    result = await centre.call([CallerIdentity("李四", number)], plan)
    assert result.ok, result.errors
    call = await centre.log.wait_ended(number)
    assert (call.ivr_choice, call.ivr_label) == (then.key, label)


async def test_caller_who_hangs_up_in_the_ivr(centre: Centre) -> None:
    result = await centre.call(
        [CallerIdentity("王五", "13900000003")], CallerPlan(dtmf=None, hangup_after_ms=1000)
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000003")
    assert call.state is CallState.ENDED
    assert call.end_reason == "caller hung up in IVR"
    assert call.queued_at is None and call.agent_interface == ""


async def test_caller_who_hangs_up_while_queued_is_abandoned(centre: Centre) -> None:
    async with centre.agents_paused("1001", "1002", reason="午休"):
        result = await centre.call(
            [CallerIdentity("赵六", "13900000004")],
            CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=3500),
        )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000004")
    assert call.state is CallState.ABANDONED
    assert call.answered_at is None and call.agent_interface == ""
    assert call.wait_time_s is not None and 1.0 < call.wait_time_s < 4.0


async def test_hostile_caller_id_is_carried_as_data(centre: Centre) -> None:
    """Quotes, backslashes, dialplan syntax and a 5,000-character name: a normal call.

    (SIPp's injection file cannot carry ';': semicolons are covered where they can arrive,
    the AMI and AGI unit tests.)"""
    hostile = 'Robert\\" ), Hangup() ${SHELL(id)} ' + "长" * 5000
    result = await centre.call(
        [CallerIdentity(hostile, "13900000005")],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=3000),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000005")
    assert call.state is CallState.ENDED
    assert call.ivr_label == "consult" and call.agent_interface
    # Asterisk keeps the SIP escaping and cuts the name short; it stays inert data.
    assert call.caller_name.startswith("Robert\\")
    assert "), Hangup() ${SHELL(id)} 长长" in call.caller_name
    assert centre.hotline.service.stats.malformed == 0


async def test_a_name_asterisk_cuts_ends_at_its_last_whole_character(centre: Centre) -> None:
    """chan_pjsip keeps a display name's first 79 bytes only, which can cut the last character
    in the middle; the call's name (which pops, updates and drafts show) ends at the last whole
    character instead of U+FFFD."""
    sent = "xx" + "张" * 40  # 79 bytes are "xx", 25 characters and 2 bytes of the 26th
    result = await centre.call(
        [CallerIdentity(sent, "13900000006")],
        CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=2000),
    )
    assert result.ok, result.errors
    call = await centre.log.wait_ended("13900000006")
    name = call.caller_name
    assert name == "xx" + "张" * 25, f"{len(name.encode())} bytes: {name!r}"


# The main menu as the caller hears it (Asterisk's log of the files it played) and as
# Asterisk queues it (answer → QueueCallerJoin on Asterisk's clock).
WELCOME, MENU, INVALID = "hotline-welcome", "hotline-menu", "hotline-invalid"


async def through_the_menu(
    centre: Centre, number: str, plan: CallerPlan | None = None, presses: tuple[Press, ...] = ()
) -> tuple[Call, list[str], float]:
    """One call from `number` (its `plan`, or these key `presses` and a hang-up 2 s after the
    last): the call once ended, the prompts Asterisk played to it, and the seconds from its
    answer to QueueCallerJoin."""
    plan = plan or CallerPlan(dtmf=None, hangup_after_ms=2000, then=presses)
    async with asterisk_witness(centre) as witness:
        result = await centre.call([CallerIdentity("李四", number)], plan)
        assert result.ok, result.errors
        call = await centre.log.wait_ended(number)
        waited = await witness.answer_to_queue_s(call.uniqueid)
        return call, witness.played(call.channel), waited


async def test_a_caller_who_presses_nothing_is_queued_within_about_8_s(
    centre: Centre, tmp_path: Path
) -> None:
    """Greeting and menu in one prompt, then the wait for a key: queued as operator. The
    caller sends RTP from the answer on, as a real phone does (Asterisk's Answer otherwise
    waits 0.5 s for the first voice frame)."""
    number = "13700000100"
    silence_pcap = write_rtp_pcap(tmp_path / "silence.pcap", [silence(12_000)])
    plan = CallerPlan(dtmf=None, hangup_after_ms=10_000, audio=silence_pcap)
    call, heard, waited = await through_the_menu(centre, number, plan)
    wait_ms = centre.hotline.settings.ivr.choice_timeout_ms  # the harness's; 1000 by default
    print(f"answer → QueueCallerJoin: {waited:.2f} s (greeting and menu, then {wait_ms} ms)")
    assert heard == [WELCOME]
    assert waited < (prompt_ms(centre, WELCOME) + wait_ms + 500) / 1000  # no replay, no 2nd wait
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("", "operator", "hotline")


async def test_a_key_during_the_greeting_and_one_during_the_replayed_menu_act_at_once(
    centre: Centre,
) -> None:
    number = "13700000101"
    into_the_menu = prompt_ms(centre, INVALID) + 400
    call, heard, waited = await through_the_menu(centre, number, presses=(
        Press("*", 600), Press("2", into_the_menu, DtmfVia.INFO),
    ))  # fmt: skip
    assert heard == [WELCOME, INVALID, MENU]
    # both prompts cut short: queued long before the menu could have played out
    assert waited < (600 + into_the_menu + prompt_ms(centre, MENU) / 2) / 1000
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("2", "complaint", "complaint")


async def test_three_invalid_keys_replay_the_menu_twice_then_reach_an_operator(
    centre: Centre,
) -> None:
    """Keys the menu lacks (7, * and #), by RTP and by SIP INFO."""
    number = "13700000102"
    into_the_menu = prompt_ms(centre, INVALID) + 800
    call, heard, _waited = await through_the_menu(centre, number, presses=(
        Press("*", 600), Press("7", into_the_menu, DtmfVia.INFO), Press("#", into_the_menu),
    ))  # fmt: skip
    assert heard == [WELCOME, INVALID, MENU, INVALID, MENU]
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("", "operator", "hotline")


async def test_a_timeout_in_a_retry_replays_the_menu_and_0_then_reaches_an_operator(
    centre: Centre,
) -> None:
    number = "13700000103"
    wait_ms = centre.hotline.settings.ivr.choice_timeout_ms
    timed_out = prompt_ms(centre, INVALID) + prompt_ms(centre, MENU) + wait_ms
    call, heard, _waited = await through_the_menu(centre, number, presses=(
        Press("5", 600), Press("0", timed_out + 800, DtmfVia.INFO),
    ))  # fmt: skip
    assert heard == [WELCOME, INVALID, MENU, MENU]  # no "invalid" for a timeout
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("0", "operator", "hotline")


async def test_a_run_of_star_and_hash_keys_ends_with_an_operator(centre: Centre) -> None:
    number = "13700000104"
    # one by RTP, then a quick run by SIP INFO (an RTP key lasts DTMF_PCAP_MS)
    info = [Press("#*"[i % 2], DTMF_PCAP_MS if i == 0 else 120, DtmfVia.INFO) for i in range(15)]
    run = (Press("*", 600), *info)
    call, heard, _waited = await through_the_menu(
        centre, number, CallerPlan(dtmf=None, hangup_after_ms=9000, then=run)
    )
    assert heard[:2] == [WELCOME, INVALID] and heard.count(MENU) == 2, heard
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("", "operator", "hotline")
    assert centre.hotline.service.stats.malformed == 0


async def test_every_rtp_key_of_a_call_reaches_asterisk_a_key_twice_and_a_lower_one_after(
    centre: Centre,
) -> None:
    """SIPp's key pcaps carry fixed RTP timestamps (7's after 4's): played as they are, a
    second 7, or a 4 after a 7, was taken by Asterisk for the first key's end and lost. What
    Asterisk received is read from its own dtmf log."""
    number, log = "13700000105", centre.hotline.layout.log / "dtmf-received"
    await centre.hotline.asterisk.cli(f"logger add channel {log} dtmf")
    try:
        presses = tuple(Press(k, 600 if i == 0 else 400) for i, k in enumerate("7744"))
        result = await centre.call(
            [CallerIdentity("李四", number)],
            CallerPlan(dtmf=None, hangup_after_ms=800, then=presses),
        )
        assert result.ok, result.errors
        call = await centre.log.wait_ended(number)
    finally:
        await centre.hotline.asterisk.cli(f"logger remove channel {log}")
    ended = re.findall(rf"DTMF end '(.)' received on {re.escape(call.channel)},", log.read_text())
    assert ended == list("7744")
