"""The telephony configuration's routes with the running centre's hooks (as the HTTP process
wires them, `hotline_cli.config_follow`): a document the infrastructure cannot run (an
exchange peer's trunk removed) or only a restart applies (a queue to linear) is refused with
422 and nothing stored; a stored change is announced after its commit, with its number; the
versions' list shows each version's apply outcome."""

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from config.settings import load_settings
from config.telephony_config import document_from
from crm.api import create_app
from crm.api.telephony import TelephonyHooks
from crm.db.engine import session_factory
from crm.db.telephony_models import TelephonyVersion
from crm.domain.clock import utc_now
from crm.usecases.telephony_applies import record_apply
from crm.usecases.telephony_config import seed_if_empty
from hotline_cli.config_follow import runnable
from tests.integration.crm.crm_support import Api, seed

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = "/api/admin/telephony"


@pytest.fixture
async def running(engine: Any, clock: Any, segmenter: Any, tmp_path: Path) -> Any:
    file_settings = load_settings(
        environ={},
        overrides={"paths": {"state_dir": str(tmp_path)},
                   "exchange": {"peers": {"110": {"url": "http://127.0.0.1:9/x"}}}},
    )  # fmt: skip
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    async with sessions() as session, session.begin():
        await seed_if_empty(session, document_from(file_settings), utc_now())
    announced: list[tuple[int, list[int]]] = []

    async def changed(version: int) -> None:  # what a committed transaction shows
        async with sessions() as session:
            stored = await session.scalars(select(TelephonyVersion.version))
            announced.append((version, sorted(stored)))

    hooks = TelephonyHooks(runnable(file_settings), changed)
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     telephony_hooks=hooks)  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        yield Api(client, seeded, clock), announced, sessions


async def _put(api: Api, base: int, document: dict[str, Any]) -> Any:
    return await api.call("PUT", ROOT, "admin", json={"base_version": base, "document": document})


async def test_what_the_running_centre_cannot_run_is_refused(running: Any) -> None:
    api, announced, _ = running
    document = (await api.get(ROOT, "admin"))[1]["document"]
    no_police = {**document, "trunks": {k: v for k, v in document["trunks"].items()
                                        if v["number"] != "110"}}  # fmt: skip
    status, err = await _put(api, 1, no_police)
    assert status == 422 and err["error"]["code"] == "config_not_runnable", err
    assert "exchange.peers.110" in err["error"]["errors"][0]["message"]
    linear = {**document, "queues": [q | {"strategy": "linear"} for q in document["queues"]]}
    for status, err in (await _put(api, 1, linear),
                        await api.call("POST", f"{ROOT}/validate", "admin",
                                       json={"document": linear})):  # fmt: skip
        assert status == 422 and err["error"]["code"] == "config_not_runnable", err
        assert "需要重启才能生效" in err["error"]["message"] and "linear" in err["error"]["message"]
    status, listing = await api.get(f"{ROOT}/versions", "admin")
    assert [v["version"] for v in listing["items"]] == [1] and announced == []


async def test_a_stored_change_is_announced_after_commit_and_its_apply_shown(
    running: Any,
) -> None:
    api, announced, sessions = running
    document = (await api.get(ROOT, "admin"))[1]["document"]
    document["queues"][0]["wrapup_s"] = 7
    status, body = await _put(api, 1, document)
    assert status == 200 and body["applied"] is None, body
    assert announced == [(2, [1, 2])]  # told once version 2 was there for others to read
    assert (await _put(api, 2, document))[1]["changed"] is False and len(announced) == 1
    async with sessions() as session, session.begin():
        await record_apply(session, 1, utc_now(), True, "启动时应用")
        await record_apply(session, 2, utc_now(), False, "未应用，仍运行原配置: x")
    status, listing = await api.get(f"{ROOT}/versions", "admin")
    outcomes = [(v["version"], v["applied"]["ok"], v["applied"]["reason"])
                for v in listing["items"]]  # fmt: skip
    assert outcomes == [(2, False, "未应用，仍运行原配置: x"), (1, True, "启动时应用")]
    status, revert = await api.call("POST", f"{ROOT}/versions/1/revert", "admin",
                                    json={"base_version": 2})  # fmt: skip
    assert status == 200 and announced[-1] == (3, [1, 2, 3]), revert
