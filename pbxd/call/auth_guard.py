"""The SIP front door: digest authentication, brute-force blocking and scanner dropping.

Wall-clock time is used for nonces (they must survive a restart with the same key); the
failure tracker uses the same clock so that blocks are in real seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pbxd.sip.auth import AuthHeaderError, DigestAuthenticator, DigestCredentials
from pbxd.sip.errors import BadRequest, Forbidden, SipError
from pbxd.sip.message import Request
from pbxd.sip.peer import Peer
from pbxd.sip.protection import FailureTracker, is_scanner
from pbxd.sip.uri import SipUri

log = logging.getLogger(__name__)


class Unauthorized(SipError):
    status = 401
    reason = "Unauthorized"


class ProxyAuthenticationRequired(SipError):
    status = 407
    reason = "Proxy Authentication Required"


class AuthGuard:
    def __init__(
        self,
        authenticator: DigestAuthenticator,
        failures: FailureTracker,
        password_for: Callable[[str], str | None],
        clock: Callable[[], float] = time.time,
        *,
        identity_of: Callable[[str], str] = lambda username: username,
    ):
        self.authenticator = authenticator
        self.failures = failures
        self._password_for = password_for
        self._clock = clock
        # The extension a digest username stands for: a browser softphone's key has a
        # username of its own (pbxd.services.softphone), every other username is the extension.
        self._identity_of = identity_of

    def admits(self, request: Request, peer: Peer) -> bool:
        """False for requests to drop without an answer: scanners and blocked sources."""
        if self.failures.is_blocked(peer.host, self._clock()):
            return False
        from_user = None
        try:
            uri = request.from_.uri
            from_user = uri.user if isinstance(uri, SipUri) else None
        except SipError:
            pass
        if is_scanner(request.headers.get("User-Agent"), from_user):
            log.info("dropped %s from scanner at %s", request.method, peer.host)
            return False
        return True

    def authenticate(self, request: Request, peer: Peer, *, proxy: bool) -> str:
        """The authenticated username, or raise the 401/407 challenge or a 403."""
        now = self._clock()
        header = "Proxy-Authorization" if proxy else "Authorization"
        challenge_error = ProxyAuthenticationRequired if proxy else Unauthorized
        credentials = self._credentials_for_realm(request.headers.get_raw(header))
        if credentials is None:
            raise self._challenge(challenge_error, now, stale=False)
        result = self.authenticator.verify(
            request.method,
            credentials,
            self._password_for,
            now,
            request_uri=request.uri.serialize(),
        )
        if result.ok:
            self.failures.record_success(peer.host)
            return self._identity_of(result.username)
        if result.stale:
            raise self._challenge(challenge_error, now, stale=True)
        if self.failures.record_failure(peer.host, now):
            log.warning(
                "blocked %s for %.0f s after repeated authentication failures",
                peer.host,
                self.failures.block_for,
            )
        log.info(
            "authentication of %r from %s failed: %s",
            credentials.username,
            peer.host,
            result.reason,
        )
        raise Forbidden("authentication failed")

    def _credentials_for_realm(self, values: list[str]) -> DigestCredentials | None:
        for value in values:
            try:
                credentials = DigestCredentials.parse(value)
            except AuthHeaderError as exc:
                raise BadRequest(f"bad credentials: {exc}") from exc
            if credentials.realm == self.authenticator.realm:
                return credentials
        return None

    def _challenge(self, error: type[SipError], now: float, *, stale: bool) -> SipError:
        name = "Proxy-Authenticate" if error is ProxyAuthenticationRequired else "WWW-Authenticate"
        headers = [(name, value) for value in self.authenticator.challenges(now, stale=stale)]
        return error(headers=headers)
