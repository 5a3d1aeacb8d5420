"""SIP credentials for the browser softphone, bound to the console session that asked for them.

The agent page never learns the extension's SIP secret: it asks for a key (`issue`) and
registers over /ws with a digest username of its own (`<extension>.web.<random>`) and a random
password. The key lives as long as the session that got it: after logout, a password change
or the session's timeout, a REGISTER or INVITE with it fails like a wrong password. Keys are
kept in memory only; a restart ends them (the page asks again).

One browser per extension: a second session asking for a key of an extension whose key is
held by another live session with a browser connected (`browser_connected`: a page closed
without logging out holds nothing) is refused (`SoftphoneInUse`) unless it takes over
explicitly, which revokes the other key and lets the SIP side drop that browser's
connections (`on_taken_over`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .errors import Conflict

log = logging.getLogger(__name__)

AUTH_USER_INFIX = ".web."
PASSWORD_BYTES = 24


class SoftphoneInUse(Conflict):
    """Another browser session holds the softphone of this extension."""

    code = "softphone_in_use"


@dataclass(frozen=True)
class SoftphoneKey:
    extension: str
    auth_user: str  # the digest username of this browser
    password: str
    session: str  # the console session's cookie: the key dies with it (memory only)


class SoftphoneKeys:
    def __init__(self, session_alive: Callable[[str], bool]):
        self._session_alive = session_alive
        self._by_auth_user: dict[str, SoftphoneKey] = {}
        # Told (extension) when a take-over revoked another browser's key.
        self.on_taken_over: Callable[[str], None] = lambda extension: None
        # Whether a browser of the extension is connected over /ws (set by the SIP side).
        self.browser_connected: Callable[[str], bool] = lambda extension: True

    def issue(self, extension: str, session: str, *, take_over: bool = False) -> SoftphoneKey:
        """A key for `extension` to the console session `session` (its cookie). The session's
        own earlier key is replaced (a page reload); another live session's key refuses it
        (SoftphoneInUse) unless `take_over`."""
        others = [
            key
            for key in self._keys_of(extension)
            if key.session != session and self._session_alive(key.session)
        ]
        if others and not self.browser_connected(extension):
            others = []  # its page is closed: the key is free without a take-over
        if others and not take_over:
            raise SoftphoneInUse(f"extension {extension} is in use in another browser")
        for key in self._keys_of(extension):
            del self._by_auth_user[key.auth_user]
        key = SoftphoneKey(
            extension,
            f"{extension}{AUTH_USER_INFIX}{secrets.token_hex(4)}",
            secrets.token_urlsafe(PASSWORD_BYTES),
            session,
        )
        self._by_auth_user[key.auth_user] = key
        if others:
            log.info("softphone of %s taken over by another browser session", extension)
            self.on_taken_over(extension)
        return key

    def release(self, session: str) -> None:
        """The page's key goes (the agent closes the softphone or logs out)."""
        for key in [k for k in self._by_auth_user.values() if k.session == session]:
            del self._by_auth_user[key.auth_user]

    def password_for(self, auth_user: str) -> str | None:
        """The password of a live key, None for an unknown one or one whose session ended."""
        key = self._live(auth_user)
        return key.password if key is not None else None

    def extension_of(self, auth_user: str) -> str | None:
        key = self._live(auth_user)
        return key.extension if key is not None else None

    def _live(self, auth_user: str) -> SoftphoneKey | None:
        key = self._by_auth_user.get(auth_user)
        if key is None:
            return None
        if not self._session_alive(key.session):
            del self._by_auth_user[auth_user]
            return None
        return key

    def _keys_of(self, extension: str) -> list[SoftphoneKey]:
        return [k for k in self._by_auth_user.values() if k.extension == extension]
