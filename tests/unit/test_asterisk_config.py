"""The rendered Asterisk configuration: complete, private, least-privilege."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from config.telephony_sections import DutyGroup
from telephony.asterisk_config import Layout, render, write_config
from telephony.asterisk_tables import AMI_EVENTS, MODULES, stasis_pool_size

LAYOUT = Layout(Path("/srv/hotline/asterisk"))


AMI_SECRET = "s3cret-from-the-env"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    environ = {"HOTLINE_AMI__SECRET": AMI_SECRET, "HOTLINE_PATHS__STATE_DIR": str(state)}
    return resolve_secrets(load_settings(environ=environ))


@pytest.fixture(scope="module")
def files(settings: Settings) -> dict[str, str]:
    return render(settings, LAYOUT)


def test_every_directory_is_private(files: dict[str, str]) -> None:
    dirs = dict(re.findall(r"^(ast\w+dir) => (.+)$", files["asterisk.conf"], re.M))
    for key in ("astetcdir", "astvarlibdir", "astdbdir", "astspooldir", "astrundir", "astlogdir"):
        assert dirs[key].startswith("/srv/hotline/asterisk/"), key


def test_modules_are_an_explicit_list(files: dict[str, str]) -> None:
    text = files["modules.conf"]
    assert "autoload = no" in text
    loaded = re.findall(r"^load = (\w+)\.so$", text, re.M)
    assert loaded == list(MODULES)
    # Debian's res_agi needs res_speech when nothing is autoloaded.
    assert loaded.index("res_speech") < loaded.index("res_agi")
    assert {"chan_pjsip", "app_queue", "app_mixmonitor", "app_chanspy", "res_pjsip_pubsub"} <= set(
        loaded
    )


def test_manager_is_least_privilege_on_loopback(files: dict[str, str]) -> None:
    text = files["manager.conf"]
    assert "bindaddr = 127.0.0.1" in text and "timestampevents = yes" in text
    assert "deny = 0.0.0.0/0.0.0.0" in text and "permit = 127.0.0.0/255.0.0.0" in text
    assert f"secret = {AMI_SECRET}" in text
    filters = re.findall(r"^eventfilter = (.+)$", text, re.M)
    assert len(filters) == 2
    assert all(name in filters[0] for name in AMI_EVENTS)
    assert "Newexten" not in filters[0] and "HOTLINE_" in filters[1]


def test_agents_trunks_and_carrier_in_pjsip(files: dict[str, str], settings: Settings) -> None:
    text = files["pjsip.conf"]
    assert "bind = 127.0.0.1:5060" in text
    assert "match = 127.0.0.2" in text
    for agent in settings.agents:
        assert f"contact = {agent.contact}" in text
        assert f'callerid = "{agent.name}" <{agent.extension}>' in text
    assert "contact = sip:110@127.0.0.1:5081" in text and "contact = sip:110@127.0.0.1:5082" in text
    assert text.count("direct_media = no") == text.count("type = endpoint")


def test_queues_have_no_static_members_and_overflow_rule(files: dict[str, str]) -> None:
    queues = files["queues.conf"]
    assert "member =>" not in queues  # agents log in and out dynamically
    assert "[hotline]" in queues and "strategy = rrmemory" in queues
    assert "autofill = yes" in queues
    # app_queue never announces itself (it would block its loop): the backend whispers.
    assert "announce-position = no" in queues and "announce-frequency = 0" in queues
    assert "periodic-announce-frequency = 0" in queues
    rules = files["queuerules.conf"]
    assert "[hotline-overflow]\npenaltychange => 0,99\npenaltychange => 30,100" in rules
    assert "servicelevel = 15" in queues  # the packaged queues' service_level_s


def test_a_queue_s_rule_lets_its_skill_s_penalties_ring_first_and_its_service_level(
    settings: Settings,
) -> None:
    """1002 at penalty 2 in general: the rules do not follow it (a caller keeps the rule it
    joined with): up to 99 at once, the overflow seats (100) after overflow_after_s; the
    queue's own service level goes into it."""
    data = settings.model_dump()
    data["agents"][1]["penalties"] = {"general": 2}
    data["queues"][0]["service_level_s"] = 20
    files = render(Settings.model_validate(data), LAYOUT)
    rules = files["queuerules.conf"]
    assert rules == render(settings, LAYOUT)["queuerules.conf"]
    assert "[hotline-overflow]\npenaltychange => 0,99\npenaltychange => 30,100" in rules
    assert "[complaint-overflow]\npenaltychange => 0,99\n" in rules
    hotline, complaint = files["queues.conf"].split("[complaint]")
    assert "servicelevel = 20" in hotline and "servicelevel = 15" in complaint


