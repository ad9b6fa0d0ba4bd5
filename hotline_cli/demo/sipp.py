"""Real SIP peers for the demo, the end-to-end tests and the benchmarks: SIPp callers and phones.

Scenarios are XML templates in `scenarios/`; what SIPp cannot take as a keyword (pause
lengths, the DTMF pcap, an audio pcap to speak) is filled in here.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Self

from hotline_cli.demo.dtmf_pcaps import NAMES, key_pcap
from hotline_cli.demo.ports import free_media_port, free_udp_port, udp_bound

SCENARIOS = Path(__file__).with_name("scenarios")

# SIPp stops a pcap still playing when the next one starts: the DTMF pcaps last 0.2 s.
DTMF_PCAP_MS = 250

_file_tags = itertools.count(1)


def _play(pcap: Path) -> str:
    if any(ch in str(pcap) for ch in '"<>&'):
        raise ValueError(f"cannot name {pcap} in a scenario")
    return f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>'


class DtmfVia(StrEnum):
    """How a caller's phone sends a key: in the RTP stream, or as a SIP INFO request."""

    RFC2833 = "rfc2833"  # a telephone-event pcap played into the call's RTP
    INFO = "info"  # SIP INFO, application/dtmf-relay


@dataclass(frozen=True)
class Press:
    """One key press, `after_ms` after the previous press (the first: after the answer)."""

    key: str
    after_ms: int
    via: DtmfVia = DtmfVia.RFC2833


@dataclass(frozen=True)
class CallerPlan:
    """What one batch of simulated citizens does once Asterisk answers."""

    dtmf: str | None = "1"
    dtmf_after_ms: int = 1500
    hangup_after_ms: int = 8000
    # RTP the caller sends once its choice is made (SIPp plays a pcap for its own length:
    # make it last the whole call), e.g. a tone from tests/support/audio.py.
    audio: Path | None = None
    # the keys pressed after `dtmf` (an order number, a survey answer, a second try): by RTP
    # or SIP INFO, any keys in any order (each RTP key renumbered after the one before it,
    # hotline_cli/demo/dtmf_pcaps.py); an RTP key needs DTMF_PCAP_MS before the next key
    then: tuple[Press, ...] = ()

    def presses(self) -> tuple[Press, ...]:
        first = () if self.dtmf is None else (Press(self.dtmf, self.dtmf_after_ms),)
        return first + self.then


def _check_presses(presses: Sequence[Press]) -> None:
    for before, press in zip((None, *presses), presses, strict=False):
        if press.key not in NAMES:
            raise ValueError(f"no DTMF key {press.key!r}")
        if press.after_ms < 0:
            raise ValueError(f"a key press cannot come {press.after_ms} ms early")
        if before is not None and before.via is DtmfVia.RFC2833 and press.after_ms < DTMF_PCAP_MS:
            raise ValueError(
                f"{press.key!r} {press.after_ms} ms after an RTP key would cut that key short"
            )


def _info(press: Press, cseq: int) -> str:
    """A SIP INFO carrying one key (Signal=*, # as they are), and the 200 that answers it."""
    return f"""  <send>
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[field0]" <sip:[field1]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Contact: <sip:[field1]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={press.key}
      Duration=160
    ]]>
  </send>
  <recv response="200"/>"""


def render_caller(plan: CallerPlan) -> str:
    presses = plan.presses()
    _check_presses(presses)
    steps: list[str] = []
    cseq = 1  # the INVITE's and the ACK's
    rtp_keys = 0  # each RTP key after the previous one in RTP time (hotline_cli/demo/dtmf_pcaps)
    for press in presses:
        steps.append(f'  <pause milliseconds="{press.after_ms}"/>')
        if press.via is DtmfVia.INFO:
            cseq += 1
            steps.append(_info(press, cseq))
        else:
            steps.append(_play(key_pcap(press.key, rtp_keys)))
            rtp_keys += 1
    if plan.audio is not None:
        if presses and presses[-1].via is DtmfVia.RFC2833:
            steps.append(f'  <pause milliseconds="{DTMF_PCAP_MS}"/>')
        steps.append(_play(plan.audio))
    template = string.Template((SCENARIOS / "caller.xml").read_text(encoding="utf-8"))
    return template.substitute(
        dtmf="\n".join(steps), hangup_after_ms=plan.hangup_after_ms, bye_cseq=cseq + 1
    )


