"""The recordings directory adapter on a real file system: names that must not resolve, and
files checked (the checksum computed here with hashlib, independently)."""

from __future__ import annotations

import hashlib
import os
import shutil
import wave
from pathlib import Path

import pytest

from recordings.store import FileState, RecordingStore, UnsafePath

FIXTURES = Path(__file__).parents[2] / "fixtures" / "recordings"
NAME = "20261201/1796131560.0.wav"


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    root = tmp_path / "recordings"
    (root / "20261201").mkdir(parents=True)
    return RecordingStore(root)


def put(store: RecordingStore, data: bytes, name: str = NAME) -> Path:
    path = store.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../20261201/1.2.wav",
        "20261201/../../1.2.wav",
        "20261201/1.2.wav\0.txt",
        "20261201/1.2.wav/..",
        "20261201/1.2.mp3",
        "2026120/1.2.wav",
        "20261201/1.2.wav ",
        " 20261201/1.2.wav",
        "20261201\\1.2.wav",
        "20261201/1.2.wav\n",
        "",
        "x" * 5000,
    ],
)
def test_what_is_not_a_recording_name_is_refused(store: RecordingStore, name: str) -> None:
    with pytest.raises(UnsafePath):
        store.resolve(name)


def test_a_recording_name_resolves_under_the_directory(store: RecordingStore) -> None:
    assert store.resolve(NAME) == (store.root / NAME).resolve()


def test_a_compressed_copy_resolves_too(store: RecordingStore) -> None:
    """Re-verification reads the Ogg copy the compressor left under the same name."""
    ogg = NAME.removesuffix(".wav") + ".ogg"
    assert store.resolve(ogg) == (store.root / ogg).resolve()


def test_symlinks_leading_out_of_the_directory_are_refused(
    store: RecordingStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "1.2.wav").write_bytes(b"secret")
    (store.root / "20261202").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="leads out"):
        store.resolve("20261202/1.2.wav")
    (store.root / "20261201" / "3.4.wav").symlink_to(outside / "1.2.wav")
    with pytest.raises(UnsafePath, match="leads out"):
        store.resolve("20261201/3.4.wav")


async def test_a_finished_asterisk_file_is_checked(store: RecordingStore) -> None:
    data = (FIXTURES / "asterisk_mixmonitor.wav").read_bytes()
    put(store, data)
    with wave.open(str(FIXTURES / "asterisk_mixmonitor.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    found = await store.check(NAME)
    assert found.state is FileState.FINISHED
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.size_bytes == len(data)
    assert found.duration_s == pytest.approx(seconds, abs=0.001)
    assert await store.sha256(NAME) == found.sha256


async def test_a_file_asterisk_still_writes_is_unfinished(store: RecordingStore) -> None:
    put(store, (FIXTURES / "asterisk_mixmonitor_writing.wav").read_bytes())
    found = await store.check(NAME)
    assert found.state is FileState.UNFINISHED and found.sha256 == ""
    assert "do not agree" in found.problem
    assert 0 <= found.idle_s < 5  # just written: the checker waits for it to settle


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"", "not a WAV file"), (os.urandom(3000), "not a WAV file"), (b"RIFF\0\0", "too short")],
)
async def test_garbage_and_empty_files_are_unfinished(
    store: RecordingStore, data: bytes, problem: str
) -> None:
    put(store, data)
    found = await store.check(NAME)
    assert found.state is FileState.UNFINISHED and problem in found.problem
    assert found.size_bytes == len(data)


async def test_a_truncated_copy_is_unfinished(store: RecordingStore) -> None:
    put(store, (FIXTURES / "asterisk_mixmonitor.wav").read_bytes()[:-100])
    assert (await store.check(NAME)).state is FileState.UNFINISHED


async def test_no_file_is_absent_and_a_directory_is_unreadable(store: RecordingStore) -> None:
    absent = await store.check(NAME)
    assert absent.state is FileState.ABSENT and absent.idle_s == float("inf")
    assert await store.sha256(NAME) is None
    (store.root / NAME).mkdir()
    found = await store.check(NAME)
    assert found.state is FileState.UNFINISHED and "unreadable" in found.problem


async def test_free_space_is_the_file_systems(store: RecordingStore) -> None:
    expected = shutil.disk_usage(store.root).free / (1 << 20)
    assert await store.free_mb() == pytest.approx(expected, abs=50)
