"""Backup and restore of the configuration as one file (issue 6, "system" page).

The file is a zip:

    manifest.json     product, kind, format, schema version, firmware, time, SHA-256 per file
    config.sqlite3    a snapshot of the database with only the configuration tables filled
    prompts/...       the uploaded prompts (<data-dir>/prompts)

Why a database file and not JSON: a backup made by an older firmware is brought up to date by
the same numbered migrations that upgrade the live database, so an admin can restore last
year's backup after an update. A backup from a newer firmware (schema version above ours) is
refused, as are corrupt, truncated, foreign or tampered files (the manifest's hashes).

What is configuration is listed in CONFIG_TABLES; call history, recordings, voicemail, login
tokens and sessions, live agent state and the operation log are never in a backup and are left
as they are by a restore (HISTORY_TABLES); a test keeps every table in exactly one list.
The backup holds SIP secrets, mailbox PINs and password hashes: it is for admins only.

A restore replaces every configuration table in one transaction (all or nothing) and revokes
every token and session in it (the user rows were replaced), then swaps in the uploaded
prompts. `Services.restore_configuration` then tells the listeners of call control.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import zipfile
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from peewee import SqliteDatabase

from ..db import db
from ..db.errors import SchemaTooNew
from ..db.migrations import apply_migrations, known_migrations
from .clock import Clock, utc_now
from .errors import ServiceError

log = logging.getLogger(__name__)

PRODUCT = "CooCenter S10"
KIND = "configuration-backup"
FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "config.sqlite3"
PROMPTS = "prompts/"
MAX_BACKUP_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 2000

# Parents before children: inserted in this order, deleted in the reverse.
CONFIG_TABLES = (
    "user",
    "extension",
    "queue",
    "queue_member",
    "user_queue",  # the queues a supervisor leads
    "ring_group",
    "ring_group_member",
    "conference",
    "ivr",
    "inbound_route",
    "trunk",
    "contact",  # the customer directory (m0007)
    "blacklist_entry",  # refused numbers (m0007); their hit counters are not stored
    "disposition_code",  # the wrap-up codes agents pick from (m0008)
)
HISTORY_TABLES = (
    "schema_version",
    "api_token",
    "cdr",
    "recording",
    "call_detail",
    "call_leg",
    "queue_event",
    "voicemail_message",
    "agent",  # pause state: live, not configuration
    "agent_login",  # dynamic logins: live, not configuration
    "web_session",
    "operation_log",  # what admins did stays on the device that saw it
    # Customer history written while the center works (m0008): a restore must not take back
    # what agents wrote since the backup. Names only, no foreign keys to replaced rows.
    "memo",
    "call_disposition",
)
# Emptied in a restore: they point at users that were just replaced.
REVOKED_TABLES = ("api_token", "web_session")


class BackupRefused(ServiceError):
    """The file is not a backup this firmware can restore; nothing was changed."""

    status = 400
    code = "bad_backup"


@dataclass(frozen=True)
class RestoreResult:
    counts: dict[str, int]  # table -> rows restored
    prompts: int  # uploaded prompt files restored
    schema_from: int  # the backup's schema version (migrated to ours)


def firmware_version() -> str:
    try:
        return metadata.version("pbxd")
    except metadata.PackageNotFoundError:
        return "dev"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tables(connection: sqlite3.Connection, schema: str = "main") -> list[str]:
    rows = connection.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "  # noqa: S608 - our name
        "AND name NOT LIKE 'sqlite_%'"
    )
    return [row[0] for row in rows]


def _columns(connection: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    return [row[1] for row in connection.execute(f'PRAGMA {schema}.table_info("{table}")')]


def _schema_version(connection: sqlite3.Connection) -> int:
    try:
        row = connection.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"backup: the database has no schema version ({exc})") from None
    return int(row[0] or 0)


class BackupService:
    def __init__(self, prompts_dir: Path, clock: Clock = utc_now):
        self.prompts_dir = prompts_dir  # the uploads (<data-dir>/prompts)
        self._clock = clock

    # -- backup ---------------------------------------------------------------------------------

    def create(self) -> tuple[str, bytes]:
        """(file name, zip bytes) of the configuration now."""
        now = self._clock()
        with tempfile.TemporaryDirectory(prefix="pbxd-backup-") as tmp:
            snapshot = Path(tmp) / DATABASE
            # A consistent copy without holding a lock for long; then only configuration.
            db.execute_sql("VACUUM INTO ?", (str(snapshot),))
            with closing(sqlite3.connect(snapshot)) as copy:
                with copy:  # one transaction
                    for table in _tables(copy):
                        if table not in CONFIG_TABLES and table != "schema_version":
                            copy.execute(f'DELETE FROM "{table}"')  # noqa: S608 - our names
                version = _schema_version(copy)
                copy.execute("VACUUM")  # the deleted history must not linger in free pages
            files = {DATABASE: snapshot.read_bytes()}
        for path in sorted(self.prompts_dir.rglob("*.wav")) if self.prompts_dir.is_dir() else ():
            if path.is_file() and not path.name.startswith("."):
                files[PROMPTS + path.relative_to(self.prompts_dir).as_posix()] = path.read_bytes()
        manifest = {
            "product": PRODUCT,
            "kind": KIND,
            "format": FORMAT,
            "schema_version": version,
            "firmware": firmware_version(),
            "created": now.isoformat(),
            "files": {name: _sha256(data) for name, data in files.items()},
        }
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            for name, data in files.items():
                archive.writestr(name, data)
        log.info("configuration backup made (%d files, schema %d)", len(files), version)
        return f"coocenter-config-{now:%Y%m%d-%H%M%S}.zip", out.getvalue()

    # -- restore --------------------------------------------------------------------------------

    def restore(self, data: bytes) -> RestoreResult:
        files = _read_backup(data)
        with tempfile.TemporaryDirectory(prefix="pbxd-restore-") as tmp:
            copy_path = Path(tmp) / DATABASE
            copy_path.write_bytes(files[DATABASE])
            schema_from = _prepare_copy(copy_path)
            counts = self._replace_tables(copy_path)
        prompts = self._replace_prompts(
            {name[len(PROMPTS) :]: body for name, body in files.items() if name.startswith(PROMPTS)}
        )
        result = RestoreResult(counts, prompts, schema_from)
        log.info("configuration restored from a schema %d backup: %s, %d prompts",
                 schema_from, counts, prompts)  # fmt: skip
        return result

    def _replace_tables(self, copy_path: Path) -> dict[str, int]:
        connection = db.connection()
        connection.execute("ATTACH DATABASE ? AS backup", (str(copy_path),))
        try:
            with db.atomic("IMMEDIATE"):
                connection.execute("PRAGMA defer_foreign_keys = ON")
                for table in REVOKED_TABLES:
                    connection.execute(f'DELETE FROM main."{table}"')  # noqa: S608
                for table in reversed(CONFIG_TABLES):
                    connection.execute(f'DELETE FROM main."{table}"')  # noqa: S608
                counts = {}
                for table in CONFIG_TABLES:
                    columns = ", ".join(f'"{c}"' for c in _columns(connection, table))
                    connection.execute(
                        f'INSERT INTO main."{table}" ({columns}) '  # noqa: S608 - our names
                        f'SELECT {columns} FROM backup."{table}"'
                    )
                    counts[table] = connection.execute(
                        f'SELECT COUNT(*) FROM main."{table}"'  # noqa: S608
                    ).fetchone()[0]
        except sqlite3.IntegrityError as exc:
            raise BackupRefused(f"backup: its configuration is inconsistent ({exc})") from None
        finally:
            connection.execute("DETACH DATABASE backup")
        return counts

    def _replace_prompts(self, prompts: dict[str, bytes]) -> int:
        """Write the backup's uploads beside the live ones, then swap the directories."""
        parent = self.prompts_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".prompts-restore-", dir=parent))
        for name, body in prompts.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
        old = parent / f".prompts-old-{os.getpid()}"
        if self.prompts_dir.exists():
            os.replace(self.prompts_dir, old)
        os.replace(staging, self.prompts_dir)
        directory = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        shutil.rmtree(old, ignore_errors=True)
        return len(prompts)


