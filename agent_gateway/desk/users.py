"""The backend's side of desk admission: it publishes from the CRM who may keep a desktop open.

Gateways have no database; they compare each session's ticket generation with the list this
writes to Redis (`agent_gateway.edge.admission`). It is written at start-up, after every change to
users made through the API (the CRM app's `users_changed` hook), and every `interval_s`, which
also carries changes made by the `hotline user` command and repairs a flushed Redis.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from agent_gateway.edge.admission import publish_desk_users
from agent_gateway.edge.bus import raise_if_cancelling
from crm.db.engine import SessionFactory
from crm.repo.directory import desk_generations

log = logging.getLogger(__name__)


class DeskUsers:
    def __init__(self, sessions: SessionFactory, redis: Redis) -> None:
        self.sessions = sessions
        self.redis = redis

    async def publish(self) -> None:
        async with self.sessions() as session:
            generations = await desk_generations(session)
        await publish_desk_users(self.redis, generations)

    async def changed(self) -> None:
        """Publish now; a failure is logged (the next periodic run repairs it), never raised."""
        try:
            await self.publish()
        except (RedisError, SQLAlchemyError, OSError) as exc:
            log.warning("could not publish the desk users: %r", exc)

    async def run(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.changed()
            raise_if_cancelling()  # redis-py may have swallowed a cancellation meanwhile
