"""Typed, frozen settings of the centre, loaded once: packaged file → HOTLINE_CONFIG → environment.

Invalid settings raise `SettingsError` whose message names the bad key, so start-up stops
with something an admin can act on.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_FILE = Path(__file__).with_name("hotline.toml")
ENV_PREFIX = "HOTLINE_"

Port = Annotated[int, Field(ge=1, le=65535)]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")]


class SettingsError(ValueError):
    """Settings that cannot run the centre; the message names each bad key."""


# Secrets this repository shipped are known to every reader (shorter ones fail the length).
PLACEHOLDER_SECRETS = frozenset({"change-me-in-env"})
# Generated secrets are 32 url-safe characters; anything configured under 16 is a password a
# person typed, guessable offline from one signed ticket or a captured digest.
MIN_SECRET_CHARS = 16


def secret_weakness(text: str) -> str | None:
    """Why `text` cannot serve as a secret, or None: the one rule for configured secrets,
    stored secret files and the standalone gateway's."""
    if text.strip().lower() in PLACEHOLDER_SECRETS:
        return "is a published placeholder"
    if len(text) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if any(ch.isspace() or not ch.isprintable() or ch in ';"\\' for ch in text):
        # Asterisk's config files end a value at ';' and trim blanks.
        return "must not contain blanks, control characters, ';', '\"' or '\\'"
    return None


def _strong_secret(value: SecretStr) -> SecretStr:
    """An empty secret means "generate one" (config/secrets.py); a configured one must be
    neither a known placeholder nor short."""
    text = value.get_secret_value()
    if text and (weakness := secret_weakness(text)) is not None:
        raise ValueError(f"{weakness}: set your own or leave it empty to generate one")
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _loopback(host: str) -> str:
    if host == "localhost":
        return host
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host} is not a loopback address")
    return host


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port")
    _loopback(host)
    return value


class Centre(_Frozen):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,8}$")] = "LY"
    name: str = "12345政务服务便民热线"
    inbound_number: Extension = "12345"


class Paths(_Frozen):
    state_dir: Path = Path("var")


class Listener(_Frozen):
    host: str = "127.0.0.1"
    port: Port

    _check_host = field_validator("host")(_loopback)


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

    _check_secret = field_validator("secret")(_strong_secret)


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

    _check_secret = field_validator("secret")(_strong_secret)


class Redis(_Frozen):
    url: str = ""  # an external Redis: its password goes in the URL
    port: Port = 6390
    password: SecretStr = SecretStr("")  # the private Redis's; empty: generated

    _check_secret = field_validator("password")(_strong_secret)


class Database(_Frozen):
    url: str = ""
    # How often overdue orders are looked for and given a supervision notice (督办).
    supervision_interval_s: Annotated[float, Field(ge=10, le=86400)] = 900.0


class Recordings(_Frozen):
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


class Carrier(_Frozen):
    match: str = "127.0.0.2"

    _check_match = field_validator("match")(_loopback)


def _sip_contact_on_loopback(value: str) -> str:
    _host_port(value.split("@", 1)[1])
    return value


def _plain_name(value: str) -> str:
    """A name Asterisk's files and the dialplan can carry as it is."""
    if any(ch in value for ch in '"\\,;\r\n|'):
        raise ValueError("must not contain quotes, backslashes, commas, semicolons or |")
    return value


class Agent(_Frozen):
    extension: Extension
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    skills: tuple[Name, ...] = ()
    contact: Annotated[str, StringConstraints(pattern=r"^sip:[0-9A-Za-z]+@[0-9.]+:[0-9]+$")]
    # The phone's digest password towards Asterisk; empty: generated per agent.
    sip_password: SecretStr = SecretStr("")

    _check_secret = field_validator("sip_password")(_strong_secret)
    _check_contact = field_validator("contact")(_sip_contact_on_loopback)
    _check_name = field_validator("name")(_plain_name)


class Queue(_Frozen):
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


