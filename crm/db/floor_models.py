"""The floor's trail: every action a supervisor (or admin) took on an agent from the supervisor
page (force pause, unpause, log out, queue moves), with its outcome. Created by migration 0010;
times are naive UTC. Append-only but for the outcome: a row is written before Asterisk is
asked (`pending`), so an action is never carried out unrecorded, and finished once it ends.
"""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db.models import Base, code_enum
from crm.domain.enums import Role

PENDING = "pending"  # the outcome while Asterisk carries the action out
DONE = "done"  # confirmed by Asterisk's events; else the refusal's code


class FloorAction(Base):
    __tablename__ = "floor_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(code_enum(Role))
    extension: Mapped[str] = mapped_column(String(16), index=True)  # the agent acted on
    action: Mapped[str] = mapped_column(String(32))  # force_pause, move_queue, ...
    queue: Mapped[str] = mapped_column(String(64), default="")  # joined (move, assign)
    from_queue: Mapped[str] = mapped_column(String(64), default="")  # left (move)
    pause_reason: Mapped[str] = mapped_column(String(32), default="")  # force_pause
    reason: Mapped[str] = mapped_column(String(200))  # the supervisor's reason text
    outcome: Mapped[str] = mapped_column(String(32), default=PENDING)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
