"""Login and logout: bearer tokens for API clients, session cookies for the web console, and
changing one's own password. The contract is docs/WEBAUTH.md."""

from __future__ import annotations

import logging
import math
from typing import Any

from ..services import SessionView, UserView
from ..services.oplog import LOGIN, LOGIN_FAILED, LOGOUT
from ..services.users import PASSWORD_MAX_LEN, PASSWORD_MIN_LEN
from ..services.validation import require_text
from .base import ANY_ROLE, PUBLIC, SESSION_COOKIE, BaseHandler
from .errors import RateLimited, Unauthorized, WrongPassword
from .users import user_json

log = logging.getLogger(__name__)


def count_attempt(handler: BaseHandler) -> str:
    """Refuse the request (429) while its client is locked out by the login throttle, else
    count it as a failure up front (concurrent attempts cannot outrun the limit) and return
    the client; the caller resets the count when the password was right."""
    client = handler.request.remote_ip or "unknown"
    throttle = handler.ctx.login_throttle
    now = handler.ctx.clock()
    wait = throttle.retry_after(client, now)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many failed logins; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    throttle.record_failure(client, now)
    return client


async def log_in(handler: BaseHandler, via: str) -> UserView:
    """Check the {username, password} body: the user, or 401 (429 while throttled).

    Unknown users cost a password check too (a dummy hash), so both answers take as long.
    The attempt goes to the operation log with the username given, never the password.
    """
    body = handler.json_body({"username": str, "password": str}, required=("username", "password"))
    client = count_attempt(handler)
    user = await handler.services.users.authenticate_async(body["username"], body["password"])
    if user is None:
        record_auth(handler, LOGIN_FAILED, body["username"], None, via)
        raise Unauthorized("wrong username or password")
    handler.ctx.login_throttle.reset(client)
    record_auth(handler, LOGIN, user.username, user.role, via)
    return user


def record_auth(
    handler: BaseHandler, action: str, username: str, role: str | None, via: str
) -> None:
    try:
        handler.services.oplog.record(
            username=username,
            role=role,
            client_ip=handler.request.remote_ip or "unknown",
            action=action,
            target=handler.request.path,
            detail={"via": via},
        )
    except Exception:
        log.exception("operation log: %s of %r not recorded", action, username[:64])


class LoginHandler(BaseHandler):
    access = {"POST": PUBLIC}
    logs_operations = False

    async def post(self) -> None:
        user = await log_in(self, "token")
        self.reply({"token": self.services.users.issue_token(user)})


class LogoutHandler(BaseHandler):
    access = {"POST": ANY_ROLE}
    logs_operations = False

    def post(self) -> None:
        token = self.bearer_token()
        if token is None:
            # A session cookie authenticated the request: DELETE /api/v1/auth/session ends it.
            raise Unauthorized("no bearer token to revoke")
        self.services.users.revoke(token)
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        record_auth(self, LOGOUT, user.username, user.role, "token")
        self.reply_no_content()


def session_json(session: SessionView) -> dict[str, Any]:
    return {"user": user_json(session.user), "csrf_token": session.csrf_token}


class SessionHandler(BaseHandler):
    """The web console's login (POST), the page's "who am I" (GET) and logout (DELETE)."""

    access = {"POST": PUBLIC, "GET": ANY_ROLE, "DELETE": ANY_ROLE}
    logs_operations = False

    async def post(self) -> None:
        # Logging a victim's browser in as the attacker is a CSRF too: same origin only.
        self.check_origin()
        user = await log_in(self, "session")
        previous = self.get_cookie(SESSION_COOKIE)
        if previous is not None:
            self.services.users.close_session(previous)
        cookie, session = self.services.users.open_session(user)
        # No expiry: the browser forgets the cookie when it closes; the server ends the
        # session after 30 min idle or 12 h in any case.
        self.set_cookie(SESSION_COOKIE, cookie, **self._cookie_attributes())
        self.reply(session_json(session))

    def get(self) -> None:
        self.reply(session_json(self._session()))

    def delete(self) -> None:
        session = self._session()
        cookie = self.get_cookie(SESSION_COOKIE)
        assert cookie is not None  # the session came from it
        self.services.users.close_session(cookie)
        self.services.softphone.release(cookie)  # its browser softphone stops working too
        record_auth(self, LOGOUT, session.user.username, session.user.role, "session")
        self.clear_cookie(SESSION_COOKIE, **self._cookie_attributes())
        self.reply_no_content()

    def _session(self) -> SessionView:
        if self.session is None:
            raise Unauthorized("no browser session; log in with POST /api/v1/auth/session")
        return self.session

    def _cookie_attributes(self) -> dict[str, Any]:
        return {
            "path": "/",
            "httponly": True,  # out of reach of page scripts (and of an XSS)
            "samesite": "Strict",  # not sent with requests other sites start
            "secure": self.request.protocol == "https",
        }


class MyPasswordHandler(BaseHandler):
    """PUT /api/v1/users/me/password: any user changes his own password."""

    access = {"PUT": ANY_ROLE}

    async def put(self) -> None:
        body = self.json_body(
            {"old_password": str, "new_password": str},
            required=("old_password", "new_password"),
        )
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        # Checked before an attempt is spent on the old one.
        require_text(
            "new_password", body["new_password"], min_len=PASSWORD_MIN_LEN, max_len=PASSWORD_MAX_LEN
        )
        # Throttled like a login: a stolen session must not become a password oracle.
        client = count_attempt(self)
        checked = await self.services.users.authenticate_async(user.username, body["old_password"])
        if checked is None or checked.id != user.id:
            raise WrongPassword("the current password is wrong", field="old_password")
        self.ctx.login_throttle.reset(client)
        # Every other session and token of the user ends; the one of this request stays.
        by_session = self.session is not None
        self.services.users.update_user(
            user.username,
            password=body["new_password"],
            keep_session=self.get_cookie(SESSION_COOKIE) if by_session else None,
            keep_token=None if by_session else self.bearer_token(),
        )
        self.reply_no_content()
