"""Typed, frozen settings of the centre, loaded once: packaged file → HOTLINE_CONFIG → environment.

Invalid settings raise `SettingsError` whose message names the bad key, so start-up stops
with something an admin can act on.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from config.emergency_settings import Colleague, Emergency, Exchange
from config.fields import (
    Extension,
    Frozen,
    Name,
    Port,
    loopback,
    plain_name,
    sip_contact_on_loopback,
    strong_secret,
)
from config.supervision_settings import Supervision
from config.telephony_sections import (
    NuisanceNumber,
    OverflowSeats,
    QueueCallback,
    UserId,
    WorkingHours,
)
from config.trunk_settings import OutboundTrunk, Trunk

DEFAULT_FILE = Path(__file__).with_name("hotline.toml")
ENV_PREFIX = "HOTLINE_"
# Queue penalties, fixed so that no agent's penalty is in a queue rule: app_queue copies a
# caller's rule when it joins, so a cap that followed the agents' penalties would strand the
# callers already waiting when a penalty rises live. Every caller may ring up to RULE_CAP at
# once: the skill's agents (at most SKILL_PENALTY_MAX), then the threshold seats
# (`[[overflow]]`, SEAT_PENALTY); the per-caller overflow seats after `overflow_after_s`.
SKILL_PENALTY_MAX = 98
SEAT_PENALTY = RULE_CAP = 99
OVERFLOW_PENALTY = 100


class SettingsError(ValueError):
    """Settings that cannot run the centre; the message names each bad key."""


class Centre(Frozen):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,8}$")] = "LY"
    name: str = "12345政务服务便民热线"
    inbound_number: Extension = "12345"
    # further numbers that reach the same IVR and queues (a second carrier's number)
    more_inbound_numbers: tuple[Extension, ...] = ()


class Paths(Frozen):
    state_dir: Path = Path("var")


class Listener(Frozen):
    host: str = "127.0.0.1"
    port: Port

    _check_host = field_validator("host")(loopback)


class Sip(Listener):
    port: Port = 5060
    rtp_start: Port = 20000
    rtp_end: Port = 20999

    @model_validator(mode="after")
    def _rtp_range(self) -> Sip:
        if self.rtp_end <= self.rtp_start:
            raise ValueError("rtp_end must be above rtp_start")
        return self


class Ami(Listener):
    port: Port = 5038
    username: Name = "hotline"
    secret: SecretStr = SecretStr("")  # empty: generated into state_dir/secrets

    _check_secret = field_validator("secret")(strong_secret)


class Agi(Listener):
    port: Port = 4573


class Http(Listener):
    port: Port = 8080


class Gateway(Listener):
    """The agent desktops' websocket gateway and the tickets that admit desktops to it."""

    port: Port = 8765
    secret: SecretStr = SecretStr("")  # empty: generated into state_dir/secrets
    allowed_origins: tuple[str, ...] = ()  # besides the backend's own HTTP origin
    # A ticket admits one handshake within this many seconds of being issued.
    ticket_ttl_s: Annotated[int, Field(ge=5, le=600)] = 60
    # How often gateways check that each connected user is still allowed a desk, and the
    # backend refreshes that list from the CRM (changes made outside its API: the CLI).
    recheck_s: Annotated[float, Field(ge=0.1, le=60)] = 5.0
    # After a call an agent is in wrap-up (not rung) until they say done, or this long.
    max_wrapup_s: Annotated[float, Field(ge=0, le=3600)] = 60.0
    # A command that waited longer than this (the executor was down) is answered "expired".
    command_max_age_s: Annotated[float, Field(gt=0, le=300)] = 5.0

    _check_secret = field_validator("secret")(strong_secret)


class Redis(Frozen):
    url: str = ""  # an external Redis: its password goes in the URL
    port: Port = 6390
    password: SecretStr = SecretStr("")  # the private Redis's; empty: generated

    _check_secret = field_validator("password")(strong_secret)


class Database(Frozen):
    url: str = ""
    # How often overdue orders are looked for and given a supervision notice (督办).
    supervision_interval_s: Annotated[float, Field(ge=10, le=86400)] = 900.0


