"""AMI pipeline throughput: recorded Asterisk traffic through parser + translation + tracker.

Replays tests/fixtures/ami/busy_hour.ami (real Asterisk 16 output, 12 calls) repeated until
the stream holds about `--events` events, in 64 KiB reads as from a socket, and compares
with panoramisk 1.4's own message parsing (its AMIProtocol.data_received) of the same bytes.
Prints a table, then one JSON line: events_per_s, bare_parse_events_per_s, ratio.

    .venv/bin/python bench/ami_pipeline.py [--events 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panoramisk.ami_protocol import AMIProtocol

from telephony.ami_headers import MalformedEvent
from telephony.ami_protocol import AmiParser
from telephony.event_translation import translate
from telephony.tracker import CallTracker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the replay lives in tests/

from tests.support.ami_replay import load_stream

READ = 65536


def build_stream(target_events: int) -> tuple[bytes, int]:
    recorded = load_stream("busy_hour")
    banner, _, body = recorded.partition(b"\r\n")
    per_copy = body.count(b"Event: ")
    copies = max(1, target_events // per_copy)
    return banner + b"\r\n" + body * copies, per_copy * copies


def pipeline(stream: bytes) -> int:
    """Ours: incremental decode, framing, translation, call tracking."""
    parser = AmiParser()
    tracker = CallTracker()
    events = 0
    for start in range(0, len(stream), READ):
        for headers in parser.feed(stream[start : start + READ]):
            name = headers.get("Event")
            if name is None:
                continue
            events += 1
            try:
                event = translate(name, headers)
            except MalformedEvent:
                continue
            if event is not None:
                tracker.apply(event)
    return events


class _CountingFactory:
    """What panoramisk's protocol calls back into; counts the events it parsed."""

    save_stream = None

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: Any) -> None:
        self.events += 1


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def bare_panoramisk(stream: bytes) -> int:
    """panoramisk 1.4 alone: AMIProtocol.data_received (decode, split, Message.from_line)."""
    protocol = AMIProtocol()
    protocol.connection_made(_NullTransport())
    factory = _CountingFactory()
    protocol.factory = factory
    protocol.encoding = "utf-8"
    for start in range(0, len(stream), READ):
        protocol.data_received(stream[start : start + READ])
    return factory.events


def best_rate(run: Callable[[bytes], int], stream: bytes, rounds: int) -> tuple[float, int]:
    best = 0.0
    events = 0
    for _ in range(rounds):
        started = time.perf_counter()
        events = run(stream)
        best = max(best, events / (time.perf_counter() - started))
    return best, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stream, expected = build_stream(args.events)
    ours, ours_events = best_rate(pipeline, stream, args.rounds)
    bare, bare_events = best_rate(bare_panoramisk, stream, args.rounds)
    print(f"stream: {len(stream) / 1e6:.1f} MB, {expected} events (best of {args.rounds})")
    print(f"  parser + translate + tracker : {ours:>10,.0f} events/s ({ours_events} events)")
    print(f"  panoramisk bare parsing      : {bare:>10,.0f} events/s ({bare_events} events)")
    print(f"  ratio (ours / bare)          : {ours / bare:.2f}")
    print(json.dumps({
        "events_per_s": round(ours),
        "bare_parse_events_per_s": round(bare),
        "ratio": round(ours / bare, 3),
        "events": ours_events,
    }))


if __name__ == "__main__":
    main()