def render_agent(ring_ms: int, audio: Path | None = None) -> str:
    """The phone's scenario; with `audio`, it plays that pcap from the moment it answers."""
    template = string.Template((SCENARIOS / "agent.xml").read_text(encoding="utf-8"))
    # SIPp allows no action right after an optional receive: a phone that speaks waits for
    # the ACK (Asterisk always sends it) and plays from then on.
    ack = '  <recv request="ACK" optional="true" rtd="true" crlf="true"/>'
    if audio is not None:
        ack = f'  <recv request="ACK" rtd="true" crlf="true"/>\n{_play(audio)}'
    return template.substitute(ring_ms=ring_ms, acked=ack)


class _SippProcess:
    """One SIPp run; what it prints goes to `<name>.log` in the work directory (a pipe nobody
    reads would fill up and stop SIPp in the middle of a call)."""

    def __init__(
        self, workdir: Path, args: Sequence[str], name: str, own_session: bool = False
    ) -> None:
        self.workdir = workdir
        self.args = list(args)
        self.log = workdir / f"{name}.log"
        self.own_session = own_session  # its own session and process group, signalled apart
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                "sipp",
                *self.args,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
                start_new_session=self.own_session,
            )

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGUSR1)  # SIPp's "quit now"
            try:
                await asyncio.wait_for(self.process.wait(), 3)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class SippPeer(_SippProcess):
    """A SIPp UAS on host:port running `scenario` while the `async with` lasts (its errors in
    `<name>.err` of the work directory). Entering returns once SIPp listens on the port, and
    fails saying why when SIPp quits instead (a port taken, a bad scenario)."""

    LISTEN_TIMEOUT_S = 10.0

    def __init__(self, workdir: Path, host: str, port: int, scenario: Path, name: str) -> None:
        self.host, self.port = host, port
        super().__init__(
            workdir,
            [
                "-sf",
                str(scenario),
                "-i",
                host,
                "-p",
                str(port),
                "-mp",
                str(free_media_port()),
                "-cp",
                str(free_udp_port()),
                "-nostdin",
                "-trace_err",
                "-error_file",
                str(workdir / f"{name}.err"),
            ],
            name,
        )

    async def __aenter__(self) -> Self:
        await self.start()
        try:
            await self._listening()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.LISTEN_TIMEOUT_S
        while not udp_bound(self.host, self.port, self.process.pid):
            if self.process.returncode is not None:
                said = self.log.read_text(encoding="utf-8", errors="replace").strip()
                raise RuntimeError(
                    f"SIPp on {self.host}:{self.port} quit ({self.process.returncode}): {said}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"SIPp not listening on {self.host}:{self.port} in time")
            await asyncio.sleep(0.02)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class AgentPhone(SippPeer):
    """An agent's desk phone (SIPp UAS) on host:port that rings `ring_ms` before answering
    (and with `audio`, plays that pcap into every call it answers)."""

    def __init__(
        self, workdir: Path, host: str, port: int, ring_ms: int = 1000, audio: Path | None = None
    ) -> None:
        scenario = workdir / f"agent-{port}.xml"
        workdir.mkdir(parents=True, exist_ok=True)
        scenario.write_text(render_agent(ring_ms, audio), encoding="utf-8")
        super().__init__(workdir, host, port, scenario, f"agent-{port}")


@dataclass(frozen=True)
class CallerIdentity:
    name: str
    number: str


@dataclass(frozen=True)
class CallerResult:
    ok: bool
    returncode: int
    errors: str


def _read_errors(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _injection_file(callers: Sequence[CallerIdentity]) -> str:
    """SIPp's CSV: one line per call, fields separated by ';' with no escaping at all."""
    lines = ["SEQUENTIAL"]
    for caller in callers:
        for field in (caller.name, caller.number):
            if any(ch in field for ch in ";\r\n"):
                raise ValueError(f"SIPp cannot carry {field!r} in an injection file")
        lines.append(f"{caller.name};{caller.number};")
    return "\n".join(lines) + "\n"


def _caller_files(
    workdir: Path, plan: CallerPlan, callers: Sequence[CallerIdentity]
) -> tuple[Path, Path, Path]:
    """Scenario and injection file for one SIPp run, and where its errors will go."""
    workdir.mkdir(parents=True, exist_ok=True)
    tag = next(_file_tags)
    scenario = workdir / f"caller-{tag}.xml"
    scenario.write_text(render_caller(plan), encoding="utf-8")
    injection = workdir / f"callers-{tag}.csv"
    injection.write_text(_injection_file(callers), encoding="utf-8")
    return scenario, injection, workdir / f"caller-{tag}.err"


async def place_calls(
    workdir: Path,
    *,
    target: str,
    service: str,
    callers: Sequence[CallerIdentity],
    plan: CallerPlan,
    source_ip: str = "127.0.0.2",
    rate_per_s: float = 1.0,
    timeout_s: float = 120.0,
    stats: Path | None = None,
    own_session: bool = False,
) -> CallerResult:
    """Place one call per identity through SIPp and wait until all have ended (`stats`: SIPp's
    own counts written there, `sipp_stats` reads them; `own_session`: SIPp in a process
    group of its own, a load generator apart from ours)."""
    scenario, injection, errors = _caller_files(workdir, plan, callers)
    counts = [] if stats is None else ["-trace_stat", "-stf", str(stats), "-fd", "1"]
    return await run_uac(
        workdir, scenario, errors, target=target, service=service, source_ip=source_ip,
        calls=len(callers), rate_per_s=rate_per_s, timeout_s=timeout_s,
        extra_args=["-inf", str(injection), *counts], own_session=own_session,
    )  # fmt: skip


def sipp_stats(path: Path) -> dict[str, str]:
    """The last line of a SIPp statistics file (`-trace_stat`), by column: its own count of
    calls created (`TotalCallCreated`), `SuccessfulCall(C)`, `FailedCall(C)`…"""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))


