"""Trunk health: the legs' state machine, the ContactStatus and UserEvent translations (headers
as Asterisk 16.28 sent them), the qualify rendered in pjsip.conf and the emergency dial
order rendered in the dialplan (a leg known unreachable skipped). Expected values by hand."""

from __future__ import annotations

from pathlib import Path

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from config.trunk_settings import Trunk
from telephony.event_translation import translate
from telephony.events import ContactStatusChanged, TrunksFailed
from telephony.extensions_config import _failover
from telephony.pjsip_config import pjsip_conf
from telephony.trunk_health import (
    LegChange,
    LegHealth,
    LegState,
    followed,
    initial_health,
    observed,
    stopped,
)

UNREACHABLE = {
    "Event": "ContactStatus", "Privilege": "system,all", "Timestamp": "1796168074.731041",
    "URI": "sip:110@127.0.0.1:54886", "ContactStatus": "Unreachable",
    "AOR": "trunk-110-primary", "EndpointName": "trunk-110-primary", "RoundtripUsec": "0",
}  # fmt: skip


def police(**fields: object) -> Settings:
    trunk = {"number": "110", "primary": "127.0.0.1:5081", "backup": "127.0.0.1:5082",
             **fields}  # fmt: skip
    return load_settings(overrides={"trunks": {"police": trunk}})


def test_contact_status_translated() -> None:
    assert translate("ContactStatus", UNREACHABLE) == ContactStatusChanged(
        1796168074.731041, "trunk-110-primary", "Unreachable", None
    )
    reachable = {**UNREACHABLE, "ContactStatus": "Reachable", "RoundtripUsec": "500664"}
    event = translate("ContactStatus", reachable)
    assert isinstance(event, ContactStatusChanged) and event.rtt_us == 500664


def test_trunks_failed_carries_the_legs_skipped() -> None:
    headers = {"Timestamp": "1.5", "Channel": "Local/110@hotline-consult-0;2", "Uniqueid": "u",
               "Linkedid": "l", "UserEvent": "HotlineTrunkFailed", "Number": "110"}  # fmt: skip
    assert translate("UserEvent", {**headers, "Skipped": "2"}) == TrunksFailed(
        1.5, "l", "u", "Local/110@hotline-consult-0;2", "110", 2
    )
    event = translate("UserEvent", headers)  # an older dialplan's: none skipped
    assert isinstance(event, TrunksFailed) and event.skipped == 0


def test_every_leg_starts_unknown() -> None:
    health = initial_health(police())
    assert health["trunk-110-primary"] == LegHealth("110", "primary", LegState.UNKNOWN, 0.0)
    assert health["trunk-110-backup"].leg == "backup"
    assert set(health) >= {"trunk-110-primary", "trunk-110-backup"}


def test_a_leg_down_and_back_is_told_once_each() -> None:
    health = {"trunk-110-primary": LegHealth("110", "primary", LegState.REACHABLE, 10.0, 1.5)}
    result = observed(health, "trunk-110-primary", "Unreachable", None, 20.0)
    assert result is not None
    down, change = result
    assert down == LegHealth("110", "primary", LegState.UNREACHABLE, 20.0, None)
    assert change is not None and change.down and change.before == health["trunk-110-primary"]
    # Unreachable again (a re-sync reads it back): nothing told, since unchanged.
    again = observed({"trunk-110-primary": down}, "trunk-110-primary", "Unreachable", None, 30.0)
    assert again == (down, None)
    back = observed({"trunk-110-primary": down}, "trunk-110-primary", "Reachable", 2.0, 40.0)
    assert back is not None
    assert back[0] == LegHealth("110", "primary", LegState.REACHABLE, 40.0, 2.0)
    assert back[1] is not None and not back[1].down


def test_what_is_not_a_change_to_tell() -> None:
    unknown = {"trunk-110-backup": LegHealth("110", "backup", LegState.UNKNOWN, 0.0)}
    # Found reachable or unreachable at start: told (a down told before a restart may be
    # over: the CRM tells an up only after a down).
    first = observed(unknown, "trunk-110-backup", "Reachable", 3.0, 5.0)
    assert first is not None and first[1] is not None and not first[1].down
    assert first[0] == LegHealth("110", "backup", LegState.REACHABLE, 5.0, 3.0)
    found_down = observed(unknown, "trunk-110-backup", "Unreachable", None, 5.0)
    assert found_down is not None and found_down[1] is not None and found_down[1].down
    # A new round trip of a reachable leg keeps its `since`.
    up = first[0]
    assert observed({"trunk-110-backup": up}, "trunk-110-backup", "Reachable", 4.0, 9.0) == (
        LegHealth("110", "backup", LegState.REACHABLE, 5.0, 4.0), None)  # fmt: skip
    assert observed({"trunk-110-backup": up}, "trunk-110-backup", "Updated", 7.0, 9.0) == (
        LegHealth("110", "backup", LegState.REACHABLE, 5.0, 7.0), None)  # fmt: skip
    # An unreachable leg removed (a reload): unknown from then on, nothing told.
    down = LegHealth("110", "backup", LegState.UNREACHABLE, 5.0)
    assert observed({"trunk-110-backup": down}, "trunk-110-backup", "Removed", None, 9.0) == (
        LegHealth("110", "backup", LegState.UNKNOWN, 9.0), None)  # fmt: skip
    # An agent's phone is no trunk leg.
    assert observed(unknown, "1001", "Unreachable", None, 5.0) is None


