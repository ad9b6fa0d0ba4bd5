"""The telephony configuration admins edit (issue 14): one document, versioned in the CRM's
database, which is its source of truth once the settings file has seeded version 1.

The runtime `Settings` are the file's infrastructure (ports, paths, secrets, database) with
the current document applied (`settings_with`). Secrets (agents' SIP passwords, trunks'
passwords) are stored in clear (Asterisk's files need them) and shown masked: a document
sent back with the mask keeps the stored secret (`unmask`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from config.emergency_settings import Colleague
from config.field_messages import chinese
from config.fields import Extension, Frozen, Name
from config.settings import Agent, Ivr, Queue, Settings, parse_settings
from config.telephony_checks import FieldProblem, problems
from config.telephony_sections import NuisanceNumber, OverflowSeats, WorkingHours
from config.trunk_settings import OutboundTrunk, Trunk, TrunkLegs

MASK = "******"


class TelephonyConfig(Frozen):
    """What telephony admins change while the centre runs; build it with `parse_document`,
    which checks it as a whole."""

    inbound_numbers: Annotated[tuple[Extension, ...], Field(min_length=1)] = ("12345",)
    agents: tuple[Agent, ...] = ()
    queues: tuple[Queue, ...] = ()
    trunks: Mapping[Name, Trunk] = Field(default_factory=dict)
    outbound: OutboundTrunk | None = None  # None: the centre calls no citizen back
    colleagues: tuple[Colleague, ...] = ()
    ivr: Ivr = Ivr()
    overflow: tuple[OverflowSeats, ...] = ()
    hours: WorkingHours = WorkingHours()
    nuisance: tuple[NuisanceNumber, ...] = ()


class DocumentInvalid(ValueError):
    """A document refused as a whole; `problems` names each bad field."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def parse_document(data: Mapping[str, Any]) -> TelephonyConfig:
    """The document, checked field by field and then as a whole (`config.telephony_checks`).
    Every section must be there: one left out would silently be reset to its default."""
    if missing := [name for name in TelephonyConfig.model_fields if name not in data]:
        raise DocumentInvalid(
            [FieldProblem(name, "缺少此部分：文档须包含全部配置部分") for name in missing]
        )
    try:
        document = TelephonyConfig.model_validate(data)
    except ValidationError as exc:
        raise DocumentInvalid([_problem(item) for item in exc.errors()]) from None
    if found := problems(document):
        raise DocumentInvalid(found)
    return document


def _problem(item: Mapping[str, Any]) -> FieldProblem:
    field = ".".join(str(part) for part in item["loc"])
    return FieldProblem(field, chinese(item))


def document_from(settings: Settings) -> TelephonyConfig:
    """The document the settings file holds: version 1's seed."""
    return TelephonyConfig(
        inbound_numbers=(settings.centre.inbound_number, *settings.centre.more_inbound_numbers),
        agents=settings.agents,
        queues=settings.queues,
        trunks=settings.trunks,
        outbound=settings.outbound,
        colleagues=settings.colleagues,
        ivr=settings.ivr,
        overflow=settings.overflow,
        hours=settings.hours,
        nuisance=settings.nuisance,
    )


def settings_with(settings: Settings, document: TelephonyConfig) -> Settings:
    """`settings` (the file's infrastructure) running `document`; checked again as settings
    (SettingsError: e.g. an exchange peer whose trunk the document removed)."""
    first, *more = document.inbound_numbers
    centre = settings.centre.model_copy(
        update={"inbound_number": first, "more_inbound_numbers": tuple(more)}
    )
    fields: dict[str, Any] = {name: getattr(settings, name) for name in Settings.model_fields}
    fields.update({name: getattr(document, name) for name in TelephonyConfig.model_fields})
    del fields["inbound_numbers"]
    fields["centre"] = centre
    return parse_settings(fields)


def _plain(value: Any, secret: Any) -> Any:
    """`value` dumped with each secret replaced by `secret(text)`, as JSON values."""
    if isinstance(value, SecretStr):
        return secret(value.get_secret_value())
    if isinstance(value, Mapping):
        return {str(k): _plain(v, secret) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, secret) for v in value]
    return to_jsonable_python(value)


def stored_json(document: TelephonyConfig) -> dict[str, Any]:
    """The document as stored: secrets in clear."""
    plain: dict[str, Any] = _plain(document.model_dump(), lambda text: text)
    return plain


def masked_json(document: TelephonyConfig) -> dict[str, Any]:
    """The document as shown: a set secret as MASK, an empty one (generated) as ""."""
    plain: dict[str, Any] = _plain(document.model_dump(), lambda text: MASK if text else "")
    return plain


def unmask(data: Mapping[str, Any], stored: TelephonyConfig) -> dict[str, Any]:
    """`data` with every MASK sent back replaced by the stored secret of the same agent
    (by extension), trunk (by key) or of the outbound trunk; a MASK with nothing stored
    behind it is refused."""
    out = dict(data)
    passwords = {a.extension: a.sip_password for a in stored.agents}
    refused: list[FieldProblem] = []
    if isinstance(agents := data.get("agents"), list):
        out["agents"] = [
            _kept(agent, "sip_password", passwords.get(_key(agent, "extension")),
                  f"agents.{i}.sip_password", refused)
            for i, agent in enumerate(agents)
        ]  # fmt: skip
    if isinstance(trunks := data.get("trunks"), Mapping):
        out["trunks"] = {
            key: _kept(trunk, "password", _trunk_password(stored, key, trunk),
                       f"trunks.{key}.password", refused)
            for key, trunk in trunks.items()
        }  # fmt: skip
    if isinstance(outbound := data.get("outbound"), Mapping):
        kept = _legs_password(stored.outbound, outbound)
        out["outbound"] = _kept(outbound, "password", kept, "outbound.password", refused)
    if refused:
        raise DocumentInvalid(refused)
    return out


def _key(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else None


MOVED = "primary", "backup"  # a trunk's far ends (host:port): its credential goes there


def _trunk_password(stored: TelephonyConfig, key: str, sent: Any) -> SecretStr | None:
    return _legs_password(stored.trunks.get(key), sent)


def _legs_password(trunk: TrunkLegs | None, sent: Any) -> SecretStr | None:
    """The stored password kept for `trunk`, unless it moved (None: a MASK sent for it is
    refused, the password retyped for the new host)."""
    if trunk is None or any(_key(sent, f) != getattr(trunk, f) for f in MOVED):
        return None
    return trunk.password


def _kept(
    item: Any, field: str, secret: SecretStr | None, path: str, refused: list[FieldProblem]
) -> Any:
    if _key(item, field) != MASK:
        return item
    if secret is None or not secret.get_secret_value():
        refused.append(FieldProblem(path, f"{MASK} 表示保留原密码，但此处原来没有密码，"
                                          "或中继地址已改：请填写新密码"))  # fmt: skip
        return item
    return {**item, field: secret.get_secret_value()}
