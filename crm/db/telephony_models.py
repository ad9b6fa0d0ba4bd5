"""The telephony configuration's versions (issue 14): each one the whole document, who made
it, when, what changed from the one before and, for a revert, which version it restored.
Created by migration 0013; append-only (a revert is a new version); times are naive UTC.

The document is stored with its secrets in clear (Asterisk's files need them); the API and
the command show it masked (`config.telephony_config.masked_json`).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db.models import Base


class TelephonyVersion(Base):
    __tablename__ = "telephony_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    # None: seeded from the settings file at first start
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # masked diff
    summary: Mapped[str] = mapped_column(String(500))
    reverted_from: Mapped[int | None] = mapped_column(Integer)  # the version a revert restored


class TelephonyApply(Base):
    """How a version's apply to the running centre went (migration 0014): the call process
    records it once it has tried (live, or at start-up). A version skipped over for a newer
    one has no row; a later start-up that runs a version again overwrites its row."""

    __tablename__ = "telephony_applies"

    version: Mapped[int] = mapped_column(
        ForeignKey("telephony_versions.version"), primary_key=True, autoincrement=False
    )
    applied_at: Mapped[datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(2000))  # what was reloaded, or why it failed
