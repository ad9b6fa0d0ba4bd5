"""Render a complete, private Asterisk 16 configuration from the centre's settings.

`render` is pure (settings in, file texts out) so every file can be unit-tested; `write_config`
is the one place that touches the disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from config.settings import OVERFLOW_PENALTY, RULE_CAP, Settings
from telephony.asterisk_tables import (
    AMI_EVENTS,
    AMI_READ_CLASSES,
    AMI_WRITE_CLASSES,
    CDR_CSV,
    DECLINED_STASIS_TYPES,
    MODULES,
    MODULES_DIR,
    QUEUE_LOG_NAME,
    SYSTEM_DATA_DIR,
    stasis_pool_size,
)
from telephony.config_sections import secret_text, section
from telephony.dialplan import (
    BRIDGE_PROFILE,
    CHANNEL_VARIABLE_PREFIX,
    CONTEXT_QUEUE_KEYS,
    DUTY_QUEUE,
    USER_CALLER,
    USER_CONSULT,
    USER_PARTY,
    interface_of,
)
from telephony.extensions_config import extensions_conf
from telephony.pjsip_config import pjsip_conf
from telephony.records_config import cdr_conf, cel_conf, logger_conf

DUTY_RING_S = 30  # each ring of the duty group before it rings again, until the max wait


@dataclass(frozen=True)
class Layout:
    """Where one private Asterisk instance keeps its files."""

    base: Path
    recordings: Path | None = None  # where MixMonitor writes; None: the spool's monitor/

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
    def cdr_csv(self) -> Path:
        """Asterisk's CDR file (cdr_csv), one line per call leg."""
        return self.log / CDR_CSV

    @property
    def queue_log(self) -> Path:
        """app_queue's queue_log, one line per caller event in a queue."""
        return self.log / QUEUE_LOG_NAME

    @property
    def spool(self) -> Path:
        return self.base / "spool"

    @property
    def lib(self) -> Path:
        return self.base / "lib"

    @property
    def monitor(self) -> Path:
        return self.recordings if self.recordings is not None else self.spool / "monitor"

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
    return Layout(settings.state_dir / "asterisk", settings.recordings_dir)


