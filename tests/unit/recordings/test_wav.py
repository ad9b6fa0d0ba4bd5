"""WAV headers: files written by Python's `wave` module and by Asterisk, and crafted bytes."""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import pytest

from recordings.wav import (
    HEAD_BYTES,
    WavError,
    WavHeader,
    parse_header,
    repaired_header,
    whole_frames,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "recordings"
# What MixMonitor wrote (tests/e2e/test_recordings.py's first call): the file at the end of
# the call, and a copy taken while the call was still up
ASTERISK_WAV = FIXTURES / "asterisk_mixmonitor.wav"
ASTERISK_WRITING = FIXTURES / "asterisk_mixmonitor_writing.wav"


def pcm_wav(seconds: float, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    """A whole WAV file as the standard library writes it (the reference, not our parser)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(seconds * rate) * channels * (width // 2))
    return out.getvalue()


def parse(data: bytes) -> WavHeader:
    return parse_header(data[:HEAD_BYTES], len(data))


def test_a_whole_file_is_complete_with_its_duration() -> None:
    data = pcm_wav(2.5)
    header = parse(data)
    assert (header.format_tag, header.channels, header.rate, header.bits) == (1, 1, 8000, 16)
    assert header.data_offset == 44 and header.data_size == 40000
    assert header.complete and header.problem == ""
    assert header.duration_s == pytest.approx(2.5)


def test_stereo_16k_duration() -> None:
    header = parse(pcm_wav(1.0, rate=16000, channels=2))
    assert (header.channels, header.rate) == (2, 16000)
    assert header.duration_s == pytest.approx(1.0)


def test_the_file_asterisk_wrote_at_the_end_of_a_call() -> None:
    data = ASTERISK_WAV.read_bytes()
    header = parse(data)
    with wave.open(str(ASTERISK_WAV)) as reference:
        frames, rate = reference.getnframes(), reference.getframerate()
    assert (header.rate, header.channels, header.bits) == (8000, 1, 16)
    assert header.complete
    assert header.duration_s == pytest.approx(frames / rate)


def test_the_file_asterisk_was_still_writing_is_not_complete() -> None:
    """format_wav opens with zero sizes and writes the real ones when it closes the file."""
    data = ASTERISK_WRITING.read_bytes()
    header = parse(data)
    assert (header.riff_size, header.data_size) == (0, 0)
    assert not header.complete
    assert header.problem == (
        "header sizes (riff 0, data 0) do not agree with the file's 32812 bytes"
    )
    assert header.duration_s == pytest.approx((32812 - 44) / 16000)
    # the finished file starts with the same audio
    assert ASTERISK_WAV.read_bytes()[44:1000] == data[44:1000]


@pytest.mark.parametrize("cut", [1, 2, 1000])
def test_a_truncated_file_is_not_complete(cut: int) -> None:
    data = pcm_wav(1.0)[:-cut]
    header = parse(data)
    assert not header.complete
    assert header.duration_s == pytest.approx((len(data) - 44) / 16000)


def test_bytes_after_the_declared_riff_are_not_complete() -> None:
    assert not parse(pcm_wav(1.0) + b"\0\0").complete


def test_huge_declared_sizes_are_not_complete() -> None:
    data = bytearray(pcm_wav(0.5))
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    data[40:44] = struct.pack("<I", 0xFFFFFFF0)
    assert not parse(bytes(data)).complete
    data = bytearray(pcm_wav(0.5))
    data[40:44] = struct.pack("<I", 0xFFFFFFF0)  # riff size right, data size impossible
    assert not parse(bytes(data)).complete


def test_an_empty_recording_is_complete_with_no_duration() -> None:
    header = parse(pcm_wav(0))
    assert header.complete and header.duration_s == 0


def test_chunks_before_the_data_are_skipped() -> None:
    data = pcm_wav(1.0)
    info = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"  # odd size, padded
    patched = data[:36] + info + data[36:]
    patched = patched[:4] + struct.pack("<I", len(patched) - 8) + patched[8:]
    header = parse(patched)
    assert header.data_offset == 44 + len(info) and header.complete
    assert header.duration_s == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"RIFF\0\0", "too short"),
        (b"garbage!" * 10, "not a RIFF/WAVE"),
        (b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0", "too short"),  # fmt cut
        (b"RIFF\x04\0\0\0WAVE", "no fmt chunk"),
        (pcm_wav(0.1)[:36], "no data chunk"),
        (b"RIFF\x10\0\0\0WAVEdata\0\0\0\0", "data chunk before the fmt chunk"),
    ],
)
def test_what_is_not_a_wav_header_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(WavError, match=message):
        parse(data)


def test_not_pcm_and_impossible_formats_are_refused() -> None:
    data = bytearray(pcm_wav(0.1))
    data[20:22] = struct.pack("<H", 6)  # A-law
    with pytest.raises(WavError, match="not PCM"):
        parse(bytes(data))
    data = bytearray(pcm_wav(0.1))
    data[22:24] = struct.pack("<H", 0)  # no channels
    with pytest.raises(WavError, match="impossible"):
        parse(bytes(data))


def read_back(data: bytes) -> tuple[int, int, bytes]:
    """(frames, channels, audio) as the standard library reads the file (the reference)."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnframes(), w.getnchannels(), w.readframes(w.getnframes())


def repair(data: bytes) -> bytes:
    header = parse(data)
    audio = whole_frames(header)
    return repaired_header(data, header, audio) + data[header.data_offset :][:audio]


def test_a_file_whose_sizes_were_never_written_is_repaired_to_its_audio() -> None:
    data = ASTERISK_WRITING.read_bytes()  # sizes 0, 32768 bytes of audio after the header
    fixed = repair(data)
    assert parse(fixed).complete and len(fixed) == len(data)
    assert read_back(fixed) == (16384, 1, data[44:])


@pytest.mark.parametrize(("cut", "kept"), [(1001, 1000), (1000, 1000), (1, 0)])
def test_a_file_cut_short_keeps_its_whole_frames(cut: int, kept: int) -> None:
    whole = pcm_wav(1.0)
    data = whole[: 44 + cut]  # the header promises 16000 bytes
    assert whole_frames(parse(data)) == kept
    if kept:
        assert read_back(repair(data)) == (kept // 2, 1, whole[44 : 44 + kept])


def test_stereo_frames_and_a_declared_size_all_there() -> None:
    whole = pcm_wav(0.01, channels=2)  # 80 frames of 4 bytes
    padded = whole + b"junk"  # something after the audio: the declared data is kept
    assert whole_frames(parse(padded)) == 320
    assert read_back(repair(padded)) == (80, 2, whole[44:])
    cut = whole[: 44 + 6]  # one frame and a half
    assert whole_frames(parse(cut)) == 4


def test_an_odd_sized_audio_chunk_gets_its_pad_byte() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * 100)
    data = bytearray(out.getvalue()[:44] + b"\x80" * 7)  # 8-bit: every byte a frame
    struct.pack_into("<I", data, 4, 0)  # sizes never written
    struct.pack_into("<I", data, 40, 0)
    header = parse(bytes(data))
    fixed = repaired_header(bytes(data), header, 7) + bytes(data[44:]) + b"\0"
    assert struct.unpack_from("<I", fixed, 4) == (len(fixed) - 8,)
    assert parse(fixed).complete and read_back(fixed)[0] == 7


def test_a_header_with_no_audio_has_nothing_to_repair() -> None:
    assert whole_frames(parse(ASTERISK_WRITING.read_bytes()[:44])) == 0
