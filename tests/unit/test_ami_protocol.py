"""AMI wire format: framing, decoding, malformed input, action encoding.

Tests marked with the ``panoramisk`` parameter run the same assertion against plain
panoramisk 1.4 and are expected to fail there (strict xfail): they prove the defect exists
upstream and that ``telephony.ami_protocol`` neutralises it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from panoramisk.ami_protocol import AMIProtocol

from telephony.ami_protocol import AmiParser, encode_action, parse_message

BANNER = b"Asterisk Call Manager/5.0.6\r\n"
CHINESE_EVENT = (
    "Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\n"
    "CallerIDNum: 13800138000\r\nCallerIDName: 张三丰\r\nUniqueid: 1700000000.1\r\n\r\n"
).encode()
UPSTREAM_DEFECT = pytest.mark.xfail(strict=True, reason="panoramisk 1.4 defect")


class RecordingTransport:
    """Just enough of an asyncio transport to drive a protocol without a socket."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    abort = close

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class _Collector:
    """Stands in for panoramisk's Manager: records what the protocol dispatches."""

    forgetable_actions = ()
    awaiting_actions: list[Any] = []  # noqa: RUF012
    save_stream = None

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def dispatch(self, message: Any) -> None:
        self.messages.append(dict(message))


def parse_with_panoramisk(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    protocol = AMIProtocol()
    protocol.connection_made(RecordingTransport())
    collector = _Collector()
    protocol.factory = collector
    protocol.encoding = "utf-8"
    for chunk in chunks:
        protocol.data_received(chunk)
    return collector.messages


def parse_with_ours(chunks: Iterable[bytes]) -> list[dict[str, Any]]:
    parser = AmiParser()
    return [message for chunk in chunks for message in parser.feed(chunk)]


Parse = Callable[[Iterable[bytes]], list[dict[str, Any]]]
BOTH = [
    pytest.param(parse_with_ours, id="ours"),
    pytest.param(parse_with_panoramisk, id="panoramisk", marks=UPSTREAM_DEFECT),
]


@pytest.mark.parametrize("parse", BOTH)
def test_chinese_character_split_across_reads_arrives_intact(parse: Parse) -> None:
    stream = BANNER + CHINESE_EVENT
    cut = stream.index("张".encode()) + 1  # inside the 3-byte sequence of 张
    [event] = parse([stream[:cut], stream[cut:]])
    assert event["CallerIDName"] == "张三丰"


def test_every_split_point_gives_the_same_messages() -> None:
    stream = BANNER + CHINESE_EVENT + b"Response: Success\r\nActionID: 1\r\nPing: Pong\r\n\r\n"
    whole = parse_with_ours([stream])
    assert [m.get("CallerIDName") for m in whole] == ["张三丰", None]
    for cut in range(1, len(stream)):
        assert parse_with_ours([stream[:cut], stream[cut:]]) == whole, cut


def test_byte_by_byte_feed_gives_the_same_messages() -> None:
    stream = BANNER + CHINESE_EVENT * 3
    assert parse_with_ours(stream[i : i + 1] for i in range(len(stream))) == parse_with_ours(
        [stream]
    )


def test_banner_is_taken_and_not_parsed_as_a_header() -> None:
    parser = AmiParser()
    assert parser.feed(b"Asterisk Call Man") == []
    assert parser.feed(b"ager/5.0.6\r\nResponse: Success\r\nActionID: a\r\n\r\n") == [
        {"Response": "Success", "ActionID": "a"}
    ]
    assert parser.banner == "Asterisk Call Manager/5.0.6"


def test_not_an_asterisk_banner_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    parser = AmiParser()
    assert parser.feed(b"SSH-2.0-OpenSSH\r\n") == []
    assert "not an Asterisk manager" in caplog.text


def test_repeated_headers_are_joined_in_order() -> None:
    [event] = parse_message_list(
        b"Event: Hangup\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nChanVariable: C=\r\n\r\n"
    )
    assert event["ChanVariable"] == "A=1\nB=2\nC="


def test_values_keep_colons_and_empty_values_are_empty() -> None:
    [event] = parse_message_list(b"Event: X\r\nAppData: a: b:c\r\nEmpty: \r\nBare:\r\n\r\n")
    assert event == {"Event": "X", "AppData": "a: b:c", "Empty": "", "Bare": ""}


def test_malformed_lines_are_skipped_and_the_rest_kept(caplog: pytest.LogCaptureFixture) -> None:
    [event] = parse_message_list(
        b"Event: Newstate\r\nno colon here\r\n: no name\r\n\xff\xfe\x00garbage\r\nState: Up\r\n\r\n"
    )
    assert event == {"Event": "Newstate", "State": "Up"}
    assert "without a colon" in caplog.text
    assert "without a header name" in caplog.text


def test_message_without_event_or_response_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_message_list(b"Foo: bar\r\n\r\nEvent: Ok\r\n\r\n") == [{"Event": "Ok"}]
    assert "neither Event nor Response" in caplog.text


def test_garbage_bytes_are_replaced_not_dropped() -> None:
    [event] = parse_message_list(b"Event: X\r\nCallerIDName: \xe5\xbc\xff\r\n\r\n")
    assert event["CallerIDName"] == "\ufffd\ufffd"


@pytest.mark.parametrize(
    ("name", "cut_bytes"),
    [("张三丰", 1), ("张三丰", 2), ("Zoë", 1), ("号😀", 1), ("号😀", 2), ("号😀", 3)],
)
def test_a_character_cut_at_the_end_of_a_value_is_dropped(name: str, cut_bytes: int) -> None:
    """Asterisk truncates a long display name by bytes: it ends at its last whole character."""
    raw = name.encode()[:-cut_bytes]
    data = BANNER + b"Event: Newchannel\r\nCallerIDName: " + raw + b"\r\nState: Up\r\n\r\n"
    whole = name[:-1]
    assert AmiParser().feed(data) == [{"Event": "Newchannel", "CallerIDName": whole, "State": "Up"}]
    parser = AmiParser()  # the same, with the stream arriving one byte per read
    events = [event for i in range(len(data)) for event in parser.feed(data[i : i + 1])]
    assert events == [{"Event": "Newchannel", "CallerIDName": whole, "State": "Up"}]


def test_a_cut_character_inside_a_value_stays_visible() -> None:
    [event] = parse_message_list(b"Event: X\r\nAppData: \xe5\xbc,Queue\r\n\r\n")
    assert event["AppData"] == "\ufffd,Queue"


def test_extra_blank_lines_between_messages_are_harmless() -> None:
    assert parse_message_list(b"\r\n\r\nEvent: A\r\n\r\n\r\n\r\n\r\nEvent: B\r\n\r\n") == [
        {"Event": "A"},
        {"Event": "B"},
    ]


def test_huge_header_value_within_limit_is_kept() -> None:
    name = "长" * 5000
    [event] = parse_message_list(f"Event: X\r\nCallerIDName: {name}\r\n\r\n".encode())
    assert event["CallerIDName"] == name


def test_message_over_the_limit_is_dropped_and_the_stream_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parser = AmiParser(max_message_chars=1000)
    parser.feed(BANNER)
    huge = b"Event: X\r\nCallerIDName: " + b"x" * 5000 + b"\r\n\r\nEvent: After\r\n\r\n"
    received = [m for i in range(0, len(huge), 64) for m in parser.feed(huge[i : i + 64])]
    assert received == [{"Event": "After"}]
    assert "over 1000 chars" in caplog.text
    assert parser.feed(b"Event: Again\r\n\r\n") == [{"Event": "Again"}]


def test_oversized_complete_message_in_one_read_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parser = AmiParser(max_message_chars=100)
    parser.feed(BANNER)
    assert parser.feed(b"Event: X\r\nV: " + b"y" * 200 + b"\r\n\r\nEvent: Y\r\n\r\n") == [
        {"Event": "Y"}
    ]
    assert "dropped (limit 100)" in caplog.text


def test_message_cut_off_by_close_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    parser = AmiParser()
    cut_off = b"Event: Hangup\r\nChannel: PJSIP/1-0\r\nCallerIDName: \xe5\xbc"
    assert parser.feed(BANNER + cut_off) == []
    with caplog.at_level(logging.WARNING):
        parser.close()
    assert "ended inside a message" in caplog.text


def test_separator_split_across_reads() -> None:
    parser = AmiParser()
    parser.feed(BANNER + b"Event: A\r\n")
    assert parser.feed(b"\r") == []
    assert parser.feed(b"\nEvent: B\r\n\r") == [{"Event": "A"}]
    assert parser.feed(b"\n") == [{"Event": "B"}]


def parse_message_list(data: bytes) -> list[dict[str, str]]:
    return AmiParser().feed(BANNER + data)


def test_parse_message_returns_none_for_headerless_text() -> None:
    assert parse_message("just text") is None


# --- writing actions ------------------------------------------------------------------------

INJECTION = "x\r\nAction: Hangup\r\nChannel: PJSIP/agent-0001"


def send_with_ours(transport: RecordingTransport, headers: dict[str, str]) -> None:
    transport.write(encode_action(headers.pop("Action"), "id-1", headers))


def send_with_panoramisk(transport: RecordingTransport, headers: dict[str, str]) -> None:
    protocol = AMIProtocol()
    protocol.connection_made(transport)
    protocol.send(headers)


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(send_with_ours, id="ours"),
        pytest.param(send_with_panoramisk, id="panoramisk", marks=UPSTREAM_DEFECT),
    ],
)
async def test_crlf_in_a_value_is_refused_before_anything_is_written(
    send: Callable[[RecordingTransport, dict[str, str]], None],
) -> None:
    transport = RecordingTransport()
    with pytest.raises(ValueError, match="contains"):
        send(transport, {"Action": "Originate", "Channel": "PJSIP/1001", "CallerID": INJECTION})
    assert transport.written == b""


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\0b", "\r\n"])
def test_control_characters_refused_in_values_keys_and_names(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_action("Originate", "id", {"CallerID": bad})
    with pytest.raises(ValueError):
        encode_action("Originate", "id", {bad: "v"})
    with pytest.raises(ValueError):
        encode_action("Originate", "id", {"Variable": ["A=1", bad]})
    with pytest.raises(ValueError):
        encode_action(bad, "id", {})


@pytest.mark.parametrize("key", ["", "Bad:Key", "ActionID", "action"])
def test_invalid_or_reserved_header_names_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="header name"):
        encode_action("Status", "id", {key: "v"})


def test_encoding_repeats_list_values_and_keeps_chinese() -> None:
    data = encode_action(
        "Originate", "id-7", {"CallerID": '"张三" <1001>', "Variable": ["A=1", "B=2"]}
    )
    expected = (
        'Action: Originate\r\nActionID: id-7\r\nCallerID: "张三" <1001>\r\n'
        "Variable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    assert data == expected.encode()
