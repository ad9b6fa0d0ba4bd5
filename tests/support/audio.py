"""Real audio for the tests and benches: RTP pcaps of tones that SIPp plays, and the analysis
of the WAV files Asterisk writes.

Each party of a test call speaks its own sine tone (`CALLER_HZ`, `AGENT_A_HZ`, `AGENT_B_HZ`),
chosen clear of DTMF (697-941 / 1209-1633 Hz), of China's ring/busy tone (450 Hz) and of
the hold music's chime (523 / 659 Hz), so a window of a recording says who was audible in it.
`write_rtp_pcap` makes a pcap for SIPp's `<exec play_pcap_audio=…/>` (Ethernet/IPv4/UDP/RTP,
G.711, 20 ms packets); SIPp replays it at its packet times, so it lasts as long as the file.
The analysis is plain Python (Goertzel per window), no numpy needed.
"""

from __future__ import annotations

import math
import os
import struct
import wave
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
PTIME_MS = 20
SAMPLES_PER_PACKET = RATE * PTIME_MS // 1000
PCMU, PCMA = 0, 8
CALLER_HZ = 350.0
AGENT_A_HZ = 1000.0
AGENT_B_HZ = 1800.0
AGENT_C_HZ = 2400.0
PARTY_TONES = (CALLER_HZ, AGENT_A_HZ, AGENT_B_HZ, AGENT_C_HZ)


@dataclass(frozen=True)
class Segment:
    """`ms` milliseconds of a sine at `hz`, or of digital silence when `hz` is None."""

    hz: float | None
    ms: int


def tone(hz: float, ms: int) -> Segment:
    return Segment(hz, ms)


def silence(ms: int) -> Segment:
    return Segment(None, ms)


def synthesize(segments: Iterable[Segment], amplitude: int = 8000) -> array[int]:
    """16-bit linear samples at 8 kHz; the phase runs on across segments of one tone."""
    out = array("h")
    for seg in segments:
        count = RATE * seg.ms // 1000
        if seg.hz is None:
            out.extend([0] * count)
            continue
        step = 2 * math.pi * seg.hz / RATE
        start = len(out)
        out.extend(round(amplitude * math.sin(step * (start + i))) for i in range(count))
    return out


def _segment_search(value: int, ends: Sequence[int]) -> int:
    for i, end in enumerate(ends):
        if value <= end:
            return i
    return len(ends)


_ULAW_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def ulaw(sample: int) -> int:
    """G.711 mu-law of a 16-bit sample (the classic Sun g711.c algorithm)."""
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, 8159) + (0x84 >> 2)
    seg = _segment_search(value, _ULAW_ENDS)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def alaw(sample: int) -> int:
    """G.711 A-law of a 16-bit sample (the classic Sun g711.c algorithm)."""
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    seg = _segment_search(value, _ALAW_ENDS)
    if seg >= 8:
        return 0x7F ^ mask
    low = (value >> 1) & 0xF if seg < 2 else (value >> seg) & 0xF
    return ((seg << 4) | low) ^ mask


def _ip_checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    checksum: int = ~total & 0xFFFF
    return checksum


def _frame(payload: bytes, ident: int, src_port: int, dst_port: int) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    src, dst = bytes((127, 0, 0, 1)), bytes((127, 0, 0, 1))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    ethernet = bytes.fromhex("02 00 00 00 00 02  02 00 00 00 00 01  08 00")  # dst, src, IPv4
    return ethernet + ip + udp


def rtp_packets(
    segments: Sequence[Segment], payload_type: int = PCMU, ssrc: int = 0x484C0001
) -> list[bytes]:
    """RTP packets (header + 160 G.711 bytes) of `segments`: seq and timestamp +1 / +160 per
    packet, the marker bit on the first. Silence is sent as packets of digital silence (no
    gap in the stream), so the far end's clock and the recording run on through it."""
    if payload_type not in (PCMU, PCMA):
        raise ValueError(f"payload type {payload_type}: only PCMU (0) and PCMA (8)")
    encode = ulaw if payload_type == PCMU else alaw
    samples = synthesize(segments)
    packets = []
    for n, start in enumerate(range(0, len(samples) - SAMPLES_PER_PACKET + 1, SAMPLES_PER_PACKET)):
        header = struct.pack(
            "!BBHII", 0x80, (0x80 if n == 0 else 0) | payload_type, n & 0xFFFF,
            (n * SAMPLES_PER_PACKET) & 0xFFFFFFFF, ssrc,
        )  # fmt: skip
        chunk = samples[start : start + SAMPLES_PER_PACKET]
        packets.append(header + bytes(encode(s) for s in chunk))
    return packets