def test_stasis_declines_only_messages_nobody_reads_and_sizes_its_pool(
    files: dict[str, str],
) -> None:
    text = files["stasis.conf"]
    assert f"[threadpool]\nmax_size = {stasis_pool_size()}\n" in text and stasis_pool_size() >= 4
    declined = set(re.findall(r"^decline = (\S+)$", text, re.MULTILINE))
    assert {"ast_test_suite_message_type", "agi_exec_start_type", "agi_exec_end_type"} <= declined
    needed = {  # what the events we consume are made from
        "ast_channel_snapshot_type",
        "ast_channel_varset_type",
        "ast_channel_dial_type",
        "ast_channel_hold_type",
        "ast_channel_entered_bridge_type",
        "ast_channel_mixmonitor_start_type",
        "ast_multi_user_event_type",
        "ast_device_state_message_type",
    }
    assert not needed & declined
    assert not any(name.startswith("queue_") for name in declined)
    queues = files["queues.conf"]
    assert "setinterfacevar = no" in queues and "setqueueentryvar = no" in queues


def test_dialplan_ivr_recording_queue_and_trunk_failover(files: dict[str, str]) -> None:
    text = files["extensions.conf"]
    assert "exten => 12345,1," in text
    ivr = text.index("AGI(agi://127.0.0.1:4573/ivr)")
    record = text.index("MixMonitor(/srv/hotline/asterisk/spool/monitor/${HOTLINE_RECORDING},b)")
    queue = text.index("Queue(${HOTLINE_QUEUE},tc,,,3600)")
    # key 9 (the IVR's HOTLINE_EMERGENCY): recorded, then the 110 line's failover, not queued
    emergency = text.index(
        'GotoIf($["${HOTLINE_EMERGENCY}" != ""]?hotline-emergency,${HOTLINE_EMERGENCY},1)'
    )
    assert ivr < record < emergency < queue
    primary = text.index("Dial(PJSIP/trunk-110-primary,10)")
    backup = text.index("Dial(PJSIP/trunk-110-backup,10)")
    assert primary < backup
    assert "${CALLERID(name)}" not in text  # caller data never lands in dialplan arguments


def test_spy_context_runs_chanspy_per_mode_and_records_whisper_and_barge(
    files: dict[str, str],
) -> None:
    text = files["extensions.conf"]
    spy = text[text.index("[hotline-spy]") :]
    assert "exten => listen,1,ChanSpy(${HOTLINE_SPYEE},qE)" in spy
    for exten, app in (
        ("whisper", "ChanSpy(${HOTLINE_SPYEE},qEw)"),
        ("barge", "ChanSpy(${HOTLINE_SPYEE},qEB)"),
        ("room-main", "ConfBridge(m${HOTLINE_SPY_CALL},hotline_bridge,hotline_party)"),
        ("room-consult", "ConfBridge(c${HOTLINE_SPY_CALL},hotline_bridge,hotline_consult)"),
    ):
        block = spy[spy.index(f"exten => {exten},1,") :]
        record = block.index(
            "MixMonitor(/srv/hotline/asterisk/spool/monitor/${HOTLINE_SPY_RECORDING})"
        )
        assert block.index("GotoIf(") < record < block.index(f"same => n(spy),{app}")
    assert "MixMonitor" not in spy[: spy.index("exten => whisper,")]  # listening is not kept


def test_recording_off_renders_no_mixmonitor(settings: Settings) -> None:
    """Recording is on by default (the test above); off, the inbound call runs no MixMonitor
    and names no recording, and still reaches its queue."""
    off = settings.model_copy(
        update={"recordings": settings.recordings.model_copy(update={"enabled": False})}
    )
    text = render(off, LAYOUT)["extensions.conf"]
    assert "MixMonitor" not in text and "HOTLINE_RECORDING" not in text
    assert text.index("AGI(agi://127.0.0.1:4573/ivr)") < text.index("Queue(${HOTLINE_QUEUE}")


