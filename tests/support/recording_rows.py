"""Recordings as the checker leaves them, for tests of serving them: a real WAV file and
its call and recording rows (size, duration and SHA-256 computed here, from the file)."""

from __future__ import annotations

import hashlib
import math
import struct
import wave
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory
from crm.domain.calls import CallOutcome, RecordingStatus

RATE = 8000


def write_wav(path: Path, seconds: float, hz: float = 440.0) -> bytes:
    """A real 8 kHz mono 16-bit WAV of a tone (no two nearby byte ranges alike; each second
    the same, so an hour is quick to make); its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    second = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / RATE)) + i % 7)
        for i in range(RATE)
    )
    frames = (second * math.ceil(seconds))[: int(seconds * RATE) * 2]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    return path.read_bytes()


def wav_seconds(path: Path) -> float:
    """The duration its header gives (frames / rate)."""
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


async def add_recording(
    sessions: SessionFactory,
    linkedid: str,
    relative: str,
    data: bytes,
    at: datetime,
    *,
    part: int = 1,
    seconds: float | None = None,
    status: RecordingStatus = RecordingStatus.ATTACHED,
    agent: str = "",
) -> int:
    """The call (if new: answered by extension `agent`) and its recording row for the file
    `relative` holding `data` (the row the call log left for that part, if any, made to name
    that file: a real call's recording, when the test's peers send no audio)."""
    async with sessions() as session, session.begin():
        if await session.get(CallRecord, linkedid) is None:
            session.add(CallRecord(
                linkedid=linkedid, started_at=at, updated_at=at, outcome=CallOutcome.ANSWERED,
                agent_extension=agent,
            ))  # fmt: skip
            await session.flush()
        row = await session.scalar(
            select(Recording).where(Recording.linkedid == linkedid, Recording.part == part)
        )
        if row is None:
            row = Recording(linkedid=linkedid, part=part, created_at=at)
            session.add(row)
        row.path, row.status, row.format, row.checked_at = relative, status, "wav", at
        row.size_bytes, row.duration_s = len(data), seconds
        row.sha256 = hashlib.sha256(data).hexdigest()
        await session.flush()
        return row.id
