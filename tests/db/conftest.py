from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from peewee import Model

from pbxd.db import close_database, db, open_database
from pbxd.services import Services, build_services

from .historydata import FakeClock


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pbxd.sqlite3"
    open_database(path)
    yield path
    close_database()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> Iterator[Services]:
    services = build_services(tmp_path, clock=clock)
    yield services
    services.close()


def assert_models_match_schema(models: Iterable[type[Model]]) -> None:
    """The live models have the migrated tables' columns, with the same nullability."""
    for model in models:
        table = model._meta.table_name
        columns = {column.name: column for column in db.get_columns(table)}
        fields = {field.column_name: field for field in model._meta.sorted_fields}
        assert set(columns) == set(fields), table
        for name, field in fields.items():
            if not field.primary_key:
                assert columns[name].null == field.null, f"{table}.{name}"


# --- kill -9 of a writer in another process ---------------------------------------------------


def read_until(process: subprocess.Popen, text: bytes, deadline: float) -> bytes:
    """Read the child's unbuffered stdout until `text` shows up; all read so far (select +
    os.read: no buffered reader that could swallow a line select() then waits for)."""
    seen = b""
    fd = process.stdout.fileno()
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"child did not report {text!r} in time; got {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"child exited early; got {seen!r}"
        seen += chunk
    return seen


@contextmanager
def killed_afterwards(script: str, data_dir: Path) -> Iterator[subprocess.Popen]:
    """Run `script` (python -c, argv[1] = data_dir, from the repository root) with its
    stdout piped; kill -9 it when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir)],
        stdout=subprocess.PIPE,
        bufsize=0,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        yield process
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL


@contextmanager
def reopened_database(path: Path) -> Iterator[None]:
    """Open the database a killed writer left behind, check its integrity, close it after."""
    open_database(path)
    try:
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        yield
    finally:
        close_database()
