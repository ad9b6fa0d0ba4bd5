"""Lanes: jobs of different lanes run at the same time, those of one lane one after the other.

The command executor gives each agent's desk (its extension) a lane. A call-control verb waits
for the Asterisk events that confirm it (up to ~10 s when they never come): meanwhile the other
agents' commands must go on, or they would wait past their age limit and be refused; an
agent's own commands are still carried out in the order sent, each once the one before ended
(a resume clicked during a hold's confirmation acts on the held call).

Bounded: at most `limit` jobs are taken at once (running, or waiting in their lane), and the
reader waits for room before it takes another; a lane holds at most `lane_limit` (the caller
refuses more). The jobs run in the caller's task group: a job that raises aborts the group
(the executor treats that as its own failure), and cancelling the group cancels every job.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from agent_gateway.edge.bus import raise_if_cancelling

Job = Callable[[], Awaitable[None]]


class Lanes:
    def __init__(self, group: asyncio.TaskGroup, limit: int, lane_limit: int) -> None:
        self.group = group
        self.limit = limit
        self.lane_limit = lane_limit
        self._lanes: dict[str, deque[Job]] = {}  # a lane exists while it has jobs
        self._taken = 0  # jobs added and not ended, in every lane
        self._stopped = False
        self._changed = asyncio.Event()

    def full(self, lane: str) -> bool:
        return len(self._lanes.get(lane, ())) >= self.lane_limit

    def add(self, lane: str, job: Job) -> None:
        """Queue `job` in `lane`: it starts once the lane's earlier jobs ended."""
        self._taken += 1
        queue = self._lanes.setdefault(lane, deque())
        queue.append(job)
        if len(queue) == 1:
            self.group.create_task(self._drain(lane, queue), name=f"commands of {lane}")

    async def room(self) -> None:
        """Return once fewer than `limit` jobs are taken."""
        await self._until(lambda: self._taken < self.limit)

    def stop(self) -> None:
        """No job starts any more (those running go on; call `idle` to wait for them)."""
        self._stopped = True

    async def idle(self) -> None:
        """Return once no job is running."""
        await self._until(lambda: not self._lanes)

    async def _drain(self, lane: str, queue: deque[Job]) -> None:
        try:
            while queue and not self._stopped:
                raise_if_cancelling()  # redis-py may have swallowed the job's cancellation
                await queue[0]()
                queue.popleft()
                self._taken -= 1
                self._changed.set()
        finally:  # stopped, cancelled or failed: the jobs left are never started
            self._taken -= len(queue)
            del self._lanes[lane]
            self._changed.set()

    async def _until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            self._changed.clear()
            await self._changed.wait()
