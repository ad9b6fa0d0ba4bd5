"""The telephony configuration's versions (issue 14): each one the whole document, who made
it, when, what changed from the one before and, for a revert, which version it restored.
Created by migration 0013; append-only (a revert is a new version); times are naive UTC.

The document is stored with its secrets in clear (Asterisk's files need them); the API and
the command show it masked (`config.telephony_config.masked_json`).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
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
