"""The centre's secrets: a configured one is used, a missing one generated once and kept.

Settings refuse placeholders and short secrets (`config/settings.py`); an empty one (the
default) is generated on first start into `state_dir/secrets/<name>` (file 0600, directory
0700) and read back on every later start, so a newcomer edits nothing, a restarted backend
keeps the secrets its Asterisk, Redis and desktops already hold, and an explicitly configured
secret always wins.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from config.fields import secret_weakness
from config.settings import Settings, SettingsError

GENERATED_BYTES = 24  # 32 url-safe characters, 192 bits


def secrets_dir(state_dir: Path) -> Path:
    return state_dir / "secrets"


def stored_secret(path: Path) -> str:
    """The secret kept in `path`, generated there (mode 0600) if there is none yet."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_secret(path)
    value = secrets.token_urlsafe(GENERATED_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(value + "\n")
    return value


def read_secret(path: Path) -> str:
    """A stored secret; refused if others can read the file or it holds a weak secret."""
    if path.stat().st_mode & 0o077:
        raise SettingsError(f"{path} is readable by others: chmod 600 it (or delete it)")
    value = path.read_text(encoding="ascii").strip()
    if (weakness := secret_weakness(value)) is not None:
        raise SettingsError(f"{path} holds no usable secret (it {weakness}): delete it")
    return value


def _or_stored(value: SecretStr, directory: Path, name: str) -> SecretStr:
    return value if value.get_secret_value() else SecretStr(stored_secret(directory / name))


def resolve_secrets(settings: Settings) -> Settings:
    """The settings with every empty secret replaced by its generated, stored one."""
    directory = secrets_dir(settings.state_dir)
    agents = tuple(
        agent.model_copy(
            update={
                "sip_password": _or_stored(agent.sip_password, directory, f"sip-{agent.extension}")
            }
        )
        for agent in settings.agents
    )
    update = {
        "ami": settings.ami.model_copy(
            update={"secret": _or_stored(settings.ami.secret, directory, "ami")}
        ),
        "gateway": settings.gateway.model_copy(
            update={"secret": _or_stored(settings.gateway.secret, directory, "gateway")}
        ),
        "agents": agents,
        "exchange": settings.exchange.model_copy(
            update={
                "peers": {
                    line: peer.model_copy(
                        update={"secret": _or_stored(peer.secret, directory, f"exchange-{line}")}
                    )
                    for line, peer in settings.exchange.peers.items()
                }
            }
        ),
    }
    if not settings.redis.url:  # an external Redis brings its password in its URL
        password = _or_stored(settings.redis.password, directory, "redis")
        update["redis"] = settings.redis.model_copy(update={"password": password})
    return settings.model_copy(update=update)