def write_rtp_pcap(
    path: Path,
    segments: Sequence[Segment],
    payload_type: int = PCMU,
    src_port: int = 40000,
    dst_port: int = 6000,
) -> Path:
    """A libpcap file (Ethernet) of the RTP stream of `segments`, one packet every 20 ms.
    SIPp rewrites addresses and ports when it plays it; the IP checksum is right anyway, the
    UDP checksum is zero (none, allowed for IPv4)."""
    packets = rtp_packets(segments, payload_type)
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    base_s = 1_700_000_000
    for n, rtp in enumerate(packets):
        frame = _frame(rtp, n & 0xFFFF, src_port, dst_port)
        at_us = n * PTIME_MS * 1000
        out += struct.pack("<IIII", base_s + at_us // 1_000_000, at_us % 1_000_000, len(frame),
                           len(frame))  # fmt: skip
        out += frame
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def tone_pcap(path: Path, hz: float, seconds: float, payload_type: int = PCMU) -> Path:
    """A pcap of one tone for `seconds`: as long as the talk it is to cover."""
    return write_rtp_pcap(path, [tone(hz, round(seconds * 1000))], payload_type)


# --- WAV analysis ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Audio:
    rate: int
    samples: array[int]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def read_wav(path: Path) -> Audio:
    """A 16-bit PCM WAV (what MixMonitor writes for .wav), mono or the first channel."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: {8 * w.getsampwidth()}-bit samples, expected 16-bit PCM")
        frames = w.readframes(w.getnframes())
        channels, rate = w.getnchannels(), w.getframerate()
    samples = array("h")
    samples.frombytes(frames)
    return Audio(rate, samples[::channels] if channels > 1 else samples)


def wav_finished(path: Path) -> bool:
    """The RIFF and data chunk sizes in the header agree with the file's size: MixMonitor
    rewrites them when it closes the file, so a file still being written does not pass.
    Reads the chunk headers only (cheap enough to poll many long files)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            riff = f.read(12)
            if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
                return False
            if struct.unpack("<I", riff[4:8])[0] != size - 8:
                return False
            offset = 12
            while offset + 8 <= size:
                f.seek(offset)
                header = f.read(8)
                chunk_size: int = struct.unpack("<I", header[4:8])[0]
                if header[:4] == b"data":
                    return offset + 8 + chunk_size == size
                offset += 8 + chunk_size + (chunk_size & 1)
    except FileNotFoundError:
        return False
    return False


def goertzel_fraction(samples: Sequence[int], hz: float, rate: int = RATE) -> float:
    """The share of the window's energy at `hz` (about 1.0 for a pure tone at `hz`, 0.5 for
    each of two equal tones, near 0 when absent): Goertzel power over the window's energy."""
    n = len(samples)
    energy = sum(s * s for s in samples)
    if n == 0 or energy == 0:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2 * power / (n * energy)


@dataclass(frozen=True)
class Window:
    start_s: float
    rms: float
    tones: frozenset[float]  # the candidate frequencies present in this window


def windows(
    audio: Audio,
    candidates: Iterable[float] = PARTY_TONES,
    window_ms: int = 100,
    min_fraction: float = 0.15,
    min_rms: float = 100.0,
) -> list[Window]:
    """Per window: its RMS and which `candidates` hold at least `min_fraction` of its energy
    (none in a window quieter than `min_rms`)."""
    size = audio.rate * window_ms // 1000
    freqs = tuple(candidates)
    out = []
    for start in range(0, len(audio.samples) - size + 1, size):
        chunk = audio.samples[start : start + size]
        rms = math.sqrt(sum(s * s for s in chunk) / size)
        present = (
            frozenset(f for f in freqs if goertzel_fraction(chunk, f, audio.rate) >= min_fraction)
            if rms >= min_rms
            else frozenset()
        )
        out.append(Window(start / audio.rate, rms, present))
    return out


def tone_share(frames: Sequence[Window], hz: float) -> float:
    """The share of `frames` in which `hz` is present."""
    return sum(hz in w.tones for w in frames) / len(frames) if frames else 0.0


def between(frames: Sequence[Window], start_s: float, end_s: float) -> list[Window]:
    return [w for w in frames if start_s <= w.start_s < end_s]


def silence_spans(audio: Audio, min_ms: int = 100, threshold: int = 0) -> list[tuple[float, float]]:
    """(start_s, end_s) of every run of at least `min_ms` of digital silence (|sample| <=
    `threshold`)."""
    spans, run_start = [], None
    minimum = audio.rate * min_ms // 1000
    for i, s in enumerate(audio.samples):
        if -threshold <= s <= threshold:
            if run_start is None:
                run_start = i
        elif run_start is not None:
            if i - run_start >= minimum:
                spans.append((run_start / audio.rate, i / audio.rate))
            run_start = None
    end = len(audio.samples)
    if run_start is not None and end - run_start >= minimum:
        spans.append((run_start / audio.rate, end / audio.rate))
    return spans
