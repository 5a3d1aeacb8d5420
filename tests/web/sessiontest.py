"""Browser-session helpers for the API tests: log in with a cookie, call with it."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from tornado.httpclient import HTTPResponse

from .apitest import ADMIN_PASSWORD, ApiTestCase

SESSION_PATH = "/api/v1/auth/session"


def session_cookie(response: HTTPResponse) -> SimpleCookie:
    """The pbxd_session morsel of the response's Set-Cookie headers."""
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        cookies.load(header)
    assert "pbxd_session" in cookies, response.headers.get_list("Set-Cookie")
    return cookies


class Browser:
    """What a browser holds for one console tab: the session cookie and the page's CSRF
    token. Calls send the cookie; writes also send the token unless told otherwise."""

    def __init__(self, case: ApiTestCase, cookie: str, csrf_token: str):
        self.case = case
        self.cookie = cookie
        self.csrf_token = csrf_token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: str | None | bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, HTTPResponse]:
        """csrf=True: the session's token; a string: that header; None/False: no header."""
        all_headers = {"Cookie": f"pbxd_session={self.cookie}", **(headers or {})}
        if csrf is True:
            all_headers["X-CSRF-Token"] = self.csrf_token
        elif isinstance(csrf, str):
            all_headers["X-CSRF-Token"] = csrf
        return self.case.call(method, path, body, headers=all_headers)


class SessionTestCase(ApiTestCase):
    def session_login(
        self,
        username: str = "admin",
        password: str = ADMIN_PASSWORD,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, HTTPResponse]:
        return self.call(
            "POST",
            SESSION_PATH,
            {"username": username, "password": password},
            headers=headers,
        )

    def browser(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> Browser:
        status, data, response = self.session_login(username, password)
        assert status == 200, data
        return Browser(self, session_cookie(response)["pbxd_session"].value, data["csrf_token"])

    def user_browser(self, role: str, extension: str | None = None, name: str = "") -> Browser:
        username = name or f"{role}-{extension or 'b'}"
        self.services.users.create_user(username, f"{username}-pass", role, extension=extension)
        return self.browser(username, f"{username}-pass")