class Recordings(Frozen):
    """Every answered call is recorded (MixMonitor) under `dir`, checked and attached."""

    enabled: bool = True  # off only to measure what recording costs (bench/recording.py)
    dir: Path | None = None  # empty: state_dir/recordings
    check_interval_s: Annotated[float, Field(ge=0.1, le=3600)] = 2.0  # pending files looked at
    compress: bool = True  # finished recordings converted to Ogg Vorbis (sox), verified
    compress_quality: Annotated[int, Field(ge=-1, le=10)] = 0
    compress_after_s: Annotated[float, Field(ge=0, le=86400 * 30)] = 60.0
    retention_days: Annotated[int, Field(ge=1, le=36500)] = 1095  # closed orders' recordings
    reconcile_interval_s: Annotated[float, Field(ge=10, le=86400)] = 3600.0
    min_free_mb: Annotated[int, Field(ge=0, le=10**7)] = 500  # below this: a disk alarm


class Carrier(Frozen):
    match: str = "127.0.0.2"

    _check_match = field_validator("match")(loopback)


class Agent(Frozen):
    extension: Extension
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    skills: tuple[Name, ...] = ()
    contact: Annotated[str, StringConstraints(pattern=r"^sip:[0-9A-Za-z]+@[0-9.]+:[0-9]+$")]
    # The phone's digest password towards Asterisk; empty: generated per agent.
    sip_password: SecretStr = SecretStr("")
    # the agent's queue penalty per skill (0: rung first; absent: 0)
    penalties: Mapping[Name, Annotated[int, Field(ge=0, le=SKILL_PENALTY_MAX)]] = Field(
        default_factory=dict
    )
    crm_user_id: UserId | None = None  # the CRM user this agent is (`hotline user list`)

    _check_secret = field_validator("sip_password")(strong_secret)
    _check_contact = field_validator("contact")(sip_contact_on_loopback)
    _check_name = field_validator("name")(plain_name)


class Queue(Frozen):
    name: Name
    skill: Name
    strategy: Literal["ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"] = (
        "rrmemory"
    )
    ring_timeout_s: Annotated[int, Field(ge=5, le=120)] = 15
    wrapup_s: Annotated[int, Field(ge=0, le=600)] = 3
    announce_position: bool = True
    max_wait_s: Annotated[int, Field(ge=30, le=86400)] = 3600
    overflow_skill: Name | None = None
    overflow_after_s: Annotated[int, Field(ge=0, le=3600)] = 30
    # the service level counts calls answered within this many seconds (15秒接通率)
    service_level_s: Annotated[int, Field(ge=1, le=600)] = 15


IvrLabel = Literal["consult", "complaint", "help", "operator"]


class Ivr(Frozen):
    """Queue per IVR menu choice; `operator` (key 0, or no key) is also the fallback queue."""

    queues: Mapping[IvrLabel, Name] = Field(default_factory=dict)
    # the wait for a key after the greeting and menu (a silent caller: queued within ~8 s)
    choice_timeout_ms: Annotated[int, Field(ge=1000, le=30000)] = 1000
    # the line key 9 sends the caller to (with its trunk's failover); offered only when a
    # trunk has this number
    emergency_line: Extension | None = "110"
    # the satisfaction survey after the agent hangs up (off: the caller is hung up with the
    # agent, as in centres that survey by their callbacks only)
    survey: bool = True

    @property
    def operator_queue(self) -> str:
        return self.queues.get("operator", "hotline")  # the name rendered queues start with


