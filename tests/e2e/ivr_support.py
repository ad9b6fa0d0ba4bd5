"""What a caller heard and when it was queued, as Asterisk itself tells it.

`AsteriskWitness` opens a second AMI connection and keeps every event (Asterisk's own
timestamps: answer → QueueCallerJoin), and turns on a temporary verbose log channel of the
instance (`logger add channel`, over its control socket) in which Asterisk writes each file
it plays for a channel: the prompts in the order the caller heard them.
"""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from hotline_cli.sounds import prompt_dir
from telephony.ami import AmiClient
from telephony.ami_connection import AmiEvent
from tests.e2e.harness import Centre
from tests.support.polling import eventually

_LOG_NAME = "ivr-witness.log"
# file.c, ast_streamfile: "<PJSIP/carrier-00000003> Playing '/…/hotline-welcome.slin' …";
# within one line: with AGI debug on, "AGI Rx << …" lines would otherwise start a match
_PLAYING = re.compile(r"<(?P<channel>[^>\n]+)> Playing '(?P<file>[^'\n]+)'")


def prompt_ms(centre: Centre, name: str) -> int:
    """How long a built prompt plays (ms), from its WAV."""
    with wave.open(str(prompt_dir(centre.hotline.layout) / f"{name}.wav")) as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
    return int(1000 * frames / rate)


@dataclass
class AsteriskWitness:
    centre: Centre
    log: Path
    events: list[dict[str, str]] = field(default_factory=list)

    def played(self, channel: str) -> list[str]:
        """The prompt names (no directory, no extension) Asterisk played to `channel`."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return [Path(m["file"]).stem for m in _PLAYING.finditer(text) if m["channel"] == channel]

    async def heard(self, channel: str, count: int, timeout: float = 15) -> list[str]:
        """The prompts played to `channel`, once there are `count` of them."""

        async def enough() -> bool:
            return len(self.played(channel)) >= count

        await eventually(enough, timeout, f"{count} prompts played on {channel}")
        return self.played(channel)

    def first(self, event: str, uniqueid: str, **headers: str) -> dict[str, str] | None:
        return next(
            (
                e
                for e in self.events
                if e.get("Event") == event
                and e.get("Uniqueid") == uniqueid
                and all(e.get(k) == v for k, v in headers.items())
            ),
            None,
        )

    async def answer_to_queue_s(self, uniqueid: str, timeout: float = 20) -> float:
        """Seconds from Asterisk answering the caller to its QueueCallerJoin."""

        async def queued() -> bool:
            return self.first("QueueCallerJoin", uniqueid) is not None

        await eventually(queued, timeout, f"{uniqueid} queued")
        up = self.first("Newstate", uniqueid, ChannelStateDesc="Up")
        joined = self.first("QueueCallerJoin", uniqueid)
        assert up is not None and joined is not None, self.events
        return float(joined["Timestamp"]) - float(up["Timestamp"])


@asynccontextmanager
async def asterisk_witness(centre: Centre) -> AsyncIterator[AsteriskWitness]:
    s = centre.hotline.settings
    cli = centre.hotline.asterisk.cli
    witness = AsteriskWitness(centre, centre.hotline.layout.log / _LOG_NAME)
    await cli(f"logger add channel {_LOG_NAME} verbose(3)")
    ami = AmiClient(
        host=s.ami.host, port=s.ami.port, username=s.ami.username,
        secret=s.ami.secret.get_secret_value(),
    )  # fmt: skip
    try:
        async with ami:
            await ami.wait_connected(10)

            async def tap() -> None:
                while True:
                    event = await ami.events.get()
                    if isinstance(event, AmiEvent):
                        witness.events.append({**event.headers, "Event": event.name})

            tapping = asyncio.create_task(tap())
            try:
                yield witness
            finally:
                tapping.cancel()
                with suppress(asyncio.CancelledError):
                    await tapping
    finally:
        await cli(f"logger remove channel {_LOG_NAME}")
