from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from peewee import IntegrityError

import pbxd.db.migrations as migrations
import pbxd.db.models as live_models
from pbxd.db import SchemaTooNew, close_database, db, open_database
from pbxd.db.models import ApiToken, Cdr, Extension, User

from .conftest import assert_models_match_schema

# m0002: call-center configuration (and user.extension, covered by User)
CALLCENTER_MODELS = (
    live_models.Queue,
    live_models.QueueMember,
    live_models.RingGroup,
    live_models.RingGroupMember,
    live_models.Conference,
    live_models.Ivr,
    live_models.InboundRoute,
    live_models.Trunk,
    live_models.Agent,
    live_models.AgentLogin,
)

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def versions() -> list[int]:
    return [row[0] for row in db.execute_sql("SELECT version FROM schema_version ORDER BY 1")]


def test_open_sets_durable_pragmas(db_path: Path) -> None:
    assert db.pragma("journal_mode") == "wal"
    assert db.pragma("synchronous") == 2  # FULL: a commit is on disk before it returns
    assert db.pragma("foreign_keys") == 1
    assert db.pragma("busy_timeout") == 5000


def test_open_creates_schema_and_records_version(db_path: Path) -> None:
    assert set(db.get_tables()) >= {"user", "api_token", "extension", "cdr", "schema_version"}
    assert versions() == [m.version for m in migrations.known_migrations()] == list(range(1, 9))


def test_live_models_match_migrated_schema(db_path: Path) -> None:
    assert_models_match_schema((User, ApiToken, Extension, Cdr, *CALLCENTER_MODELS))
    cdr_indexes = {index.name for index in db.get_indexes("cdr")}
    assert {"cdr_start", "cdr_caller_start", "cdr_callee_start"} <= cdr_indexes


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "pbxd.sqlite3"
    open_database(path)
    Extension.create(
        number="1001", name="Alice", secret="secret-1001", created_at=NOW, updated_at=NOW
    )
    close_database()
    for _ in range(2):
        open_database(path)
        assert versions() == [m.version for m in migrations.known_migrations()] == list(range(1, 9))
        assert migrations.apply_migrations(db) == []
        assert [row.number for row in Extension.select()] == ["1001"]
        close_database()


def test_database_from_newer_firmware_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pbxd.sqlite3"
    open_database(path)
    future = len(migrations.known_migrations()) + 1
    db.execute_sql(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 'x')",
        (future,),
    )
    close_database()
    with pytest.raises(SchemaTooNew):
        open_database(path)
    assert db.is_closed()


def test_failed_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = migrations.known_migrations()

    def broken_apply(database):  # creates a table, then fails half-way
        database.execute_sql('CREATE TABLE "half_done" ("id" INTEGER PRIMARY KEY)')
        raise RuntimeError("disk full")

    broken = migrations.Migration(len(shipped) + 1, "broken", SimpleNamespace(apply=broken_apply))
    monkeypatch.setattr(migrations, "known_migrations", lambda: [*shipped, broken])
    with pytest.raises(RuntimeError, match="disk full"):
        open_database(tmp_path / "pbxd.sqlite3")
    monkeypatch.setattr(migrations, "known_migrations", lambda: shipped)
    open_database(tmp_path / "pbxd.sqlite3")
    try:
        assert versions() == [m.version for m in shipped]
        assert "half_done" not in db.get_tables()
    finally:
        close_database()


def test_times_round_trip_as_aware_utc(db_path: Path) -> None:
    beijing = timezone(timedelta(hours=8))
    created = datetime(2024, 5, 1, 16, 30, 15, 250000, tzinfo=beijing)
    Extension.create(
        number="1001", name="A", secret="secret-1001", created_at=created, updated_at=created
    )
    row = Extension.get(Extension.number == "1001")
    assert row.created_at == created
    assert row.created_at.tzinfo is UTC
    assert row.created_at.hour == 8


def test_naive_times_are_refused(db_path: Path) -> None:
    with pytest.raises(ValueError, match="aware"):
        Extension.create(
            number="1001",
            name="A",
            secret="secret-1001",
            created_at=datetime(2024, 5, 1),
            updated_at=NOW,
        )


def test_foreign_keys_are_enforced(db_path: Path) -> None:
    with pytest.raises(IntegrityError):
        ApiToken.create(token_hash="x", user=4242, created_at=NOW, expires_at=NOW)
    user = User.create(username="u", password_hash="x", role="agent", created_at=NOW)
    ApiToken.create(token_hash="y", user=user, created_at=NOW, expires_at=NOW)
    user.delete_instance()
    assert ApiToken.select().count() == 0  # ON DELETE CASCADE


def test_close_is_idempotent(tmp_path: Path) -> None:
    close_database()  # never opened: harmless
    open_database(tmp_path / "pbxd.sqlite3")
    close_database()
    close_database()
    assert db.is_closed()


def test_worker_thread_gets_its_own_connection_with_the_same_pragmas(db_path: Path) -> None:
    def in_worker() -> tuple:
        try:
            Extension.create(
                number="1001", name="A", secret="secret-1001", created_at=NOW, updated_at=NOW
            )
            return (db.pragma("synchronous"), db.pragma("foreign_keys"), db.pragma("busy_timeout"))
        finally:
            db.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(in_worker).result(timeout=10) == (2, 1, 5000)
    assert [row.number for row in Extension.select()] == ["1001"]
