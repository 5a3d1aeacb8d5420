"""Browser sessions of the web console: cookie login, expiry, logout, CSRF (docs/WEBAUTH.md)."""

from __future__ import annotations

from typing import Any

from tornado.testing import AsyncHTTPSTestCase

from pbxd.db.models import OperationLogEntry, WebSession

from .apitest import ADMIN_PASSWORD
from .sessiontest import SESSION_PATH, SessionTestCase, session_cookie

ALICE = {"number": "1001", "name": "Alice", "secret": "alice-s3cret-pw"}


class SessionLoginTest(SessionTestCase):
    def test_login_sets_a_hardened_cookie_and_returns_user_and_csrf_token(self) -> None:
        status, data, response = self.session_login()
        assert status == 200
        assert set(data) == {"user", "csrf_token"}
        assert data["user"] == {
            "username": "admin",
            "role": "admin",
            "extension": None,
            "language": "zh-CN",
            "queues": [],
            "masking": "all",
        }
        assert len(data["csrf_token"]) >= 40
        assert response.headers["Cache-Control"] == "no-store"
        morsel = session_cookie(response)["pbxd_session"]
        assert len(morsel.value) >= 40 and morsel.value != data["csrf_token"]
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Strict"
        assert morsel["path"] == "/"
        assert not morsel["secure"]  # plain HTTP here; see HttpsSessionTest
        assert not morsel["expires"] and not morsel["max-age"]  # gone when the browser closes
        # Stored hashed, like bearer tokens.
        (row,) = WebSession.select()
        assert morsel.value not in (row.token_hash, str(row.id))

    def test_the_page_reads_its_session_on_load(self) -> None:
        browser = self.browser()
        status, data, _ = browser.call("GET", SESSION_PATH)
        assert status == 200
        assert data["user"]["username"] == "admin"
        assert data["csrf_token"] == browser.csrf_token
        self.assert_error(self.call("GET", SESSION_PATH), 401, "unauthorized")
        self.assert_error(
            self.call("GET", SESSION_PATH, headers={"Cookie": "pbxd_session=forged"}),
            401,
            "unauthorized",
        )
        # A bearer token is no browser session.
        self.assert_error(self.call("GET", SESSION_PATH, token=self.login()), 401, "unauthorized")

    def test_the_cookie_authenticates_api_calls_with_the_users_role(self) -> None:
        admin = self.browser()
        assert admin.call("GET", "/api/v1/extensions")[0] == 200
        agent = self.user_browser("agent")
        self.assert_error(agent.call("GET", "/api/v1/extensions"), 403, "forbidden")

    def test_wrong_password_and_unknown_user_look_the_same(self) -> None:
        wrong = self.assert_error(self.session_login("admin", "nope-nope"), 401, "unauthorized")
        unknown = self.assert_error(self.session_login("ghost", "nope-nope"), 401, "unauthorized")
        assert wrong == unknown
        assert WebSession.select().count() == 0
        status, _, response = self.session_login("admin", "nope-nope")
        assert "Set-Cookie" not in response.headers

    def test_login_body_is_checked(self) -> None:
        result = self.call("POST", SESSION_PATH, {"username": "admin"})
        error = self.assert_error(result, 400, "invalid")
        assert error["field"] == "password"
        self.assert_error(self.call("POST", SESSION_PATH, raw=b"{nope"), 400, "bad_json")

    def test_the_login_throttle_applies_to_sessions_too(self) -> None:
        for _ in range(3):
            self.assert_error(self.session_login("admin", "guess-guess"), 401, "unauthorized")
        for _ in range(2):
            self.assert_error(
                self.call(
                    "POST", "/api/v1/auth/login", {"username": "admin", "password": "guess-x1"}
                ),
                401,
                "unauthorized",
            )
        # Five failures across both login forms: both are locked, even the right password.
        result = self.session_login()
        self.assert_error(result, 429, "rate_limited")
        assert result[2].headers["Retry-After"] == "60"
        self.assert_error(
            self.call(
                "POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
            ),
            429,
            "rate_limited",
        )
        self.monotonic.now += 60
        assert self.session_login()[0] == 200

    def test_a_foreign_page_cannot_log_the_browser_in(self) -> None:
        result = self.session_login(headers={"Origin": "https://evil.example"})
        self.assert_error(result, 403, "csrf")
        assert "Set-Cookie" not in result[2].headers
        port = self.get_http_port()
        status, _, _ = self.session_login(headers={"Origin": f"http://127.0.0.1:{port}"})
        assert status == 200

    def test_a_new_login_replaces_the_browsers_previous_session(self) -> None:
        first = self.browser()
        status, data, response = self.session_login(
            headers={"Cookie": f"pbxd_session={first.cookie}"}
        )
        assert status == 200
        self.assert_error(first.call("GET", SESSION_PATH), 401, "unauthorized")
        assert WebSession.select().count() == 1
        assert session_cookie(response)["pbxd_session"].value != first.cookie

    def test_logins_are_in_the_operation_log_without_passwords(self) -> None:
        self.session_login("admin", "wrong-guess-1")
        self.session_login("ghost", "wrong-guess-2")
        browser = self.browser()
        assert browser.call("DELETE", SESSION_PATH)[0] == 204
        rows = [
            (row.action, row.username, row.role, row.target, row.detail)
            for row in OperationLogEntry.select().order_by(OperationLogEntry.id)
        ]
        assert rows == [
            ("login_failed", "admin", None, SESSION_PATH, '{"via": "session"}'),
            ("login_failed", "ghost", None, SESSION_PATH, '{"via": "session"}'),
            ("login", "admin", "admin", SESSION_PATH, '{"via": "session"}'),
            ("logout", "admin", "admin", SESSION_PATH, '{"via": "session"}'),
        ]
        dump = repr(list(OperationLogEntry.select().dicts()))
        for password in ("wrong-guess-1", "wrong-guess-2", ADMIN_PASSWORD):
            assert password not in dump


