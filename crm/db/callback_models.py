"""Callback requests keeping the caller's place (`queue_callbacks`, migration 0017): stored
before the caller is told it was taken, so neither a backend nor an Asterisk restart loses
one; times are naive UTC."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db.models import Base, code_enum
from crm.domain.queue_callback import CallbackState


class QueueCallbackRow(Base):
    __tablename__ = "queue_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)  # the caller's call
    queue: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(32))  # dialled back; never logged
    position: Mapped[int] = mapped_column(Integer)  # the caller's place when it left
    queued_at: Mapped[int] = mapped_column(Integer)  # its first join (epoch s): the queue's order
    # placed first in its queue (QUEUE_PRIO): a retry, or a placeholder Asterisk lost
    front: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # placeholders that reached a dial
    state: Mapped[CallbackState] = mapped_column(code_enum(CallbackState))
    next_at: Mapped[datetime | None] = mapped_column(DateTime)  # when a waiting one is placed
    last_result: Mapped[str] = mapped_column(String(32), default="")  # ${DIALSTATUS}, …
    placeholder: Mapped[str] = mapped_column(String(64), default="")  # its call's Linkedid
    updated_at: Mapped[datetime] = mapped_column(DateTime)


Index("ix_queue_callbacks_state_next_at", QueueCallbackRow.state, QueueCallbackRow.next_at)
