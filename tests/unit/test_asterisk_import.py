"""Importing an existing Asterisk: a realistic queues.conf and pjsip.conf written by hand
(tests/fixtures/asterisk_import/), with the agents, queues, trunks and report lines expected
written by hand too; hostile input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from config.asterisk_conf import ConfError
from config.asterisk_import import Imported, import_asterisk
from config.settings import Agent, Queue
from config.trunk_settings import OutboundTrunk, Trunk

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk_import"


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_asterisk(
        (FIXTURES / "queues.conf").read_text(encoding="utf-8"),
        (FIXTURES / "pjsip.conf").read_text(encoding="utf-8"),
    )


def test_agents(imported: Imported) -> None:
    assert imported.agents == (
        Agent(extension="2001", name="陈静", skills=("consult",),
              contact="sip:2001@127.0.0.1:5171", sip_password=SecretStr("Chen-Jing-Phone-2001x")),
        # "1234" is refused as a password: a new one will be generated.
        Agent(extension="2002", name="刘洋", skills=("consult", "complaint"),
              contact="sip:2002@127.0.0.1:5172"),
        # No callerid: the member name from queues.conf; penalty 2: an overflow seat.
        Agent(extension="2901", name="支援席", skills=("consult-overflow",),
              contact="sip:2901@127.0.0.1:5179", sip_password=SecretStr("Support-Seat-2901-pw")),
    )  # fmt: skip


def test_queues(imported: Imported) -> None:
    assert imported.queues == (
        Queue(name="consult", skill="consult", strategy="rrmemory", ring_timeout_s=20,
              wrapup_s=5, announce_position=True, overflow_skill="consult-overflow"),
        Queue(name="complaint", skill="complaint", strategy="leastrecent", ring_timeout_s=30,
              wrapup_s=5),
        Queue(name="sales", skill="sales"),  # rrordered and timeout 200: defaults
    )  # fmt: skip


def test_trunks(imported: Imported) -> None:
    assert imported.trunks == {
        "police": Trunk(number="110", primary="127.0.0.1:5181", backup="127.0.0.1:5182"),
        "fire": Trunk(number="119", primary="127.0.0.1:5183", backup="127.0.0.1:5184"),
        "medical": Trunk(number="120", primary="127.0.0.1:5185"),
    }


# (file, line, kind, words in the text): every finding but the centre's own values.
EXPECTED = {
    ("queues.conf", 13, "assumed", "overflow seats (skill consult-overflow)"),
    ("queues.conf", 17, "assumed", "penalty 2 made 1"),
    ("queues.conf", 23, "unmapped", "SIP/3001,0: not a PJSIP endpoint"),
    ("queues.conf", 28, "assumed", "no agent has skill sales"),
    ("queues.conf", 29, "unmapped", "strategy = rrordered"),
    ("queues.conf", 30, "invalid", "queues.sales.ring_timeout_s"),
    ("queues.conf", 31, "unmapped", "member 9999"),
    ("pjsip.conf", 7, "unmapped", "tls transport"),
    ("pjsip.conf", 43, "invalid", "agents.2002.sip_password: is shorter than 16"),
    ("pjsip.conf", 47, "unmapped", "';transport=udp' dropped"),
    ("pjsip.conf", 49, "assumed", "支援席 from queues.conf"),
    ("pjsip.conf", 59, "assumed", "contact without a user"),
    ("pjsip.conf", 61, "invalid", "[2003]: no static contact"),
    ("pjsip.conf", 73, "assumed", "[2004]: a member of no queue"),
    ("pjsip.conf", 84, "invalid", "agents.2004.contact"),
    ("pjsip.conf", 102, "assumed", "trunk 119: no role in the name, primary by order"),
    ("pjsip.conf", 115, "assumed", "trunk 119: no role in the name, backup by order"),
    ("pjsip.conf", 131, "unmapped", "[provider-reg]: an outbound registration"),
    ("pjsip.conf", 136, "unmapped", "#include pjsip_custom.conf: not followed"),
}


def test_report_names_file_line_and_what(imported: Imported) -> None:
    found = [f for f in imported.findings if f.kind != "own"]
    assert {(f.file, f.line, f.kind) for f in found} == {e[:3] for e in EXPECTED}
    for file, line, kind, words in EXPECTED:
        texts = [f.text for f in found if (f.file, f.line, f.kind) == (file, line, kind)]
        assert any(words in text for text in texts), (file, line, texts)
    assert "10.20.0.14 is not a loopback address" in str(
        next(f for f in found if f.line == 84 and f.file == "pjsip.conf")
    )


def test_values_the_centre_renders_itself_are_reported_each(imported: Imported) -> None:
    own = {(f.file, f.line) for f in imported.findings if f.kind == "own"}
    assert ("queues.conf", 2) in own  # [general]
    assert ("queues.conf", 10) in own  # musicclass (from the template)
    assert ("pjsip.conf", 2) in own  # the UDP transport
    assert ("pjsip.conf", 113) in own  # identify match
    assert ("pjsip.conf", 16) in own  # disallow, from the agents' template


def test_report_never_shows_a_password(imported: Imported) -> None:
    text = "\n".join(str(f) for f in imported.findings)
    for secret in ("Chen-Jing-Phone-2001x", "1234 ", "'1234'", "Support-Seat", "Wang-Lei"):
        assert secret not in text


def test_masked_mapping_is_settings_shaped(imported: Imported) -> None:
    masked = imported.as_mapping()
    assert [a.get("sip_password") for a in masked["agents"]] == ["********", None, "********"]
    clear = imported.as_mapping(reveal_secrets=True)
    assert clear["agents"][0]["sip_password"] == "Chen-Jing-Phone-2001x"
    assert Agent.model_validate(clear["agents"][2]) == imported.agents[2]
    assert Trunk.model_validate(clear["trunks"]["medical"]) == imported.trunks["medical"]


def test_a_malformed_file_raises_with_its_name_and_line() -> None:
    with pytest.raises(ConfError, match=r"^pjsip.conf:3: a line without '='"):
        import_asterisk("[q]\nstrategy = ringall\n", "[1001]\ntype = endpoint\nauth\n")
    with pytest.raises(ConfError, match=r"^old-queues.conf:1: "):
        import_asterisk("member => x\n", "", queues_file="old-queues.conf")


def test_duplicate_extensions_and_junk_values_are_reported_not_raised() -> None:
    pjsip = (
        '[1001]\ntype=endpoint\naors=1001\nauth=a1\ncallerid="甲" <1001>\n'
        "[a1]\ntype=auth\npassword=Long-Enough-Password-1\n"
        "[1001]\ntype=aor\ncontact=sip:1001@127.0.0.1:5001\n"
        '[alice]\ntype=endpoint\naors=alice\nauth=a1\ncallerid="乙" <1001>\n'
        "[alice]\ntype=aor\ncontact=sip:1001@127.0.0.1:5002\n"
        '[x]\ntype=endpoint\naors=x\nauth=a1\ncallerid="丙\\" <9>\n'
        "[x]\ntype=aor\ncontact=not a uri\n"
    )
    queues = ("[客服]\nstrategy=ringall\n[q2]\nwrapuptime=soon\nannounce-position=limit\n"
              "servicelevel=20\n")  # fmt: skip
    result = import_asterisk(queues, pjsip)
    assert [a.extension for a in result.agents] == ["1001"]
    assert result.agents[0].name == "甲"
    assert [q.name for q in result.queues] == ["q2"]
    assert result.queues[0].wrapup_s == 3 and result.queues[0].announce_position
    assert result.queues[0].service_level_s == 20  # the queue's service-level target
    texts = [str(f) for f in result.findings]
    assert any("pjsip.conf:12: invalid: agents.1001: extension used twice" in t for t in texts)
    assert any("queues.conf:1: invalid: queues.客服.name" in t for t in texts)
    assert any("queues.conf:4: invalid: queues.q2.wrapup_s" in t for t in texts)
    assert any("queues.conf:5: assumed:" in t and "limit" in t for t in texts)
    assert any("pjsip.conf:27: invalid: agents.x: contact 'not a uri'" in t for t in texts)


def test_ten_thousand_line_pjsip_conf_maps_in_bounded_time() -> None:
    blocks = []
    for i in range(1000):
        ext = str(10000 + i)
        blocks.append(
            f'[{ext}]\ntype=endpoint\naors={ext}\nauth={ext}-auth\ncallerid="坐席{i}" <{ext}>\n'
            f"[{ext}-auth]\ntype=auth\npassword=Generated-Password-{ext}\n"
            f"[{ext}]\ntype=aor\ncontact=sip:{ext}@127.0.0.1:{6000 + i}\n\n"
        )
    pjsip = "".join(blocks)
    assert pjsip.count("\n") >= 10_000
    started = time.perf_counter()
    result = import_asterisk("[q]\nstrategy=ringall\n", pjsip)
    assert time.perf_counter() - started < 5.0
    assert len(result.agents) == 1000 and result.agents[-1].name == "坐席999"


def test_credentials_unused_sections_and_dangling_names_are_reported_masked() -> None:
    pjsip = (
        "[trunk-120-primary]\ntype=endpoint\naors=trunk-120-primary\nauth=t-in\n"
        "outbound_auth=t-out\n"
        "[trunk-120-primary]\ntype=aor\ncontact=sip:120@127.0.0.1:5185\n"
        "[t-in]\ntype=auth\npassword=Trunk-Secret-Value-1\n"
        "[t-out]\ntype=auth\nusername=centre\npassword=Outbound-Secret-2\n"
        "[stale]\ntype=aor\ncontact=sip:9@127.0.0.1:1\n"
        "[2001]\ntype=endpoint\naors=gone,2001\nauth=a\n"
        "[a]\ntype=auth\nusername=chen\nmd5_cred=0123456789abcdef0123456789abcdef\n"
        "[2001]\ntype=aor\ncontact=sip:2001@127.0.0.1:5001\n"
    )
    result = import_asterisk("", pjsip)
    assert result.trunks == {"medical": Trunk(number="120", primary="127.0.0.1:5185")}
    # No password to carry (an MD5 digest): one is generated.
    assert result.agents == (
        Agent(extension="2001", name="2001", contact="sip:2001@127.0.0.1:5001"),
    )
    lines: dict[tuple[int, str], str] = {}
    for f in result.findings:
        lines[(f.line, f.kind)] = lines.get((f.line, f.kind), "") + f.text + "\n"
    assert "a trunk's credentials" in lines[(11, "unmapped")]  # t-in's password
    assert "outbound_auth" in lines[(5, "unmapped")]
    assert "[t-out]: an auth no endpoint's auth names" in lines[(12, "unmapped")]
    assert "[stale]: an aor no endpoint's aors names" in lines[(16, "unmapped")]
    assert "aors names 'gone'" in lines[(19, "invalid")]
    assert "authenticates as 2001" in lines[(25, "assumed")]
    assert "MD5 digest" in lines[(26, "unmapped")]
    text = "\n".join(str(f) for f in result.findings)
    for secret in ("Trunk-Secret", "Outbound-Secret", "0123456789abcdef"):
        assert secret not in text


def test_an_overflow_skill_the_model_refuses_leaves_the_member_on_the_queue_skill() -> None:
    name = "q" + "x" * 29  # 30 characters: "<name>-overflow" is over the 32 a name may have
    queues = f"[{name}]\nmember => PJSIP/2001,1\n"
    pjsip = (
        "[2001]\ntype=endpoint\naors=2001\nauth=a\n[a]\ntype=auth\n"
        "[2001]\ntype=aor\ncontact=sip:2001@127.0.0.1:5001\n"
    )
    result = import_asterisk(queues, pjsip)
    assert result.queues == (Queue(name=name, skill=name),)
    assert result.agents[0].skills == (name,)
    refused = [str(f) for f in result.findings if f.kind == "invalid"]
    assert refused == [f"queues.conf:1: invalid: queues.{name}.overflow_skill "
                       f"'{name}-overflow': String should match pattern "
                       "'^[A-Za-z][A-Za-z0-9_-]{0,31}$': default used"]  # fmt: skip


def test_legs_named_outbound_are_the_outbound_trunk() -> None:
    pjsip = (
        "[trunk-outbound-primary]\ntype=endpoint\naors=trunk-outbound-primary\n"
        "[trunk-outbound-primary]\ntype=aor\ncontact=sip:127.0.0.1:5191\n"
        "[carrier_outbound_backup]\ntype=endpoint\naors=ob2\n"
        "[ob2]\ntype=aor\ncontact=sip:0@127.0.0.1:5192\n"
    )
    result = import_asterisk("", pjsip)
    assert result.trunks == {}
    assert result.outbound == OutboundTrunk(primary="127.0.0.1:5191", backup="127.0.0.1:5192")
    assert result.as_mapping()["outbound"] == {
        "primary": "127.0.0.1:5191", "backup": "127.0.0.1:5192", "dial_timeout_s": 10,
        "qualify_s": 30, "transport": "udp",
    }  # fmt: skip
    assert [f.text for f in result.findings if f.kind == "unmapped"] == [
        "trunks.carrier_outbound_backup: an outbound leg dials the citizen's number: "
        "contact user '0' dropped"
    ]
