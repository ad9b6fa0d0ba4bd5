"""A burst: many callers wait in one queue, position announcements on, two agents who take
short calls. Whatever the backlog, an agent who becomes free must be rung within a second,
and every caller who waits is still told their position; a caller joining once the queue has
answered in its backlog hears its position, then its estimated wait.

The delay is measured on Asterisk's clock (AMI event timestamps) from the moment app_queue
sees the agent free (`QueueMemberStatus` not in use and not paused, which after a call is
the end of the desk's wrap-up pause) to `AgentCalled` for that agent. Agents end each call
themselves shortly after answering (AMI `Hangup` of their leg, as the desktop's 挂断 does),
so each of them becomes free again and again while the backlog lasts.

What the whisper plays is read from Asterisk itself: the whisper channels' running
application (`CoreShowChannels`: `Playback` and its files) and Asterisk's own log (no file it
could not open)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import pytest

from hotline_cli.demo.sipp import CallerIdentity, CallerPlan, CallerResult, place_calls
from telephony.ami import AmiClient
from telephony.asterisk_config import layout_for
from telephony.dialplan import CONTEXT_POSITION
from tests.e2e.free_agents import AgentLegTap, FreeSpell, free_spells
from tests.e2e.harness import Centre, running_centre
from tests.support.polling import eventually

CALLERS = 40
ARRIVALS_PER_S = 20
TALK_S = 0.5
SPELLS_WANTED = 12
AGENTS = ("PJSIP/1001", "PJSIP/1002")  # the hotline queue's own agents (1901 is overflow)
WHISPERS_WANTED = 10
# Callers ahead, as a caller at position 2, 3, ... must hear it.
AHEAD = (
    "一", "两", "三", "四", "五", "六", "七", "八", "九", "十",
    "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十",
    "二十一", "二十二", "二十三", "二十四", "二十五", "二十六", "二十七", "二十八", "二十九",
    "三十",
    "三十一", "三十二", "三十三", "三十四", "三十五", "三十六", "三十七", "三十八", "三十九",
)  # fmt: skip
# Two agents taking half-second calls: every wait is short.
WAIT_SAID = "预计等待不到一分钟。"
SAID = {1: "您是下一位，请稍候。"} | {
    position: f"您前面还有{ahead}位来电，请耐心等待。" for position, ahead in enumerate(AHEAD, 2)
}


@pytest.fixture(scope="module")
async def centre(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Centre]:
    async with running_centre(tmp_path_factory.mktemp("burst"), announce_position=True) as c:
        yield c


class Tap(AgentLegTap):
    def __init__(self, ami: AmiClient) -> None:
        super().__init__(ami, "hotline", TALK_S)

    def spells(self) -> list[FreeSpell]:
        return [s for s in free_spells(self.events, "hotline", AGENTS) if s.ended_at is not None]


class Whispers:
    """Asterisk's own view of the position whispers: every few hundred ms, which files the
    whisper channels (`Local/<position>@hotline-position`, the half that plays) are playing,
    in order (the position, then the estimated wait once the queue has answered enough)."""

    def __init__(self, ami: AmiClient) -> None:
        self.ami = ami
        self.playing: dict[str, tuple[int, list[str]]] = {}  # channel -> (position, Playbacks)

    async def run(self) -> None:
        pattern = re.compile(rf"Local/(\d+)@{CONTEXT_POSITION}-\w+;2")
        while True:
            with suppress(Exception):  # a busy moment: look again next time
                for channel in await self.ami.action_list("CoreShowChannels"):
                    found = pattern.fullmatch(channel.get("Channel", ""))
                    if found and channel.get("Application") == "Playback":
                        data = channel.get("ApplicationData", "")
                        seen = self.playing.setdefault(
                            channel["Channel"], (int(found.group(1)), [])
                        )
                        if data not in seen[1]:
                            seen[1].append(data)
            await asyncio.sleep(0.3)

    def heard(self) -> list[tuple[int, list[str]]]:
        """Each whisper's position and the sentences seen played, in order."""
        return [(p, [sentence(d) for d in data]) for p, data in self.playing.values()]

    async def told_wait(self) -> bool:
        return any(said == [SAID[p], WAIT_SAID] for p, said in self.heard())


def sentence(playback_data: str) -> str:
    """What a Playback of `a&b&c` says, from each prompt's text sidecar (absolute paths only:
    Asterisk's stock English sounds are relative names)."""
    files = [Path(f) for f in playback_data.split("&")]
    assert all(f.is_absolute() for f in files), playback_data
    return "".join(f.with_suffix(".txt").read_text(encoding="utf-8").split("\n")[1] for f in files)


