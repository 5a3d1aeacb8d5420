"""Users of the web API, their passwords, bearer tokens and browser sessions."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Final

from peewee import IntegrityError

from ..db import db
from ..db.models import ApiToken, Extension, Queue, User, UserQueue, WebSession
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ValidationError
from .passwords import DUMMY_HASH, hash_password, verify_password
from .validation import require_member, require_text

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
# Browser sessions (m0006): idle timeout, sliding; absolute lifetime whatever the activity.
SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=12)
# The idle clock is written back at most this often, to spare the flash.
SESSION_REFRESH_INTERVAL = timedelta(minutes=1)
# "/api/v1/users/me" is the caller himself: no user may be called that.
RESERVED_USERNAMES = frozenset({"me"})
MAX_LED_QUEUES = 100


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Language(StrEnum):
    """Language of the web console."""

    ZH_CN = "zh-CN"
    EN = "en"


class Masking(StrEnum):
    """How much of a caller's number the user is shown (enforced where numbers are shown)."""

    ALL = "all"  # the whole number
    PARTIAL = "partial"  # the middle digits hidden: 123****8910
    NAME_ONLY = "name_only"  # no digits, the customer's name only


DEFAULT_MASKING: Final = {
    Role.ADMIN: Masking.ALL,
    Role.SUPERVISOR: Masking.ALL,
    Role.AGENT: Masking.PARTIAL,
}


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: Role
    # The extension the user works at (m0002): an agent may log it in and out, pause it.
    extension: str | None = None
    language: Language = Language.ZH_CN
    # The queue numbers a supervisor leads (m0006); empty for the other roles.
    queues: tuple[str, ...] = ()
    # None: the role's default (DEFAULT_MASKING), filled in when the view is built.
    masking: Masking | None = None

    def __post_init__(self) -> None:
        if self.masking is None:
            object.__setattr__(self, "masking", DEFAULT_MASKING[self.role])


@dataclass(frozen=True)
class SessionView:
    """A live browser session: its user and the token its unsafe requests must echo."""

    user: UserView
    csrf_token: str


class LastAdmin(Conflict):
    """Deleting or demoting this user would leave the device without an administrator."""

    code = "last_admin"


class _Unset(Enum):
    UNSET = "unset"


# "Leave as it is" in `UserService.update_user` (None is a value there: no extension).
UNSET: Final = _Unset.UNSET


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: User) -> UserView:
    queues = Queue.select(Queue.number).join(UserQueue).where(UserQueue.user == row.id).tuples()
    return UserView(
        row.id,
        row.username,
        Role(row.role),
        row.extension,
        Language(row.language),
        tuple(sorted((number for (number,) in queues), key=_number_order)),
        Masking(row.masking),
    )


