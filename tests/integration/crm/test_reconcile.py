"""Reconciliation on SQLite and PostgreSQL: a seeded database, recordings directory and
Asterisk record (lines shaped as this project's Asterisk 16 writes them) with one case of
each kind; `hotline reconcile --repair --json` (the command itself) fixes what it may and
deletes no file."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory, session_factory
from crm.domain.calls import CallOutcome, Disposition, RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.enums import Status
from recordings.reconcile import Kind, Reconciler, load_witness
from tests.integration.crm.recording_seed import (
    NOW,
    add_call,
    add_order,
    add_recording,
    registrar,
)
from tests.support.sox_files import make_wav

FIXTURES = Path(__file__).parents[2] / "fixtures" / "asterisk_record"
DAY = "20260601"
ENDED = NOW - timedelta(days=1)

EXPECTED = {
    (Kind.NO_OUTCOME, "1780000001.1"),
    (Kind.NO_RECORDING, "1780000002.2"),
    (Kind.NO_RECORDING, "1780000003.3"),
    (Kind.ORPHAN_FILE, ""),
    (Kind.MISSING, "1780000004.4"),
    (Kind.ALTERED, "1780000005.5"),
    (Kind.MISSING, "1780000006.6"),
    (Kind.NOT_IN_OURS, "1780000007.7"),
    (Kind.ANSWERED_DISAGREES, "1780000008.8"),
    (Kind.END_MISSING, "1780000009.9"),
}
# What --repair cannot settle: a person chooses an outcome, finds a file, looks at a file.
UNREPAIRABLE = EXPECTED - {
    (Kind.NO_RECORDING, "1780000002.2"),
    (Kind.MISSING, "1780000006.6"),
    (Kind.END_MISSING, "1780000009.9"),
}


def witness_files(log_dir: Path, day: str = "2026-05-31") -> None:
    """Asterisk's record: the captured answered and abandoned calls' lines, re-keyed and
    moved to `day`."""
    text = (FIXTURES / "Master.csv").read_text(encoding="utf-8")
    cdr = text.replace("2026-12-01 ", f"{day} ").splitlines()
    answered, abandoned = cdr[0], cdr[4]
    lines = [
        answered.replace("1796131416.0", "1780000007.7"),
        abandoned.replace("1796131422.3", "1780000008.8"),
        answered.replace("1796131416.0", "1780000009.9"),
        answered.replace("1796131416.0", "1780000001.1"),
        "a line Asterisk never wrote",
    ]
    (log_dir / "cdr-csv").mkdir(parents=True)
    (log_dir / "cdr-csv" / "Master.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (log_dir / "queue_log").write_text(
        "1796131417|w1.not.ours|hotline|NONE|ENTERQUEUE||13900000001|1\n"
        "1796131418|w1.not.ours|hotline|王芳|CONNECT|1|1796131417.1|0\n"
        "1796131418|w3.open|hotline|王芳|CONNECT|1|1796131417.1|0\n"
        "1796131418|a.no.outcome|hotline|王芳|CONNECT|1|1796131417.1|0\n"
        "1796131423|w2.disagrees|hotline|NONE|ENTERQUEUE||13900000004|1\n"
        "1796131426|w2.disagrees|hotline|NONE|ABANDON|1|1|3\n",
        encoding="utf-8",
    )


def header_only(path: Path) -> None:
    """What MixMonitor leaves for a caller no agent answered: a WAV header, no audio."""
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    path.write_bytes(struct.pack("<4sI4s", b"RIFF", 36, b"WAVE") + fmt + b"data" + bytes(4))


async def seed(sessions: SessionFactory, root: Path) -> None:
    def wav(linkedid: str) -> tuple[str, str]:
        path = f"{DAY}/{linkedid}.wav"
        return path, make_wav(root / path, 0.4)

    async with sessions() as session, session.begin():
        user_id = await registrar(session)
        quiet = Disposition.ANSWERED_AT_ONCE
        for linkedid, disposition in [("1780000001.1", None), ("1780000002.2", quiet),
                                      ("1780000003.3", quiet), ("1780000004.4", None),
                                      ("1780000005.5", None), ("1780000006.6", None),
                                      ("1780000008.8", quiet)]:  # fmt: skip
            add_call(session, linkedid, ENDED, disposition=disposition)
        add_call(session, "1780000009.9", None, outcome=CallOutcome.IN_PROGRESS)
        add_call(session, "1780000010.10", ENDED, answered=False)  # its file: no finding
        for n, linkedid in enumerate(["1780000004.4", "1780000005.5", "1780000006.6"]):
            add_order(session, user_id, f"SZ2026060100{n}", linkedid, Status.DISPATCHED, None)
        await session.flush()
        for linkedid in ["1780000001.1", "1780000004.4", "1780000005.5", "1780000006.6",
                         "1780000008.8", "1780000009.9"]:  # fmt: skip
            path, digest = wav(linkedid)
            status = (
                RecordingStatus.MISSING if linkedid == "1780000006.6" else RecordingStatus.ATTACHED
            )
            add_recording(session, linkedid, path, digest, ENDED, status)
    wav("1780000002.2")
    wav("1780000099.9")
    header_only(root / DAY / "1780000010.10.wav")
    (root / DAY / "1780000004.4.wav").unlink()
    with (root / DAY / "1780000005.5.wav").open("r+b") as f:
        f.seek(100)
        f.write(b"\x01\x02\x03")


def found(findings: list[dict[str, str]]) -> set[tuple[Kind, str]]:
    return {(Kind(f["kind"]), f["linkedid"]) for f in findings}


def run_cli(
    state_dir: Path, database_url: str, root: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOTLINE_DATABASE__URL": database_url,
        "HOTLINE_RECORDINGS__DIR": str(root),
    }
    return subprocess.run(
        [sys.executable, "-m", "hotline_cli.main", "--state-dir", str(state_dir), "reconcile",
         "--grace-s", "0", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


async def test_each_kind_is_listed(engine: AsyncEngine, tmp_path: Path) -> None:
    sessions, root = session_factory(engine), tmp_path / "recordings"
    await seed(sessions, root)
    witness_files(tmp_path / "log")
    witness = load_witness(tmp_path / "log" / "cdr-csv" / "Master.csv",
                           tmp_path / "log" / "queue_log", "PJSIP/carrier-")  # fmt: skip
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.wav")}

    report = await Reconciler(sessions, root, timedelta(0)).run(utc_now(), witness, repair=False)

    assert {(f.kind, f.linkedid) for f in report.findings} == EXPECTED
    assert report.witness_bad_lines == 1 and report.witness_calls == 4
    assert report.unanswered_call_files == 1
    by_kind = {(f.kind, f.linkedid): f for f in report.findings}
    assert by_kind[(Kind.ORPHAN_FILE, "")].path == f"{DAY}/1780000099.9.wav"
    assert by_kind[(Kind.NO_RECORDING, "1780000002.2")].path == f"{DAY}/1780000002.2.wav"
    assert by_kind[(Kind.MISSING, "1780000004.4")].orders == ("SZ20260601000",)
    assert all(not f.repaired for f in report.findings)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.wav")} == before
    assert "1390000000" not in report.to_json()


async def test_the_command_repairs_what_it_may(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    sessions, root, state = session_factory(engine), tmp_path / "recordings", tmp_path / "state"
    await seed(sessions, root)
    witness_files(state / "asterisk" / "log")
    files_before = sorted(root.rglob("*.wav"))

    repaired = run_cli(state, database_url, root, "--repair", "--json")
    assert repaired.returncode == 1, repaired.stderr
    report = json.loads(repaired.stdout)
    assert found(report["findings"]) == EXPECTED
    assert "1390000000" not in repaired.stdout + repaired.stderr
    assert sorted(root.rglob("*.wav")) == files_before  # nothing deleted

    async with sessions() as session:
        rows = {r.linkedid: r for r in await session.scalars(select(Recording))}
        open_call = await session.get(CallRecord, "1780000009.9")
    assert rows["1780000002.2"].status is RecordingStatus.PENDING
    assert rows["1780000002.2"].path == f"{DAY}/1780000002.2.wav"
    assert rows["1780000004.4"].status is RecordingStatus.MISSING
    assert rows["1780000005.5"].status is RecordingStatus.ALTERED
    assert rows["1780000006.6"].status is RecordingStatus.PENDING  # its check re-queued
    assert open_call is not None and open_call.outcome is CallOutcome.ANSWERED
    assert str(open_call.ended_at) == "2026-05-31 13:23:41"  # Asterisk's end, UTC
    assert open_call.talk_s is not None and open_call.end_reason

    again = run_cli(state, database_url, root, "--json")
    # Its end known now, the call Asterisk saw end is an answered call still owing an outcome.
    assert found(json.loads(again.stdout)["findings"]) == UNREPAIRABLE | {
        (Kind.NO_OUTCOME, "1780000009.9")
    }
    text = run_cli(state, database_url, root)
    assert "asterisk_call_not_in_our_records: call 1780000007.7" in text.stdout
    assert "orders SZ20260601000" in text.stdout


async def test_an_end_is_filled_in_only_once_the_call_is_surely_over(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A call's CDR is written in parts (at each change of the other party): "ended" there is
    trusted while the call is not up, or hours later when nobody can say."""
    sessions, root = session_factory(engine), tmp_path / "recordings"
    async with sessions() as session, session.begin():
        add_call(session, "1780000009.9", None, outcome=CallOutcome.IN_PROGRESS)
    witness_files(tmp_path / "log", day=f"{utc_now():%Y-%m-%d}")
    witness = load_witness(tmp_path / "log" / "cdr-csv" / "Master.csv",
                           tmp_path / "log" / "queue_log", "PJSIP/carrier-")  # fmt: skip
    now = max(c.ended_at for c in witness.calls.values()) + timedelta(minutes=1)
    reconciler = Reconciler(sessions, root, timedelta(0))

    up = await reconciler.run(now, witness, repair=True, live={"1780000009.9"})
    assert (Kind.END_MISSING, "1780000009.9") not in {(f.kind, f.linkedid) for f in up.findings}
    unknown = await reconciler.run(now, witness, repair=True)
    [end] = [f for f in unknown.findings if f.kind is Kind.END_MISSING]
    assert end.repaired.startswith("none")
    async with sessions() as session:
        call = await session.get(CallRecord, "1780000009.9")
        assert call is not None and call.ended_at is None
    over = await reconciler.run(now, witness, repair=True, live=set())
    [end] = [f for f in over.findings if f.kind is Kind.END_MISSING]
    assert end.repaired == "end filled in from Asterisk's record"


async def test_the_periodic_pass_compares_sizes(engine: AsyncEngine, tmp_path: Path) -> None:
    sessions, root = session_factory(engine), tmp_path / "recordings"
    path = f"{DAY}/1780000011.11.wav"
    digest = make_wav(root / path, 0.4)
    async with sessions() as session, session.begin():
        add_call(session, "1780000011.11", ENDED, disposition=Disposition.TEST)
        await session.flush()
        add_recording(session, "1780000011.11", path, digest, ENDED).size_bytes = (
            (root / path).stat().st_size
        )
    reconciler = Reconciler(sessions, root, timedelta(0))
    assert not (await reconciler.run(utc_now(), None, repair=False, rehash=False)).findings
    with (root / path).open("r+b") as f:
        f.truncate(1000)
    report = await reconciler.run(utc_now(), None, repair=True, rehash=False)
    assert [(f.kind, f.repaired) for f in report.findings] == [(Kind.ALTERED, "marked altered")]
