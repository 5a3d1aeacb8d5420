"""Users of the web API, their passwords and bearer tokens."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from peewee import IntegrityError

from ..db import db
from ..db.models import ApiToken, Extension, User
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ValidationError
from .passwords import DUMMY_HASH, hash_password, verify_password
from .validation import require_text

log = logging.getLogger(__name__)

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_FILE = "admin-password"
TOKEN_LIFETIME = timedelta(hours=12)
TOKEN_BYTES = 32
PASSWORD_MIN_LEN = 8
PASSWORD_MAX_LEN = 256
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
# Longer than any token we issue; longer input is not hashed, just refused.
_TOKEN_MAX_LEN = 128


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: Role
    # The extension the user works at (m0002): an agent may log it in and out, pause it.
    extension: str | None = None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: User) -> UserView:
    return UserView(row.id, row.username, Role(row.role), row.extension)


def validate_password(value: Any) -> str:
    return require_text("password", value, min_len=PASSWORD_MIN_LEN, max_len=PASSWORD_MAX_LEN)


class UserService:
    def __init__(self, clock: Clock = utc_now):
        self._clock = clock
        self._hasher: ThreadPoolExecutor | None = None

    def ensure_admin(self, data_dir: Path, env_password: str | None) -> str | None:
        """Create the first administrator, `admin`, unless an administrator exists.

        Its password is `env_password` (PBXD_ADMIN_PASSWORD) when given; otherwise one is
        generated, written with mode 0600 to `data_dir/admin-password`, and returned so that
        the caller prints it once. Returns None in every other case (admin exists, or the
        password came from the environment and the operator knows it).
        """
        if (
            User.select()
            .where((User.role == Role.ADMIN) | (User.username == ADMIN_USERNAME))
            .exists()
        ):
            return None
        if env_password:
            self.create_user(ADMIN_USERNAME, env_password, Role.ADMIN)
            log.info("administrator %r created from PBXD_ADMIN_PASSWORD", ADMIN_USERNAME)
            return None
        password = secrets.token_urlsafe(18)
        # File first: a crash between the two steps must not leave an admin nobody can log in as.
        _write_private_file(data_dir / ADMIN_PASSWORD_FILE, password + "\n")
        self.create_user(ADMIN_USERNAME, password, Role.ADMIN)
        log.info(
            "administrator %r created; password stored in %s",
            ADMIN_USERNAME,
            data_dir / ADMIN_PASSWORD_FILE,
        )
        return password

    def create_user(
        self, username: str, password: str, role: Role | str, *, extension: str | None = None
    ) -> UserView:
        if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
            raise ValidationError(
                "username: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit",
                field="username",
            )
        password = validate_password(password)
        try:
            role = Role(role)
        except ValueError:
            raise ValidationError(
                f"role: expected one of {', '.join(Role)}", field="role"
            ) from None
        if extension is not None:
            _require_extension(extension)
        try:
            row = User.create(
                username=username,
                password_hash=hash_password(password),
                role=role,
                created_at=self._clock(),
                extension=extension,
            )
        except IntegrityError as exc:
            if extension is not None and User.get_or_none(User.extension == extension):
                raise Conflict(
                    f"extension {extension} is linked to another user", field="extension"
                ) from exc
            raise Conflict(f"user {username} exists", field="username") from exc
        return _view(row)

    def link_extension(self, username: str, extension: str | None) -> UserView:
        """Link the user to the extension he works at (None: unlink). One user per extension."""
        if extension is not None:
            _require_extension(extension)
        row = User.get_or_none(User.username == username) if isinstance(username, str) else None
        if row is None:
            raise NotFound(f"user {username} not found")
        try:
            User.update(extension=extension).where(User.id == row.id).execute()
        except IntegrityError as exc:
            raise Conflict(
                f"extension {extension} is linked to another user", field="extension"
            ) from exc
        return _view(User.get_by_id(row.id))

    def authenticate(self, username: str, password: str) -> UserView | None:
        """The user when the password matches, else None (unknown user or wrong password)."""
        row, stored = self._credentials(username, password)
        if stored is None or not verify_password(password, stored):
            return None
        return _view(row) if row is not None else None

    async def authenticate_async(self, username: str, password: str) -> UserView | None:
        """`authenticate` with the scrypt work on a worker thread (hashlib releases the GIL):
        the event loop also carries SIP and RTP, and one check costs 40 ms here, more on the
        appliance. The lookup stays on the calling thread; one worker bounds the CPU spent."""
        row, stored = self._credentials(username, password)
        if stored is None:
            return None
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password")
        loop = asyncio.get_running_loop()
        matches = await loop.run_in_executor(self._hasher, verify_password, password, stored)
        return _view(row) if matches and row is not None else None

    def close(self) -> None:
        """Stop the password worker thread, if one was started."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None

    def issue_token(self, user: UserView) -> str:
        """A new bearer token for `user`, valid for TOKEN_LIFETIME; only its hash is stored."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with db.atomic():
            ApiToken.delete().where(ApiToken.expires_at <= now).execute()
            ApiToken.create(
                token_hash=_token_hash(token),
                user=user.id,
                created_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
        return token

    def user_for_token(self, token: str) -> UserView | None:
        if not isinstance(token, str) or not 0 < len(token) <= _TOKEN_MAX_LEN:
            return None
        row = (
            User.select(User)
            .join(ApiToken)
            .where(
                (ApiToken.token_hash == _token_hash(token)) & (ApiToken.expires_at > self._clock())
            )
            .first()
        )
        return _view(row) if row else None

    def revoke(self, token: str) -> None:
        if isinstance(token, str):
            ApiToken.delete().where(ApiToken.token_hash == _token_hash(token)).execute()

    def _credentials(self, username: str, password: str) -> tuple[User | None, str | None]:
        """(row, stored hash) to check `password` against; the hash is a dummy for an unknown
        user, so that both cases cost the same; (None, None) for input not worth hashing."""
        if not isinstance(username, str) or not isinstance(password, str):
            return None, None
        if len(password) > PASSWORD_MAX_LEN:
            return None, None
        row = (
            User.get_or_none(User.username == username)
            if USERNAME_PATTERN.fullmatch(username)
            else None
        )
        return row, row.password_hash if row is not None else DUMMY_HASH


def _require_extension(number: Any) -> None:
    if not isinstance(number, str) or not Extension.get_or_none(Extension.number == number):
        raise ValidationError(f"extension: no extension {number} exists", field="extension")


def _write_private_file(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically and durably."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the temporary file may have existed with a wider mode
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