class SessionLogoutTest(SessionTestCase):
    def test_logout_ends_the_session_and_clears_the_cookie(self) -> None:
        browser = self.browser()
        other = self.browser()
        status, data, response = browser.call("DELETE", SESSION_PATH)
        assert (status, data) == (204, None)
        cleared = session_cookie(response)["pbxd_session"]
        assert cleared.value == "" and cleared["path"] == "/"
        assert cleared["max-age"] == 0 or cleared["expires"]
        self.assert_error(browser.call("GET", SESSION_PATH), 401, "unauthorized")
        self.assert_error(browser.call("DELETE", SESSION_PATH), 401, "unauthorized")
        assert other.call("GET", SESSION_PATH)[0] == 200

    def test_logout_needs_the_csrf_token(self) -> None:
        browser = self.browser()
        self.assert_error(browser.call("DELETE", SESSION_PATH, csrf=None), 403, "csrf")
        assert browser.call("GET", SESSION_PATH)[0] == 200

    def test_bearer_logout_does_not_touch_sessions(self) -> None:
        browser = self.browser()
        token = self.login()
        assert self.call("POST", "/api/v1/auth/logout", token=token)[0] == 204
        assert browser.call("GET", SESSION_PATH)[0] == 200
        # A session cannot use the bearer logout; it has DELETE /api/v1/auth/session.
        self.assert_error(browser.call("POST", "/api/v1/auth/logout"), 401, "unauthorized")

    def test_deleting_the_user_ends_his_sessions(self) -> None:
        agent = self.user_browser("agent")
        self.services.users.delete_user("agent-b")
        self.assert_error(agent.call("GET", SESSION_PATH), 401, "unauthorized")


class SessionExpiryTest(SessionTestCase):
    def test_idle_timeout_is_30_minutes_and_slides(self) -> None:
        browser = self.browser()
        for _ in range(4):  # two hours, used every 29 minutes
            self.wall.advance(minutes=29)
            assert browser.call("GET", "/api/v1/extensions")[0] == 200
        self.wall.advance(minutes=30)
        self.assert_error(browser.call("GET", SESSION_PATH), 401, "unauthorized")

    def test_the_idle_clock_is_written_at_most_once_a_minute(self) -> None:
        browser = self.browser()
        (row,) = WebSession.select()
        opened = row.last_seen_at
        self.wall.advance(seconds=59)
        assert browser.call("GET", SESSION_PATH)[0] == 200
        assert WebSession.get().last_seen_at == opened
        self.wall.advance(seconds=1)
        assert browser.call("GET", SESSION_PATH)[0] == 200
        assert WebSession.get().last_seen_at == self.wall.now

    def test_absolute_lifetime_is_12_hours_whatever_the_activity(self) -> None:
        browser = self.browser()
        for _ in range(35):  # 11 h 40 min of activity, every 20 minutes
            self.wall.advance(minutes=20)
            assert browser.call("GET", SESSION_PATH)[0] == 200
        self.wall.advance(minutes=19, seconds=59)
        assert browser.call("GET", SESSION_PATH)[0] == 200
        self.wall.advance(seconds=1)
        self.assert_error(browser.call("GET", SESSION_PATH), 401, "unauthorized")

    def test_expired_sessions_are_purged_at_the_next_login(self) -> None:
        self.browser()
        self.wall.advance(minutes=31)
        self.browser()
        assert WebSession.select().count() == 1