def _read_backup(data: bytes) -> dict[str, bytes]:
    """The checked members of a backup zip; BackupRefused says what is wrong."""
    if len(data) > MAX_BACKUP_BYTES:
        raise BackupRefused(f"backup: larger than {MAX_BACKUP_BYTES // (1024 * 1024)} MiB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BackupRefused("backup: not a zip file (choose a file made by Backup)") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BackupRefused("backup: too many files")
        if sum(info.file_size for info in infos) > 4 * MAX_BACKUP_BYTES:
            raise BackupRefused("backup: unpacks to more than the device keeps")
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except KeyError:
            raise BackupRefused("backup: no manifest.json (not a CooCenter backup)") from None
        except (ValueError, zipfile.BadZipFile) as exc:
            raise BackupRefused(f"backup: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
            raise BackupRefused("backup: not a CooCenter configuration backup")
        if manifest.get("format") != FORMAT:
            raise BackupRefused(f"backup: format {manifest.get('format')!r} is not supported")
        listed = manifest.get("files")
        if not isinstance(listed, dict) or DATABASE not in listed:
            raise BackupRefused("backup: the manifest lists no configuration database")
        names = {info.filename for info in infos} - {MANIFEST}
        if names != set(listed):
            raise BackupRefused("backup: its files differ from the manifest's list")
        files = {}
        for name in sorted(names):
            _check_member_name(name)
            try:
                body = archive.read(name)
            except (zipfile.BadZipFile, OSError) as exc:  # CRC errors, truncation
                raise BackupRefused(f"backup: {name} is damaged ({exc})") from None
            if _sha256(body) != listed[name]:
                raise BackupRefused(f"backup: {name} does not match its checksum (altered?)")
            files[name] = body
    return files


def _check_member_name(name: str) -> None:
    path = PurePosixPath(name)
    if name == DATABASE:
        return
    if (
        not name.startswith(PROMPTS)
        or path.is_absolute()
        or ".." in path.parts
        or path.suffix != ".wav"
        or len(path.parts) > 3
    ):
        raise BackupRefused(f"backup: unexpected file {name!r}")


def _prepare_copy(path: Path) -> int:
    """Check the backup's database and migrate it to this firmware's schema; its version."""
    try:
        with closing(sqlite3.connect(path)) as connection:
            if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupRefused("backup: the configuration database is damaged")
            version = _schema_version(connection)
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"backup: not a configuration database ({exc})") from None
    newest = known_migrations()[-1].version
    if version > newest:
        raise BackupRefused(
            f"backup: made by a newer firmware (schema {version}, this one knows {newest}); "
            "update this device first"
        )
    if version < 1:
        raise BackupRefused("backup: the database has no schema version")
    copy = SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
    try:
        apply_migrations(copy)
    except (SchemaTooNew, sqlite3.DatabaseError) as exc:
        raise BackupRefused(f"backup: cannot be brought up to date ({exc})") from None
    finally:
        copy.close()
    with closing(sqlite3.connect(path)) as connection:
        missing = [t for t in CONFIG_TABLES if t not in _tables(connection)]
    if missing:
        raise BackupRefused(f"backup: tables missing: {', '.join(missing)}")
    return version
