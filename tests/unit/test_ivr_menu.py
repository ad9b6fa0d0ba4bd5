"""The menu's decisions: key → choice, invalid key or timeout → replays → operator,
nothing at all → operator at once, key 9 only with an emergency line, label → queue."""

import pytest

from ivr.menu import (
    MAX_REPLAYS,
    Attempt,
    Choice,
    Label,
    choose,
    keys_on_offer,
    queue_map,
)

WITH_9 = keys_on_offer(emergency=True)
FIRST, AFTER_A_KEY = Attempt(), Attempt().again("*")


@pytest.mark.parametrize(
    ("key", "choice"),
    [
        ("1", Choice("1", Label.CONSULT)),
        ("2", Choice("2", Label.COMPLAINT)),
        ("3", Choice("3", Label.HELP)),
        ("0", Choice("0", Label.OPERATOR)),
        ("9", Choice("9", Label.EMERGENCY)),
    ],
)
def test_menu_keys_count_on_every_attempt(key: str, choice: Choice) -> None:
    for attempt in (FIRST, AFTER_A_KEY, Attempt(MAX_REPLAYS, pressed=True)):
        assert choose(key, attempt, WITH_9) == choice


@pytest.mark.parametrize("key", [None, ""])
def test_a_caller_who_never_pressed_a_key_goes_to_the_operator_at_once(key: str | None) -> None:
    assert choose(key, FIRST, WITH_9) == Choice("", Label.OPERATOR)


@pytest.mark.parametrize("key", ["4", "8", "*", "#", "12", "*#*#", "9" * 300])
def test_an_invalid_key_replays_the_menu_twice_then_operator(key: str) -> None:
    attempt = FIRST
    for _ in range(MAX_REPLAYS):
        assert choose(key, attempt, WITH_9) is None
        attempt = attempt.again(key)
    assert choose(key, attempt, WITH_9) == Choice("", Label.OPERATOR)
    assert MAX_REPLAYS == 2


def test_a_timeout_after_an_invalid_key_is_retried_too() -> None:
    assert choose(None, AFTER_A_KEY) is None
    assert choose(None, AFTER_A_KEY.again(None)) == Choice("", Label.OPERATOR)
    assert AFTER_A_KEY.again(None).pressed  # the caller did press once


def test_key_9_is_invalid_without_an_emergency_line() -> None:
    assert "9" not in keys_on_offer(emergency=False)
    assert choose("9", FIRST, keys_on_offer(emergency=False)) is None


def test_labels_are_ascii_codes() -> None:
    assert [str(label) for label in Label] == [
        "consult", "complaint", "help", "operator", "emergency"
    ]  # fmt: skip


def test_all_queued_labels_default_to_hotline() -> None:
    assert queue_map() == dict.fromkeys(
        (Label.CONSULT, Label.COMPLAINT, Label.HELP, Label.OPERATOR), "hotline"
    )


def test_overrides_and_default() -> None:
    queues = queue_map({"complaint": "complaints", "help": "help-desk"}, default="general")
    assert queues == {
        Label.CONSULT: "general",
        Label.COMPLAINT: "complaints",
        Label.HELP: "help-desk",
        Label.OPERATOR: "general",
    }


@pytest.mark.parametrize("label", ["police", "emergency"])
def test_unknown_or_unqueued_label_is_refused(label: str) -> None:
    with pytest.raises(ValueError, match=f"unknown IVR label '{label}'"):
        queue_map({label: "q110"})


@pytest.mark.parametrize("queue", ["a,b", "vip|x", "${EVIL}", ""])
def test_queue_names_unsafe_in_the_dialplan_are_refused(queue: str) -> None:
    with pytest.raises(ValueError, match="dialplan token"):
        queue_map({"help": queue})
    with pytest.raises(ValueError, match="dialplan token"):
        queue_map(default=queue)
