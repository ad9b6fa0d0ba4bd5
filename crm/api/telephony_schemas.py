"""Request and response bodies of the telephony configuration's routes (admins only).

The document itself travels as a JSON object checked as a whole by the use case (every bad
field named, 422), not by the body's parser (which stops at the first, 400); its schema is
`TelephonyConfig` (config/telephony_config.py). Secrets are shown as "******".
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from crm.api.schemas import Id, Out
from crm.intake import Strict

DOCUMENT = Field(
    description="The whole telephony configuration (TelephonyConfig): inbound_numbers, agents, "
    "queues, trunks, outbound (null: none), colleagues, ivr, overflow, hours, nuisance. A "
    'secret sent back as "******" keeps the stored one.'
)


class DocumentIn(Strict):
    document: dict[str, Any] = DOCUMENT


class TelephonyPut(Strict):
    base_version: Id = Field(description="The version the change was made on (optimistic lock)")
    document: dict[str, Any] = DOCUMENT


class RevertIn(Strict):
    base_version: Id = Field(description="The current version, as the caller last saw it")


class VersionQuery(Strict):
    limit: int = Field(default=50, ge=1, le=500)
    before: Id | None = Field(default=None, description="Only versions older than this one")


class ChangeOut(BaseModel):
    path: str
    old: Any = Field(description="null: added")
    new: Any = Field(description="null: removed")


class ApplyOut(Out):
    applied_at: datetime
    ok: bool = Field(description="false: the running centre kept the configuration before it")
    reason: str = Field(description="What was reloaded, or why it failed")


class VersionOut(Out):
    version: int
    created_at: datetime
    author_id: int | None = Field(description="null: seeded from the settings file")
    summary: str
    reverted_from: int | None
    applied: ApplyOut | None = Field(
        default=None,
        description="How its apply to the running centre went; null: not tried (yet, or "
        "skipped over for a newer version)",
    )


class VersionList(BaseModel):
    items: list[VersionOut]


class VersionDetail(VersionOut):
    document: dict[str, Any] = Field(description="The document, secrets masked")
    changes: list[ChangeOut] = Field(description="From the version before, secrets masked")


class Applied(VersionDetail):
    changed: bool = Field(description="false: the document was the current one; nothing stored")


class Validated(BaseModel):
    valid: bool
    changes: list[ChangeOut] = Field(description="What applying it would change")