def test_write_config_creates_directories(tmp_path: Path, settings: Settings) -> None:
    layout = Layout(tmp_path / "asterisk")
    written = write_config(settings, layout)
    assert {p.name for p in written} == set(render(settings, layout))
    for directory in (layout.run, layout.log, layout.monitor, layout.moh, layout.lib):
        assert directory.is_dir()


def _classes(text: str, key: str) -> set[str]:
    (value,) = re.findall(rf"^{key} = (.+)$", text, re.M)
    return set(value.split(","))


def test_the_ami_user_holds_only_the_classes_the_backend_uses(files: dict[str, str]) -> None:
    """Hangup/BlindTransfer need call, queue members agent, the position whispers originate,
    CoreShowChannels reporting (Asterisk 16's `manager show command`); nothing grants system,
    command or config, each of which reaches beyond calls (restart, CLI, rewriting files)."""
    text = files["manager.conf"]
    assert _classes(text, "write") == {"call", "agent", "originate", "reporting"}
    # system is read only: FullyBooted (the re-sync waits for it) and Shutdown are system events.
    assert _classes(text, "read") == {"system", "call", "agent", "user", "dialplan"}


def test_agent_phones_must_authenticate_and_only_the_carrier_reaches_the_inbound_context(
    files: dict[str, str], settings: Settings
) -> None:
    sections = re.findall(r"^\[([^\]]+)\]\n((?:.+\n)+)", files["pjsip.conf"], re.M)
    endpoints = {name: body for name, body in sections if "type = endpoint" in body}
    auths = {name: body for name, body in sections if "type = auth" in body}
    inbound = [name for name, body in endpoints.items() if "context = hotline-inbound" in body]
    assert inbound == ["carrier"] and "identify_by = ip\n" in endpoints["carrier"]
    assert "endpoint_identifier_order = ip,username\n" in dict(sections)["global"]
    for agent in settings.agents:
        auth = auths[f"{agent.extension}-auth"]
        assert f"auth = {agent.extension}-auth" in endpoints[agent.extension]
        password = agent.sip_password.get_secret_value()
        assert len(password) >= 16 and f"password = {password}\n" in auth
        assert f"username = {agent.extension}\n" in auth
    passwords = {a.sip_password.get_secret_value() for a in settings.agents}
    assert len(passwords) == len(settings.agents)  # one per phone


def test_files_holding_secrets_are_readable_by_their_owner_only(
    tmp_path: Path, settings: Settings
) -> None:
    layout = Layout(tmp_path / "asterisk")
    layout.etc.mkdir(parents=True)
    (layout.etc / "manager.conf").write_text("old")  # left world-readable by an older version
    (layout.etc / "manager.conf").chmod(0o644)
    write_config(settings, layout)
    assert layout.etc.stat().st_mode & 0o777 == 0o700
    for name in ("manager.conf", "pjsip.conf"):
        path = layout.etc / name
        assert path.stat().st_mode & 0o777 == 0o600, name
    assert AMI_SECRET in (layout.etc / "manager.conf").read_text()


def test_asterisks_own_record_is_a_csv_file_and_the_queue_log(files: dict[str, str]) -> None:
    """The second witness: cdr_csv only (no CDR to AMI, to a database or per account), CEL
    off, app_queue's queue_log to a file in the log directory."""
    loaded = set(re.findall(r"^load = (\w+)\.so$", files["modules.conf"], re.M))
    assert {m for m in loaded if m.startswith(("cdr_", "cel_"))} == {"cdr_csv"}
    cdr = files["cdr.conf"]
    general, csv = cdr.split("[csv]")
    assert "enable = yes" in general and "unanswered = yes" in general
    for option in ("usegmtime", "loguniqueid", "loguserfield", "newcdrcolumns"):
        assert f"{option} = yes" in csv, option
    assert "accountlogs = no" in csv
    assert "enable=no" in files["cel.conf"]
    logger = files["logger.conf"].split("[logfiles]")[0]
    for line in ("queue_log = yes", "queue_log_to_file = yes", "queue_log_name = queue_log"):
        assert line in logger
    assert LAYOUT.cdr_csv == Path("/srv/hotline/asterisk/log/cdr-csv/Master.csv")
    assert LAYOUT.queue_log == Path("/srv/hotline/asterisk/log/queue_log")


