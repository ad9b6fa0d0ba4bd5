"""The test audio: pcaps SIPp can play (checked field by field and decoded by sox, not by our
own decoder) and the WAV analysis the recording tests rely on."""

from __future__ import annotations

import struct
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from tests.support.audio import (
    AGENT_A_HZ,
    AGENT_B_HZ,
    CALLER_HZ,
    PCMA,
    PCMU,
    Audio,
    alaw,
    between,
    read_wav,
    silence,
    silence_spans,
    synthesize,
    tone,
    tone_pcap,
    tone_share,
    ulaw,
    wav_finished,
    windows,
    write_rtp_pcap,
)


def pcap_frames(path: Path) -> tuple[tuple[int, ...], list[tuple[float, bytes]]]:
    """The global header and (time, frame) of every record, read by the libpcap layout."""
    data = path.read_bytes()
    header = struct.unpack("<IHHiIII", data[:24])
    frames, offset = [], 24
    while offset < len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        assert incl == orig
        frames.append((sec + usec / 1e6, data[offset + 16 : offset + 16 + incl]))
        offset += 16 + incl
    assert offset == len(data)
    return header, frames


def decode_with_sox(payload: bytes, encoding: str, tmp: Path) -> Audio:
    raw, wav = tmp / f"payload.{encoding}", tmp / "payload.wav"
    raw.write_bytes(payload)
    subprocess.run(
        ["sox", "-t", encoding, "-r", "8000", "-c", "1", str(raw), "-b", "16", str(wav)],
        check=True, capture_output=True,
    )  # fmt: skip
    return read_wav(wav)


def write_wav(path: Path, samples: array[int]) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return path


def test_g711_of_known_samples() -> None:
    # ITU-T G.711 code words: zero, the largest positive and negative values.
    assert (ulaw(0), ulaw(32767), ulaw(-32768)) == (0xFF, 0x80, 0x00)
    assert (alaw(0), alaw(32767), alaw(-32768)) == (0xD5, 0xAA, 0x2A)


def test_pcap_headers_are_what_sipp_parses(tmp_path: Path) -> None:
    path = write_rtp_pcap(tmp_path / "t.pcap", [tone(CALLER_HZ, 1000)])
    (magic, major, minor, _, _, snaplen, linktype), frames = pcap_frames(path)
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 1) and snaplen >= 214
    assert len(frames) == 50  # 1 s of 20 ms packets
    first_at = frames[0][0]
    for n, (at, frame) in enumerate(frames):
        assert at - first_at == pytest.approx(n * 0.020, abs=1e-6)
        assert frame[12:14] == b"\x08\x00"  # Ethernet type IPv4
        ip = frame[14:34]
        assert ip[0] == 0x45 and ip[9] == 17  # IPv4, no options, UDP
        assert struct.unpack("!H", ip[2:4])[0] == len(frame) - 14
        assert sum(struct.unpack("!10H", ip)) % 0xFFFF == 0  # a valid header checksum
        udp_len = struct.unpack("!H", frame[38:40])[0]
        assert udp_len == len(frame) - 34 == 8 + 12 + 160
        rtp = frame[42:54]
        version_flags, marker_pt, seq, timestamp, _ = struct.unpack("!BBHII", rtp)
        assert version_flags == 0x80  # RTP v2, no padding/extension/CSRC
        assert marker_pt == (0x80 if n == 0 else 0) | PCMU
        assert (seq, timestamp) == (n, 160 * n)


@pytest.mark.parametrize(("payload_type", "encoding"), [(PCMU, "ul"), (PCMA, "al")])
def test_pcap_payload_decodes_to_the_tone(tmp_path: Path, payload_type: int, encoding: str) -> None:
    path = tone_pcap(tmp_path / "t.pcap", AGENT_A_HZ, 2.0, payload_type)
    _, frames = pcap_frames(path)
    assert {f[43] & 0x7F for _, f in frames} == {payload_type}
    audio = decode_with_sox(b"".join(f[54:] for _, f in frames), encoding, tmp_path)
    assert audio.duration_s == pytest.approx(2.0)
    frames_ = windows(audio)
    assert tone_share(frames_, AGENT_A_HZ) == 1.0
    assert tone_share(frames_, CALLER_HZ) == tone_share(frames_, AGENT_B_HZ) == 0.0