def describe(spells: list[FreeSpell]) -> str:
    return "\n".join(
        f"{s.interface} free at {s.free_at:.3f} with {s.waiting} waiting ({s.ringing} ringing):"
        f" {'rung' if s.rung else 'no longer free'} after {s.delay_s:.3f} s"
        for s in spells
    )


async def test_a_free_agent_is_rung_within_a_second_whatever_the_backlog(centre: Centre) -> None:
    s = centre.hotline.settings
    callers = [CallerIdentity(f"来电{i:02d}", f"1390000{i:04d}") for i in range(CALLERS)]
    async with AmiClient(
        host=s.ami.host,
        port=s.ami.port,
        username=s.ami.username,
        secret=s.ami.secret.get_secret_value(),
    ) as ami:
        await ami.wait_connected(10)
        tap = Tap(ami)
        tapping = asyncio.create_task(tap.run())
        whispers = Whispers(ami)
        watching = asyncio.create_task(whispers.run())
        calling = asyncio.create_task(
            place_calls(
                centre.workdir,
                target=f"{s.sip.host}:{s.sip.port}",
                service=s.centre.inbound_number,
                callers=callers,
                # Patient callers: nobody hangs up while the test looks.
                plan=CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=120_000),
                source_ip=s.carrier.match,
                rate_per_s=ARRIVALS_PER_S,
                timeout_s=150,
            )
        )
        newcomer: list[asyncio.Task[CallerResult]] = []
        try:
            async with asyncio.timeout(50):
                while sum(x.rung for x in tap.spells()) < SPELLS_WANTED:
                    assert not calling.done(), calling.result()
                    await asyncio.sleep(0.2)
            # The queue has answered in its backlog: a caller joining now hears its wait.
            newcomer.append(asyncio.create_task(place_calls(
                centre.workdir, target=f"{s.sip.host}:{s.sip.port}",
                service=s.centre.inbound_number, callers=[CallerIdentity("后来者", "13900009999")],
                plan=CallerPlan(dtmf="1", dtmf_after_ms=600, hangup_after_ms=60_000),
                source_ip=s.carrier.match, timeout_s=90,
            )))  # fmt: skip
            await eventually(whispers.told_wait, 20, "a position whisper followed by a wait")
        except TimeoutError:
            pass
        finally:
            spells = tap.spells()
            for task in (calling, tapping, watching, *tap.hangups, *newcomer):
                task.cancel()
            await asyncio.gather(
                calling, tapping, watching, *tap.hangups, *newcomer, return_exceptions=True
            )
    joined = [e for e in tap.events if e.get("Event") == "QueueCallerJoin"]
    assert len(joined) == CALLERS + 1  # the backlog was real: every caller queued, the late one too
    print(describe(spells))  # the figures, for `pytest -s`
    assert sum(x.rung for x in spells) >= SPELLS_WANTED, describe(spells)
    late = [x for x in spells if x.delay_s is not None and x.delay_s >= 1.0]
    assert not late, describe(spells)
    assert not_told(tap.events) == set()
    # The whispers spoke Mandarin, from files Asterisk could open.
    assert len(whispers.playing) >= WHISPERS_WANTED, whispers.playing
    heard = whispers.heard()
    print(f"{len(heard)} whispers seen playing:", sorted(heard))
    # Each said its position, then (once the queue had answered enough) its estimated wait.
    assert all(said[:1] == [SAID[p]] or said == [WAIT_SAID] for p, said in heard), heard
    assert all(said[1:] in ([], [WAIT_SAID]) for p, said in heard), heard
    log = (layout_for(s).log / "messages").read_text(encoding="utf-8", errors="replace")
    assert not re.findall(r".*(?:Unable to open|Playback failed).*", log)


def not_told(events: list[dict[str, str]]) -> set[str]:
    """Callers who waited 3 s or more and were never whispered their position (ChanSpyStart
    on their channel, as Asterisk reports it)."""
    end = float(events[-1]["Timestamp"])
    joined = {
        e["Uniqueid"]: float(e["Timestamp"]) for e in events if e.get("Event") == "QueueCallerJoin"
    }
    left = {
        e["Uniqueid"]: float(e["Timestamp"]) for e in events if e.get("Event") == "QueueCallerLeave"
    }
    told = {e.get("SpyeeUniqueid") for e in events if e.get("Event") == "ChanSpyStart"}
    return {u for u, at in joined.items() if left.get(u, end) - at >= 3 and u not in told}
