"""What recording costs: Asterisk's CPU per concurrent recorded call, disk per minute, and how
soon after hang-up a recording is finished on disk.

For each `--calls` N, twice (recording off, then on): a private hotline (real Asterisk, Redis,
backend) in this process with N agents, one SIPp phone answering for all of them and speaking
a tone into every call, and N SIPp callers speaking their own tone (tests/support/audio.py:
G.711 RTP both ways, as real calls). Once all N are talking, Asterisk's CPU is read from
/proc over `--window` seconds; then every call is hung up (AMI Hangup of the caller, as a
citizen hanging up) and each MixMonitor file is polled until finished (its header's sizes
agree with its size, Asterisk rewrites them on close).

Figures:
- cpu_pct_per_recorded_call: (CPU on - CPU off) / N, % of one core, pooled over the Ns
  (sum of the differences over the sum of N); per N in `runs`;
- disk_kb_per_min_wav: KiB per minute of the WAV files (from their sizes and header
  durations); disk_kb_per_min_compressed: the same files through the compression job's own
  verified copy (`recordings.compress.make_verified_copy`, sox to Ogg Vorbis at the
  configured quality);
- finished_p50_ms / finished_p99_ms: Asterisk's Hangup timestamp to the file found finished
  (polled every 10 ms);
- attach_p50_ms / attach_p99_ms: Asterisk's Hangup timestamp to the recording checked and
  attached by the backend's own checker (its row's `checked_at`, status attached), woken by
  the call log once the call's end is committed.
- both_voices_share: share of the recorded windows holding both the caller's and the
  agent's tone (a sanity check that the calls really carried audio both ways).

    .venv/bin/python bench/recording.py [--calls 10,40,80] [--window 20] [--rate 20]
    .venv/bin/python bench/recording.py --quick     # 3 calls, a short window: about a minute

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/ has the audio tools

from backlog import overrides, percentile, proc_cpu_s
from sqlalchemy import select

from config.settings import load_settings
from crm.db.call_models import Recording
from crm.db.engine import SessionFactory
from crm.domain.calls import RecordingStatus
from hotline_cli.app import running_hotline
from hotline_cli.demo.ports import free_udp_port
from hotline_cli.demo.sipp import AgentPhone, CallerIdentity, CallerPlan, place_calls
from recordings.compress import SOX, make_verified_copy
from telephony.call import CallChanged, CallState
from tests.support.audio import (
    AGENT_A_HZ,
    CALLER_HZ,
    read_wav,
    tone_pcap,
    tone_share,
    wav_finished,
    windows,
)

SAMPLE_FILES = 5  # files compressed and analysed per run
POLL_S = 0.01


def recording_overrides(
    state_dir: Path, agents: int, phone_port: int, record: bool
) -> dict[str, Any]:
    """The backlog bench's centre, recording on or off, with no position whispers: their
    ChanSpy channels would be counted as recording's cost."""
    return {
        **overrides(state_dir, agents, phone_port, announce_position=False),
        "recordings": {"enabled": record},
    }


