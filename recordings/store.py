"""The recordings directory: safe paths into it, and what a recording's file holds.

A recording is named by its path relative to the directory, exactly as MixMonitor writes it
(`crm.domain.calls.RECORDING_NAME`) or as its compressed copy is; anything else (absolute,
`..`, NUL, another shape, a symlink leading out of the directory) is refused before the file
system is touched. File I/O runs in a worker thread (`asyncio.to_thread`): hashing an hour of
audio must not hold up calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import shutil
import time
from dataclasses import dataclass
from enum import StrEnum
from io import BufferedReader, BufferedWriter
from pathlib import Path

from crm.recording_paths import UnsafeRecordingPath, resolve_recording
from recordings.wav import (
    HEAD_BYTES,
    WavError,
    WavHeader,
    parse_header,
    repaired_header,
    whole_frames,
)

UnsafePath = UnsafeRecordingPath  # a recording name that is not one, or leads out of the dir


class FileState(StrEnum):
    ABSENT = "absent"
    UNFINISHED = "unfinished"  # present, but its header disagrees with its size or is unreadable
    FINISHED = "finished"


@dataclass(frozen=True)
class FileCheck:
    state: FileState
    size_bytes: int = 0
    duration_s: float | None = None
    sha256: str = ""  # only for a finished file
    problem: str = ""  # why it is absent or unfinished
    idle_s: float = math.inf  # since the file last changed (one still changing is being written)


@dataclass(frozen=True)
class Repaired:
    """A file never finished, rewritten with the header of the audio it holds."""

    check: FileCheck  # the repaired file's (FINISHED)
    source_sha256: str  # the file as it was found
    problem: str  # what was wrong, and what was kept


class RecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def resolve(self, name: str) -> Path:
        """The file a recording name stands for, under the directory; UnsafePath otherwise
        (`crm.recording_paths.resolve_recording`: the one resolution the API serves by too)."""
        return resolve_recording(self.root, name)

    async def check(self, name: str) -> FileCheck:
        """Whether the recording's file exists and is finished, its size, duration (from its
        header) and, if finished, its SHA-256. UnsafePath for a bad name."""
        path = self.resolve(name)
        return await asyncio.to_thread(_check, path)

    async def repair(self, name: str) -> Repaired | None:
        """Rewrite an unfinished WAV (its header sizes never written, or the file cut short)
        so that its header gives the whole frames of audio it holds: a repaired copy written
        beside it, synced, then put in its place. None when there is nothing to repair: no
        file, a finished one, not a WAV, or no audio at all; OSError when the copy cannot be
        written (a full disk: the original is left as it was). Only for a file no one writes
        any more (the checker asks after its grace period). UnsafePath for a bad name."""
        path = self.resolve(name)
        return await asyncio.to_thread(_repair, path)

    async def sha256(self, name: str) -> str | None:
        """The file's SHA-256 now, or None if it is gone."""
        path = self.resolve(name)
        try:
            return await asyncio.to_thread(_sha256, path)
        except FileNotFoundError:
            return None

    async def free_mb(self) -> float:
        """Free space of the file system holding the recordings (for the disk alarm)."""
        usage = await asyncio.to_thread(shutil.disk_usage, self.root)
        return usage.free / (1 << 20)


def _check(path: Path) -> FileCheck:
    try:
        with open(path, "rb", opener=_no_follow) as file:
            stat = os.fstat(file.fileno())
            size, idle_s = stat.st_size, max(0.0, time.time() - stat.st_mtime)
            head = file.read(HEAD_BYTES)
            try:
                header = parse_header(head, size)
            except WavError as exc:
                problem = f"not a WAV file: {exc}"
                return FileCheck(FileState.UNFINISHED, size, problem=problem, idle_s=idle_s)
            if not header.complete:
                return FileCheck(
                    FileState.UNFINISHED, size, header.duration_s, "", header.problem, idle_s
                )
            file.seek(0)
            digest = _digest(file)
    except FileNotFoundError:
        return FileCheck(FileState.ABSENT, problem="no file")
    except OSError as exc:  # a directory, no permission, a symlink put in its place
        return FileCheck(FileState.UNFINISHED, problem=f"unreadable: {exc.strerror}")
    return _finished(header, size, digest)


def _repair(path: Path) -> Repaired | None:
    copy = path.with_name(f".{path.name}.repair")  # not a recording's name: never served
    try:
        with open(path, "rb", opener=_no_follow) as source:
            size = os.fstat(source.fileno()).st_size
            head = source.read(HEAD_BYTES)
            try:
                header = parse_header(head, size)
            except WavError:
                return None
            audio = whole_frames(header)
            if header.complete or audio == 0:
                return None
            source.seek(0)
            source_sha256 = _digest(source)
            source.seek(header.data_offset)
            with open(copy, "wb", opener=_no_follow) as out:
                out.write(repaired_header(head, header, audio))
                if _copy(source, out, audio) < audio:
                    raise OSError(f"{path.name} shrank while it was repaired")
                out.write(b"\0" * (audio & 1))
                out.flush()
                os.fsync(out.fileno())
        os.replace(copy, path)
    except FileNotFoundError:
        return None
    finally:
        copy.unlink(missing_ok=True)
    kept = f"{header.problem}; {audio} bytes of audio kept"
    return Repaired(_check(path), source_sha256, kept)


def _copy(source: BufferedReader, out: BufferedWriter, count: int) -> int:
    """Copy `count` bytes (fewer if the source ends first); how many were copied."""
    copied = 0
    while copied < count and (chunk := source.read(min(1 << 20, count - copied))):
        out.write(chunk)
        copied += len(chunk)
    return copied


def _finished(header: WavHeader, size: int, digest: str) -> FileCheck:
    return FileCheck(FileState.FINISHED, size, round(header.duration_s, 3), digest)


def _sha256(path: Path) -> str:
    with open(path, "rb", opener=_no_follow) as file:
        return _digest(file)


def _digest(file: BufferedReader) -> str:
    return hashlib.file_digest(file, "sha256").hexdigest()  # reads in chunks


def _no_follow(path: str, flags: int) -> int:
    """Open without following a symlink put in place after `resolve` looked (a race)."""
    return os.open(path, flags | os.O_NOFOLLOW)
