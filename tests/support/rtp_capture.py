"""What each party of a test call hears, from the RTP Asterisk sends it: a packet socket on
the loopback interface (needs root) keeps the G.711 payload of every UDP packet sent to the
watched addresses, and the audio of a time span is decoded for the tone analysis of
`tests/support/audio.py`. MixMonitor cannot tell this: a whisper is mixed into what a
channel hears after the channel's own recording hook (TELEPHONY_FACTS, ChanSpy).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.audio import PCMA, PCMU, RATE, Audio

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # on lo each packet is seen twice: sent (4) and received (0)


def _ulaw_decode(byte: int) -> int:
    u = ~byte & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def _alaw_decode(byte: int) -> int:
    a = byte ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


_DECODE = {PCMU: [_ulaw_decode(b) for b in range(256)], PCMA: [_alaw_decode(b) for b in range(256)]}


@dataclass
class RtpCapture:
    """Payloads of the RTP sent to each watched (ip, port), with their arrival times."""

    watched: set[tuple[str, int]] = field(default_factory=set)
    packets: dict[tuple[str, int], list[tuple[float, int, bytes]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, address: str) -> tuple[str, int]:
        """Start keeping what is sent to `address` ("127.0.0.1:40000", as Asterisk's
        CHANNEL(rtp,dest) says it)."""
        host, _, port = address.rpartition(":")
        key = (host, int(port))
        with self._lock:
            self.watched.add(key)
            self.packets.setdefault(key, [])
        return key

    def audio(self, key: tuple[str, int], start: float, end: float) -> Audio:
        """The 8 kHz audio sent to `key` between the wall-clock times `start` and `end`."""
        with self._lock:
            chosen = [(pt, p) for at, pt, p in self.packets.get(key, []) if start <= at < end]
        samples = array("h")
        for pt, payload in chosen:
            table = _DECODE.get(pt)
            if table is not None:
                samples.extend(table[b] for b in payload)
        return Audio(RATE, samples)

    def run(self, sock: socket.socket) -> None:
        with sock:
            while not self._stop.is_set():
                try:
                    frame, address = sock.recvfrom(65535)
                except TimeoutError:
                    continue
                if address[2] == PACKET_OUTGOING:
                    continue
                self._keep(frame, time.time())

    def _keep(self, frame: bytes, at: float) -> None:
        ip = frame[14:]  # lo's link layer header is an empty Ethernet header
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            return
        ihl = (ip[0] & 0x0F) * 4
        udp = ip[ihl:]
        if len(udp) < 8 + 12:
            return
        key = (socket.inet_ntoa(ip[16:20]), struct.unpack("!H", udp[2:4])[0])
        if key not in self.watched:
            return
        rtp = udp[8:]
        if rtp[0] >> 6 != 2:
            return
        offset = 12 + 4 * (rtp[0] & 0x0F)
        if rtp[0] & 0x10:  # a header extension
            offset += 4 + 4 * struct.unpack("!H", rtp[offset + 2 : offset + 4])[0]
        with self._lock:
            self.packets[key].append((at, rtp[1] & 0x7F, bytes(rtp[offset:])))

    @contextlib.contextmanager
    def running(self) -> Iterator[RtpCapture]:
        try:  # here, not in the thread: a missing privilege fails the test that needs it
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError as exc:
            raise PermissionError("capturing RTP on lo needs root: run the tests as root") from exc
        sock.bind(("lo", 0))
        sock.settimeout(0.2)
        thread = threading.Thread(target=self.run, args=(sock,), name="rtp-capture", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(2)
