"""Committed rows survive a kill -9 of the writer; the open transaction does not.

A kill -9 leaves the OS page cache intact, so this checks WAL recovery and transaction
boundaries; survival of a power cut rests on synchronous=FULL, checked in test_database.py.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from pbxd.db.models import Extension

from .conftest import killed_afterwards, read_until, reopened_database

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from pbxd.db import db
    from pbxd.db.models import Extension
    from pbxd.services import build_services

    services = build_services(Path(sys.argv[1]))
    services.extensions.create("1001", "Committed", "committed-secret")
    print("committed", flush=True)
    now = datetime.now(UTC)
    with db.atomic():
        Extension.create(number="1002", name="Open", secret="open-secret",
                         created_at=now, updated_at=now)
        print("in transaction", flush=True)
        time.sleep(60)
    """
)


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    with killed_afterwards(WRITER, tmp_path) as process:
        read_until(process, b"committed\nin transaction\n", time.monotonic() + 30)
    # Nothing checkpointed the WAL: the committed row lives only there.
    assert (tmp_path / "pbxd.sqlite3-wal").stat().st_size > 0

    with reopened_database(tmp_path / "pbxd.sqlite3"):
        rows = {row.number: row.name for row in Extension.select()}
        assert rows == {"1001": "Committed"}
