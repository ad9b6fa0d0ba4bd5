"""Recordings Asterisk never finished (killed before it wrote the header's sizes, or the file
cut short), on SQLite and PostgreSQL: after the grace period the checker repairs and attaches
them; a file with no audio at all stays TRUNCATED; rows that keep failing hide no others.
The repaired files are read back with Python's `wave` module, checksums computed here."""

from __future__ import annotations

import hashlib
import os
import struct
import time
import wave
from pathlib import Path

import pytest

from crm.db.engine import SessionFactory
from crm.domain.calls import RecordingStatus
from crm.jobs.overdue_sweep import system_actor
from crm.usecases import recordings as uc
from recordings import checker as checker_module
from recordings.checker import SYSTEM_USER
from tests.integration.crm.test_crm_recordings import (
    WRITING,
    agent,
    checker,
    ended_call,
    entries,
    order_recording,
    put,
    recording,
    register,
    root,
    sessions,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
__all__ = ["root", "sessions"]  # the fixtures, shared


def idle(path: Path) -> None:
    """As if the file had not changed for a minute: no one writes it any more."""
    a_minute_ago = time.time() - 60
    os.utime(path, (a_minute_ago, a_minute_ago))


def frames(path: Path) -> tuple[int, int, bytes]:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes(), audio.getframerate(), audio.readframes(audio.getnframes())


async def test_a_file_whose_sizes_were_never_written_is_repaired_and_attached(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000011.1.wav"
    found = put(root, name, WRITING)  # what MixMonitor leaves when Asterisk dies mid-call
    original = (root / name).read_bytes()
    order_id = await register(sessions, await agent(sessions), "1700000011.1")
    recording_id = await ended_call(sessions, "1700000011.1", name)
    idle(root / name)
    job = checker(sessions, root, grace_s=10)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))

    row = await recording(sessions, recording_id)
    assert row.status is RecordingStatus.ATTACHED, row.problem
    assert row.source_sha256 == found == hashlib.sha256(original).hexdigest()
    repaired = (root / name).read_bytes()
    assert row.sha256 == hashlib.sha256(repaired).hexdigest() != found
    assert frames(root / name) == ((len(original) - 44) // 2, 8000, original[44:])
    assert struct.unpack_from("<I", repaired, 4) == (len(repaired) - 8,)
    assert row.size_bytes == len(original)
    assert row.duration_s == pytest.approx((len(original) - 44) / 16000, abs=0.001)
    assert row.problem == (
        "repaired: header sizes (riff 0, data 0) do not agree with the file's 32812 bytes; "
        "32768 bytes of audio kept"
    )
    assert await order_recording(sessions, order_id) == name
    (entry,) = await entries(sessions, order_id)
    assert entry.detail["repaired"] == row.problem and entry.detail["recording_id"] == row.id
    assert sorted(p.name for p in (root / "20261201").iterdir()) == ["1700000011.1.wav"]
    assert (job.stats.attached, job.stats.repaired, job.stats.truncated) == (1, 1, 0)


async def test_a_file_cut_short_keeps_its_whole_frames(
    sessions: SessionFactory, root: Path
) -> None:
    name = "20261201/1700000011.2.wav"
    put(root, name)
    whole = (root / name).read_bytes()  # its header promises 80000 bytes of audio
    (root / name).write_bytes(whole[: 44 + 1001])  # a full disk: half a frame at the end
    recording_id = await ended_call(sessions, "1700000011.2", name)
    idle(root / name)
    await checker(sessions, root, grace_s=10).check_once(
        await system_actor(sessions, SYSTEM_USER))  # fmt: skip
    row = await recording(sessions, recording_id)
    assert row.status is RecordingStatus.ATTACHED
    assert row.source_sha256 == hashlib.sha256(whole[: 44 + 1001]).hexdigest()
    assert frames(root / name) == (500, 8000, whole[44:1044])
    assert row.size_bytes == 1044 and row.duration_s == pytest.approx(1000 / 16000, abs=0.001)
    assert row.problem.startswith("repaired: header sizes (riff 80036, data 80000)")


async def test_files_with_no_audio_stay_truncated_untouched(
    sessions: SessionFactory, root: Path
) -> None:
    header_only, garbage = "20261201/1700000011.3.wav", "20261201/1700000011.4.wav"
    put(root, header_only, WRITING)
    (root / header_only).write_bytes(WRITING.read_bytes()[:44])
    put(root, garbage)
    (root / garbage).write_bytes(b"\x00" * 5000)
    ids = [await ended_call(sessions, f"1700000011.{n}", name)
           for n, name in ((3, header_only), (4, garbage))]  # fmt: skip
    for name in (header_only, garbage):
        idle(root / name)
    before = {name: (root / name).read_bytes() for name in (header_only, garbage)}
    job = checker(sessions, root, grace_s=10)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    for recording_id in ids:
        assert (await recording(sessions, recording_id)).status is RecordingStatus.TRUNCATED
    assert {name: (root / name).read_bytes() for name in before} == before
    assert (job.stats.repaired, job.stats.truncated) == (0, 2)


async def test_rows_that_keep_failing_do_not_hide_newer_ones(
    sessions: SessionFactory, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checker_module, "PENDING_BATCH", 2)
    attach = uc.mark_attached

    async def failing_for_the_first(db, row, checked, actor, now):  # type: ignore[no-untyped-def]
        if row.linkedid.startswith("1700000012.0"):
            raise RuntimeError("this row's attach keeps failing")
        return await attach(db, row, checked, actor, now)

    monkeypatch.setattr(uc, "mark_attached", failing_for_the_first)
    for n in range(3):  # the oldest, ended longest ago
        put(root, f"20261201/1700000012.0{n}.wav")
        await ended_call(sessions, f"1700000012.0{n}", f"20261201/1700000012.0{n}.wav", 600)
    put(root, "20261201/1700000012.9.wav")
    newer = await ended_call(sessions, "1700000012.9", "20261201/1700000012.9.wav", 5)
    job = checker(sessions, root)
    await job.check_once(await system_actor(sessions, SYSTEM_USER))
    assert (await recording(sessions, newer)).status is RecordingStatus.ATTACHED
    assert (job.stats.failures, job.stats.attached) == (3, 1)
