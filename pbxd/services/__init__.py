"""The logic layer between storage and the web API: handlers call services, not the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..db import close_database, open_database
from .cdr import CdrEntry, CdrService, CdrView, Disposition, HangupSide
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ServiceError, ValidationError
from .extensions import ExtensionListener, ExtensionService, ExtensionView
from .users import Role, UserService, UserView

__all__ = [
    "DATABASE_FILE",
    "CdrEntry",
    "CdrService",
    "CdrView",
    "Clock",
    "Conflict",
    "Disposition",
    "ExtensionListener",
    "ExtensionService",
    "ExtensionView",
    "HangupSide",
    "NotFound",
    "Role",
    "ServiceError",
    "Services",
    "UserService",
    "UserView",
    "ValidationError",
    "build_services",
]

DATABASE_FILE = "pbxd.sqlite3"


@dataclass(frozen=True)
class Services:
    extensions: ExtensionService
    users: UserService
    cdr: CdrService

    def close(self) -> None:
        """Stop the password worker and close the database (this thread's connection)."""
        self.users.close()
        close_database()


def build_services(data_dir: Path, *, clock: Clock = utc_now) -> Services:
    """Open the database in `data_dir` (migrating it) and build the services on it.

    Close with `Services.close()` at shutdown. The services are synchronous and meant for the
    loop thread; `CdrService.record` may also run on a worker thread (it keeps no state).
    Extension listeners run in the thread that made the change.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    open_database(data_dir / DATABASE_FILE)
    return Services(
        extensions=ExtensionService(clock),
        users=UserService(clock),
        cdr=CdrService(),
    )