def test_the_outbound_trunk_s_legs_are_followed_as_line_outbound() -> None:
    outbound = {"primary": "127.0.0.1:5091", "backup": "127.0.0.1:5092"}
    old = load_settings(overrides={"outbound": outbound})
    health = initial_health(old)
    assert health["trunk-outbound-primary"] == LegHealth(
        "outbound", "primary", LegState.UNKNOWN, 0.0
    )
    assert health["trunk-outbound-backup"].leg == "backup"
    reachable = {aor: LegHealth(h.line, h.leg, LegState.REACHABLE, 5.0, 1.0)
                 for aor, h in health.items()}  # fmt: skip
    moved = load_settings(overrides={"outbound": {**outbound, "backup": "127.0.0.1:5093"}})
    after = followed(reachable, old, moved)
    assert after["trunk-outbound-primary"] == reachable["trunk-outbound-primary"]
    assert after["trunk-outbound-backup"].state is LegState.UNKNOWN
    assert not any(aor.startswith("trunk-outbound") for aor in initial_health(police()))
    assert not any(aor.startswith("trunk-outbound") for aor in followed(reachable, old, police()))


def test_a_configuration_applied_live_changes_the_legs_followed() -> None:
    old = police(qualify_s=1)
    health = {aor: LegHealth(h.line, h.leg, LegState.REACHABLE, 5.0, 1.0)
              for aor, h in initial_health(old).items()}  # fmt: skip
    unknown = LegHealth("110", "primary", LegState.UNKNOWN, 0.0)
    assert followed(health, old, old) == health  # nothing changed: every state kept
    moved = followed(health, old, police(qualify_s=1, primary="127.0.0.1:5091"))
    assert moved["trunk-110-primary"] == unknown  # a new far end: heard from anew
    assert moved["trunk-110-backup"] == health["trunk-110-backup"]
    requalified = followed(health, old, police(qualify_s=2))
    assert requalified["trunk-110-primary"] == unknown
    assert requalified["trunk-110-backup"].state is LegState.UNKNOWN
    dropped = followed(health, old, police(qualify_s=1, backup=None))
    assert "trunk-110-backup" not in dropped
    assert dropped["trunk-110-primary"] == health["trunk-110-primary"]
    added = followed(dropped, police(qualify_s=1, backup=None), old)
    assert added["trunk-110-backup"] == LegHealth("110", "backup", LegState.UNKNOWN, 0.0)


def test_a_down_leg_removed_or_no_longer_qualified_is_told_stopped() -> None:
    old = police(qualify_s=1)
    down = LegHealth("110", "backup", LegState.UNREACHABLE, 5.0)
    health = {"trunk-110-primary": LegHealth("110", "primary", LegState.REACHABLE, 5.0, 1.0),
              "trunk-110-backup": down}  # fmt: skip
    assert stopped(health, old, 9.0) == []  # still followed: its up or down comes as ever
    gone = LegChange("trunk-110-backup", down, LegHealth("110", "backup", LegState.UNKNOWN, 9.0))
    assert stopped(health, police(qualify_s=1, backup=None), 9.0) == [gone]
    assert stopped(health, police(qualify_s=0), 9.0) == [gone]  # the primary was not down
    assert gone.stopped and not gone.down


def test_qualify_rendered_per_leg(tmp_path: Path) -> None:
    environ = {"HOTLINE_PATHS__STATE_DIR": str(tmp_path)}
    on = resolve_secrets(load_settings(environ=environ, overrides={"trunks": {"police": {
        "number": "110", "primary": "127.0.0.1:5081", "backup": "127.0.0.1:5082",
        "qualify_s": 1}}}))  # fmt: skip
    text = pjsip_conf(on)
    assert ("[trunk-110-primary]\ntype = aor\ncontact = sip:110@127.0.0.1:5081\n"
            "qualify_frequency = 1\nqualify_timeout = 0.8\n") in text  # fmt: skip
    off = pjsip_conf(
        resolve_secrets(
            load_settings(
                environ=environ,
                overrides={
                    "trunks": {
                        "police": {"number": "110", "primary": "127.0.0.1:5081", "qualify_s": 0}
                    }
                },
            )
        )
    )
    assert "[trunk-110-primary]\ntype = aor\ncontact = sip:110@127.0.0.1:5081\n\n" in off
    assert Trunk(number="110", primary="127.0.0.1:5081").qualify_s == 30  # qualified by default


def test_the_dial_order_skips_a_leg_known_unreachable() -> None:
    trunk = Trunk(number="110", primary="127.0.0.1:5081", backup="127.0.0.1:5082",
                  dial_timeout_s=7)  # fmt: skip
    state = "${{PJSIP_CONTACT(${{PJSIP_AOR(trunk-110-{},contact)}},status)}}"
    assert _failover(trunk, "Hangup()") == [
        "exten => 110,1,NoOp(emergency 110)",
        " same => n,Set(TRUNKS_SKIPPED=0)",
        f' same => n(primary),GotoIf($["{state.format("primary")}" = "Unreachable"]?primary-down)',
        " same => n,Dial(PJSIP/trunk-110-primary,7)",
        ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done:backup)',
        " same => n(primary-down),Set(TRUNKS_SKIPPED=$[${TRUNKS_SKIPPED} + 1])",
        f' same => n(backup),GotoIf($["{state.format("backup")}" = "Unreachable"]?backup-down)',
        " same => n,Dial(PJSIP/trunk-110-backup,7)",
        ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done:failed)',
        " same => n(backup-down),Set(TRUNKS_SKIPPED=$[${TRUNKS_SKIPPED} + 1])",
        " same => n(failed),UserEvent(HotlineTrunkFailed,Number: 110,Skipped: ${TRUNKS_SKIPPED})",
        " same => n,Hangup()",
        " same => n(done),Hangup()",
    ]
