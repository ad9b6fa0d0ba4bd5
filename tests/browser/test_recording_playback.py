"""The supervisor and agent pages play a call's recording in Chromium, from the hotline's
own HTTP process: a signed link in `<audio src>`, the duration from the file, seeking by
HTTP Range; the agent hears the very file MixMonitor wrote of a real SIPp call.
"""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Locator, expect
from sqlalchemy import select

from crm.db.call_models import CallRecord, RecordingAccess
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from hotline_cli.demo.sipp import CallerIdentity, CallerPlan
from tests.browser.support import DeskPage
from tests.e2e.harness import Centre, crm_user
from tests.support.recording_rows import add_recording, wav_seconds, write_wav

expect.set_options(timeout=15_000)

COMPLAINT_EXT = "1002"  # the only member of the complaint queue
COMPLAINT = CallerPlan(dtmf="2", dtmf_after_ms=500, hangup_after_ms=4000)


async def trail(centre: Centre, recording_id: int) -> list[RecordingAccess]:
    async with centre.hotline.sessions() as session:
        rows = await session.scalars(
            select(RecordingAccess).where(RecordingAccess.recording_id == recording_id)
        )
        return list(rows)


async def media_state(audio: Locator) -> dict[str, float]:
    state: dict[str, float] = await audio.evaluate(
        "a => ({ready: a.readyState, duration: a.duration, time: a.currentTime,"
        " seeking: a.seeking ? 1 : 0, error: a.error ? a.error.code : 0})"
    )
    return state


async def wait_media(audio: Locator, predicate: str, timeout_s: float = 20) -> dict[str, float]:
    """Wait until the element's state satisfies the JS predicate over `a` (the element)."""
    await audio.evaluate(
        f"""(a) => new Promise((resolve, reject) => {{
            const done = () => {predicate};
            if (done()) return resolve();
            const timer = setTimeout(() => reject(new Error("media state not reached: " +
                JSON.stringify({{ready: a.readyState, duration: a.duration,
                time: a.currentTime, error: a.error && a.error.code}}))), {timeout_s * 1000});
            for (const name of ["loadedmetadata", "durationchange", "canplay", "seeked",
                                "timeupdate", "progress"]) {{
                a.addEventListener(name, () => {{
                    if (done()) {{ clearTimeout(timer); resolve(); }}
                }});
            }}
        }})"""
    )
    return await media_state(audio)


async def test_supervisor_plays_a_recording_and_seeks_with_a_range_request(
    centre: Centre, desk: DeskPage
) -> None:
    seconds = 1200.0  # 19 MB: far more than the page loads for its metadata
    relative = "20250929/1759111300.1.wav"  # named as MixMonitor names it: nothing else is served
    data = write_wav(centre.hotline.settings.recordings_dir / relative, seconds)
    rid = await add_recording(centre.hotline.sessions, "1759111300.1", relative, data,
                              utc_now(), seconds=seconds)  # fmt: skip
    token = await crm_user(centre, "陈班长", Role.SUPERVISOR)
    page = desk.page
    await desk.login_supervisor(token)
    # The page starts playing at once; from loopback Chromium would then have the whole file
    # before the seek. Held at what preload="metadata" loads, the seek must ask for a range.
    await page.evaluate("HTMLMediaElement.prototype.play = () => Promise.resolve()")
    await page.fill("#recording-call", "1759111300.1")
    await page.click("#recording-find")
    row = page.locator(f'.recording[data-recording-id="{rid}"]')
    await expect(row).to_contain_text("第 1 段")
    await expect(row).to_contain_text("已校验")
    await expect(page.locator("#recording-message")).to_have_text("通话 1759111300.1 共 1 段录音")
    await row.locator(".recording-play").click()
    audio = row.locator("audio")
    await expect(audio).to_be_visible()
    assert "/play?" in str(await audio.get_attribute("src"))  # the signed link, no token
    loaded = await wait_media(audio, "a.readyState >= 1 && a.duration > 0")
    assert abs(loaded["duration"] - seconds) < 0.1, loaded
    await audio.evaluate("a => { a.currentTime = 1000; }")
    seeked = await wait_media(audio, "!a.seeking && Math.abs(a.currentTime - 1000) < 1")
    assert seeked["error"] == 0, seeked
    deadline = time.monotonic() + 20
    while True:  # the server saw a range starting beyond what was loaded first
        entries = await trail(centre, rid)
        starts = [int(e.byte_range[6:].split("-")[0]) for e in entries
                  if e.action == "play" and e.byte_range.startswith("bytes=")
                  and e.byte_range[6:].split("-")[0].isdigit()]  # fmt: skip
        if any(start > 0 for start in starts) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert [e.action for e in entries][:1] == ["link"]
    assert {e.user_id for e in entries} == {entries[0].user_id}
    assert any(start > len(data) // 2 for start in starts), [e.byte_range for e in entries]
    assert all(e.status in (200, 206, 201) for e in entries), [e.status for e in entries]
    await desk.screenshot("hotline_supervisor_recording")


async def test_agent_plays_the_recording_of_the_call_in_the_pop(
    centre: Centre, desk: DeskPage
) -> None:
    """A real call pops and the agent answers it (an agent hears only the calls it answered);
    its recording row names a tone file of ours (these SIPp peers send no
    RTP, so the file MixMonitor writes of this call holds no frame: real audio is the audio
    acceptance tests' part)."""
    number = "13800138111"
    token = await crm_user(centre, "李娜", Role.AGENT, COMPLAINT_EXT)
    page = desk.page
    await desk.login_agent(token, COMPLAINT_EXT)
    result = await asyncio.gather(
        centre.call([CallerIdentity("周晓", number)], COMPLAINT),
        expect(page.locator("#pop-number")).to_have_text(number, timeout=30_000),
    )
    assert result[0].ok, result[0].errors
    call = await centre.log.wait_ended(number)
    await expect(page.locator("#pop-call-id")).to_have_text(call.linkedid)
    async with centre.hotline.sessions() as session:  # an agent hears only calls it answered
        record = await session.get(CallRecord, call.linkedid)
    assert record is not None and record.agent_extension == COMPLAINT_EXT, record
    seconds, relative = 30.0, f"20250929/{call.linkedid}9.wav"
    path = centre.hotline.settings.recordings_dir / relative
    data = write_wav(path, seconds, hz=660)
    rid = await add_recording(centre.hotline.sessions, call.linkedid, relative, data,
                              utc_now(), seconds=seconds)  # fmt: skip
    await page.click("#btn-recordings")
    row = page.locator(f'.recording[data-recording-id="{rid}"]')
    await expect(page.locator("#recording-message")).to_have_text(
        f"通话 {call.linkedid} 共 1 段录音")  # fmt: skip
    await row.locator(".recording-play").click()
    loaded = await wait_media(row.locator("audio"), "a.readyState >= 1 && a.duration > 0")
    assert abs(loaded["duration"] - wav_seconds(path)) < 0.1, loaded
    actions = [(e.action, e.status) for e in await trail(centre, rid)]
    assert actions[0] == ("link", 201) and actions[1:], actions
    assert all(a == "play" and s in (200, 206) for a, s in actions[1:]), actions
