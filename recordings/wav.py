"""WAV (RIFF) headers, parsed from bytes: what a recording holds and whether it is finished.

Asterisk's format_wav writes a 44-byte header with zero sizes when it opens a file and the
real RIFF and data sizes when it closes it. A file still being written, or cut short (a full
disk, a crash), therefore has header sizes that do not agree with its size on disk; only a
file whose header and size agree is a finished recording. One never finished can be repaired:
a header giving the audio really there (`whole_frames`, `repaired_header`). Pure: the caller
reads the bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEAD_BYTES = 4096  # enough for Asterisk's 44-byte header and any chunks a tool puts first
PCM = 1
EXTENSIBLE = 0xFFFE
_RIFF_HEADER = 12
_CHUNK_HEADER = 8
_MIN_FMT = 16


class WavError(ValueError):
    """Bytes that are not a WAV header we can read; the message says what is wrong."""


@dataclass(frozen=True)
class WavHeader:
    format_tag: int  # 1: PCM
    channels: int
    rate: int  # samples per second
    bits: int  # per sample
    data_offset: int  # where the audio starts
    data_size: int  # the audio's size as the header declares it
    riff_size: int  # the RIFF chunk's size as the header declares it
    file_size: int  # the file's size on disk

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.channels * (self.bits // 8)

    @property
    def frame_bytes(self) -> int:
        """One sample of every channel: audio comes in whole frames."""
        return self.channels * (self.bits // 8)

    @property
    def complete(self) -> bool:
        """The header's sizes agree with the file's: the writer closed it, nothing is missing.
        (RIFF pads an odd-sized chunk with one byte.)"""
        data_end = self.data_offset + self.data_size + (self.data_size & 1)
        return self.riff_size + _CHUNK_HEADER == self.file_size and data_end <= self.file_size

    @property
    def problem(self) -> str:
        """Why the file is not complete ('' when it is)."""
        if self.complete:
            return ""
        return (
            f"header sizes (riff {self.riff_size}, data {self.data_size}) do not agree with "
            f"the file's {self.file_size} bytes"
        )

    @property
    def duration_s(self) -> float:
        """The audio's length: the declared data when complete, else what the file holds."""
        audio = self.data_size if self.complete else self.file_size - self.data_offset
        return max(audio, 0) / self.bytes_per_second


def parse_header(head: bytes, file_size: int) -> WavHeader:
    """The header of a WAV file from its first bytes (`head`, at least up to the data chunk's
    header; HEAD_BYTES suffice for any file Asterisk writes) and its size on disk.

    WavError for anything else: not RIFF/WAVE, no or a short fmt chunk, no data chunk within
    `head`, an impossible format (no channels, rate or bits). Sizes that disagree with the file
    are not an error: `complete` tells."""
    if len(head) < _RIFF_HEADER:
        raise WavError(f"{len(head)} bytes: too short for a RIFF header")
    riff, riff_size, wave = struct.unpack_from("<4sI4s", head)
    if riff != b"RIFF" or wave != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    offset = _RIFF_HEADER
    while offset + _CHUNK_HEADER <= len(head):
        chunk_id, size = struct.unpack_from("<4sI", head, offset)
        body = offset + _CHUNK_HEADER
        if chunk_id == b"fmt ":
            fmt = _format(head[body : body + size], size)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError("data chunk before the fmt chunk")
            tag, channels, rate, bits = fmt
            return WavHeader(tag, channels, rate, bits, body, size, riff_size, file_size)
        offset = body + size + (size & 1)
    raise WavError("no data chunk" if fmt is not None else "no fmt chunk")


def _format(body: bytes, declared: int) -> tuple[int, int, int, int]:
    if declared < _MIN_FMT or len(body) < _MIN_FMT:
        raise WavError(f"fmt chunk of {declared} bytes, {len(body)} read: too short")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", body)
    if tag not in (PCM, EXTENSIBLE):
        raise WavError(f"format {tag:#x} is not PCM")
    if channels == 0 or rate == 0 or bits == 0 or bits % 8:
        raise WavError(f"impossible format: {channels} channels, {rate} Hz, {bits} bits")
    return tag, channels, rate, bits


def whole_frames(header: WavHeader) -> int:
    """The audio bytes an unfinished file really holds, in whole frames: the declared data if
    it is all there (a file with something after its audio), else what follows the data
    chunk's header (sizes never written, the writer killed; or the file cut short), a partial
    last frame dropped. 0: no audio at all, nothing to repair."""
    present = max(header.file_size - header.data_offset, 0)
    audio = header.data_size if 0 < header.data_size <= present else present
    return audio - audio % header.frame_bytes


def repaired_header(head: bytes, header: WavHeader, audio: int) -> bytes:
    """The file's header up to its audio (`head[:data_offset]`, every chunk before the data
    kept) with RIFF and data sizes saying that `audio` bytes follow (and the pad byte RIFF
    wants after an odd-sized chunk)."""
    out = bytearray(head[: header.data_offset])
    struct.pack_into("<I", out, 4, header.data_offset - _CHUNK_HEADER + audio + (audio & 1))
    struct.pack_into("<I", out, header.data_offset - 4, audio)
    return bytes(out)
