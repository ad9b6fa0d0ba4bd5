"""Recordings over HTTP, on SQLite and PostgreSQL: real WAV files in a temporary recordings
directory, rows as the checker leaves them, the API in aiohttp's test server.

Bytes are compared with the file read back here, checksums computed here; every play,
download, link and refusal is looked for in `recording_access` itself.
"""

import hashlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api import create_app, recording_files
from crm.db.call_models import CallEvent, Recording, RecordingAccess
from crm.db.engine import SessionFactory, session_factory
from crm.db.models import User
from crm.domain.calls import CallEventKind, RecordingStatus
from crm.domain.enums import Role
from crm.repo.directory import create_user
from crm.segmenter import Segmenter
from crm.usecases.spy_sessions import SUPERVISION
from tests.integration.crm.crm_support import START, Api, FakeClock, seed
from tests.support.recording_rows import add_recording, write_wav

AGENT_EXT = "1001"  # the seeded agent's extension: the calls added answered by it
OTHER_EXT = "1003"  # another agent's


@dataclass
class Served:
    api: Api
    sessions: SessionFactory
    root: Path

    async def add(self, linkedid: str, *, part: int = 1, path: str | None = None,
                  status: RecordingStatus = RecordingStatus.ATTACHED,
                  seconds: float = 2.0, agent: str = AGENT_EXT) -> tuple[int, bytes]:  # fmt: skip
        """A call answered by extension `agent` with a recording row; the WAV written under
        the directory (named as MixMonitor names it) unless `path` names a file of the test's
        own making."""
        relative = path or f"20250929/{linkedid}{part}.wav"
        data = b"" if path else write_wav(self.root / relative, seconds)
        rid = await add_recording(self.sessions, linkedid, relative, data, START, part=part,
                                  seconds=seconds, status=status, agent=agent)  # fmt: skip
        return rid, data

    async def trail(self, recording_id: int) -> list[tuple[str, str, str, int]]:
        """(user name's role, action, byte range, status) of each entry, oldest first."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(RecordingAccess)
                .where(RecordingAccess.recording_id == recording_id)
                .order_by(RecordingAccess.id)
            )
            return [(r.role.value, r.action, r.byte_range, r.status) for r in rows]

    async def fetch(self, url: str, who: str | None = "agent",
                    **headers: str) -> tuple[int, Mapping[str, str], bytes]:  # fmt: skip
        if who is not None:
            headers["Authorization"] = f"Bearer {self.api.seed.tokens[who]}"
        async with self.api.client.get(url, headers=headers) as resp:
            return resp.status, CIMultiDict(resp.headers), await resp.read()


@pytest.fixture
async def served(
    engine: AsyncEngine, clock: FakeClock, segmenter: Segmenter, tmp_path: Path
) -> AsyncIterator[Served]:
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    async with sessions() as session, session.begin():
        user, token = await create_user(session, "power", Role.HANDLER, seeded.units["POWER"],
                                        "tok-power")  # fmt: skip
        seeded.tokens["power"], seeded.user_ids["power"] = token, user.id
        user, token = await create_user(session, "agent2", Role.AGENT, seeded.units["CENTRE"],
                                        "tok-agent2", agent_extension=OTHER_EXT)  # fmt: skip
        seeded.tokens["agent2"], seeded.user_ids["agent2"] = token, user.id
        agent = await session.get(User, seeded.user_ids["agent"])
        assert agent is not None
        agent.agent_extension = AGENT_EXT
    root = tmp_path / "recordings"
    root.mkdir()
    secret = b"recording-test-secret-0123456789"
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     recordings_dir=root, link_secret=secret)  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        yield Served(Api(client, seeded, clock), sessions, root)


async def order_of_call(api: Api, linkedid: str, lead: str, assist: list[str]) -> int:
    oid = int((await api.new_order())["id"])
    status, body = await api.post(f"/api/orders/{oid}/calls", {"linkedid": linkedid})
    assert status == 200, body
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units[lead],
                 assist_unit_ids=[api.seed.units[u] for u in assist])  # fmt: skip
    return oid


async def link(served: Served, recording_id: int, who: str = "agent") -> dict[str, Any]:
    status, body = await served.api.post(f"/api/recordings/{recording_id}/link", None, who)
    assert status == 201, body
    return dict(body)


async def test_download_is_the_file_with_its_type_checksum_and_a_safe_name(
    served: Served,
) -> None:
    rid, data = await served.add("1759111200.1")
    status, headers, body = await served.fetch(f"/api/recordings/{rid}/audio")
    assert status == 200 and body == data
    assert headers["Content-Type"] == "audio/wav"
    assert headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Disposition"] == 'attachment; filename="call-1759111200.1-part1.wav"'
    assert await served.trail(rid) == [("agent", "download", "", 200)]


async def test_ranges_answer_exactly_the_bytes_asked(served: Served) -> None:
    rid, data = await served.add("1759111200.2")
    size, url = len(data), f"/api/recordings/{rid}/audio"
    status, headers, body = await served.fetch(url, Range="bytes=100-199")
    assert (status, body) == (206, data[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{size}"
    status, headers, body = await served.fetch(url, Range="bytes=-100")
    assert (status, body, headers["Content-Range"]) == (
        206, data[-100:], f"bytes {size - 100}-{size - 1}/{size}")  # fmt: skip
    status, _, body = await served.fetch(url, Range=f"bytes={size - 10}-")
    assert (status, body) == (206, data[-10:])
    status, _, body = await served.fetch(url, Range=f"bytes=0-{size * 3}")  # end past the end
    assert (status, body) == (206, data)
    status, headers, body = await served.fetch(url, Range=f"bytes={size}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    assert b'"range_not_satisfiable"' in body
    status, headers, _ = await served.fetch(url, Range="bytes=500-400")
    assert status == 416
    status, headers, _ = await served.fetch(url, Range="bytes=0-1,5-6")  # one range only
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    assert await served.trail(rid) == [
        ("agent", "download", "bytes=100-199", 206),
        ("agent", "download", "bytes=-100", 206),
        ("agent", "download", f"bytes={size - 10}-", 206),
        ("agent", "download", f"bytes=0-{size * 3}", 206),
        ("agent", "download", f"bytes={size}-", 416),
        ("agent", "download", "bytes=500-400", 416),
        ("agent", "download", "bytes=0-1,5-6", 416),
    ]


async def test_handlers_hear_only_calls_of_orders_their_unit_leads_or_assists(
    served: Served,
) -> None:
    rid, data = await served.add("1759111200.3")
    url = f"/api/recordings/{rid}/audio"
    assert (await served.fetch(url, "urban"))[0] == 403  # no order links the call yet
    await order_of_call(served.api, "1759111200.3", lead="URBAN", assist=["POWER"])
    assert (await served.fetch(url, "urban"))[0:3:2] == (200, data)  # the lead unit
    assert (await served.fetch(url, "power"))[0:3:2] == (200, data)  # an assisting unit
    status, _, body = await served.fetch(url, "env")  # another unit
    assert status == 403 and b'"recording_forbidden"' in body
    for who in ("supervisor", "admin"):
        assert (await served.fetch(url, who))[0] == 200
    status, meta = await served.api.get(f"/api/recordings/{rid}", "env")
    assert status == 403, meta
    status, listed = await served.api.get("/api/recordings?linkedid=1759111200.3", "env")
    assert status == 403, listed
    status, listed = await served.api.get("/api/recordings?linkedid=1759111200.3", "power")
    assert status == 200 and [r["id"] for r in listed["items"]] == [rid]
    assert await served.trail(rid) == [
        ("handler", "download", "", 403),
        ("handler", "download", "", 200),
        ("handler", "download", "", 200),
        ("handler", "download", "", 403),
        ("supervisor", "download", "", 200),
        ("admin", "download", "", 200),
        ("handler", "metadata", "", 403),
        ("handler", "list", "", 403),
    ]


async def test_agents_hear_only_calls_they_answered(served: Served) -> None:
    own, data = await served.add("1759111202.1")
    other, other_data = await served.add("1759111202.2", agent="1002")
    async with served.sessions() as session, session.begin():  # 1003 took it after a transfer
        session.add(CallEvent(linkedid="1759111202.2", at=START, kind=CallEventKind.ANSWERED,
                              agent=OTHER_EXT, detail={}))  # fmt: skip
    assert (await served.fetch(f"/api/recordings/{own}/audio"))[0:3:2] == (200, data)
    status, _, body = await served.fetch(f"/api/recordings/{other}/audio")
    assert status == 403 and b'"recording_forbidden"' in body
    assert (await served.api.get(f"/api/recordings/{other}"))[0] == 403
    assert (await served.api.get("/api/recordings?linkedid=1759111202.2"))[0] == 403
    assert (await served.api.post(f"/api/recordings/{other}/link", None))[0] == 403
    status, listed = await served.api.get("/api/recordings?linkedid=1759111202.1")
    assert status == 200 and [r["id"] for r in listed["items"]] == [own]
    # the agent who took the call after the transfer hears it, not the first agent's call
    assert (await served.fetch(f"/api/recordings/{other}/audio", "agent2"))[0:3:2] == (
        200, other_data)  # fmt: skip
    assert (await served.fetch(f"/api/recordings/{own}/audio", "agent2"))[0] == 403
    assert await served.trail(other) == [
        ("agent", "download", "", 403),
        ("agent", "metadata", "", 403),
        ("agent", "list", "", 403),
        ("agent", "link", "", 403),
        ("agent", "download", "", 200),
    ]
    assert await served.trail(own) == [("agent", "download", "", 200),
                                       ("agent", "download", "", 403)]  # fmt: skip


async def test_a_file_removed_while_being_served_is_410_on_the_trail(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    located, checked = recording_files.locate, recording_files.check_range

    def locate_then_remove(root: Path | None, recording: Recording) -> Path:
        path = located(root, recording)
        path.unlink()  # retention, or an operator, right after it was found
        return path

    monkeypatch.setattr("crm.api.recordings.locate", locate_then_remove)
    first, _ = await served.add("1759111202.3")
    status, _, body = await served.fetch(f"/api/recordings/{first}/audio")
    assert status == 410 and b'"recording_file_missing"' in body, (status, body)
    monkeypatch.setattr("crm.api.recordings.locate", located)

    def check_then_remove(request: web.Request, size: int) -> None:
        checked(request, size)
        (served.root / "20250929" / "1759111202.41.wav").unlink()  # before aiohttp opens it

    monkeypatch.setattr("crm.api.recordings.check_range", check_then_remove)
    second, _ = await served.add("1759111202.4")
    status, _, body = await served.fetch(f"/api/recordings/{second}/audio")
    assert status == 410, (status, body)
    assert await served.trail(first) == [("agent", "download", "", 410)]
    assert await served.trail(second) == [("agent", "download", "", 410)]


async def test_a_supervisors_coaching_is_for_supervisors_and_admins_only(
    served: Served,
) -> None:
    """The whisper/barge file of a call (kind supervision) is told apart in the listings; the
    agent who answered the call and the handlers of its order hear the call, not the coaching."""
    linkedid = "1759111203.1"
    call, call_data = await served.add(linkedid)
    coaching, data = await served.add(linkedid, part=2)
    async with served.sessions() as session, session.begin():
        row = await session.get(Recording, coaching)
        assert row is not None
        row.kind = SUPERVISION
    await order_of_call(served.api, linkedid, lead="URBAN", assist=[])
    for who in ("agent", "urban"):
        assert (await served.fetch(f"/api/recordings/{call}/audio", who))[0:3:2] == (
            200, call_data)  # fmt: skip
        status, _, body = await served.fetch(f"/api/recordings/{coaching}/audio", who)
        assert status == 403 and b"supervisor's whisper or barge" in body, body
        assert (await served.api.get(f"/api/recordings/{coaching}", who))[0] == 403
        assert (await served.api.post(f"/api/recordings/{coaching}/link", None, who))[0] == 403
        status, listed = await served.api.get(f"/api/recordings?linkedid={linkedid}", who)
        assert status == 200 and [r["id"] for r in listed["items"]] == [call]
    for who in ("supervisor", "admin"):
        assert (await served.fetch(f"/api/recordings/{coaching}/audio", who))[0:3:2] == (
            200, data)  # fmt: skip
        status, listed = await served.api.get(f"/api/recordings?linkedid={linkedid}", who)
        assert [(r["id"], r["kind"]) for r in listed["items"]] == [
            (call, "call"), (coaching, SUPERVISION)]  # fmt: skip
        status, detail = await served.api.get(f"/api/calls/{linkedid}", who)
        assert status == 200, detail
        assert [(r["id"], r["kind"]) for r in detail["recordings"]] == [
            (call, "call"), (coaching, SUPERVISION)]  # fmt: skip
    assert [t[1:] for t in await served.trail(coaching)][:4] == [
        ("download", "", 403), ("metadata", "", 403), ("link", "", 403), ("download", "", 403),
    ]


async def test_metadata_and_a_calls_parts_in_order(served: Served) -> None:
    second, _ = await served.add("1759111200.4", part=2, seconds=1.0)
    first, data = await served.add("1759111200.4", part=1)
    status, meta = await served.api.get(f"/api/recordings/{first}")
    assert status == 200
    assert meta == {
        "id": first, "linkedid": "1759111200.4", "part": 1, "kind": "call", "status": "attached",
        "format": "wav", "duration_s": 2.0, "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(), "checked_at": "2025-09-29T02:00:00Z",
    }  # fmt: skip
    status, listed = await served.api.get("/api/recordings?linkedid=1759111200.4")
    assert status == 200 and [r["id"] for r in listed["items"]] == [first, second]


async def test_a_signed_link_plays_without_a_token_with_ranges(served: Served) -> None:
    rid, data = await served.add("1759111200.5")
    issued = await link(served, rid)
    assert issued["url"].startswith(f"/api/recordings/{rid}/play?")
    assert issued["expires_at"] == "2025-09-29T02:05:00Z"  # five minutes
    status, headers, body = await served.fetch(issued["url"], None)
    assert (status, body) == (200, data)
    assert headers["Content-Disposition"].startswith("inline;")
    status, headers, body = await served.fetch(issued["url"], None, Range="bytes=100-199")
    assert (status, body) == (206, data[100:200])
    assert await served.trail(rid) == [
        ("agent", "link", "", 201),
        ("agent", "play", "", 200),
        ("agent", "play", "bytes=100-199", 206),
    ]


async def test_expired_forged_and_stale_links_are_refused(served: Served) -> None:
    rid, _ = await served.add("1759111200.6")
    other, _ = await served.add("1759111200.7")
    url = str((await link(served, rid))["url"])
    supervisor = served.api.seed.user_ids["supervisor"]
    agent = served.api.seed.user_ids["agent"]
    forged = [
        url.replace(f"user={agent}", f"user={supervisor}"),  # another user's link
        url.replace(f"/{rid}/", f"/{other}/"),  # another recording
        url.replace("expires=", "expires=1"),  # a later expiry
        url[:-4] + ("0000" if not url.endswith("0000") else "1111"),  # another signature
    ]
    for attempt in forged:
        status, _, body = await served.fetch(attempt, None)
        assert status == 403 and b'"link_invalid"' in body, attempt
    status, _, body = await served.fetch(url.replace("sig=", "sig=zz"), None)
    assert status == 400, body
    served.api.clock.advance(seconds=300)
    status, _, body = await served.fetch(url, None)
    assert status == 403 and b'"link_expired"' in body
    # a link still valid, of a user disabled since: refused as that user
    served.api.clock.advance(seconds=-300)
    status, _ = await served.api.call("PATCH", f"/api/users/{agent}", "admin",
                                      json={"active": False})  # fmt: skip
    assert status == 200
    status, _, body = await served.fetch(url, None)
    assert status == 403 and b'"link_invalid"' in body
    assert await served.trail(rid) == [
        ("agent", "link", "", 201),
        ("agent", "play", "", 403),  # expired
        ("agent", "play", "", 403),  # disabled
    ]  # forged links name no verified user: logged, not on anyone's trail
    assert await served.trail(other) == []


async def test_a_handler_link_is_refused_once_the_unit_no_longer_handles_the_call(
    served: Served,
) -> None:
    rid, _ = await served.add("1759111200.8")
    oid = await order_of_call(served.api, "1759111200.8", lead="URBAN", assist=[])
    url = str((await link(served, rid, "urban"))["url"])
    assert (await served.fetch(url, None))[0] == 200
    status, body = await served.api.act(oid, "return", "urban", reason="不属于本单位职责")
    assert status == 200, body
    await served.api.ok(oid, "dispatch", "agent", lead_unit_id=served.api.seed.units["ENV"])
    assert (await served.fetch(url, None))[0] == 403
    assert [t[1:] for t in await served.trail(rid)] == [
        ("link", "", 201), ("play", "", 200), ("play", "", 403)]  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/api/recordings/abc/audio",
        "/api/recordings/..%2f..%2fetc%2fpasswd/audio",
        "/api/recordings/1%2f..%2f..%2fcrm.db/audio",
        "/api/recordings/../../etc/passwd",
        "/api/recordings/1/../../../etc/passwd",
    ],
)
async def test_bad_recording_ids_get_the_json_error_and_no_file(
    served: Served, path: str
) -> None:
    await served.add("1759111200.9")
    status, headers, body = await served.fetch(path)
    assert status == 404 and headers["Content-Type"].startswith("application/json"), body
    assert b"root:" not in body


@pytest.mark.parametrize("raw", ["0", "99999999999", "2147483648", "9" * 5000])
async def test_out_of_range_ids_are_400(served: Served, raw: str) -> None:
    for suffix in ("/audio", "", "/access"):
        status, body = await served.api.get(f"/api/recordings/{raw}{suffix}", "supervisor")
        assert status == 400 and body["error"]["field"] == "recording_id", body
    status, _, body = await served.fetch(f"/api/recordings/{raw}/play?user=1&expires=1&sig="
                                         + "0" * 64, None)  # fmt: skip
    assert status == 400, body


async def test_unknown_id_is_404(served: Served) -> None:
    status, body = await served.api.get("/api/recordings/4242/audio")
    assert status == 404 and body["error"]["code"] == "recording_not_found"


async def test_rows_pointing_outside_the_directory_serve_nothing(
    served: Served, tmp_path: Path
) -> None:
    secret = write_wav(tmp_path / "outside.wav", 0.5)
    (served.root / "20250929").mkdir(exist_ok=True)
    (served.root / "20250929" / "link.wav").symlink_to(tmp_path / "outside.wav")
    (served.root / "20250929" / "1759111299.1.wav").symlink_to(tmp_path / "outside.wav")
    write_wav(served.root / "20250929" / "notes.wav", 0.5)  # inside, but no recording's name
    for path in ("../outside.wav", str(tmp_path / "outside.wav"), "20250929/link.wav",
                 "20250929/1759111299.1.wav", "20250929/../../outside.wav", ".",
                 "20250929/notes.wav"):  # fmt: skip
        rid, _ = await served.add(f"out{len(path)}", path=path)
        status, _, body = await served.fetch(f"/api/recordings/{rid}/audio")
        assert status == 410 and body != secret and b'"recording_file_missing"' in body, path
        assert await served.trail(rid) == [("agent", "download", "", 410)]


async def test_missing_removed_and_unchecked_recordings(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    rid, _ = await served.add("1759111201.1")
    (served.root / "20250929" / "1759111201.11.wav").unlink()
    status, _, body = await served.fetch(f"/api/recordings/{rid}/audio")
    assert status == 410 and b'"recording_file_missing"' in body
    assert any(f"recording {rid}: file" in r.getMessage() for r in caplog.records)
    status, body = await served.api.post(f"/api/recordings/{rid}/link", None)
    assert status == 410 and body["error"]["code"] == "recording_file_missing"
    removed, _ = await served.add("1759111201.2", status=RecordingStatus.REMOVED)
    status, _, body = await served.fetch(f"/api/recordings/{removed}/audio")
    assert status == 410 and b'"recording_removed"' in body
    status, _ = await served.api.post(f"/api/recordings/{removed}/link", None)
    assert status == 410
    pending, _ = await served.add("1759111201.3", status=RecordingStatus.PENDING)
    status, _, body = await served.fetch(f"/api/recordings/{pending}/audio")
    assert status == 409 and b'"recording_not_checked"' in body
    assert await served.trail(rid) == [("agent", "download", "", 410), ("agent", "link", "", 410)]
    assert await served.trail(removed) == [("agent", "download", "", 410),
                                           ("agent", "link", "", 410)]  # fmt: skip
    assert await served.trail(pending) == [("agent", "download", "", 409)]


async def test_the_trail_is_for_supervisors_and_admins(served: Served) -> None:
    rid, _ = await served.add("1759111201.4")
    await served.fetch(f"/api/recordings/{rid}/audio", "agent", Range="bytes=0-9")
    await served.fetch(f"/api/recordings/{rid}/audio", "env")
    for who in ("agent", "urban"):
        status, body = await served.api.get(f"/api/recordings/{rid}/access", who)
        assert status == 403, body
    status, body = await served.api.get(f"/api/recordings/{rid}/access", "supervisor")
    assert status == 200
    seed = served.api.seed
    assert [(e["user_id"], e["role"], e["action"], e["byte_range"], e["status"])
            for e in body["items"]] == [
        (seed.user_ids["env"], "handler", "download", "", 403),
        (seed.user_ids["agent"], "agent", "download", "bytes=0-9", 206),
    ]  # fmt: skip
    assert (await served.api.get("/api/recordings/4242/access", "admin"))[0] == 404


async def test_forged_links_are_logged_until_a_client_forges_by_the_dozen(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    rid, data = await served.add("1759111201.5")
    url = str((await link(served, rid))["url"])
    forged = url[:-1] + ("0" if not url.endswith("0") else "1")
    for _ in range(15):
        status, _, _ = await served.fetch(forged, None)
        assert status == 403
    logged = [r for r in caplog.records if "forged playback link" in r.getMessage()]
    assert len(logged) == 10  # the throttle's burst, then quiet
    status, _, body = await served.fetch(url, None)  # the real link from the same client
    assert (status, body) == (200, data)
