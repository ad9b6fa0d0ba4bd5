"""RFC 2833 key pcaps a SIPp caller can play one after the other in one call.

SIPp's `dtmf_2833_<key>.pcap` files each carry their own fixed RTP timestamp and sequence
numbers (the `1` earlier than the `8`, say), and SIPp plays them as they are. Asterisk takes
a telephone-event whose timestamp is not after the previous key's for the end of that key:
a second `8`, or a `1` after an `8`, never reached the dialplan (seen in Asterisk's dtmf log,
tests/e2e/test_calls.py). So the n-th RTP key of a call plays a copy of the pcap whose
timestamp and sequence numbers come after the (n-1)-th's; the copies are kept in a
directory of their own, named by key and place.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

SIPP_PCAPS = Path("/usr/share/sip-tester")
NAMES = {**{str(d): str(d) for d in range(10)}, "*": "star", "#": "pound"}
COPIES = Path(tempfile.gettempdir()) / "hotline-dtmf-pcaps"

_PCAP_HEADER, _RECORD_HEADER, _ETHERNET = 24, 16, 14
_SAMPLES_APART = 8000  # one second of 8 kHz between two keys' timestamps
_SEQUENCE_APART = 32  # more than the packets of one key's pcap


def key_pcap(key: str, place: int, directory: Path = COPIES) -> Path:
    """The pcap of `key` pressed as the call's `place`-th RTP key (from 0); written only when
    the file there is not already that (left by an earlier run, or another process)."""
    path = directory / f"dtmf_2833_{NAMES[key]}_{place}.pcap"
    data = renumbered((SIPP_PCAPS / f"dtmf_2833_{NAMES[key]}.pcap").read_bytes(), place)
    if path.is_file() and path.read_bytes() == data:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)  # whole or absent, whoever else makes it at the same time
    return path


def renumbered(pcap: bytes, place: int) -> bytes:
    """`pcap` (Ethernet, IPv4, UDP, RTP) with the RTP timestamp and sequence numbers of the
    `place`-th key of a call, and the UDP checksums made good again."""
    out = bytearray(pcap)
    offset, packet = _PCAP_HEADER, 0
    while offset < len(out):
        (length,) = struct.unpack_from("<I", out, offset + 8)
        ip = offset + _RECORD_HEADER + _ETHERNET
        udp = ip + (out[ip] & 0x0F) * 4
        rtp = udp + 8
        sequence = (place * _SEQUENCE_APART + packet + 1) & 0xFFFF
        struct.pack_into(">HI", out, rtp + 2, sequence, (place + 1) * _SAMPLES_APART)
        struct.pack_into(">H", out, udp + 6, 0)
        struct.pack_into(">H", out, udp + 6, _udp_checksum(out, ip, udp))
        offset += _RECORD_HEADER + length
        packet += 1
    return bytes(out)


def _udp_checksum(data: bytearray, ip: int, udp: int) -> int:
    (length,) = struct.unpack_from(">H", data, udp + 4)
    pseudo = bytes(data[ip + 12 : ip + 20]) + struct.pack(">BBH", 0, 17, length)
    words = pseudo + bytes(data[udp : udp + length]) + b"\0" * (length % 2)
    total = sum(struct.unpack(f">{len(words) // 2}H", words))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total & 0xFFFF) or 0xFFFF