def _number_order(number: str) -> tuple[int, str]:
    return (len(number), number)


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
        self,
        username: str,
        password: str,
        role: Role | str,
        *,
        extension: str | None = None,
        language: Language | str = Language.ZH_CN,
        queues: Iterable[str] = (),
        masking: Masking | str | None = None,
    ) -> UserView:
        """A new user; `masking` None is the role's default, `queues` only for supervisors."""
        if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
            raise ValidationError(
                "username: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter "
                "or digit",
                field="username",
            )
        if username in RESERVED_USERNAMES:
            raise ValidationError(f"username: {username!r} is reserved", field="username")
        password = validate_password(password)
        role = require_member(Role, "role", role)
        if extension is not None:
            _require_extension(extension)
        language = require_member(Language, "language", language)
        masking = DEFAULT_MASKING[role] if masking is None else _require_masking(masking)
        queue_ids = _require_led_queues(role, queues)
        try:
            with db.atomic():
                row = User.create(
                    username=username,
                    password_hash=hash_password(password),
                    role=role,
                    created_at=self._clock(),
                    extension=extension,
                    language=language,
                    masking=masking,
                )
                _set_led_queues(row.id, queue_ids)
        except IntegrityError as exc:
            if extension is not None and User.get_or_none(User.extension == extension):
                raise Conflict(
                    f"extension {extension} is linked to another user", field="extension"
                ) from exc
            raise Conflict(f"user {username} exists", field="username") from exc
        return _view(row)

    def list_users(self) -> list[UserView]:
        return [_view(row) for row in User.select().order_by(User.username)]

    def user_with_extension(self, extension: str) -> UserView | None:
        """The user an extension is linked to (at most one), None for none."""
        row = User.get_or_none(User.extension == extension)
        return _view(row) if row is not None else None

    def get_user(self, username: str) -> UserView:
        return _view(_user_row(username))

    def update_user(
        self,
        username: str,
        *,
        role: Role | str | _Unset = UNSET,
        password: str | _Unset = UNSET,
        extension: str | None | _Unset = UNSET,
        language: Language | str | _Unset = UNSET,
        queues: Iterable[str] | _Unset = UNSET,
        masking: Masking | str | _Unset = UNSET,
        keep_session: str | None = None,
        keep_token: str | None = None,
    ) -> UserView:
        """Change the fields given; the others stay.

        A role change resets `masking` to the new role's default unless `masking` is given,
        and drops the led queues of a user who is no longer a supervisor. A new password
        revokes every session and token of the user except `keep_session`/`keep_token` (the
        caller's own, when he changes his own password). The last administrator cannot be
        demoted (LastAdmin).
        """
        row = _user_row(username)
        changes: dict[str, Any] = {}
        new_role = Role(row.role)
        if role is not UNSET:
            new_role = require_member(Role, "role", role)
            changes["role"] = new_role
            if new_role != row.role:
                changes["masking"] = DEFAULT_MASKING[new_role]
        if masking is not UNSET:
            changes["masking"] = _require_masking(masking)
        if language is not UNSET:
            changes["language"] = require_member(Language, "language", language)
        if extension is not UNSET:
            if extension is not None:
                _require_extension(extension)
            changes["extension"] = extension
        queue_ids: list[int] | None = None
        if queues is not UNSET:
            queue_ids = _require_led_queues(new_role, queues)
        elif new_role is not Role.SUPERVISOR:
            queue_ids = []
        if password is not UNSET:
            changes["password_hash"] = hash_password(validate_password(password))
        try:
            with db.atomic():
                if row.role == Role.ADMIN and new_role is not Role.ADMIN:
                    _require_other_admin(row)
                if changes:
                    User.update(**changes).where(User.id == row.id).execute()
                if queue_ids is not None:
                    _set_led_queues(row.id, queue_ids)
                if password is not UNSET:
                    self._revoke_credentials(row.id, keep_session, keep_token)
        except IntegrityError as exc:
            raise Conflict(
                f"extension {extension} is linked to another user", field="extension"
            ) from exc
        return _view(User.get_by_id(row.id))

    def delete_user(self, username: str) -> None:
        """Delete the user with his sessions and tokens; never the last administrator."""
        row = _user_row(username)
        with db.atomic():
            if row.role == Role.ADMIN:
                _require_other_admin(row)
            # Tokens, sessions and led queues go with it (ON DELETE CASCADE).
            User.delete().where(User.id == row.id).execute()

    def link_extension(self, username: str, extension: str | None) -> UserView:
        """Link the user to the extension he works at (None: unlink). One user per extension."""
        if extension is not None:
            _require_extension(extension)
        row = _user_row(username)
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

    # -- browser sessions (m0006) ------------------------------------------------------------

    def open_session(self, user: UserView) -> tuple[str, SessionView]:
        """A new browser session: (cookie value, session). Only the cookie's hash is stored."""
        cookie = secrets.token_urlsafe(TOKEN_BYTES)
        csrf_token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        with db.atomic():
            WebSession.delete().where(
                (WebSession.expires_at <= now)
                | (WebSession.last_seen_at <= now - SESSION_IDLE_TIMEOUT)
            ).execute()
            WebSession.create(
                token_hash=_token_hash(cookie),
                user=user.id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        return cookie, SessionView(user, csrf_token)

    def session_for(self, cookie: str) -> SessionView | None:
        """The live session of `cookie`, None when unknown, idle too long or too old.

        Each use slides the idle timeout; the new time is written at most once per
        SESSION_REFRESH_INTERVAL, so the timeout runs 29 to 30 minutes after the last use.
        """
        if not isinstance(cookie, str) or not 0 < len(cookie) <= _TOKEN_MAX_LEN:
            return None
        now = self._clock()
        row = (
            WebSession.select(WebSession, User)
            .join(User)
            .where(
                (WebSession.token_hash == _token_hash(cookie))
                & (WebSession.expires_at > now)
                & (WebSession.last_seen_at > now - SESSION_IDLE_TIMEOUT)
            )
            .first()
        )
        if row is None:
            return None
        if now - row.last_seen_at >= SESSION_REFRESH_INTERVAL:
            WebSession.update(last_seen_at=now).where(WebSession.id == row.id).execute()
        return SessionView(_view(row.user), row.csrf_token)

    def close_session(self, cookie: str) -> None:
        if isinstance(cookie, str):
            WebSession.delete().where(WebSession.token_hash == _token_hash(cookie)).execute()

    def _revoke_credentials(
        self, user_id: int, keep_session: str | None, keep_token: str | None
    ) -> None:
        """Delete the user's sessions and tokens except the two named (by cookie/token)."""
        sessions = WebSession.delete().where(WebSession.user == user_id)
        if keep_session is not None:
            sessions = sessions.where(WebSession.token_hash != _token_hash(keep_session))
        sessions.execute()
        tokens = ApiToken.delete().where(ApiToken.user == user_id)
        if keep_token is not None:
            tokens = tokens.where(ApiToken.token_hash != _token_hash(keep_token))
        tokens.execute()

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


def _user_row(username: Any) -> User:
    row = User.get_or_none(User.username == username) if isinstance(username, str) else None
    if row is None:
        raise NotFound(f"user {username} not found")
    return row


def _require_other_admin(row: User) -> None:
    others = User.select().where((User.role == Role.ADMIN) & (User.id != row.id))
    if not others.exists():
        raise LastAdmin(f"user {row.username} is the last administrator", field="role")


def _require_masking(value: Any) -> Masking:
    return require_member(Masking, "masking", value)


def _require_led_queues(role: Role, queues: Any) -> list[int]:
    """The ids of the queues named in `queues` (numbers): only a supervisor leads queues."""
    if isinstance(queues, str | bytes) or not isinstance(queues, Iterable):
        raise ValidationError("queues: expected a list of queue numbers", field="queues")
    numbers = list(queues)
    if not numbers:
        return []
    if role is not Role.SUPERVISOR:
        raise ValidationError(f"queues: only supervisors lead queues, not {role}s", field="queues")
    if len(numbers) > MAX_LED_QUEUES:
        raise ValidationError(f"queues: at most {MAX_LED_QUEUES}", field="queues")
    if not all(isinstance(number, str) for number in numbers):
        raise ValidationError("queues: expected queue numbers as strings", field="queues")
    if len(set(numbers)) != len(numbers):
        raise ValidationError("queues: a queue is listed twice", field="queues")
    found = dict(Queue.select(Queue.number, Queue.id).where(Queue.number.in_(numbers)).tuples())
    missing = [number for number in numbers if number not in found]
    if missing:
        raise ValidationError(f"queues: no queue {missing[0]} exists", field="queues")
    return [found[number] for number in numbers]


def _set_led_queues(user_id: int, queue_ids: list[int]) -> None:
    UserQueue.delete().where(UserQueue.user == user_id).execute()
    if queue_ids:
        UserQueue.insert_many(
            [{"user": user_id, "queue": queue_id} for queue_id in queue_ids]
        ).execute()


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
