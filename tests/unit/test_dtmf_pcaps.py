"""The RFC 2833 key pcaps a caller plays in turn: each key's RTP after the previous one's."""

from __future__ import annotations

import struct
from pathlib import Path

from hotline_cli.demo.dtmf_pcaps import SIPP_PCAPS, key_pcap, renumbered


def rtp_packets(pcap: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """(sequence, timestamp, IPv4 pseudo-header source and destination, UDP datagram)."""
    out, offset = [], 24
    while offset < len(pcap):
        (length,) = struct.unpack_from("<I", pcap, offset + 8)
        ip = offset + 16 + 14
        udp = ip + (pcap[ip] & 0x0F) * 4
        (udp_length,) = struct.unpack_from(">H", pcap, udp + 4)
        sequence, timestamp = struct.unpack_from(">HI", pcap, udp + 8 + 2)
        out.append((sequence, timestamp, pcap[ip + 12 : ip + 20], pcap[udp : udp + udp_length]))
        offset += 16 + length
    return out


def checksum_holds(addresses: bytes, datagram: bytes) -> bool:
    words = addresses + struct.pack(">BBH", 0, 17, len(datagram)) + datagram
    words += b"\0" * (len(words) % 2)
    total: int = sum(struct.unpack(f">{len(words) // 2}H", words))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def test_a_key_twice_and_a_lower_key_after_a_higher_one_come_later_in_rtp_time() -> None:
    """SIPp's 1 comes before its 8 in RTP time, and a second 8 at the same time as the first:
    Asterisk lost such keys."""
    original = {k: (SIPP_PCAPS / f"dtmf_2833_{k}.pcap").read_bytes() for k in "18"}
    assert rtp_packets(original["1"])[0][1] < rtp_packets(original["8"])[0][1]
    played = [rtp_packets(renumbered(original[k], place)) for place, k in enumerate("8811")]
    sequences = [p[0] for key in played for p in key]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    timestamps = [{p[1] for p in key} for key in played]
    assert all(len(ts) == 1 for ts in timestamps)  # one event's packets share its timestamp
    firsts = [min(ts) for ts in timestamps]
    assert firsts == sorted(firsts) and len(set(firsts)) == 4
    assert all(checksum_holds(a, d) for key in played for _s, _t, a, d in key)
    # the event itself is untouched: key, end bit, duration
    assert [d[8 + 12 :] for *_, d in played[2]] == [
        d[8 + 12 :] for *_, d in rtp_packets(original["1"])
    ]


def test_a_copy_is_made_once_named_by_key_and_place_and_a_wrong_one_replaced(
    tmp_path: Path,
) -> None:
    first = key_pcap("#", 3, tmp_path)
    assert first.name == "dtmf_2833_pound_3.pcap"
    made = first.stat().st_mtime_ns
    assert key_pcap("#", 3, tmp_path) == first and first.stat().st_mtime_ns == made
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no part file left
    good = first.read_bytes()
    first.write_bytes(good[:100])  # cut short, or left by another way of renumbering
    assert key_pcap("#", 3, tmp_path).read_bytes() == good
