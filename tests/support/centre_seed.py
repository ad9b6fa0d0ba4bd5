"""What every private centre of the end-to-end and browser tests starts from, made once per
test process and copied into each new state directory: the prompts and hold music (sox:
a second or more each time) and a SQLite database migrated to head.

The backend still checks both when it starts, as it always does: every prompt against its
recipe's digest (a stale one is made again) and the database's revision (alembic upgrades
whatever is behind). What a test proves about a running centre is unchanged; the migrations
themselves are tested on their own (tests/integration)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from config.settings import Settings
from crm.db.engine import create_engine
from crm.db.migrate import migrate
from hotline_cli.sounds import build_sounds
from telephony.asterisk_config import Layout, layout_for

DATABASE = "hotline.db"
_made: list[Path] = []  # the seed directory, once made


async def _seed() -> Path:
    if not _made:
        seed = Path(tempfile.mkdtemp(prefix="hotline-seed-"))
        atexit.register(shutil.rmtree, seed, True)
        build_sounds(Layout(seed))
        engine = create_engine(f"sqlite:///{seed / DATABASE}")
        try:
            await migrate(engine)
        finally:
            await engine.dispose()  # the last connection's close folds the WAL in
        _made.append(seed)
    return _made[0]


async def seed_state(settings: Settings) -> None:
    """Copy the seed into the centre's state directory, unless that already has its own
    sounds or database (a centre started again on the same state); the database only when
    it is SQLite in the state directory."""
    seed = await _seed()
    sounds = layout_for(settings).sounds
    if not sounds.exists():
        shutil.copytree(Layout(seed).sounds, sounds)
    database = settings.state_dir / DATABASE
    if settings.database_url == f"sqlite:///{database}" and not database.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed / DATABASE, database)