def test_the_cdr_directory_exists_before_asterisk_writes(
    settings: Settings, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "asterisk")
    write_config(settings, layout)
    assert layout.cdr_csv.parent.is_dir()  # cdr_csv would log an error for every call


def test_call_control_rooms_consult_context_and_colleagues(settings: Settings) -> None:
    """The rooms (caller marked with hold music alone, the others end_marked), the consult
    context dialling agents, colleagues and each line's trunks with the failover and its
    UserEvent, and a colleague's endpoint that is called only (its requests are hung up)."""
    colleague = {"extension": "8001", "name": "市水务局值班室",
                 "contact": "sip:8001@127.0.0.1:5091"}  # fmt: skip
    with_colleague = load_settings(
        environ={"HOTLINE_PATHS__STATE_DIR": str(settings.state_dir)},
        overrides={"colleagues": [colleague]},
    )
    files = render(resolve_secrets(with_colleague), LAYOUT)
    text = files["extensions.conf"]
    caller_room = text.split("[hotline-room-caller]\n", 1)[1].split("\n\n", 1)[0]
    assert "ConfBridge(m${EXTEN},hotline_bridge,hotline_caller)" in caller_room
    assert "ConfBridge(m${EXTEN},hotline_bridge,hotline_party)" in text
    assert "ConfBridge(c${EXTEN},hotline_bridge,hotline_consult)" in text
    consult = text.split("[hotline-consult]\n", 1)[1].split("\n\n", 1)[0]
    assert "exten => 1001,1,Dial(PJSIP/1001,30)" in consult
    assert "exten => 8001,1,Dial(PJSIP/8001,30)" in consult
    primary = consult.index("Dial(PJSIP/trunk-119-primary,10)")
    backup = consult.index("Dial(PJSIP/trunk-119-backup,10)")
    failed = consult.index("UserEvent(HotlineTrunkFailed,Number: 119,Skipped: ${TRUNKS_SKIPPED})")
    assert primary < backup < failed and "Congestion" not in consult  # the agent is told at once
    sections = dict(re.findall(r"^\[([^\]]+)\]\n((?:.+\n)+)", files["confbridge.conf"], re.M))
    assert "marked = yes" in sections["hotline_caller"]
    assert "music_on_hold_when_empty" not in sections["hotline_caller"]  # it mutes the record
    player = text.split("[hotline-hold-music]\n", 1)[1].split("\n\n", 1)[0]
    assert player == "exten => _X.,1,Answer()\n same => n,MusicOnHold(default)"
    assert "end_marked = yes" in sections["hotline_party"]
    pjsip = re.findall(r"^\[([^\]]+)\]\n((?:.+\n)+)", files["pjsip.conf"], re.M)
    endpoint = next(body for name, body in pjsip if name == "8001" and "type = endpoint" in body)
    assert "context = hotline-trunk-in" in endpoint and "auth" not in endpoint
    aor = next(body for name, body in pjsip if name == "8001" and "type = aor" in body)
    assert "contact = sip:8001@127.0.0.1:5091" in aor


def test_trunk_credentials_and_further_inbound_numbers(settings: Settings) -> None:
    police = settings.trunks["police"].model_copy(
        update={"username": "hotline", "password": SecretStr("police-trunk-digest-pw")}
    )
    centre = settings.centre.model_copy(update={"more_inbound_numbers": ("96345",)})
    changed = settings.model_copy(
        update={"trunks": {**settings.trunks, "police": police}, "centre": centre}
    )
    files = render(changed, LAYOUT)
    sections = {
        (s.split("]", 1)[0], s.splitlines()[1]): s for s in files["pjsip.conf"].split("\n[")
    }
    for leg in ("primary", "backup"):
        endpoint = sections[(f"trunk-110-{leg}", "type = endpoint")]
        assert f"outbound_auth = trunk-110-{leg}-auth\n" in endpoint
        assert sections[(f"trunk-110-{leg}-auth", "type = auth")].splitlines()[1:] == [
            "type = auth", "auth_type = userpass", "username = hotline",
            "password = police-trunk-digest-pw"]  # fmt: skip
    # without credentials, unchanged
    assert "outbound_auth" not in sections[("trunk-119-primary", "type = endpoint")]
    assert "exten => 96345,1,Goto(hotline-inbound,12345,1)\n" in files["extensions.conf"]
    assert "96345" not in render(settings, LAYOUT)["extensions.conf"]


