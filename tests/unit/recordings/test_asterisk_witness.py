"""Asterisk's own record read back: lines captured from this project's Asterisk 16.28 (an
answered call, an IVR hang-up, a call abandoned in the queue with its position whisper)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from recordings.asterisk_witness import parse_cdr_csv, parse_queue_log, witness_calls

FIXTURES = Path(__file__).parents[2] / "fixtures" / "asterisk_record"
CARRIER = "PJSIP/carrier-"
ANSWERED, IVR_HANGUP, ABANDONED = "1796131416.0", "1796131421.2", "1796131422.3"


def _cdr() -> str:
    return (FIXTURES / "Master.csv").read_text(encoding="utf-8")


def _queue_log() -> str:
    return (FIXTURES / "queue_log").read_text(encoding="utf-8")


def test_cdr_rows_are_read_in_asterisks_column_order() -> None:
    parsed = parse_cdr_csv(_cdr())
    assert parsed.bad_lines == 0
    first = parsed.items[0]
    assert (first.channel, first.dstchannel, first.lastapp) == (
        "PJSIP/carrier-00000000", "PJSIP/1001-00000001", "Queue")  # fmt: skip
    assert first.start == datetime(2026, 12, 1, 13, 23, 36)
    assert first.end == datetime(2026, 12, 1, 13, 23, 41)
    assert (first.uniqueid, first.linkedid, first.sequence) == (ANSWERED, ANSWERED, 0)
    assert first.disposition == "ANSWERED"


def test_the_witness_holds_the_hotlines_calls_and_not_the_whispers() -> None:
    calls = witness_calls(parse_cdr_csv(_cdr()).items, parse_queue_log(_queue_log()).items, CARRIER)
    assert set(calls) == {ANSWERED, IVR_HANGUP, ABANDONED}  # not hotline-pos-…
    answered, ivr, abandoned = calls[ANSWERED], calls[IVR_HANGUP], calls[ABANDONED]
    assert answered.answered and answered.queued and not answered.abandoned
    assert not ivr.answered and not ivr.queued
    assert abandoned.queued and abandoned.abandoned and not abandoned.answered
    assert abandoned.ended_at == datetime(2026, 12, 1, 13, 23, 46)
    # the agent answered at queue_log's CONNECT (the reconciliation's time for a call
    # answered while the backend was down)
    assert answered.answered_at == datetime(2026, 12, 1, 13, 23, 38)
    assert ivr.answered_at is None and abandoned.answered_at is None


def test_queue_log_keeps_caller_events_only() -> None:
    parsed = parse_queue_log(_queue_log())
    assert parsed.bad_lines == 0
    assert [(e.callid, e.event) for e in parsed.items] == [
        (ANSWERED, "ENTERQUEUE"), (ANSWERED, "CONNECT"), (ANSWERED, "COMPLETECALLER"),
        (ABANDONED, "ENTERQUEUE"), (ABANDONED, "ABANDON"),
    ]  # fmt: skip
    assert parsed.items[1].at == datetime(2026, 12, 1, 13, 23, 38)


def test_bad_lines_are_counted_and_skipped() -> None:
    lines = _cdr().splitlines()
    cdr = "\n".join([
        lines[0],
        '"truncated","line',
        lines[1].replace("2026-12-01 13:23:41", "yesterday"),
        '"a","b"',
        lines[4],
        "",
    ])  # fmt: skip
    parsed = parse_cdr_csv(cdr)
    assert parsed.bad_lines == 3
    assert [r.linkedid for r in parsed.items] == [ANSWERED, ABANDONED]
    queue = parse_queue_log("garbage\n1796131417|x\nnot-a-time|c|q|a|CONNECT|\n"
                            + _queue_log())  # fmt: skip
    assert queue.bad_lines == 3 and len(queue.items) == 5


def test_a_line_still_being_written_is_left_for_the_next_reading() -> None:
    whole, being_written = _cdr(), _cdr().splitlines()[0][:40]
    parsed = parse_cdr_csv(whole + being_written)
    assert parsed.bad_lines == 0 and len(parsed.items) == 5
    queue = parse_queue_log(_queue_log() + "1796131430|1796131422.3|hot")
    assert queue.bad_lines == 0 and len(queue.items) == 5


def test_nothing_parsed_keeps_a_caller_number() -> None:
    calls = witness_calls(parse_cdr_csv(_cdr()).items, parse_queue_log(_queue_log()).items, CARRIER)
    kept = repr(parse_cdr_csv(_cdr()).items) + repr(parse_queue_log(_queue_log()).items)
    assert "1390000000" not in kept + repr(calls)
