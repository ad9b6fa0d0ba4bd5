"""Helpers for the CRM integration tests: a fixed clock, seeded users and an API client."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from crm.db.engine import SessionFactory
from crm.domain.enums import Role, UnitKind
from crm.repo.directory import create_unit, create_user

# Monday 2025-09-29 10:00 China time, the day before the 2025 National Day holiday
START = datetime(2025, 9, 29, 2, 0)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Seed:
    units: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)


async def seed(sessions: SessionFactory) -> Seed:
    """A centre, three departments and one user per role (two handlers in different units)."""
    out = Seed()
    async with sessions() as session, session.begin():
        for code, name, kind in [
            ("CENTRE", "12345 热线中心", UnitKind.CENTRE),
            ("URBAN", "城市管理局", UnitKind.DEPARTMENT),
            ("ENV", "生态环境局", UnitKind.DEPARTMENT),
            ("POWER", "供电公司", UnitKind.DEPARTMENT),
        ]:
            out.units[code] = (await create_unit(session, code, name, kind)).id
        for key, role, unit in [
            ("agent", Role.AGENT, "CENTRE"),
            ("supervisor", Role.SUPERVISOR, "CENTRE"),
            ("admin", Role.ADMIN, "CENTRE"),
            ("urban", Role.HANDLER, "URBAN"),
            ("env", Role.HANDLER, "ENV"),
        ]:
            user, token = await create_user(session, key, role, out.units[unit], f"tok-{key}")
            out.tokens[key], out.user_ids[key] = token, user.id
    return out


@dataclass
class Api:
    client: TestClient[Any, Any]
    seed: Seed
    clock: FakeClock

    async def call(
        self, method: str, path: str, who: str | None = "agent", **kwargs: Any
    ) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.seed.tokens[who]}"
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def get(self, path: str, who: str | None = "agent", **kwargs: Any) -> tuple[int, Any]:
        return await self.call("GET", path, who, **kwargs)

    async def post(self, path: str, body: Any, who: str | None = "agent") -> tuple[int, Any]:
        return await self.call("POST", path, who, json=body)

    async def new_order(self, who: str = "agent", **fields: Any) -> dict[str, Any]:
        body = {"order_type": "complaint", "text": "小区门口占道经营", **fields}
        status, order = await self.post("/api/orders", body, who)
        assert status == 201, order
        return dict(order)

    async def act(self, order_id: int, action: str, who: str, **fields: Any) -> tuple[int, Any]:
        body = {"action": action, **fields}
        return await self.post(f"/api/orders/{order_id}/transitions", body, who)

    async def ok(self, order_id: int, action: str, who: str, **fields: Any) -> dict[str, Any]:
        status, order = await self.act(order_id, action, who, **fields)
        assert status == 200, order
        return dict(order)

    async def audit(self, order_id: int) -> list[dict[str, Any]]:
        status, body = await self.get(f"/api/orders/{order_id}/audit", "supervisor")
        assert status == 200, body
        return list(body["items"])