def render(settings: Settings, layout: Layout) -> dict[str, str]:
    """Every configuration file of the private instance, by file name."""
    return {
        "asterisk.conf": _asterisk_conf(layout),
        "modules.conf": _modules_conf(),
        "logger.conf": logger_conf(),
        "manager.conf": _manager_conf(settings),
        "pjsip.conf": pjsip_conf(settings),
        "rtp.conf": _rtp_conf(settings),
        "queues.conf": _queues_conf(settings),
        "queuerules.conf": _queuerules_conf(settings),
        "extensions.conf": extensions_conf(settings, layout),
        "features.conf": _features_conf(),
        "musiconhold.conf": _musiconhold_conf(layout),
        "confbridge.conf": _confbridge_conf(),
        "indications.conf": section("general", "country = cn")
        + section(
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
        "pjproject.conf": section("startup", "log_level = 1"),
        "ccss.conf": "",
        "udptl.conf": "",
        "acl.conf": "",
        "cdr.conf": cdr_conf(),
        "cel.conf": cel_conf(),
        "stasis.conf": _stasis_conf(),
    }


def write_config(settings: Settings, layout: Layout) -> list[Path]:
    """Write the rendered files and create the private directories; return files written."""
    for directory in (
        layout.etc,
        layout.run,
        layout.log,
        layout.cdr_csv.parent,  # cdr_csv writes no line into a directory it has to create
        layout.spool,
        layout.lib,
        layout.monitor,
        layout.moh,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.etc, 0o700)
    written = []
    for name, text in render(settings, layout).items():
        written.append(write_private(layout.etc / name, text))
    return written


def write_private(path: Path, text: str) -> Path:
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
    return section("threadpool", f"max_size = {stasis_pool_size()}") + section(
        "declined_message_types", *(f"decline = {t}" for t in DECLINED_STASIS_TYPES)
    )


def _asterisk_conf(layout: Layout) -> str:
    return section(
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
    ) + section(
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
    return section("modules", "autoload = no", *(f"load = {m}.so" for m in MODULES))


def _manager_conf(settings: Settings) -> str:
    ami = settings.ami
    events = "|".join(AMI_EVENTS)
    return section(
        "general",
        "enabled = yes",
        "webenabled = no",
        f"port = {ami.port}",
        f"bindaddr = {ami.host}",
        "displayconnects = no",
        "timestampevents = yes",
        "authtimeout = 5",
        "authlimit = 10",
    ) + section(
        ami.username,
        f"secret = {secret_text(ami.secret, 'ami.secret')}",
        "deny = 0.0.0.0/0.0.0.0",
        "permit = 127.0.0.0/255.0.0.0",
        f"read = {','.join(AMI_READ_CLASSES)}",
        f"write = {','.join(AMI_WRITE_CLASSES)}",
        "writetimeout = 1000",
        f"eventfilter = ^Event: ({events})[[:space:]]",
        f"eventfilter = ^Event: VarSet[[:space:]].*Variable: {CHANNEL_VARIABLE_PREFIX}",
    )


def _rtp_conf(settings: Settings) -> str:
    return section(
        "general", f"rtpstart = {settings.sip.rtp_start}", f"rtpend = {settings.sip.rtp_end}"
    )


def _queues_conf(settings: Settings) -> str:
    """Queues without static members: agents log in and out (QueueAdd/QueueRemove); but the
    duty group's queue (if it has phones), whose phones (agents' or colleagues') ring together
    outside the working hours, are its static members (a live change reloads them)."""
    out = section(
        "general",
        "persistentmembers = yes",
        "shared_lastcall = yes",
        "log_membername_as_agent = yes",
    )
    for queue in settings.queues:
        out += section(
            queue.name,
            f"strategy = {queue.strategy}",
            *_queue_parameters(
                queue.ring_timeout_s, queue.wrapup_s, queue.service_level_s, _rule_name(queue.name)
            ),
            # a waiting caller's callback key leaves the queue there (no trunk: no offer)
            *((f"context = {CONTEXT_QUEUE_KEYS}",) if settings.outbound else ()),
        )
    duty = settings.hours.duty_group.extensions
    if not duty:  # the IVR's after-hours callers find no queue: straight to a message
        return out
    operator = settings.ivr.operator_queue
    goal_s = next(q.service_level_s for q in settings.queues if q.name == operator)
    return out + section(
        DUTY_QUEUE,
        "strategy = ringall",
        # the operator queue's answer goal; no overflow rule: nobody else to widen to
        *_queue_parameters(DUTY_RING_S, 0, goal_s),
        *(f"member => {interface_of(ext)}" for ext in duty),
    )


def _queue_parameters(
    ring_timeout_s: int, wrapup_s: int, service_level_s: int, rule: str | None = None
) -> tuple[str, ...]:
    return (
        "autofill = yes",  # ring free agents for every waiting caller, not the head only
        f"timeout = {ring_timeout_s}",
        "retry = 1",
        f"wrapuptime = {wrapup_s}",
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
        f"servicelevel = {service_level_s}",
        # No MEMBER*/QE* channel variables: nothing reads them, and each is a message
        # to every connected queue call (see DECLINED_STASIS_TYPES).
        "setinterfacevar = no",
        "setqueueentryvar = no",
        "reportholdtime = no",
        "timeoutpriority = app",
        *((f"defaultrule = {rule}",) if rule else ()),
        "musicclass = default",
    )


def _rule_name(queue: str) -> str:
    return f"{queue}-overflow"


def _queuerules_conf(settings: Settings) -> str:
    """Callers start at RULE_CAP (the skill's agents, then the threshold seats), widened to
    the per-caller overflow seats after `overflow_after_s`: no agent's penalty is in a rule
    (a caller keeps the rule it joined with; `config.settings`)."""
    out = ""
    for queue in settings.queues:
        lines = [f"penaltychange => 0,{RULE_CAP}"]
        if queue.overflow_skill:
            lines.append(f"penaltychange => {queue.overflow_after_s},{OVERFLOW_PENALTY}")
        out += section(_rule_name(queue.name), *lines)
    return out


def _features_conf() -> str:
    return section(
        "general", "transferdigittimeout = 3", "atxfernoanswertimeout = 20", "atxferabort = *3"
    ) + section("featuremap", "blindxfer = #1", "atxfer = *2")


def _musiconhold_conf(layout: Layout) -> str:
    return section("default", "mode = files", f"directory = {layout.moh}", "sort = alpha")


def _confbridge_conf() -> str:
    """The call-control rooms' profiles: the caller is marked, the others (end_marked) leave
    when the caller does, so nobody stays in a room without the caller; nobody hears join
    prompts. Hold music comes from a party of the room (`telephony/hold_music.py`)."""
    return (
        section("general")
        + section("default_bridge", "type = bridge")
        + section("default_user", "type = user", "quiet = yes")
        + section(BRIDGE_PROFILE, "type = bridge")
        + section(USER_CALLER, "type = user", "quiet = yes", "marked = yes")
        + section(USER_PARTY, "type = user", "quiet = yes", "end_marked = yes")
        + section(USER_CONSULT, "type = user", "quiet = yes")
    )
