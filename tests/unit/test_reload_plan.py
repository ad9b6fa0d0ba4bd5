"""The live reload plan: each kind of change gives exactly its reloads and member changes,
written out by hand per case, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from config.secrets import resolve_secrets
from config.settings import SEAT_PENALTY, Settings, load_settings
from telephony.reload_plan import Member, Reload, member_steps, plan_reload, sections_of

P, Q, R, D = Reload.PJSIP, Reload.QUEUE_PARAMETERS, Reload.QUEUE_RULES, Reload.DIALPLAN


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    environ = {"HOTLINE_AMI__SECRET": "s3cret-from-the-env", "HOTLINE_PATHS__STATE_DIR": str(state)}
    return resolve_secrets(load_settings(environ=environ))


def changed(settings: Settings, **top: Any) -> Settings:
    """`settings` with whole top-level keys replaced, validated again (secrets resolved)."""
    return resolve_secrets(Settings.model_validate({**settings.model_dump(), **top}))


def queue(settings: Settings, name: str, **fields: Any) -> Settings:
    queues = [q.model_dump() | (fields if q.name == name else {}) for q in settings.queues]
    return changed(settings, queues=queues)


def agent(extension: str, name: str, skills: list[str], port: int = 5077) -> dict[str, Any]:
    return {"extension": extension, "name": name, "skills": skills,
            "contact": f"sip:{extension}@127.0.0.1:{port}"}  # fmt: skip


def test_the_same_settings_change_nothing(old: Settings) -> None:
    plan = plan_reload(old, changed(old))
    assert plan.empty and plan.reloads == () and plan.restart == ()


@pytest.mark.parametrize(
    "fields", [{"strategy": "ringall"}, {"wrapup_s": 10}, {"ring_timeout_s": 25}]
)
def test_a_queue_parameter_reloads_the_queue_parameters_only(
    old: Settings, fields: dict[str, Any]
) -> None:
    plan = plan_reload(old, queue(old, "hotline", **fields))
    assert set(plan.files) == {"queues.conf"}
    assert plan.reloads == (Q,)
    assert plan.sections == {"queues.conf": ("hotline",)}
    assert plan.add == plan.remove == plan.penalty == () and plan.restart == ()


def test_a_moved_trunk_reloads_pjsip_only_its_aor(old: Settings) -> None:
    trunks = {k: t.model_dump() for k, t in old.trunks.items()}
    trunks["police"]["primary"] = "127.0.0.1:6081"
    plan = plan_reload(old, changed(old, trunks=trunks))
    assert plan.reloads == (P,)
    assert plan.sections == {"pjsip.conf": ("trunk-110-primary#2",)}  # the AOR, not the endpoint
    assert "contact = sip:110@127.0.0.1:6081" in plan.files["pjsip.conf"]
    assert plan.add == plan.remove == plan.penalty == () and plan.restart == ()


def test_a_new_agent_gets_its_phone_its_extensions_and_its_queues(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents] + [agent("1004", "刘洋", ["general", "overflow"])]
    plan = plan_reload(old, changed(old, agents=agents))
    assert plan.reloads == (P, D)
    assert plan.sections["pjsip.conf"] == ("1004", "1004#2", "1004-auth")
    assert plan.sections["extensions.conf"] == ("hotline-agents", "hotline-consult")
    # general is hotline's skill (penalty 0); overflow is the overflow skill of both queues.
    assert plan.add == (Member("complaint", "1004", 100), Member("hotline", "1004", 0))
    assert [m.name for m in plan.add] == ["刘洋", "刘洋"]
    assert plan.remove == plan.penalty == () and plan.restart == ()


def test_a_removed_agent_leaves_its_queues(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents if a.extension != "1003"]
    plan = plan_reload(old, changed(old, agents=agents))
    assert plan.reloads == (P, D)
    assert plan.remove == (Member("complaint", "1003", 0), Member("hotline", "1003", 0))
    assert plan.add == plan.penalty == ()


def test_a_new_skill_is_a_membership_and_no_reload(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents]
    agents[0]["skills"] = ["general", "complaint"]  # 1001
    plan = plan_reload(old, changed(old, agents=agents))
    assert plan.files == {} and plan.reloads == ()
    assert plan.add == (Member("complaint", "1001", 0),)
    assert plan.remove == plan.penalty == ()


def test_a_changed_penalty_is_a_new_penalty_not_a_new_member(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents]
    agents[3]["skills"] = ["overflow", "complaint"]  # 1901: complaint's own seat now
    plan = plan_reload(old, changed(old, agents=agents))
    assert plan.reloads == ()
    assert plan.penalty == (Member("complaint", "1901", 0),)
    assert plan.add == plan.remove == ()


def test_a_renamed_agent_is_no_member_change(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents]
    agents[0]["name"] = "王芳芳"  # 1001
    plan = plan_reload(old, changed(old, agents=agents))
    assert plan.add == plan.remove == plan.penalty == ()


def test_an_overflow_threshold_reloads_the_queue_rules_only(old: Settings) -> None:
    plan = plan_reload(old, queue(old, "complaint", overflow_after_s=45))
    assert plan.reloads == (R,)
    assert plan.sections == {"queuerules.conf": ("complaint-overflow",)}


def test_a_longer_wait_reloads_the_dialplan_only(old: Settings) -> None:
    plan = plan_reload(old, queue(old, "hotline", max_wait_s=7200))
    assert plan.reloads == (D,)
    assert plan.sections == {"extensions.conf": ("hotline-inbound", "hotline-requeue")}


def test_what_the_backend_alone_reads_reloads_nothing(old: Settings) -> None:
    ivr = old.ivr.model_dump() | {"queues": {"consult": "complaint", "operator": "hotline"}}
    assert plan_reload(old, changed(old, ivr=ivr)).empty
    assert plan_reload(old, queue(old, "hotline", announce_position=False)).empty


def test_a_new_duty_group_reloads_the_duty_queue_s_members_and_working_hours_nothing(
    old: Settings,
) -> None:
    duty = {"weekly": {}, "duty_group": {"extensions": [old.agents[0].extension]}}
    plan = plan_reload(old, changed(old, hours=duty))
    assert plan.reloads == (Reload.QUEUE_MEMBERS,)
    assert plan.sections == {"queues.conf": ("hotline-duty",)}
    assert plan.add == plan.remove == plan.penalty == () and plan.restart == ()
    weekly = {"weekly": {"mon": [{"start": "08:30", "end": "17:30"}]}}
    assert plan_reload(old, changed(old, hours=weekly)).empty  # the IVR reads them per call


def test_a_dial_timeout_reloads_the_dialplan_only(old: Settings) -> None:
    trunks = {k: t.model_dump() for k, t in old.trunks.items()}
    trunks["fire"]["dial_timeout_s"] = 20
    plan = plan_reload(old, changed(old, trunks=trunks))
    assert plan.reloads == (D,)
    assert plan.sections == {"extensions.conf": ("hotline-consult", "hotline-emergency")}


@pytest.mark.parametrize(
    ("top", "why"),
    [
        ({"sip": {"port": 5070}}, ("sip: read at start-up", "pjsip.conf [transport-udp]")),
        ({"ami": {"port": 5039, "secret": "s3cret-from-the-env"}},
         ("ami: read at start-up", "manager.conf")),
        ({"agi": {"port": 4574}}, ("agi: read at start-up",)),  # the FastAGI server's port
        ({"recordings": {"enabled": False}}, ("recordings: read at start-up",)),
    ],
)  # fmt: skip
def test_infrastructure_needs_a_restart(
    old: Settings, top: dict[str, Any], why: tuple[str, ...]
) -> None:
    restart = plan_reload(old, changed(old, **top)).restart
    assert len(restart) == len(why)
    assert all(item.startswith(reason) for item, reason in zip(restart, why, strict=True))


def test_a_strategy_to_linear_needs_a_restart(old: Settings) -> None:
    plan = plan_reload(old, queue(old, "hotline", strategy="linear"))
    assert plan.restart == ("queues.hotline.strategy: to or from linear",)


def test_sections_of_a_rendered_file_keep_twice_used_names_apart() -> None:
    text = "[1001]\ntype = endpoint\n\n[1001]\ntype = aor\n\n[x]\n\n"
    assert sections_of(text) == {
        "1001": "[1001]\ntype = endpoint", "1001#2": "[1001]\ntype = aor", "x": "[x]",
    }  # fmt: skip


def skills(settings: Settings, extension: str, *names: str) -> Settings:
    agents = [a.model_dump() | ({"skills": list(names)} if a.extension == extension else {})
              for a in settings.agents]  # fmt: skip
    return changed(settings, agents=agents)


# What Asterisk holds: 1001 in hotline paused for training; 1002 logged out at the desk;
# 1003 in hotline only (it left complaint at the desk), on lunch; 1901 in both, at 1.
HELD = (
    Member("hotline", "1001", 0, "王芳", "培训"),
    Member("hotline", "1003", 0, "张伟", "午休"),
    Member("hotline", "1901", 100, "赵敏(支援)"),
    Member("complaint", "1901", 100, "赵敏(支援)"),
)


def test_a_paused_agent_joins_a_new_queue_paused_with_its_reason(old: Settings) -> None:
    steps = member_steps(old, plan_reload(old, skills(old, "1001", "general", "complaint")), HELD)
    assert steps.add == (Member("complaint", "1001", 0),)
    assert (steps.add[0].name, steps.add[0].paused_reason) == ("王芳", "培训")
    assert steps.remove == () and steps.penalty == ()


def test_a_new_penalty_is_set_in_place(old: Settings) -> None:
    steps = member_steps(old, plan_reload(old, skills(old, "1901", "overflow", "complaint")), HELD)
    assert steps.penalty == ((Member("complaint", "1901", 100), 0),)
    assert steps.add == steps.remove == ()


def test_an_agent_logged_out_stays_logged_out(old: Settings) -> None:
    logged_out = [m for m in HELD if m.extension != "1001"]
    new = skills(old, "1001", "complaint")  # out of hotline, into complaint
    steps = member_steps(old, plan_reload(old, new), logged_out)
    assert steps.add == steps.remove == () and steps.penalty == ()


def test_a_new_agent_logs_in_as_at_start_up(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents] + [agent("1004", "刘洋", ["general"])]
    steps = member_steps(old, plan_reload(old, changed(old, agents=agents)), HELD)
    assert steps.add == (Member("hotline", "1004", 0),)
    assert steps.add[0].paused_reason is None
    assert steps.remove == () and steps.penalty == ()


def test_a_removed_agent_leaves_only_the_queues_it_is_in(old: Settings) -> None:
    agents = [a.model_dump() for a in old.agents if a.extension != "1003"]
    steps = member_steps(old, plan_reload(old, changed(old, agents=agents)), HELD)
    assert steps.remove == (Member("hotline", "1003", 0),)
    assert steps.remove[0].paused_reason == "午休"  # what a failed apply puts back
    assert steps.add == () and steps.penalty == ()


def test_an_overflow_seat_given_the_queue_s_skill_is_left_in_place(old: Settings) -> None:
    no_overflow = changed(old, queues=[q.model_dump() | {"overflow_skill": None}
                                       for q in old.queues])  # fmt: skip
    seated = (Member("hotline", "1901", SEAT_PENALTY, "赵敏(支援)"),)  # by the overflow control
    new = skills(no_overflow, "1901", "overflow", "general")
    steps = member_steps(no_overflow, plan_reload(no_overflow, new), seated)
    assert steps.penalty == ((Member("hotline", "1901", SEAT_PENALTY), 0),)
    assert steps.add == steps.remove == ()
