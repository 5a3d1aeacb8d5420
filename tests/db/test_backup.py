"""Backup and restore of the configuration: one zip, all or nothing, history untouched."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from pbxd.db import migrations
from pbxd.db.models import Cdr
from pbxd.services import Services
from pbxd.services.backup import (
    CONFIG_TABLES,
    DATABASE,
    HISTORY_TABLES,
    MANIFEST,
    BackupRefused,
    BackupService,
)

from .historydata import queue_call


@pytest.fixture
def backups(services: Services, tmp_path: Path) -> BackupService:
    return services.backup


def configure(services: Services) -> None:
    services.extensions.create("1001", "Alice", "alice-secret-1", voicemail=True,
                               voicemail_pin="2468")  # fmt: skip
    services.extensions.create("1002", "Bob", "bob-secret-22")
    services.queues.create({"number": "600", "name": "Sales", "members": ["1001", "1002"]})
    services.ivrs.create({"name": "main", "number": "500", "prompt": "welcome",
                          "keys": {"1": "queue:600"}})  # fmt: skip


def rewrite(data: bytes, change) -> bytes:
    """The backup `data` with its members passed through `change(name, body) -> body|None`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def test_every_table_is_either_configuration_or_history(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        tables = {
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    assert set(CONFIG_TABLES) | set(HISTORY_TABLES) == tables  # fmt: skip
    assert not set(CONFIG_TABLES) & set(HISTORY_TABLES)


def test_restore_brings_back_the_configuration_and_keeps_the_history(
    services: Services, backups: BackupService, tmp_path: Path
) -> None:
    configure(services)
    (tmp_path / "prompts" / "zh").mkdir(parents=True)
    (tmp_path / "prompts" / "zh" / "welcome.wav").write_bytes(b"RIFF-uploaded-welcome")
    name, data = backups.create()
    assert name.startswith("coocenter-config-") and name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == [DATABASE, MANIFEST, "prompts/zh/welcome.wav"]
        manifest = json.loads(archive.read(MANIFEST))
    assert manifest["kind"] == "configuration-backup" and manifest["schema_version"] >= 5

    # After the backup: the configuration changes, a call is made.
    services.ivrs.delete("main")
    services.queues.delete("600")
    services.extensions.delete("1002")
    services.extensions.create("1003", "Carol", "carol-secret-3")
    services.history.record_call(queue_call(0, agent="1001", recordings_dir=tmp_path / "rec"))
    (tmp_path / "prompts" / "zh" / "welcome.wav").unlink()
    (tmp_path / "prompts" / "en").mkdir()
    (tmp_path / "prompts" / "en" / "other.wav").write_bytes(b"RIFF-other")

    result = backups.restore(data)
    assert result.counts["extension"] == 2 and result.counts["queue"] == 1 and result.prompts == 1
    assert [v.number for v in services.extensions.list()] == ["1001", "1002"]
    assert services.extensions.voicemail_pin("1001") == "2468"
    assert services.extensions.secret_for("1002") == "bob-secret-22"
    assert [m.extension for m in services.queues.get("600").members] == ["1001", "1002"]
    assert services.ivrs.get("main").keys == {"1": "queue:600"}
    assert Cdr.select().count() == 1  # the call made after the backup is still there
    assert (tmp_path / "prompts" / "zh" / "welcome.wav").read_bytes() == b"RIFF-uploaded-welcome"
    assert not (tmp_path / "prompts" / "en").exists()


def test_restore_revokes_tokens_and_tells_listeners(services: Services) -> None:
    configure(services)
    admin = services.users.create_user("boss", "boss-password-1", "admin")
    token = services.users.issue_token(admin)
    _, data = services.backup.create()
    services.extensions.create("1003", "Carol", "carol-secret-3")
    heard_extensions, heard_queues, heard_agents = [], [], []
    services.extensions.subscribe(lambda number, gone: heard_extensions.append((number, gone)))
    services.queues.subscribe(lambda kind, key, deleted: heard_queues.append((key, deleted)))
    services.agents.subscribe(lambda view: heard_agents.append(view.extension))

    services.restore_configuration(data)
    assert services.users.user_for_token(token) is None
    assert services.users.authenticate("boss", "boss-password-1") is not None
    assert heard_extensions == [("1003", True), ("1001", False), ("1002", False)]
    assert heard_queues == [("600", False)]
    assert heard_agents == ["1001", "1002"]


def with_database(data: bytes, change, workdir: Path) -> bytes:
    """The backup `data` with `change(connection)` applied to its database, re-hashed as a
    genuine older or newer firmware would have written it."""
    path = workdir / "changed.sqlite3"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        path.write_bytes(archive.read(DATABASE))
    with closing(sqlite3.connect(path)) as connection, connection:
        change(connection)
    body = path.read_bytes()

    def swap(name: str, old: bytes) -> bytes:
        if name == DATABASE:
            return body
        if name == MANIFEST:
            manifest = json.loads(old)
            manifest["files"][DATABASE] = hashlib.sha256(body).hexdigest()
            return json.dumps(manifest).encode()
        return old

    return rewrite(data, swap)


def schema_4_backup(workdir: Path) -> bytes:
    """A backup as a firmware that knew migrations 1-4 wrote it: one extension, no PIN."""
    path = workdir / "schema4.sqlite3"
    old = SqliteDatabase(str(path))
    old.execute_sql("CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TEXT NOT NULL)")  # fmt: skip
    for migration in migrations.known_migrations()[:4]:
        migration.module.apply(old)
        old.execute_sql("INSERT INTO schema_version VALUES (?, ?, '2026-01-01')",
                        (migration.version, migration.name))  # fmt: skip
    old.execute_sql(
        "INSERT INTO extension (number, name, secret, created_at, updated_at, recording,"
        " voicemail) VALUES ('1001', 'Alice', 'alice-secret-1', '2026-01-01T00:00:00+00:00',"
        " '2026-01-01T00:00:00+00:00', 'all', 1)"
    )
    old.close()
    body = path.read_bytes()
    manifest = {
        "product": "CooCenter S10",
        "kind": "configuration-backup",
        "format": 1,
        "schema_version": 4,
        "files": {DATABASE: hashlib.sha256(body).hexdigest()},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        archive.writestr(DATABASE, body)
    return out.getvalue()


def test_an_older_backup_is_migrated_before_it_is_restored(
    services: Services, backups: BackupService, tmp_path: Path
) -> None:
    configure(services)
    result = backups.restore(schema_4_backup(tmp_path))
    assert result.schema_from == 4
    [alice] = services.extensions.list()
    assert (alice.number, alice.recording, alice.voicemail) == ("1001", "all", True)
    assert services.extensions.voicemail_pin("1001") is None  # there were no PINs then
    assert services.queues.list() == []


def test_a_newer_firmwares_backup_is_refused(
    services: Services, backups: BackupService, tmp_path: Path
) -> None:
    configure(services)
    _, data = backups.create()

    def from_the_future(copy) -> None:
        copy.execute("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01')")

    with pytest.raises(BackupRefused, match="newer firmware"):
        backups.restore(with_database(data, from_the_future, tmp_path))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: b"PK\x03\x04 not really a zip", "not a zip file"),
        (lambda data: data[: len(data) // 2], "not a zip file"),
        (lambda data: rewrite(data, lambda n, b: None if n == MANIFEST else b), "no manifest"),
        (lambda data: rewrite(data, lambda n, b: b + b"x" if n == DATABASE else b), "checksum"),
        (
            lambda data: rewrite(
                data,
                lambda n, b: (
                    json.dumps({**json.loads(b), "kind": "firmware"}).encode()
                    if n == MANIFEST
                    else b
                ),
            ),
            "not a CooCenter configuration backup",
        ),
        (
            lambda data: rewrite(
                data,
                lambda n, b: (
                    json.dumps(
                        {
                            **json.loads(b),
                            "files": {**json.loads(b)["files"], "../../etc/passwd": _sha(b"x")},
                        }
                    ).encode()
                    if n == MANIFEST
                    else b
                ),
            ),
            "differ from the manifest",
        ),
    ],
    ids=["garbage", "truncated", "no-manifest", "altered", "foreign", "extra-file"],
)
def test_a_bad_file_is_refused_and_changes_nothing(
    services: Services, backups: BackupService, damage, message: str
) -> None:
    configure(services)
    _, data = backups.create()
    services.extensions.create("1009", "Kept", "kept-secret-9")
    with pytest.raises(BackupRefused, match=message):
        backups.restore(damage(data))
    assert [v.number for v in services.extensions.list()] == ["1001", "1002", "1009"]
