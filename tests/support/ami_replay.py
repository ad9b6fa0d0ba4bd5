"""Replay a recorded AMI byte stream through the same parser, translator and tracker as live.

Used by the replay tests and by bench/ami_pipeline.py: recorded traffic from the real
Asterisk stands in for the socket, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from telephony.ami_headers import MalformedEvent
from telephony.ami_protocol import AmiParser
from telephony.call import Effect
from telephony.event_translation import translate
from telephony.tracker import CallTracker

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ami"


def load_stream(name: str) -> bytes:
    return (FIXTURES / f"{name}.ami").read_bytes()


def ami_events(stream: bytes, chunk_size: int = 4096) -> Iterator[dict[str, str]]:
    """The events in `stream`, fed to the parser `chunk_size` bytes at a time, as TCP would."""
    parser = AmiParser()
    for start in range(0, len(stream), chunk_size):
        for message in parser.feed(stream[start : start + chunk_size]):
            if "Event" in message:
                yield message
    parser.close()


def replay(
    stream: bytes, tracker: CallTracker | None = None, chunk_size: int = 4096
) -> tuple[CallTracker, list[Effect], int]:
    """Apply every event of `stream`; return the tracker, its effects and the malformed count."""
    tracker = tracker or CallTracker()
    effects: list[Effect] = []
    malformed = 0
    for headers in ami_events(stream, chunk_size):
        try:
            event = translate(headers["Event"], headers)
        except MalformedEvent:
            malformed += 1
            continue
        if event is not None:
            effects += tracker.apply(event)
    return tracker, effects, malformed
