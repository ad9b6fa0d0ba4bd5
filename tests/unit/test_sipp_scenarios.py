"""The SIPp scenarios the demo, tests and benches render: with and without audio to speak."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hotline_cli.demo.sipp import (
    CallerPlan,
    DtmfVia,
    Press,
    render_agent,
    render_caller,
    sipp_stats,
)

TONE = Path("/srv/tones/caller.pcap")


def steps(scenario: str) -> list[str]:
    """The scenario's elements in order, as 'tag' or 'tag:detail'."""
    out = []
    for element in ET.fromstring(scenario):
        if element.tag == "nop":
            exec_ = element.find("action/exec")
            assert exec_ is not None
            out.append(f"play:{Path(exec_.get('play_pcap_audio', '')).name}")
        elif element.tag == "recv":
            optional = "?" if element.get("optional") == "true" else ""
            out.append(f"recv:{element.get('request') or element.get('response')}{optional}")
        else:
            out.append(element.tag)
    return out


def test_silent_agent_phone_is_unchanged() -> None:
    s = steps(render_agent(800))
    assert not any(step.startswith("play:") for step in s)
    assert s[s.index("recv:ACK?") + 1] == "recv:BYE"


def test_speaking_agent_phone_plays_from_the_ack() -> None:
    s = steps(render_agent(800, Path("/srv/tones/1001.pcap")))
    assert s[s.index("recv:ACK") :][:3] == ["recv:ACK", "play:1001.pcap", "recv:BYE"]
    assert "recv:ACK?" not in s  # SIPp allows no action after an optional receive


def test_caller_speaks_after_its_choice_not_over_it() -> None:
    s = steps(render_caller(CallerPlan(dtmf="1", audio=TONE)))
    after_ack = s[s.index("send", s.index("recv:200")) + 1 :]
    # Starting a pcap stops the one playing: the tone waits until the DTMF has been sent.
    assert after_ack[:5] == ["pause", "play:dtmf_2833_1_0.pcap", "pause", "play:caller.pcap",
                             "recv:BYE"]  # fmt: skip


def test_caller_without_a_choice_speaks_at_once() -> None:
    s = steps(render_caller(CallerPlan(dtmf=None, audio=TONE)))
    assert s[s.index("send", s.index("recv:200")) + 1 :][:2] == ["play:caller.pcap", "recv:BYE"]


def test_silent_caller_plays_only_its_dtmf() -> None:
    s = steps(render_caller(CallerPlan(dtmf="2")))
    assert [step for step in s if step.startswith("play:")] == ["play:dtmf_2833_2_0.pcap"]


def test_a_pcap_name_that_would_break_the_xml_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot name"):
        render_agent(800, Path('/tmp/a"/><exec command="rm.pcap'))
    with pytest.raises(ValueError, match="cannot name"):
        render_caller(CallerPlan(audio=Path("/tmp/<a>.pcap")))


def test_keys_go_in_order_by_rtp_or_sip_info_with_rising_cseqs() -> None:
    plan = CallerPlan(dtmf="4", dtmf_after_ms=300, then=(
        Press("1", 250), Press("#", 400, DtmfVia.INFO), Press("*", 0, DtmfVia.INFO),
        Press("9", 300),
    ))  # fmt: skip
    scenario = render_caller(plan)
    s = steps(scenario)
    after_ack = s[s.index("send", s.index("recv:200")) + 1 :]
    assert after_ack[:11] == [
        "pause", "play:dtmf_2833_4_0.pcap", "pause", "play:dtmf_2833_1_1.pcap",
        "pause", "send", "recv:200", "pause", "send", "recv:200", "pause",
    ]  # fmt: skip
    assert after_ack[11] == "play:dtmf_2833_9_2.pcap"  # the third RTP key
    root = ET.fromstring(scenario)
    pauses = [int(p.get("milliseconds", "")) for p in root.iter("pause")]
    assert pauses == [300, 250, 400, 0, 300]
    sent = [(e.text or "") for e in root.iter("send")]
    infos = [m for m in sent if "INFO sip:" in m]
    assert ["Signal=#" in infos[0], "Signal=*" in infos[1]] == [True, True]
    lines = [line.strip() for m in sent for line in m.splitlines()]
    cseqs = [line for line in lines if line.startswith("CSeq:")]
    assert cseqs == ["CSeq: 1 INVITE", "CSeq: 1 ACK", "CSeq: 2 INFO", "CSeq: 3 INFO",
                     "CSeq: 4 BYE"]  # fmt: skip


def test_a_key_that_would_cut_the_rtp_key_before_it_short_is_refused() -> None:
    with pytest.raises(ValueError, match="cut that key short"):
        render_caller(CallerPlan(dtmf="1", then=(Press("2", 100),)))
    # after a SIP INFO key nothing is still playing
    render_caller(CallerPlan(dtmf=None, then=(Press("1", 0, DtmfVia.INFO), Press("2", 0))))


def test_a_key_no_phone_has_is_refused() -> None:
    with pytest.raises(ValueError, match="no DTMF key 'x'"):
        render_caller(CallerPlan(dtmf="1", then=(Press("x", 500, DtmfVia.INFO),)))


def test_sipp_statistics_are_read_from_their_last_dump(tmp_path: Path) -> None:
    # A real file: `sipp -sn uac 127.0.0.1:9 -m 2 -trace_stat -stf F -fd 1 -timeout 3s`,
    # nobody answering; SIPp dumps its counts every second and once more at its end.
    real = Path(__file__).parents[1] / "fixtures" / "sipp" / "two_failed_calls.csv"
    counts = sipp_stats(real)
    assert (counts["TotalCallCreated"], counts["SuccessfulCall(C)"]) == ("2", "0")
    assert (counts["FailedCall(C)"], counts["CurrentCall"]) == ("2", "0")
    header_only = tmp_path / "none.csv"
    header_only.write_text(real.read_text().splitlines()[0] + "\n")
    assert sipp_stats(header_only) == {}  # SIPp quit before its first dump
