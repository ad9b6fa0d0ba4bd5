"""The reader of Asterisk's configuration format, on hand-written samples."""

from __future__ import annotations

import time

import pytest

from config.asterisk_conf import MAX_BYTES, ConfError, decode, parse_conf


def _entries(text: str, name: str, index: int = 0) -> list[tuple[str, str, int]]:
    sections = [s for s in parse_conf(text, "t.conf").sections if s.name == name]
    return [(e.key, e.value, e.line) for e in sections[index].entries]


def test_sections_keys_both_assignments_and_whitespace() -> None:
    text = "[a]\n  key=v1\nother   =>   two words  \n\n\t[b]\nk = x=y\n"
    assert _entries(text, "a") == [("key", "v1", 2), ("other", "two words", 3)]
    assert _entries(text, "b") == [("k", "x=y", 6)]


def test_windows_line_ends() -> None:
    assert _entries("[a]\r\n\r\nk = v\r\n", "a") == [("k", "v", 3)]


def test_comments_end_of_line_escaped_and_block() -> None:
    text = (
        "; a header comment\n"
        "[a]\n"
        "key = value ; said why\n"
        "contact = sip:1@127.0.0.1:5060\\;transport=udp\n"
        ";-- old lines\n"
        "key = gone\n"
        "--;\n"
        "after = 1 ;-- inline --; \n"
        "x = 1 ;-- starts ;-- nested --; still --; y\n"
    )
    assert _entries(text, "a") == [
        ("key", "value", 3),
        ("contact", "sip:1@127.0.0.1:5060;transport=udp", 4),
        ("after", "1", 8),
        ("x", "1  y", 9),  # text after a closed block comment stays (config.c does so)
    ]


def test_repeated_keys_kept_in_order_last_wins() -> None:
    text = "[q]\nmember => PJSIP/1\nmember => PJSIP/2\nstrategy = ringall\nstrategy = linear\n"
    (section,) = parse_conf(text, "q.conf").sections
    assert [e.value for e in section.all("member")] == ["PJSIP/1", "PJSIP/2"]
    assert section.value("strategy") == "linear"
    assert section.value("missing", "default") == "default"


def test_templates_are_not_objects_and_bases_come_first() -> None:
    text = (
        "[base](!)\ntype = endpoint\nallow = ulaw\n"
        "[extra](!)\nallow = alaw\n"
        "[1001](base,extra)\nallow = g722\n"
        "[1001]\ntype = aor\n"
    )
    conf = parse_conf(text, "p.conf")
    assert [s.name for s in conf.objects()] == ["1001", "1001"]  # same name, two objects
    endpoint = conf.objects()[0]
    assert endpoint.bases == ("base", "extra")
    assert [(e.key, e.value, e.line) for e in endpoint.entries] == [
        ("type", "endpoint", 2), ("allow", "ulaw", 3), ("allow", "alaw", 5), ("allow", "g722", 7),
    ]  # fmt: skip
    assert endpoint.value("allow") == "g722"
    assert conf.objects()[1].value("type") == "aor"


def test_template_inheriting_a_template_and_addition() -> None:
    text = "[t1](!)\na = 1\n[t2](!,t1)\nb = 2\n[s](t2)\nc = 3\n[s](+)\nd = 4\n"
    conf = parse_conf(text, "x.conf")
    (s,) = conf.objects()
    assert [(e.key, e.value) for e in s.entries] == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]


def test_directives_are_recorded_not_followed() -> None:
    conf = parse_conf('#include "users.conf"\n[a]\n#tryinclude <more.conf>\n#exec rm -rf\n', "x")
    assert [(d.name, d.argument, d.line) for d in conf.directives] == [
        ("include", "users.conf", 1), ("tryinclude", "more.conf", 3), ("exec", "rm -rf", 4),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("key = 1\n", 1, "before any [section]"),
        ("[a]\nno equal sign here\n", 2, "without '='"),
        ("[a]\n = value\n", 2, "without a key"),
        ("[a\nk = v\n", 1, "not a section header"),
        ("[a] trailing\n", 1, "not a section header"),
        ("[]\n", 1, "without a name"),
        ("[a](missing)\n", 1, "not defined above"),
        ("[b](a)\n[a]\n", 1, "not defined above"),  # a base must come first
        ("[a](+)\n", 1, "never defined"),
        ("[a]\n;-- never closed\nk = v\n", 2, "never closed"),
        ("[a]\nk = v\x00w\n", 2, "control character"),
        ("[a]\nk = v\x1b[2J\n", 2, "control character"),
        ("[a]\r\nk = v\x0cw\r\n", 2, "control character"),  # a form feed is no line break
        ("[a]\nk = v\u2028[b]\n", 2, "control character"),
        ("[a]\nk = v\rw\n", 2, "control character"),  # a bare CR
        ("[a]\n#includ x\n", 2, "directive"),
        ("[a]\n#include\n", 2, "directive"),
    ],
)
def test_malformed_lines_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfError) as caught:
        parse_conf(text, "bad.conf")
    assert caught.value.file == "bad.conf" and caught.value.line == line
    assert str(caught.value).startswith(f"bad.conf:{line}: ") and words in str(caught.value)


def test_binary_garbage_and_gbk_are_refused_with_the_line() -> None:
    with pytest.raises(ConfError, match=r"^x.conf:3: not UTF-8"):
        decode(b"[a]\nk = v\n\xff\xfe\x00garbage", "x.conf")
    with pytest.raises(ConfError, match="GBK"):
        decode("[a]\nname = 王芳\n".encode("gbk"), "x.conf")
    assert decode("\ufeff[a]\n".encode(), "x.conf") == "[a]\n"  # a BOM is dropped


def test_huge_file_refused_before_parsing() -> None:
    with pytest.raises(ConfError, match="larger than 4 MiB"):
        decode(b"; " * (MAX_BYTES // 2 + 1), "big.conf")
    with pytest.raises(ConfError, match="larger than 4 MiB"):
        parse_conf("k" * (MAX_BYTES + 1), "big.conf")


def test_ten_thousand_lines_parse_in_bounded_time() -> None:
    text = "".join(f"[s{i}]\ntype = endpoint\n" for i in range(5000))
    started = time.perf_counter()
    conf = parse_conf(text, "big.conf")
    assert time.perf_counter() - started < 2.0
    assert len(conf.objects()) == 5000


def test_a_chain_of_templates_cannot_blow_memory_up() -> None:
    # Each template inherits all entries of the one before: n² entries without the bound.
    lines = ["[t0](!)", *(f"k{i} = v" for i in range(100))]
    for i in range(1, 3000):
        lines += [f"[t{i}](!,t{i - 1})", "k = v"]
    started = time.perf_counter()
    with pytest.raises(ConfError, match="more than 200000 entries"):
        parse_conf("\n".join(lines), "chain.conf")
    assert time.perf_counter() - started < 2.0