@dataclass
class Calls:
    """The tracker's view of the bench's calls: who is talking, their channels, recordings
    and Asterisk's hang-up times."""

    talking: dict[str, str] = field(default_factory=dict)  # uniqueid -> caller channel
    recordings: dict[str, str] = field(default_factory=dict)  # uniqueid -> relative name
    ended_at: dict[str, float] = field(default_factory=dict)  # Asterisk's clock
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, effect: CallChanged) -> None:
        call = effect.call
        if call.state is CallState.TALKING:
            self.talking[call.uniqueid] = call.channel
        if call.recording:
            self.recordings[call.uniqueid] = call.recording
        if not call.active and call.ended_at is not None:
            self.ended_at[call.uniqueid] = call.ended_at
        self.changed.set()

    async def wait(self, done: Any, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not done():
                self.changed.clear()
                await self.changed.wait()


def finished_now(paths: dict[str, Path]) -> list[str]:
    return [u for u, path in paths.items() if wav_finished(path)]


async def finished_times(paths: dict[str, Path], timeout_s: float) -> dict[str, float]:
    """uniqueid -> wall-clock time its file was first seen finished (one thread hop per
    round over every pending file, so the round stays short with 80 files)."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(seen) < len(paths) and time.monotonic() < deadline:
        pending = {u: p for u, p in paths.items() if u not in seen}
        done = await asyncio.to_thread(finished_now, pending)
        now = time.time()
        seen.update(dict.fromkeys(done, now))
        await asyncio.sleep(POLL_S)
    return seen


def kb_per_min(size: int, seconds: float) -> float | None:
    return round(size / 1024 / seconds * 60, 1) if seconds else None


async def attached_times(
    sessions: SessionFactory, linkedids: set[str], timeout_s: float
) -> dict[str, float]:
    """linkedid -> when the backend's checker attached its recording (epoch seconds)."""
    query = select(Recording.linkedid, Recording.checked_at).where(
        Recording.linkedid.in_(linkedids), Recording.status == RecordingStatus.ATTACHED
    )
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(found) < len(linkedids) and time.monotonic() < deadline:
        async with sessions() as session:
            for linkedid, checked_at in (await session.execute(query)).all():
                if checked_at is not None:
                    found[linkedid] = checked_at.replace(tzinfo=UTC).timestamp()
        await asyncio.sleep(0.2)
    return found


async def disk_and_audio(paths: list[Path], work: Path, quality: int) -> dict[str, Any]:
    """KiB per minute as WAV and as the compression job's verified Ogg copy, and both voices'
    share, on a sample of the finished files."""
    wav_bytes = sum(p.stat().st_size for p in paths)
    wav_s = sum(read_wav(p).duration_s for p in paths)
    ogg_bytes, ogg_s, both = 0, 0.0, []
    for path in paths[:SAMPLE_FILES]:
        out = work / f"{path.stem}.ogg"
        await make_verified_copy(SOX, path, out, quality)
        audio = read_wav(path)
        ogg_bytes, ogg_s = ogg_bytes + out.stat().st_size, ogg_s + audio.duration_s
        frames = windows(audio)[5:-5]  # the edges may be a packet or two apart
        both.append(min(tone_share(frames, CALLER_HZ), tone_share(frames, AGENT_A_HZ)))
    return {
        "wav_kb_per_min": kb_per_min(wav_bytes, wav_s),
        "ogg_kb_per_min": kb_per_min(ogg_bytes, ogg_s),
        "recorded_s": round(wav_s, 1),
        "both_voices_share": round(min(both), 3) if both else None,
    }


async def one_run(calls: int, record: bool, window_s: float, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        state = Path(tmp)
        ramp_s = calls / rate + 10
        speak_s = ramp_s + window_s + 30  # SIPp plays a pcap for its own length
        caller_pcap = tone_pcap(state / "caller.pcap", CALLER_HZ, speak_s)
        agent_pcap = tone_pcap(state / "agent.pcap", AGENT_A_HZ, speak_s)
        phone_port = free_udp_port()
        settings = load_settings(overrides=recording_overrides(state, calls, phone_port, record))
        seen = Calls()
        async with (
            running_hotline(settings, [seen], http=False) as hotline,
            AgentPhone(state / "sipp", "127.0.0.1", phone_port, ring_ms=300, audio=agent_pcap),
        ):
            await hotline.staff_queues()
            people = [CallerIdentity(f"市民{i:04d}", f"139{i:08d}") for i in range(calls)]
            placing = asyncio.create_task(place_calls(
                state / "sipp", target=f"{settings.sip.host}:{settings.sip.port}",
                service=settings.centre.inbound_number, callers=people,
                source_ip=settings.carrier.match, rate_per_s=rate, timeout_s=speak_s + 60,
                plan=CallerPlan(dtmf="0", dtmf_after_ms=300, hangup_after_ms=600_000,
                                audio=caller_pcap),
            ))  # fmt: skip
            await seen.wait(lambda: len(seen.talking) >= calls, ramp_s + 60)
            await asyncio.sleep(1.0)  # the last connected calls' media settles
            pid = hotline.asterisk.pid
            assert pid is not None
            cpu_before, wall_before = proc_cpu_s(pid), time.monotonic()
            await asyncio.sleep(window_s)
            cpu_pct = 100 * (proc_cpu_s(pid) - cpu_before) / (time.monotonic() - wall_before)
            load_1m = os.getloadavg()[0]
            names = seen.recordings if record else {}
            paths = {u: settings.recordings_dir / names[u] for u in seen.talking if u in names}
            # Watching before the first hang-up: no file finishes unseen while others are hung up.
            watching = asyncio.create_task(finished_times(paths, 60))
            await asyncio.gather(*(
                hotline.ami.action("Hangup", Channel=channel, Cause="16")
                for channel in seen.talking.values()
            ))  # fmt: skip
            finished = await watching
            await seen.wait(lambda: set(seen.talking) <= set(seen.ended_at), 30)
            attached = await attached_times(hotline.sessions, set(paths), 60)
            result = await placing
            files = sorted(settings.recordings_dir.rglob("*.wav"))
            quality = settings.recordings.compress_quality
            sample = [paths[u] for u in finished]
            figures = await disk_and_audio(sample, state, quality) if record else {}
    delays = sorted(1000 * (finished[u] - seen.ended_at[u]) for u in finished)
    attach = sorted(1000 * (attached[u] - seen.ended_at[u]) for u in attached)
    return {
        "calls": calls,
        "recording": record,
        "asterisk_cpu_pct": round(cpu_pct, 1),
        "load_1m": round(load_1m, 2),
        "files": len(files),
        "finished": len(finished),
        "finished_p50_ms": round(statistics.median(delays), 1) if delays else None,
        "finished_p99_ms": percentile(delays, 0.99),
        "finished_max_ms": round(delays[-1], 1) if delays else None,
        "attached": len(attached),
        "attach_p50_ms": round(statistics.median(attach), 1) if attach else None,
        "attach_p99_ms": percentile(attach, 0.99),
        "sipp_ok": result.ok,
        **figures,
    }


async def run(sizes: list[int], window_s: float, rate: float) -> dict[str, Any]:
    runs = []
    for calls in sizes:
        off = await one_run(calls, False, window_s, rate)
        on = await one_run(calls, True, window_s, rate)
        per_call = (on["asterisk_cpu_pct"] - off["asterisk_cpu_pct"]) / calls
        runs.append({"calls": calls, "off": off, "on": on, "cpu_pct_per_call": round(per_call, 3)})
        print(
            f"{calls} calls: Asterisk {off['asterisk_cpu_pct']} % off, {on['asterisk_cpu_pct']} %"
            f" on -> {per_call:.3f} % per recorded call; files off {off['files']}, on "
            f"{on['files']} ({on['finished']} finished, p50 {on['finished_p50_ms']} ms, p99 "
            f"{on['finished_p99_ms']} ms); load {on['load_1m']}",
            flush=True,
        )
    ons = [r["on"] for r in runs]
    delays_p99 = [o["finished_p99_ms"] for o in ons if o["finished_p99_ms"] is not None]
    delays_p50 = [o["finished_p50_ms"] for o in ons if o["finished_p50_ms"] is not None]
    attach_p99 = [o["attach_p99_ms"] for o in ons if o["attach_p99_ms"] is not None]
    attach_p50 = [o["attach_p50_ms"] for o in ons if o["attach_p50_ms"] is not None]
    diff = sum(r["on"]["asterisk_cpu_pct"] - r["off"]["asterisk_cpu_pct"] for r in runs)
    wav = [o["wav_kb_per_min"] for o in ons if o.get("wav_kb_per_min")]
    ogg = [o["ogg_kb_per_min"] for o in ons if o.get("ogg_kb_per_min")]
    return {
        "cpu_pct_per_recorded_call": round(diff / sum(sizes), 3),
        "disk_kb_per_min_wav": round(statistics.mean(wav), 1) if wav else None,
        "disk_kb_per_min_compressed": round(statistics.mean(ogg), 1) if ogg else None,
        "compressed_with": "recordings.compress.make_verified_copy (sox, Ogg Vorbis)",
        "finished_p50_ms": max(delays_p50) if delays_p50 else None,
        "finished_p99_ms": max(delays_p99) if delays_p99 else None,
        "attach_p50_ms": max(attach_p50) if attach_p50 else None,
        "attach_p99_ms": max(attach_p99) if attach_p99 else None,
        "attached_all": all(o["attached"] == o["finished"] for o in ons),
        "files_with_recording_off": sum(r["off"]["files"] for r in runs),
        "both_voices_share": min((o.get("both_voices_share") or 0.0) for o in ons),
        "all_sipp_ok": all(r["on"]["sipp_ok"] and r["off"]["sipp_ok"] for r in runs),
        "window_s": window_s,
        "cores": os.cpu_count(),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="10,40,80", help="concurrent calls, comma-separated")
    parser.add_argument("--window", type=float, default=20.0, help="CPU window, seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="calls placed per second")
    parser.add_argument("--quick", action="store_true", help="3 calls, 3 s window: a smoke run")
    args = parser.parse_args()
    sizes = [3] if args.quick else [int(n) for n in args.calls.split(",")]
    window = 3.0 if args.quick else args.window
    figures = asyncio.run(run(sizes, window, args.rate))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
