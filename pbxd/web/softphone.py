"""The browser softphone's SIP key: /api/v1/users/me/softphone (issue 7, docs/WEBRTC.md).

Only a console session with an extension gets one: the key dies with the session (see
pbxd.services.softphone). The page then registers over /ws with it.
"""

from __future__ import annotations

from .base import ANY_ROLE, SESSION_COOKIE, BaseHandler
from .errors import Forbidden, InvalidRequest
from .sipws import PATH as SIP_WS_PATH


class SoftphoneHandler(BaseHandler):
    access = {"POST": ANY_ROLE, "DELETE": ANY_ROLE}

    def post(self) -> None:
        body = self.json_body({"take_over": bool}) if self.request.body else {}
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        cookie = self.get_cookie(SESSION_COOKIE)
        if self.session is None or cookie is None:
            raise Forbidden("the softphone needs a console session (log in in the browser)")
        if not user.extension:
            raise InvalidRequest("you have no extension: ask the administrator for one")
        key = self.services.softphone.issue(
            user.extension, cookie, take_over=body.get("take_over", False)
        )
        self.reply(
            {
                "extension": key.extension,
                "auth_user": key.auth_user,
                "password": key.password,
                "ws_path": SIP_WS_PATH,
            }
        )

    def delete(self) -> None:
        cookie = self.get_cookie(SESSION_COOKIE)
        if cookie is not None and self.session is not None:
            self.services.softphone.release(cookie)
        self.reply_no_content()
