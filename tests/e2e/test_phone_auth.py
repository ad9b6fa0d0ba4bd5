"""Who may talk SIP to the private Asterisk, with real SIPp peers: only the carrier's address
reaches the inbound context (whatever From user another address claims), an agent's phone
that does not answer Asterisk's digest challenge places no call, and one that does can."""

from __future__ import annotations

import asyncio
import itertools
import string
from pathlib import Path

from hotline_cli.demo.sipp import CallerResult, run_uac
from tests.e2e.harness import Centre

SCENARIOS = Path(__file__).with_name("scenarios")
UNAUTHENTICATED = SCENARIOS / "unauthenticated.xml"

_phone_calls = itertools.count(1)


def _phone_call_files(workdir: Path, user: str, talk_ms: int) -> tuple[Path, Path]:
    template = string.Template((SCENARIOS / "phone_call.xml").read_text(encoding="utf-8"))
    workdir.mkdir(parents=True, exist_ok=True)
    tag = next(_phone_calls)
    scenario = workdir / f"phone-call-{tag}.xml"
    scenario.write_text(template.substitute(user=user, talk_ms=talk_ms), encoding="utf-8")
    return scenario, workdir / f"phone-call-{tag}.err"


async def place_phone_call(
    workdir: Path,
    *,
    target: str,
    number: str,
    user: str,
    password: str,
    source_ip: str = "127.0.0.1",
    talk_ms: int = 3000,
    timeout_s: float = 30.0,
) -> CallerResult:
    """An agent's phone calling `number`, answering Asterisk's digest challenge as `user`."""
    scenario, errors = _phone_call_files(workdir, user, talk_ms)
    return await run_uac(
        workdir, scenario, errors, target=target, service=number,
        source_ip=source_ip, timeout_s=timeout_s, extra_args=["-au", user, "-ap", password],
    )  # fmt: skip


async def _channels(centre: Centre) -> list[dict[str, str]]:
    items = await centre.hotline.ami.action_list("CoreShowChannels")
    return [c for c in items if c.get("Event") == "CoreShowChannel"]


async def _unauthenticated(
    centre: Centre, from_users: list[str], service: str, source_ip: str
) -> CallerResult:
    """One INVITE per From user, without credentials; ok only if Asterisk refused every one."""
    s = centre.hotline.settings
    injection = centre.workdir / f"intruders-{source_ip}-{service}.csv"
    injection.parent.mkdir(parents=True, exist_ok=True)
    injection.write_text("SEQUENTIAL\n" + "".join(f"{user};\n" for user in from_users))
    return await run_uac(
        centre.workdir, UNAUTHENTICATED, centre.workdir / f"intruders-{service}.err",
        target=f"{s.sip.host}:{s.sip.port}", service=service, source_ip=source_ip,
        calls=len(from_users), rate_per_s=10, timeout_s=20, extra_args=["-inf", str(injection)],
    )  # fmt: skip


async def test_only_the_carriers_address_reaches_the_inbound_context(centre: Centre) -> None:
    s = centre.hotline.settings
    assert s.carrier.match != "127.0.0.3"
    # "carrier" is the inbound endpoint's name: Asterisk's default was to match it by From user.
    result = await _unauthenticated(
        centre, ["carrier", "13800138000", "anonymous", "1001"], s.centre.inbound_number,
        "127.0.0.3",
    )  # fmt: skip
    assert result.ok, result.errors
    assert await _channels(centre) == []  # Asterisk made no channel for any of them
    assert centre.log.effects == []


async def test_an_agent_phone_without_credentials_places_no_call(centre: Centre) -> None:
    for number in ("1002", "110"):  # a colleague, an emergency trunk
        result = await _unauthenticated(centre, ["1001"], number, "127.0.0.1")
        assert result.ok, result.errors
    assert await _channels(centre) == []


async def test_an_agent_phone_answering_the_challenge_places_its_call(centre: Centre) -> None:
    s = centre.hotline.settings
    agent = next(a for a in s.agents if a.extension == "1001")
    call = asyncio.create_task(
        place_phone_call(
            centre.workdir, target=f"{s.sip.host}:{s.sip.port}", number="1002", user="1001",
            password=agent.sip_password.get_secret_value(), talk_ms=4000,
        )
    )  # fmt: skip
    bridged: dict[str, str] = {}
    async with asyncio.timeout(20):  # Asterisk's own view: 1001 bridged with 1002's phone
        while not bridged:
            channels = await _channels(centre)
            bridges = {c["Channel"].split("-")[0]: c.get("BridgeId", "") for c in channels}
            if bridges.get("PJSIP/1001") and bridges.get("PJSIP/1001") == bridges.get(
                "PJSIP/1002"
            ):
                bridged = bridges
            await asyncio.sleep(0.1)
    result = await call
    assert result.ok, result.errors
    async with asyncio.timeout(10):  # and the call ended in Asterisk
        while True:
            if not await _channels(centre):
                break
            await asyncio.sleep(0.1)


async def test_a_wrong_password_places_no_call(centre: Centre) -> None:
    s = centre.hotline.settings
    result = await place_phone_call(
        centre.workdir, target=f"{s.sip.host}:{s.sip.port}", number="1002", user="1001",
        password="not-the-password-of-1001", talk_ms=1000, timeout_s=6,
    )  # fmt: skip
    assert not result.ok  # the answer to the challenge is refused: no 200 ever comes
    assert await _channels(centre) == []