class CsrfTest(SessionTestCase):
    def create_alice(self, browser_call: Any, **kwargs: Any) -> tuple:
        return browser_call("POST", "/api/v1/extensions", ALICE, **kwargs)

    def test_writes_without_or_with_a_wrong_token_are_refused(self) -> None:
        browser = self.browser()
        for csrf in (None, "", "wrong-token", browser.csrf_token + "x", browser.csrf_token[:-1]):
            error = self.assert_error(self.create_alice(browser.call, csrf=csrf), 403, "csrf")
            assert "X-CSRF-Token" in error["message"]
        assert self.services.extensions.list() == []
        # Another session's token is no good either.
        other = self.browser()
        self.assert_error(self.create_alice(browser.call, csrf=other.csrf_token), 403, "csrf")
        assert self.services.extensions.list() == []

    def test_every_unsafe_method_needs_the_token(self) -> None:
        browser = self.browser()
        self.services.extensions.create("1001", "Alice", "alice-s3cret-pw")
        for method, body in (("PUT", {"name": "Bob"}), ("DELETE", None)):  # no PATCH routes
            result = browser.call(method, "/api/v1/extensions/1001", body, csrf=None)
            self.assert_error(result, 403, "csrf")
        assert self.services.extensions.get("1001").name == "Alice"

    def test_a_foreign_origin_is_refused_even_with_the_token(self) -> None:
        browser = self.browser()
        port = self.get_http_port()
        for origin in (
            "https://evil.example",
            "null",
            f"http://127.0.0.1.evil.example:{port}",
            f"http://127.0.0.1:{port + 1}",
            f"ftp://127.0.0.1:{port}",
            "http://[::1",
        ):
            result = self.create_alice(browser.call, headers={"Origin": origin})
            self.assert_error(result, 403, "csrf")
        assert self.services.extensions.list() == []

    def test_a_write_with_the_token_from_the_page_is_accepted(self) -> None:
        browser = self.browser()
        port = self.get_http_port()
        status, _, _ = self.create_alice(
            browser.call, headers={"Origin": f"http://127.0.0.1:{port}"}
        )
        assert status == 201
        # Without Origin (some browsers omit it on same-origin requests) the token suffices.
        status, _, _ = browser.call("PUT", "/api/v1/extensions/1001", {"name": "Alicia"})
        assert status == 200
        assert self.services.extensions.get("1001").name == "Alicia"

    def test_safe_methods_need_no_token(self) -> None:
        browser = self.browser()
        assert browser.call("GET", "/api/v1/extensions", csrf=None)[0] == 200

    def test_bearer_tokens_need_no_csrf_token(self) -> None:
        token = self.login()
        status, _, _ = self.call(
            "POST",
            "/api/v1/extensions",
            ALICE,
            token=token,
            headers={"Origin": "https://elsewhere.example"},
        )
        assert status == 201

    def test_a_bad_bearer_token_is_not_rescued_by_a_cookie(self) -> None:
        browser = self.browser()
        result = self.call(
            "GET",
            "/api/v1/extensions",
            headers={"Cookie": f"pbxd_session={browser.cookie}", "Authorization": "Bearer bad"},
        )
        self.assert_error(result, 401, "unauthorized")


class HttpsSessionTest(SessionTestCase, AsyncHTTPSTestCase):
    def get_httpserver_options(self) -> dict[str, Any]:
        return {**AsyncHTTPSTestCase.get_httpserver_options(self), "max_body_size": 1 << 20}

    def test_the_cookie_is_secure_over_https(self) -> None:
        status, _, response = self.session_login()
        assert status == 200
        assert session_cookie(response)["pbxd_session"]["secure"] is True
        port = self.get_http_port()
        browser = self.browser()
        status, _, _ = browser.call(
            "POST", "/api/v1/extensions", ALICE, headers={"Origin": f"https://127.0.0.1:{port}"}
        )
        assert status == 201