async def run_uac(
    workdir: Path,
    scenario: Path,
    errors: Path,
    *,
    target: str,
    service: str,
    source_ip: str,
    calls: int = 1,
    rate_per_s: float = 1.0,
    timeout_s: float = 120.0,
    extra_args: Sequence[str] = (),
    own_session: bool = False,
) -> CallerResult:
    """Run SIPp as a client on `scenario` for `calls` calls and wait until all have ended."""
    rate_period_ms = 1000
    proc = _SippProcess(
        workdir,
        [
            target,
            "-sf",
            str(scenario),
            "-s",
            service,
            *extra_args,
            "-i",
            source_ip,
            "-p",
            str(free_udp_port(source_ip)),
            "-mp",
            str(free_media_port()),
            "-cp",
            str(free_udp_port()),
            "-m",
            str(calls),
            "-r",
            str(rate_per_s),
            "-rp",
            str(rate_period_ms),
            "-l",
            str(max(1, calls)),
            "-nostdin",
            "-timeout",
            f"{int(timeout_s)}s",
            "-timeout_error",
            "-trace_err",
            "-error_file",
            str(errors),
        ],
        errors.stem,
        own_session,
    )
    await proc.start()
    assert proc.process is not None
    try:
        await asyncio.wait_for(proc.process.wait(), timeout_s + 5)
    finally:
        await proc.stop()
    code = proc.process.returncode if proc.process.returncode is not None else -1
    text = await asyncio.to_thread(_read_errors, errors)
    return CallerResult(ok=code == 0, returncode=code, errors=text)
