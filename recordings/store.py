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
from io import BufferedReader
from pathlib import Path

from crm.recording_paths import UnsafeRecordingPath, resolve_recording
from recordings.wav import HEAD_BYTES, WavError, WavHeader, parse_header

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