def test_the_outbound_trunk_dials_any_number_in_turn_with_the_centre_s_caller_id(
    settings: Settings, files: dict[str, str]
) -> None:
    """Without [outbound] nothing of it is rendered; with it, each leg is an endpoint whose
    contact has no user (the citizen's number is dialled as the user), tried in turn."""
    assert "hotline-outbound" not in files["extensions.conf"]
    assert "hotline-revisit" not in files["extensions.conf"]
    assert "trunk-outbound" not in files["pjsip.conf"]
    data = settings.model_dump()
    data["outbound"] = {"primary": "127.0.0.1:5091", "backup": "127.0.0.1:5092",
                        "dial_timeout_s": 4}  # fmt: skip
    rendered = render(Settings.model_validate(data), LAYOUT)
    pjsip, dialplan = rendered["pjsip.conf"], rendered["extensions.conf"]
    assert "[trunk-outbound-primary]\ntype = aor\ncontact = sip:127.0.0.1:5091\n" in pjsip
    assert "[trunk-outbound-backup]\ntype = aor\ncontact = sip:127.0.0.1:5092\n" in pjsip
    outbound = dialplan[dialplan.index("[hotline-outbound]") :].split("\n\n")[0]
    lines = outbound.splitlines()
    assert lines[1:4] == ["exten => _X.,1,NoOp(outbound call)", " same => n,Set(CALLERID(name)=)",
                          " same => n,Set(CALLERID(num)=12345)"]  # fmt: skip
    dials = [line for line in lines if ",Dial(" in line]
    # I: no connected-line update, the number never shown on the agent's phone
    assert dials == [" same => n,Dial(PJSIP/${EXTEN}@trunk-outbound-primary,4,I)",
                     " same => n,Dial(PJSIP/${EXTEN}@trunk-outbound-backup,4,I)"]  # fmt: skip
    assert "UserEvent" not in outbound  # nothing of the number reaches the backend's events
    # the citizen's NOANSWER after ringing, or BUSY, ends the call: only a leg that cannot
    # carry it (unavailable, congested, or silent: no ringing at all) falls over
    after = lines[lines.index(dials[0]) + 1 : lines.index(dials[0]) + 3]
    assert after == [' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)',
                     ' same => n,GotoIf($["${DIALSTATUS}" = "CHANUNAVAIL" | '
                     '"${DIALSTATUS}" = "CONGESTION" | ("${DIALSTATUS}" = "NOANSWER" & '
                     '0${RINGTIME_MS} = 0)]?backup:failed)']  # fmt: skip
    # the agent's phone, answered first, recorded in the backend's file, dials the citizen
    revisit = dialplan[dialplan.index("[hotline-revisit]") :].split("\n\n")[0]
    assert revisit.splitlines()[1:] == [
        "exten => _X.,1,NoOp(callback from the desk)",
        f" same => n,MixMonitor({LAYOUT.monitor}/${{HOTLINE_REVISIT_RECORDING}},b)",
        " same => n,Goto(hotline-outbound,${EXTEN},1)",
    ]
    data["outbound"]["caller_id"] = "96123"
    again = render(Settings.model_validate(data), LAYOUT)["extensions.conf"]
    assert " same => n,Set(CALLERID(num)=96123)" in again


def test_nobody_logged_in_or_waited_out_goes_to_the_message_flow(files: dict[str, str]) -> None:
    text = files["extensions.conf"]
    record = text.index("MixMonitor(")
    empty = text.index("GotoIf($[0${QUEUE_MEMBER(${HOTLINE_QUEUE},logged)} = 0]?nobody)")
    queue = text.index("Queue(${HOTLINE_QUEUE},tc,,,3600)")
    waited = text.index('GotoIf($["${QUEUESTATUS}" = "TIMEOUT" | "${QUEUESTATUS}" = "LEAVEEMPTY"]')
    assert record < empty < queue < waited
    assert " same => n(nobody),AGI(agi://127.0.0.1:4573/nobody)\n same => n,Hangup()\n" in text


