"""Reports merge so that fields only fill in: a poorer later report never blanks one."""

from datetime import datetime, timedelta

from crm.domain.call_progress import CallFacts, merge, outcome_when_lost, talk_s, wait_s
from crm.domain.calls import CallOutcome

T0 = datetime(2026, 12, 1, 2, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


FULL = CallFacts(
    linkedid="1.1", started_at=T0, caller_number="13800000000", caller_name="张三",
    ivr_choice="1", ivr_label="consult", queue="hotline", queued_at=at(5), rang_at=at(6),
    answered_at=at(8), agent_extension="1001", agent_name="王芳",
)  # fmt: skip


def test_a_revived_call_blanks_nothing() -> None:
    revived = CallFacts(
        linkedid="1.1", started_at=at(3), queue="hotline", answered_at=at(60),
        agent_extension="1001", agent_name="1001",
    )  # fmt: skip
    merged = merge(FULL, revived)
    assert merged.started_at == T0 and merged.answered_at == at(8)
    assert merged.queued_at == at(5) and merged.rang_at == at(6)
    assert (merged.caller_number, merged.caller_name) == ("13800000000", "张三")
    assert (merged.ivr_choice, merged.ivr_label) == ("1", "consult")
    assert (merged.agent_extension, merged.agent_name) == ("1001", "王芳")


def test_the_queue_is_the_one_the_ivr_chose_last() -> None:
    # the dialplan sets the operator queue, then the IVR the caller's choice (complaint_choice.ami)
    chose = merge(FULL, CallFacts(linkedid="1.1", started_at=T0, queue="complaint"))
    assert chose.queue == "complaint"
    assert merge(chose, CallFacts(linkedid="1.1", started_at=T0)).queue == "complaint"


def test_the_report_that_ends_the_call_sets_how_it_ended() -> None:
    ended = CallFacts(
        linkedid="1.1", started_at=at(3), outcome=CallOutcome.ANSWERED, answered_at=at(60),
        ended_at=at(90), end_reason="hung up by caller",
    )  # fmt: skip
    merged = merge(FULL, ended)
    assert merged.outcome is CallOutcome.ANSWERED and merged.ended_at == at(90)
    assert wait_s(merged) == 3.0 and talk_s(merged) == 82.0


def test_the_talk_ends_at_the_agents_hang_up_when_the_caller_stayed_for_the_survey() -> None:
    survey = CallFacts(linkedid="1.1", started_at=T0, talk_ended_at=at(50))
    in_survey = merge(FULL, survey)
    assert in_survey.talk_ended_at == at(50) and talk_s(in_survey) == 42.0  # caller still on
    ended = CallFacts(linkedid="1.1", started_at=T0, outcome=CallOutcome.ANSWERED,
                      ended_at=at(70), talk_ended_at=at(50))  # fmt: skip
    assert talk_s(merge(in_survey, ended)) == 42.0


def test_a_transfer_to_110_known_before_a_restart_still_makes_it_emergency() -> None:
    sent = merge(FULL, CallFacts(linkedid="1.1", started_at=T0, emergency_line="110"))
    ended = CallFacts(linkedid="1.1", started_at=T0, outcome=CallOutcome.ANSWERED, ended_at=at(9))
    assert merge(sent, ended).outcome is CallOutcome.EMERGENCY


def test_a_caller_the_ivr_sent_to_110_has_no_queue_an_agents_transfer_keeps_its() -> None:
    """Key 9: the reports before the IVR named the line carry the dialplan's fallback queue."""
    before = CallFacts(linkedid="1.2", started_at=T0, queue="hotline", ivr_choice="9")
    sent = merge(before, CallFacts(linkedid="1.2", started_at=T0, emergency_line="110"))
    assert sent.queue == "" and sent.emergency_line == "110"
    transferred = merge(FULL, CallFacts(linkedid="1.1", started_at=T0, emergency_line="110"))
    assert transferred.queue == "hotline"  # it waited there before an agent sent it on


def test_a_call_revived_after_a_lost_link_is_in_progress_again() -> None:
    lost = merge(
        FULL,
        CallFacts(
            linkedid="1.1",
            started_at=T0,
            outcome=CallOutcome.ANSWERED,
            ended_at=at(20),
            end_reason="asterisk connection lost: EOF",
        ),
    )
    again = merge(lost, CallFacts(linkedid="1.1", started_at=T0, answered_at=at(30)))
    assert again.outcome is CallOutcome.IN_PROGRESS and again.ended_at is None
    assert again.end_reason == "" and again.answered_at == at(8)


def test_an_unseen_end_is_judged_by_what_was_known() -> None:
    assert outcome_when_lost(FULL) is CallOutcome.ANSWERED
    waiting = CallFacts(linkedid="1.2", started_at=T0, queued_at=at(5))
    assert outcome_when_lost(waiting) is CallOutcome.ABANDONED
    assert outcome_when_lost(CallFacts(linkedid="1.3", started_at=T0)) is CallOutcome.IVR_HANGUP
    sent = CallFacts(linkedid="1.4", started_at=T0, answered_at=at(8), emergency_line="119")
    assert outcome_when_lost(sent) is CallOutcome.EMERGENCY