IvrLabel = Literal["consult", "complaint", "help", "operator"]


class Ivr(_Frozen):
    """Queue per IVR menu choice; `operator` (key 0, or no key) is also the fallback queue."""

    queues: Mapping[IvrLabel, Name] = Field(default_factory=dict)
    choice_timeout_ms: Annotated[int, Field(ge=1000, le=30000)] = 5000

    @property
    def operator_queue(self) -> str:
        return self.queues.get("operator", "hotline")  # the name rendered queues start with


class Trunk(_Frozen):
    number: Extension
    primary: str
    backup: str | None = None
    dial_timeout_s: Annotated[int, Field(ge=3, le=120)] = 10

    @field_validator("primary", "backup")
    @classmethod
    def _on_loopback(cls, value: str | None) -> str | None:
        return value if value is None else _host_port(value)


class Colleague(_Frozen):
    """A number an agent may transfer or consult besides agents and the emergency lines: a
    department's duty phone or a supervisor's phone (a PJSIP endpoint like an agent's)."""

    extension: Extension
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    kind: Literal["department", "supervisor"] = "department"
    contact: Annotated[str, StringConstraints(pattern=r"^sip:[0-9A-Za-z]+@[0-9.]+:[0-9]+$")]

    _check_contact = field_validator("contact")(_sip_contact_on_loopback)
    _check_name = field_validator("name")(_plain_name)


class Emergency(_Frozen):
    """The 10-minute clock of emergencies (rules §2) and what follows a hand-over."""

    # The desk and supervisor page warn this long before the 10-minute limit.
    warn_before_s: Annotated[int, Field(ge=10, le=540)] = 120
    # A handed-over order waits for the receiving centre's result this long, then alerts.
    result_due_h: Annotated[float, Field(gt=0, le=720)] = 24.0
    # How often the clocks are looked at (warnings, escalations, results overdue).
    clock_interval_s: Annotated[float, Field(ge=0.2, le=60)] = 2.0
    # CRM user ids (`hotline user list`) of the duty leaders (值班领导, rules §8): told of
    # major matters at once, on the supervisors' page and on their own desk if they have one.
    duty_leaders: tuple[Annotated[int, Field(gt=0)], ...] = ()


class ExchangePeer(_Frozen):
    """A receiving centre (110, or the emergency centre for 119/120) that takes structured
    hand-overs at `url` and sends its replies and its own matters back, signed with `secret`."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://[^/\s]+(/\S*)?$")]
    secret: SecretStr = SecretStr("")  # shared with the peer; empty: generated (secrets/)

    _check_secret = field_validator("secret")(_strong_secret)

    @field_validator("url")
    @classmethod
    def _url_on_loopback(cls, value: str) -> str:
        host_port = value.split("://", 1)[1].split("/", 1)[0]
        _host_port(host_port if ":" in host_port else f"{host_port}:80")
        return value


class Exchange(_Frozen):
    """The 12345 ↔ 110 order exchange (工单警单双向流转, rules §7): peers by emergency line."""

    peers: Mapping[Extension, ExchangePeer] = Field(default_factory=dict)  # "110" → peer
    max_body_bytes: Annotated[int, Field(ge=1024, le=10**7)] = 65536
    retry_first_s: Annotated[float, Field(gt=0, le=600)] = 1.0  # back-off doubles from here
    retry_max_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    max_clock_skew_s: Annotated[int, Field(ge=5, le=3600)] = 300  # signed timestamps


class Settings(_Frozen):
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
    colleagues: tuple[Colleague, ...] = ()
    emergency: Emergency = Emergency()
    exchange: Exchange = Exchange()

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
        """Agents serving `queue` with their penalty: 0 for its skill, 1 for overflow seats."""
        members: list[tuple[Agent, int]] = []
        for agent in self.agents:
            if queue.skill in agent.skills:
                members.append((agent, 0))
            elif queue.overflow_skill and queue.overflow_skill in agent.skills:
                members.append((agent, 1))
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