def test_silence_gap_in_a_pcap_is_digital_silence(tmp_path: Path) -> None:
    segments = [tone(CALLER_HZ, 1000), silence(600), tone(CALLER_HZ, 400)]
    _, frames = pcap_frames(write_rtp_pcap(tmp_path / "t.pcap", segments))
    assert len(frames) == 100  # the gap is sent, as silence, not skipped
    audio = decode_with_sox(b"".join(f[54:] for _, f in frames), "ul", tmp_path)
    [(start, end)] = silence_spans(audio, min_ms=200)
    assert start == pytest.approx(1.0, abs=0.002) and end == pytest.approx(1.6, abs=0.002)


def test_unknown_payload_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="payload type 18"):
        write_rtp_pcap(tmp_path / "t.pcap", [tone(CALLER_HZ, 100)], payload_type=18)


def test_parties_are_told_apart_and_heard_together() -> None:
    caller = synthesize([tone(CALLER_HZ, 1000)])
    agent = synthesize([silence(500), tone(AGENT_B_HZ, 500)])
    mixed = Audio(8000, array("h", (a + b for a, b in zip(caller, agent, strict=True))))
    frames = windows(mixed)
    assert [sorted(w.tones) for w in between(frames, 0.0, 0.5)] == [[CALLER_HZ]] * 5
    assert [sorted(w.tones) for w in between(frames, 0.5, 1.0)] == [[CALLER_HZ, AGENT_B_HZ]] * 5
    assert tone_share(frames, AGENT_A_HZ) == 0.0


def test_quiet_or_broadband_windows_hold_no_tone() -> None:
    import random

    rng = random.Random(11)
    noise = Audio(8000, array("h", (rng.randint(-6000, 6000) for _ in range(8000))))
    assert all(not w.tones for w in windows(noise))  # loud, but no frequency dominates
    faint = Audio(8000, synthesize([tone(AGENT_A_HZ, 1000)], amplitude=50))
    assert all(not w.tones and w.rms < 100 for w in windows(faint))


def test_silence_spans_of_digital_silence_only() -> None:
    samples = synthesize([tone(CALLER_HZ, 300), silence(250), tone(CALLER_HZ, 300), silence(50)])
    audio = Audio(8000, samples)
    spans = silence_spans(audio, min_ms=100)
    assert len(spans) == 1
    assert spans[0][0] == pytest.approx(0.3, abs=0.001)
    assert spans[0][1] == pytest.approx(0.55, abs=0.001)
    samples[3400] = 3  # one faint sample mid-gap: two spans of 125 ms, not digital silence
    assert silence_spans(Audio(8000, samples), min_ms=150) == []
    assert len(silence_spans(Audio(8000, samples), min_ms=150, threshold=3)) == 1


def test_read_wav_duration_and_finished_header(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "r.wav", synthesize([tone(CALLER_HZ, 1500)]))
    assert read_wav(path).duration_s == pytest.approx(1.5)
    assert wav_finished(path)
    data = path.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:-100])  # truncated
    assert not wav_finished(tmp_path / "cut.wav")
    # As MixMonitor leaves it while still writing: sizes in the header not yet filled in.
    still = data[:4] + b"\0\0\0\0" + data[8:40] + b"\0\0\0\0" + data[44:]
    (tmp_path / "open.wav").write_bytes(still)
    assert not wav_finished(tmp_path / "open.wav")
    half = data[:40] + struct.pack("<I", (len(data) - 44) // 2) + data[44:]  # data size alone
    (tmp_path / "half.wav").write_bytes(half)
    assert not wav_finished(tmp_path / "half.wav")
    assert not wav_finished(tmp_path / "absent.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav at all")
    assert not wav_finished(tmp_path / "junk.wav")
