"""Bodies of the recordings' routes (pydantic), the source of their OpenAPI document."""

from datetime import datetime

from pydantic import BaseModel, Field

from crm.api.schemas import Id
from crm.domain.calls import RecordingStatus
from crm.domain.enums import Role
from crm.intake import Strict

LINKEDID = r"^[A-Za-z0-9._-]+$"


class RecordingOut(BaseModel):
    id: int
    linkedid: str
    part: int
    kind: str = Field(description='"call", or "supervision": a supervisor\'s whisper/barge')
    status: RecordingStatus
    format: str
    duration_s: float | None
    size_bytes: int | None
    sha256: str
    checked_at: datetime | None


class RecordingList(BaseModel):
    items: list[RecordingOut]


class CallRecordingsQuery(Strict):
    linkedid: str = Field(min_length=1, max_length=64, pattern=LINKEDID)


class LinkOut(BaseModel):
    """A playback URL (relative to this server) for `<audio src>`, good until `expires_at`."""

    url: str
    expires_at: datetime


class PlayQuery(Strict):
    """What a playback link carries: its user, its expiry (Unix seconds) and its signature."""

    user: Id
    expires: int = Field(ge=0, le=2**40)
    sig: str = Field(pattern=r"^[0-9a-f]{64}$")


class AccessOut(BaseModel):
    at: datetime
    user_id: int
    role: Role
    action: str
    byte_range: str
    status: int


class AccessList(BaseModel):
    items: list[AccessOut]