class Settings(Frozen):
    centre: Centre = Centre()
    paths: Paths = Paths()
    sip: Sip = Sip()
    ami: Ami = Ami()
    agi: Agi = Agi()
    http: Http = Http()
    gateway: Gateway = Gateway()
    redis: Redis = Redis()
    database: Database = Database()
    recordings: Recordings = Recordings()
    carrier: Carrier = Carrier()
    agents: tuple[Agent, ...] = ()
    queues: tuple[Queue, ...] = ()
    ivr: Ivr = Ivr()
    trunks: Mapping[Name, Trunk] = Field(default_factory=dict)
    outbound: OutboundTrunk | None = None  # the trunk citizens are called through (回访)
    colleagues: tuple[Colleague, ...] = ()
    emergency: Emergency = Emergency()
    exchange: Exchange = Exchange()
    supervision: Supervision = Supervision()
    overflow: tuple[OverflowSeats, ...] = ()
    hours: WorkingHours = WorkingHours()
    nuisance: tuple[NuisanceNumber, ...] = ()
    callback: QueueCallback = QueueCallback()  # 回拨保留排队位置 (needs `outbound`)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        _unique("agents", [a.extension for a in self.agents])
        dialled = [a.extension for a in self.agents] + [c.extension for c in self.colleagues]
        dialled += [t.number for t in self.trunks.values()]
        _unique("extensions (agents, colleagues, trunk numbers)", dialled)
        lines = {t.number for t in self.trunks.values()}
        for line in self.exchange.peers:
            if line not in lines:
                raise ValueError(f"exchange.peers.{line}: no trunk has number {line!r}")
        _unique("queues", [q.name for q in self.queues])
        _unique("trunks", [t.number for t in self.trunks.values()])
        queue_names = {q.name for q in self.queues}
        for label, queue in {**self.ivr.queues, "operator": self.ivr.operator_queue}.items():
            if queue not in queue_names:
                raise ValueError(f"ivr.queues.{label}: unknown queue {queue!r}")
        skills = {s for a in self.agents for s in a.skills}
        for i, q in enumerate(self.queues):
            if q.skill not in skills:
                raise ValueError(f"queues.{i}.skill: no agent has skill {q.skill!r}")
        longest = max((q.max_wait_s for q in self.queues), default=0)
        if self.outbound is not None and self.callback.offer_after_s >= longest:
            raise ValueError(
                f"callback.offer_after_s: {self.callback.offer_after_s} s reaches every queue's"
                f" max_wait_s (longest {longest} s): the callback would never be offered"
            )
        ports = {
            "sip.port": self.sip.port,
            "ami.port": self.ami.port,
            "agi.port": self.agi.port,
            "http.port": self.http.port,
            "gateway.port": self.gateway.port,
        }
        if not self.redis.url:
            ports["redis.port"] = self.redis.port
        _unique("ports", list(ports.values()), names=list(ports))
        return self

    @property
    def state_dir(self) -> Path:
        return self.paths.state_dir.resolve()

    @property
    def emergency_key_line(self) -> str | None:
        """The line the IVR's key 9 dials: `ivr.emergency_line` if a trunk has it."""
        line = self.ivr.emergency_line
        return line if line in {t.number for t in self.trunks.values()} else None

    @property
    def recordings_dir(self) -> Path:
        """Where MixMonitor writes and the recordings are kept (absolute)."""
        configured = self.recordings.dir
        if configured is None:
            return self.state_dir / "recordings"
        return configured.resolve()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.state_dir / 'hotline.db'}"

    @property
    def desktop_origins(self) -> tuple[str, ...]:
        """Origins whose pages may open the gateway: our own pages, plus any configured."""
        own = (f"http://{self.http.host}:{self.http.port}", f"http://localhost:{self.http.port}")
        return own + self.gateway.allowed_origins

    def agent_queues(self) -> dict[str, list[tuple[str, int]]]:
        """Extension → the queues it serves, with its penalty in each."""
        serving: dict[str, list[tuple[str, int]]] = {a.extension: [] for a in self.agents}
        for queue in self.queues:
            for agent, penalty in self.queue_members(queue):
                serving[agent.extension].append((queue.name, penalty))
        return serving

    def queue_members(self, queue: Queue) -> list[tuple[Agent, int]]:
        """Agents serving `queue` with their penalty: their own for its skill (0: rung first),
        and OVERFLOW_PENALTY for its per-caller overflow seats."""
        members: list[tuple[Agent, int]] = []
        for agent in self.agents:
            if queue.skill in agent.skills:
                members.append((agent, agent.penalties.get(queue.skill, 0)))
            elif queue.overflow_skill and queue.overflow_skill in agent.skills:
                members.append((agent, OVERFLOW_PENALTY))
        return members


def _unique(key: str, values: list[Any], names: list[str] | None = None) -> None:
    seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        if value in seen:
            where = names[i] if names else f"{key}.{i}"
            raise ValueError(f"{where}: {value!r} is used twice")
        seen[value] = i


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """HOTLINE_AMI__SECRET=x → {"ami": {"secret": "x"}}; HOTLINE_CONFIG is the file, not a key."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        key = ".".join(str(p) for p in item["loc"])
        lines.append(f"{key}: {message}" if key else message)  # cross-key checks name their keys
    return "invalid settings: " + "; ".join(lines)


def parse_settings(data: Mapping[str, Any]) -> Settings:
    """Validate a settings tree; raise SettingsError naming the bad keys."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_format_errors(exc)) from None


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the settings file, apply environment and explicit overrides, validate once."""
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("HOTLINE_CONFIG", DEFAULT_FILE))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from None
    data = _deep_merge(data, _env_overrides(environ))
    if overrides:
        data = _deep_merge(data, overrides)
    return parse_settings(data)
