"""Render a complete, private Asterisk 16 configuration from the centre's settings.

`render` is pure (settings in, file texts out) so every file can be unit-tested; `write_config`
is the one place that touches the disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from config.settings import Settings, Trunk
from telephony.asterisk_tables import (
    AMI_EVENTS,
    AMI_READ_CLASSES,
    AMI_WRITE_CLASSES,
    DECLINED_STASIS_TYPES,
    MODULES,
    MODULES_DIR,
    SYSTEM_DATA_DIR,
    stasis_pool_size,
)
from telephony.dialplan import (
    CHANNEL_VARIABLE_PREFIX,
    CONTEXT_AGENTS,
    CONTEXT_EMERGENCY,
    CONTEXT_INBOUND,
    CONTEXT_POSITION,
    CONTEXT_TRUNK_IN,
    VAR_QUEUE,
    VAR_RECORDING,
    interface_of,
)
from telephony.position_words import LAST_SAID_POSITION, position_words


@dataclass(frozen=True)
class Layout:
    """Where one private Asterisk instance keeps its files."""

    base: Path

    @property
    def etc(self) -> Path:
        return self.base / "etc"

    @property
    def run(self) -> Path:
        return self.base / "run"

    @property
    def log(self) -> Path:
        return self.base / "log"

    @property
    def spool(self) -> Path:
        return self.base / "spool"

    @property
    def lib(self) -> Path:
        return self.base / "lib"

    @property
    def monitor(self) -> Path:
        return self.spool / "monitor"

    @property
    def sounds(self) -> Path:
        return self.base / "sounds"

    @property
    def prompts(self) -> Path:
        """The Mandarin prompts (`hotline prompts build`), played by absolute path."""
        return self.sounds / "prompts"

    @property
    def moh(self) -> Path:
        return self.sounds / "moh"

    @property
    def asterisk_conf(self) -> Path:
        return self.etc / "asterisk.conf"

    @property
    def control_socket(self) -> Path:
        return self.run / "asterisk.ctl"


def layout_for(settings: Settings) -> Layout:
    return Layout(settings.state_dir / "asterisk")


def render(settings: Settings, layout: Layout) -> dict[str, str]:
    """Every configuration file of the private instance, by file name."""
    return {
        "asterisk.conf": _asterisk_conf(layout),
        "modules.conf": _modules_conf(),
        "logger.conf": _logger_conf(),
        "manager.conf": _manager_conf(settings),
        "pjsip.conf": _pjsip_conf(settings),
        "rtp.conf": _rtp_conf(settings),
        "queues.conf": _queues_conf(settings),
        "queuerules.conf": _queuerules_conf(settings),
        "extensions.conf": _extensions_conf(settings, layout),
        "features.conf": _features_conf(),
        "musiconhold.conf": _musiconhold_conf(layout),
        "confbridge.conf": _confbridge_conf(),
        "indications.conf": _section("general", "country = cn")
        + _section(
            "cn",
            "description = China",
            "ringcadence = 1000,4000",
            "dial = 450",
            "ring = 450/1000,0/4000",
            "busy = 450/350,0/350",
            "congestion = 450/700,0/700",
            "callwaiting = 450/400,0/4000",
            "dialrecall = 450",
            "record = 950/400,0/10000",
            "info = 450/100,0/100,450/100,0/100,450/100,0/100,450/400,0/400",
        ),
        "pjproject.conf": _section("startup", "log_level = 1"),
        "ccss.conf": "",
        "udptl.conf": "",
        "acl.conf": "",
        "cdr.conf": "[general]\nenable=no\n",
        "cel.conf": "[general]\nenable=no\n",
        "stasis.conf": _stasis_conf(),
    }


def write_config(settings: Settings, layout: Layout) -> list[Path]:
    """Write the rendered files and create the private directories; return files written."""
    for directory in (
        layout.etc,
        layout.run,
        layout.log,
        layout.spool,
        layout.lib,
        layout.monitor,
        layout.moh,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.etc, 0o700)
    written = []
    for name, text in render(settings, layout).items():
        written.append(_write_private(layout.etc / name, text))
    return written


def _write_private(path: Path, text: str) -> Path:
    """Write a file only its owner may read (manager.conf and pjsip.conf hold secrets),
    replacing the old one at once so Asterisk never reads half a file."""
    partial = path.with_name(f".{path.name}.new")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(partial, 0o600)  # a partial file left by a crash kept its old mode
    os.replace(partial, path)
    return path


def _stasis_conf() -> str:
    return _section("threadpool", f"max_size = {stasis_pool_size()}") + _section(
        "declined_message_types", *(f"decline = {t}" for t in DECLINED_STASIS_TYPES)
    )


def _section(name: str, *lines: str) -> str:
    return "\n".join([f"[{name}]", *lines]) + "\n\n"


def _asterisk_conf(layout: Layout) -> str:
    return _section(
        "directories",
        f"astetcdir => {layout.etc}",
        f"astmoddir => {MODULES_DIR}",
        f"astvarlibdir => {layout.lib}",
        f"astdbdir => {layout.lib}",
        f"astkeydir => {layout.lib}",
        f"astdatadir => {SYSTEM_DATA_DIR}",
        f"astagidir => {layout.lib}/agi-bin",
        f"astspooldir => {layout.spool}",
        f"astrundir => {layout.run}",
        f"astlogdir => {layout.log}",
        "astsbindir => /usr/sbin",
    ) + _section(
        "options",
        "verbose = 0",
        "debug = 0",
        "timestamp = yes",
        "highpriority = no",
        "transmit_silence = yes",
        "languageprefix = yes",
        "defaultlanguage = zh",
        "hideconnect = yes",
    )


def _modules_conf() -> str:
    return _section("modules", "autoload = no", *(f"load = {m}.so" for m in MODULES))


def _logger_conf() -> str:
    return _section("general", "dateformat = %F %T.%3q") + _section(
        "logfiles", "messages => notice,warning,error", "console => warning,error"
    )


def _secret(value: SecretStr, key: str) -> str:
    """A secret to render: never an empty one (settings not passed through resolve_secrets)."""
    text = value.get_secret_value()
    if not text:
        raise ValueError(f"{key} is empty: resolve the settings' secrets first")
    return text


def _manager_conf(settings: Settings) -> str:
    ami = settings.ami
    events = "|".join(AMI_EVENTS)
    return _section(
        "general",
        "enabled = yes",
        "webenabled = no",
        f"port = {ami.port}",
        f"bindaddr = {ami.host}",
        "displayconnects = no",
        "timestampevents = yes",
        "authtimeout = 5",
        "authlimit = 10",
    ) + _section(
        ami.username,
        f"secret = {_secret(ami.secret, 'ami.secret')}",
        "deny = 0.0.0.0/0.0.0.0",
        "permit = 127.0.0.0/255.0.0.0",
        f"read = {','.join(AMI_READ_CLASSES)}",
        f"write = {','.join(AMI_WRITE_CLASSES)}",
        "writetimeout = 1000",
        f"eventfilter = ^Event: ({events})[[:space:]]",
        f"eventfilter = ^Event: VarSet[[:space:]].*Variable: {CHANNEL_VARIABLE_PREFIX}",
    )


def _pjsip_conf(settings: Settings) -> str:
    codecs = ("disallow = all", "allow = ulaw,alaw")
    out = _section(
        "transport-udp",
        "type = transport",
        "protocol = udp",
        f"bind = {settings.sip.host}:{settings.sip.port}",
    )
    # Requests are matched to an endpoint by source address first, then by the From user
    # (agents only); nothing else gets an endpoint, and there is no anonymous one.
    out += _section("global", "type = global", "endpoint_identifier_order = ip,username")
    out += _section(
        "carrier",
        "type = endpoint",
        f"context = {CONTEXT_INBOUND}",
        "identify_by = ip",  # never by a From user "carrier" from anywhere else
        *codecs,
        "direct_media = no",
        "rtp_symmetric = yes",
        "dtmf_mode = rfc4733",
    )
    out += _section(
        "carrier-identify",
        "type = identify",
        "endpoint = carrier",
        f"match = {settings.carrier.match}",
    )
    for agent in settings.agents:
        out += _section(
            agent.extension,
            "type = endpoint",
            f"context = {CONTEXT_AGENTS}",
            *codecs,
            "direct_media = no",
            "rtp_symmetric = yes",
            "dtmf_mode = rfc4733",
            f"aors = {agent.extension}",
            f'callerid = "{agent.name}" <{agent.extension}>',
            "identify_by = username",
            # Every request from the phone is challenged (Asterisk calling it is not).
            f"auth = {agent.extension}-auth",
        )
        out += _section(
            f"{agent.extension}-auth",
            "type = auth",
            "auth_type = userpass",
            f"username = {agent.extension}",
            f"password = {_secret(agent.sip_password, f'agents.{agent.extension}.sip_password')}",
        )
        out += _section(
            agent.extension, "type = aor", f"contact = {agent.contact}", "max_contacts = 1"
        )
    for trunk in settings.trunks.values():
        for role, hostport in _trunk_legs(trunk):
            name = _trunk_endpoint(trunk, role)
            out += _section(
                name,
                "type = endpoint",
                f"context = {CONTEXT_TRUNK_IN}",
                "identify_by = ip",  # no identify section: nothing reaches it
                *codecs,
                "direct_media = no",
                "rtp_symmetric = yes",
                f"aors = {name}",
            )
            out += _section(name, "type = aor", f"contact = sip:{trunk.number}@{hostport}")
    return out


def _trunk_legs(trunk: Trunk) -> list[tuple[str, str]]:
    legs = [("primary", trunk.primary)]
    if trunk.backup:
        legs.append(("backup", trunk.backup))
    return legs


def _trunk_endpoint(trunk: Trunk, role: str) -> str:
    return f"trunk-{trunk.number}-{role}"


def _rtp_conf(settings: Settings) -> str:
    return _section(
        "general", f"rtpstart = {settings.sip.rtp_start}", f"rtpend = {settings.sip.rtp_end}"
    )


def _queues_conf(settings: Settings) -> str:
    """Queues without static members: agents log in and out (QueueAdd/QueueRemove)."""
    out = _section(
        "general",
        "persistentmembers = yes",
        "shared_lastcall = yes",
        "log_membername_as_agent = yes",
    )
    for queue in settings.queues:
        out += _section(
            queue.name,
            f"strategy = {queue.strategy}",
            "autofill = yes",  # ring free agents for every waiting caller, not the head only
            f"timeout = {queue.ring_timeout_s}",
            "retry = 1",
            f"wrapuptime = {queue.wrapup_s}",
            # app_queue's own announcements block its loop: a caller hearing one is not
            # rung, and nobody behind them is either. The backend announces positions by
            # whisper instead (telephony/announcer.py).
            "announce-position = no",
            "announce-frequency = 0",
            "periodic-announce-frequency = 0",
            "announce-holdtime = no",
            "joinempty = yes",
            "leavewhenempty = no",
            "ringinuse = no",
            "servicelevel = 15",
            # No MEMBER*/QE* channel variables: nothing reads them, and each is a message
            # to every connected queue call (see DECLINED_STASIS_TYPES).
            "setinterfacevar = no",
            "setqueueentryvar = no",
            "reportholdtime = no",
            "timeoutpriority = app",
            f"defaultrule = {_rule_name(queue.name)}",
            "musicclass = default",
        )
    return out


def _rule_name(queue: str) -> str:
    return f"{queue}-overflow"


def _queuerules_conf(settings: Settings) -> str:
    """Overflow seats have penalty 1: callers start with max penalty 0, widened after a wait."""
    out = ""
    for queue in settings.queues:
        lines = ["penaltychange => 0,0"]
        if queue.overflow_skill:
            lines.append(f"penaltychange => {queue.overflow_after_s},1")
        out += _section(_rule_name(queue.name), *lines)
    return out


def _extensions_conf(settings: Settings, layout: Layout) -> str:
    agi = f"agi://{settings.agi.host}:{settings.agi.port}/ivr"
    inbound = _section(
        "general", "static = yes", "writeprotect = yes", "clearglobalvars = yes"
    ) + _section(
        CONTEXT_INBOUND,
        f"exten => {settings.centre.inbound_number},1,NoOp(hotline inbound call)",
        " same => n,Answer()",
        # The operator queue unless the IVR says otherwise (also if the IVR is down).
        f" same => n,Set({VAR_QUEUE}={settings.ivr.operator_queue})",
        f" same => n,AGI({agi})",
        f" same => n,Set({VAR_RECORDING}=${{STRFTIME(${{EPOCH}},,%Y%m%d)}}/${{UNIQUEID}}.wav)",
        f" same => n,MixMonitor({layout.monitor}/${{{VAR_RECORDING}}},b)",
        " same => n,Set(QUEUE_MAX_PENALTY=0)",
        # t: the agent may transfer; the last argument bounds the caller's wait.
        f" same => n,Queue(${{{VAR_QUEUE}}},t,,,{_max_wait(settings)})",
        " same => n,Hangup()",
        "exten => _X.,1,Hangup(1)",
        "exten => i,1,Hangup(1)",
    )
    agents = _section(
        CONTEXT_AGENTS,
        *(
            f"exten => {a.extension},1,Dial({interface_of(a.extension)},30,t)"
            for a in settings.agents
        ),
        *(
            f"exten => {t.number},1,Goto({CONTEXT_EMERGENCY},{t.number},1)"
            for t in settings.trunks.values()
        ),
    )
    emergency_lines = []
    for trunk in settings.trunks.values():
        emergency_lines.append(f"exten => {trunk.number},1,NoOp(emergency {trunk.number})")
        for role, _hostport in _trunk_legs(trunk):
            leg = interface_of(_trunk_endpoint(trunk, role))
            emergency_lines += [
                f" same => n,Dial({leg},{trunk.dial_timeout_s})",
                ' same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)',
            ]
        emergency_lines += [
            " same => n,UserEvent(HotlineTrunkFailed,Number: " + trunk.number + ")",
            " same => n,Congestion(5)",
            " same => n(done),Hangup()",
        ]
    emergency = _section(CONTEXT_EMERGENCY, *emergency_lines)
    trunk_in = _section(CONTEXT_TRUNK_IN, "exten => _X.,1,Hangup(1)")
    return inbound + agents + emergency + trunk_in + _position_context(layout)


def _position_context(layout: Layout) -> str:
    """The announcer's half of a position whisper (extension = position): the Mandarin
    sentence of `position_words`, one extension per position said exactly, 很多位 beyond.
    The short wait lets ChanSpy attach to the caller before the first word."""
    prompts = "${POSITION_PROMPTS}"

    def say(words: tuple[str, ...]) -> str:
        return "Gosub(say,1(" + "&".join(f"{prompts}/{w}" for w in words) + "))"

    return _section("globals", f"POSITION_PROMPTS={layout.prompts}") + _section(
        CONTEXT_POSITION,
        *(f"exten => {p},1,{say(position_words(p))}" for p in range(1, LAST_SAID_POSITION + 1)),
        # Four digits or more (LAST_SAID_POSITION is 999): no overlap with the ones above.
        f"exten => _[1-9]XXX!,1,{say(position_words(LAST_SAID_POSITION + 1))}",
        "exten => say,1,Answer()",
        " same => n,Wait(0.3)",
        " same => n,Playback(${ARG1})",
        " same => n,Hangup()",
    )


def _max_wait(settings: Settings) -> int:
    return max((q.max_wait_s for q in settings.queues), default=3600)


def _features_conf() -> str:
    return _section(
        "general", "transferdigittimeout = 3", "atxfernoanswertimeout = 20", "atxferabort = *3"
    ) + _section("featuremap", "blindxfer = #1", "atxfer = *2")


def _musiconhold_conf(layout: Layout) -> str:
    return _section("default", "mode = files", f"directory = {layout.moh}", "sort = alpha")


def _confbridge_conf() -> str:
    return (
        _section("general")
        + _section("default_bridge", "type = bridge")
        + _section("default_user", "type = user", "quiet = yes")
    )
