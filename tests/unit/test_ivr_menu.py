"""The menu's decisions: key → choice, invalid key → one replay → operator, label → queue."""

import pytest

from ivr.menu import Choice, Label, choose, queue_map


@pytest.mark.parametrize(
    ("key", "choice"),
    [
        ("1", Choice("1", Label.CONSULT)),
        ("2", Choice("2", Label.COMPLAINT)),
        ("3", Choice("3", Label.HELP)),
        ("0", Choice("0", Label.OPERATOR)),
        (None, Choice("", Label.OPERATOR)),
        ("", Choice("", Label.OPERATOR)),
    ],
)
def test_menu_keys_and_timeout(key: str | None, choice: Choice) -> None:
    assert choose(key, replays_left=1) == choice
    assert choose(key, replays_left=0) == choice


@pytest.mark.parametrize("key", ["4", "9", "*", "#", "12"])
def test_other_key_replays_once_then_operator(key: str) -> None:
    assert choose(key, replays_left=1) is None
    assert choose(key, replays_left=0) == Choice("", Label.OPERATOR)


def test_labels_are_ascii_codes() -> None:
    assert [str(label) for label in Label] == ["consult", "complaint", "help", "operator"]


def test_all_labels_default_to_hotline() -> None:
    assert queue_map() == dict.fromkeys(Label, "hotline")


def test_overrides_and_default() -> None:
    queues = queue_map({"complaint": "complaints", "help": "help-desk"}, default="general")
    assert queues == {
        Label.CONSULT: "general",
        Label.COMPLAINT: "complaints",
        Label.HELP: "help-desk",
        Label.OPERATOR: "general",
    }


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown IVR label 'police'"):
        queue_map({"police": "q110"})


@pytest.mark.parametrize("queue", ["a,b", "vip|x", "${EVIL}", ""])
def test_queue_names_unsafe_in_the_dialplan_are_refused(queue: str) -> None:
    with pytest.raises(ValueError, match="dialplan token"):
        queue_map({"help": queue})
    with pytest.raises(ValueError, match="dialplan token"):
        queue_map(default=queue)
