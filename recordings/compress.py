"""Convert a checked WAV recording to Ogg Vorbis with sox, never losing the recording.

The steps, in this order, each safe to die after:
1. the WAV still has the checksum stored for it (an altered file is not laundered into a
   fresh copy);
2. sox writes `<name>.ogg.part`; the copy is verified: it decodes whole (`sox … -n`) and its
   duration (soxi) is within `DURATION_TOLERANCE_S` of the WAV's; it is synced and renamed
   to `<name>.ogg`;
3. the row is pointed at the copy in one transaction (path, format, size, SHA-256 of the
   .ogg, the WAV's checksum kept as `source_sha256`, compressed_at), and so is every order
   whose `order_calls.recording` named the WAV (an audit entry on each);
4. only after that commit the WAV is removed.
A crash leaves the WAV (before 3) or both files (between 3 and 4: `finish_removals` deletes
the WAV later); a failed or unverified conversion leaves the WAV and its row untouched.

sox and soxi run as subprocesses under `nice`, so the event loop never waits on them and
calls keep the cores they need.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from crm.db.call_models import Recording
from crm.db.engine import SessionFactory
from crm.domain.lifecycle import Actor
from crm.usecases.recording_upkeep import record_compressed
from recordings.store import RecordingStore, UnsafePath

log = logging.getLogger(__name__)

DURATION_TOLERANCE_S = 0.1
PART_SUFFIX = ".ogg.part"
NICE = ("nice", "-n", "19")
TOOL_TIMEOUT_S = 600.0


class CompressionFailed(Exception):
    """The copy could not be made or verified; the WAV stays."""


@dataclass(frozen=True)
class Tools:
    """The command lines used (tests replace sox by one that fails)."""

    sox: str = "sox"
    soxi: str = "soxi"


SOX = Tools()


async def run_tool(*argv: str) -> tuple[int, str]:
    """Run a tool niced; its exit code and the tail of what it printed."""
    proc = await asyncio.create_subprocess_exec(
        *NICE, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, "timed out"
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace").strip()[-300:]


async def duration_s(tools: Tools, path: Path) -> float:
    code, out = await run_tool(tools.soxi, "-D", str(path))
    try:
        if code == 0:
            return float(out.splitlines()[-1])
    except (ValueError, IndexError):
        pass
    raise CompressionFailed(f"soxi could not read the duration of {path.name}: {out}")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ogg_name(wav_path: str) -> str:
    return str(PurePosixPath(wav_path).with_suffix(".ogg"))


async def make_verified_copy(tools: Tools, wav: Path, ogg: Path, quality: int) -> None:
    """Write `ogg` from `wav` through a temporary name, verified; raise CompressionFailed."""
    part = ogg.with_name(ogg.stem + PART_SUFFIX)
    try:
        code, out = await run_tool(tools.sox, str(wav), "-t", "ogg", "-C", str(quality), str(part))
        if code != 0 or not part.exists():
            raise CompressionFailed(f"sox failed ({code}): {out}")
        code, out = await run_tool(tools.sox, str(part), "-n")
        if code != 0:
            raise CompressionFailed(f"the copy does not decode ({code}): {out}")
        source, copy = await duration_s(tools, wav), await duration_s(tools, part)
        if abs(source - copy) > DURATION_TOLERANCE_S:
            raise CompressionFailed(f"the copy lasts {copy:.3f} s, the WAV {source:.3f} s")
        await asyncio.to_thread(_sync, part)
        part.replace(ogg)
        await asyncio.to_thread(_sync, ogg.parent)
    finally:
        part.unlink(missing_ok=True)


async def compress_one(
    sessions: SessionFactory,
    root: Path,
    recording: Recording,
    quality: int,
    now: datetime,
    actor: Actor,
    tools: Tools = SOX,
) -> str:
    """Compress one attached WAV recording; the path it has now. Raises CompressionFailed
    (WAV and row untouched) when it could not be done. `actor` signs the orders' audit
    entries for the new name."""
    store = RecordingStore(root)
    try:
        wav, ogg = store.resolve(recording.path), store.resolve(ogg_name(recording.path))
    except UnsafePath as exc:
        raise CompressionFailed(str(exc)) from exc
    if not wav.is_file():
        raise CompressionFailed(f"{recording.path} is not on disk")
    if await store.sha256(recording.path) != recording.sha256:
        raise CompressionFailed(f"{recording.path} no longer has its stored checksum")
    await make_verified_copy(tools, wav, ogg, quality)
    size, digest = ogg.stat().st_size, await store.sha256(ogg_name(recording.path))
    if digest is None:
        raise CompressionFailed(f"{ogg_name(recording.path)} vanished once written")
    async with sessions() as session, session.begin():
        done = await record_compressed(session, recording.id, recording.path,
                                       ogg_name(recording.path), size, digest, now,
                                       actor)  # fmt: skip
    if not done:  # the row moved on meanwhile: the WAV it names stays, the copy goes
        ogg.unlink(missing_ok=True)
        raise CompressionFailed(f"recording {recording.id} changed during its compression")
    wav.unlink(missing_ok=True)
    return ogg_name(recording.path)


def finish_removal(root: Path, recording: Recording) -> bool:
    """Remove the WAV of a compressed row if a crash after the commit left it; True if so."""
    store = RecordingStore(root)
    try:
        ogg = store.resolve(recording.path)
        wav = store.resolve(str(PurePosixPath(recording.path).with_suffix(".wav")))
    except UnsafePath:
        return False
    if recording.format != "ogg" or not wav.is_file() or not ogg.is_file():
        return False
    wav.unlink()
    return True
