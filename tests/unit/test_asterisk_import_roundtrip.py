"""Our own rendered configuration imported back: the packaged settings rendered by
telephony/asterisk_config.py (the renderer), read by config/asterisk_import.py (which shares
no code with it), compared with the settings."""

from __future__ import annotations

import pytest

from config.asterisk_import import Imported, import_asterisk
from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from telephony.asterisk_config import Layout, write_config


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("state")
    return resolve_secrets(load_settings(environ={"HOTLINE_PATHS__STATE_DIR": str(state)}))


@pytest.fixture(scope="module")
def imported(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    layout = Layout(tmp_path_factory.mktemp("asterisk"))
    write_config(settings, layout)
    return import_asterisk(
        (layout.etc / "queues.conf").read_text(encoding="utf-8"),
        (layout.etc / "pjsip.conf").read_text(encoding="utf-8"),
    )


def test_agents_come_back(settings: Settings, imported: Imported) -> None:
    assert len(settings.agents) == 4
    got = {a.extension: a for a in imported.agents}
    assert set(got) == {a.extension for a in settings.agents}
    for agent in settings.agents:
        back = got[agent.extension]
        assert (back.name, back.contact) == (agent.name, agent.contact)
        assert back.sip_password.get_secret_value() == agent.sip_password.get_secret_value()
        # The rendered queues have no static members (agents log in): no skills to read.
        assert back.skills == ()


def test_queues_come_back(settings: Settings, imported: Imported) -> None:
    assert [q.name for q in imported.queues] == [q.name for q in settings.queues]
    for mine, back in zip(settings.queues, imported.queues, strict=True):
        assert (back.strategy, back.ring_timeout_s, back.wrapup_s) == (
            mine.strategy, mine.ring_timeout_s, mine.wrapup_s,
        )  # fmt: skip
        assert back.skill == back.name  # the import's model: skill = queue


def test_trunks_come_back_with_their_keys(settings: Settings, imported: Imported) -> None:
    assert imported.trunks == dict(settings.trunks)


def test_nothing_of_ours_is_refused(imported: Imported) -> None:
    assert [str(f) for f in imported.findings if f.kind == "invalid"] == []
    assigned = [f for f in imported.findings if f.kind == "assumed"]
    # Only what the rendered files cannot carry: members (agents log in) and so skills.
    assert all("no skills" in f.text or "no agent has skill" in f.text for f in assigned)
    carrier = [f for f in imported.findings if "[carrier]: inbound only" in f.text]
    assert len(carrier) == 1 and carrier[0].kind == "unmapped"
