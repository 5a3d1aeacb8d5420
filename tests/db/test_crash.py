"""Committed rows survive a kill -9 of the writer; the open transaction does not.

A kill -9 leaves the OS page cache intact, so this checks WAL recovery and transaction
boundaries; survival of a power cut rests on synchronous=FULL, checked in test_database.py.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from pbxd.db import close_database, db, open_database
from pbxd.db.models import Extension

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


def wait_for(process: subprocess.Popen, text: bytes, deadline: float) -> None:
    """Read the writer's unbuffered stdout until `text` shows up (select + os.read: no
    buffered reader that could swallow a line select() then waits for)."""
    seen = b""
    fd = process.stdout.fileno()
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"writer did not report {text!r} in time; got {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"writer exited early; got {seen!r}"
        seen += chunk


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        bufsize=0,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        wait_for(process, b"committed\nin transaction\n", deadline)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    # Nothing checkpointed the WAL: the committed row lives only there.
    assert (tmp_path / "pbxd.sqlite3-wal").stat().st_size > 0

    open_database(tmp_path / "pbxd.sqlite3")
    try:
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {row.number: row.name for row in Extension.select()}
        assert rows == {"1001": "Committed"}
    finally:
        close_database()