def test_the_duty_queue_rings_the_duty_groups_phones_together(
    settings: Settings, files: dict[str, str]
) -> None:
    assert "[hotline-duty]" not in files["queues.conf"]  # no duty phone: no queue
    phones = tuple(a.extension for a in settings.agents[:2])
    group = settings.hours.model_copy(update={"duty_group": DutyGroup(extensions=phones)})
    queues = render(settings.model_copy(update={"hours": group}), LAYOUT)["queues.conf"]
    duty = queues.split("[hotline-duty]\n", 1)[1]
    assert "strategy = ringall\n" in duty and "defaultrule" not in duty  # nobody to widen to
    assert duty.endswith(f"member => PJSIP/{phones[0]}\nmember => PJSIP/{phones[1]}\n\n")
    others = queues.split("[hotline-duty]\n", 1)[0]
    assert "member =>" not in others  # the agents' queues: logged into by the desks only


def test_without_the_survey_the_caller_is_hung_up_with_the_agent(settings: Settings) -> None:
    """`ivr.survey` off: no c option (the caller does not stay when the agent hangs up), no
    way into the survey; waiting callers nobody answered still reach the message flow."""
    ivr = settings.ivr.model_copy(update={"survey": False})
    text = render(settings.model_copy(update={"ivr": ivr}), LAYOUT)["extensions.conf"]
    assert "Queue(${HOTLINE_QUEUE},t,,,3600)" in text and ",tc," not in text
    assert "hotline-survey,s,1" not in text
    assert 'GotoIf($["${QUEUESTATUS}" = "TIMEOUT" | "${QUEUESTATUS}" = "LEAVEEMPTY"]' in text


def test_the_callback_key_needs_the_outbound_trunk_and_keeps_the_place(
    settings: Settings, files: dict[str, str]
) -> None:
    """No outbound trunk: no queue lets a key out, no callback contexts. With one: each queue
    lets the key out into the keys context, which sends an early key back at its position,
    and the placeholder waits at its position unanswered (no Answer() before Queue)."""
    assert "context = hotline-queue-keys" not in files["queues.conf"]
    assert "hotline-queue-keys" not in files["extensions.conf"]
    data = settings.model_dump()
    data["outbound"] = {"primary": "127.0.0.1:5091", "backup": "127.0.0.1:5092"}
    data["callback"] = {"offer_after_s": 45, "key": "2"}
    rendered = render(Settings.model_validate(data), LAYOUT)
    queues, dialplan = rendered["queues.conf"], rendered["extensions.conf"]
    assert queues.count("context = hotline-queue-keys") == len(settings.queues)
    keys = dialplan[dialplan.index("[hotline-queue-keys]") :].split("\n\n")[0].splitlines()
    assert keys[1] == (
        'exten => 2,1,GotoIf($["${HOTLINE_QUEUED_AT}" = "" | ${EPOCH} - 0${HOTLINE_QUEUED_AT} < 45]'
        "?back)"
    )
    assert any(",,,,,${QUEUEPOSITION})" in line and "Queue(" in line for line in keys)
    # back in the queue, it waits what was left of the longest wait, not all of it again
    longest = max(q.max_wait_s for q in settings.queues)
    assert (
        f" same => n,Set(HOTLINE_WAIT_LEFT=$[{longest} - ${{EPOCH}} + 0${{HOTLINE_QUEUED_AT}}])"
        in keys
    )
    assert any("Queue(" in line and ",${HOTLINE_WAIT_LEFT},,,,,${QUEUEPOSITION})" in line
               for line in keys)  # fmt: skip
    place = dialplan[dialplan.index("[hotline-callback-place]") :].split("\n\n")[0]
    assert "Answer" not in place and ",,,,,${CALLBACK_POSITION})" in place
    dial = dialplan[dialplan.index("[hotline-callback-dial]") :].split("\n\n")[0]
    assert "Dial(PJSIP/${EXTEN}@trunk-outbound-primary,10,IU(hotline-callback-dial))" in dial
    assert "exten => s,1,Set(HOTLINE_CALLBACK_RESULT=ANSWER)" in dial
    assert '0${RINGTIME_MS} = 0)]?backup:failed)' in dial  # no NOANSWER after ringing again
    assert "Playback(${POSITION_PROMPTS}/hotline-callback-offer-2)" in dialplan
