from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pbxd.db import close_database, open_database
from pbxd.services import Services, build_services


class FakeClock:
    """A settable wall clock for the services (aware UTC datetimes)."""

    def __init__(self, now: datetime = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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
