"""Login and logout."""

from __future__ import annotations

import math

from .base import ANY_ROLE, PUBLIC, BaseHandler
from .errors import RateLimited, Unauthorized


class LoginHandler(BaseHandler):
    access = {"POST": PUBLIC}

    async def post(self) -> None:
        body = self.json_body({"username": str, "password": str}, required=("username", "password"))
        client = self.request.remote_ip or "unknown"
        throttle = self.ctx.login_throttle
        now = self.ctx.clock()
        wait = throttle.retry_after(client, now)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many failed logins; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
        # Counted before the check, so that concurrent attempts cannot outrun the limit;
        # a success clears the count.
        throttle.record_failure(client, now)
        user = await self.services.users.authenticate_async(body["username"], body["password"])
        if user is None:
            raise Unauthorized("wrong username or password")
        throttle.reset(client)
        self.reply({"token": self.services.users.issue_token(user)})


class LogoutHandler(BaseHandler):
    access = {"POST": ANY_ROLE}

    def post(self) -> None:
        token = self.bearer_token()
        assert token is not None  # prepare() authenticated it
        self.services.users.revoke(token)
        self.set_status(204)
        self.finish()
