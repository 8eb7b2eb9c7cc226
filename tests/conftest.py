"""Shared fixtures: a real database (a SQLite file, or PostgreSQL when DANVAN_TEST_DATABASE_URL
is set), settings written to a real config file, and the core's services on a fixed clock."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.main.composition import build_services
from bot.core.clock import FixedClock
from bot.config.settings import Settings, load_settings
from bot.service.transactions import Service, Services
from storage.engine import make_engine
from storage.migrate import upgrade_database
from testkit.config import OFFICE_CHATS, PG_URL, ROOT, write_config  # noqa: F401

pytest_plugins = ["testkit.telegram_fixtures", "testkit.zalo_fixtures"]

@pytest.fixture
def database_url(tmp_path: Path) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path / 'danvan.sqlite3'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path | None:
    """Migrate once per run: a template SQLite file to copy, or the PostgreSQL schema itself."""
    if PG_URL:
        eng = make_engine(PG_URL)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade_database(eng)
        eng.dispose()
        return None
    template = tmp_path_factory.mktemp("template") / "template.sqlite3"
    eng = make_engine(f"sqlite:///{template}")
    upgrade_database(eng)
    eng.dispose()  # the last connection to close checkpoints the WAL into the file
    assert not Path(f"{template}-wal").exists()
    return template


@pytest.fixture
def engine(database_url: str, migrated_template: Path | None):
    """A migrated, empty database for one test."""
    if migrated_template is not None:
        shutil.copyfile(migrated_template, database_url.removeprefix("sqlite:///"))
    eng = make_engine(database_url)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            tables = [t for t in SQLModel.metadata.sorted_tables]
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    env = {"DATABASE_URL": database_url}
    return load_settings(write_config(tmp_path), environ=env)


@pytest.fixture
def clock() -> FixedClock:
    # Thursday 26/11/2026 09:00 in Hà Nội.
    return FixedClock(datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))


@pytest.fixture
def services(settings: Settings, engine, clock: FixedClock) -> Services:
    return build_services(settings, clock=clock, engine=engine, migrate=False)


@pytest.fixture
def service(services: Services) -> Service:
    return Service(services)
