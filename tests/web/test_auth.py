from __future__ import annotations

import asyncio
import json

from pbxd.services import Role
from pbxd.web import ROUTES
from pbxd.web.base import PUBLIC

from .apitest import ADMIN_PASSWORD, ApiTestCase


def protected_calls() -> list[tuple[str, str]]:
    calls = []
    for template, handler in ROUTES:
        path = template.replace("{number}", "1001")
        calls += [(method, path) for method, rule in handler.access.items() if rule != PUBLIC]
    return calls


class HealthTest(ApiTestCase):
    def test_health_needs_no_token(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/health")
        assert (status, data) == (200, {"status": "ok"})


class SystemStatusTest(ApiTestCase):
    @staticmethod
    def status_provider() -> dict:
        return {"sip_registrations": 3}

    def test_provider_fields_are_shown_to_admins_only(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/health")
        assert (status, data) == (200, {"status": "ok"})
        status, data, _ = self.call("GET", "/api/v1/system/status", token=self.login())
        assert (status, data) == (200, {"status": "ok", "sip_registrations": 3})
        status, _, _ = self.call("GET", "/api/v1/system/status")
        assert status == 401


class LoginTest(ApiTestCase):
    def test_login_returns_a_working_token(self) -> None:
        status, data, response = self.call(
            "POST", "/api/v1/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert status == 200 and set(data) == {"token"}
        assert response.headers["Cache-Control"] == "no-store"
        status, _, _ = self.call("GET", "/api/v1/extensions", token=data["token"])
        assert status == 200

    def test_wrong_password_and_unknown_user_look_the_same(self) -> None:
        wrong = self.assert_error(
            self.call("POST", "/api/v1/auth/login", {"username": "admin", "password": "nope-nope"}),
            401,
            "unauthorized",
        )
        unknown = self.assert_error(
            self.call("POST", "/api/v1/auth/login", {"username": "ghost", "password": "nope-nope"}),
            401,
            "unauthorized",
        )
        assert wrong == unknown
        self.assert_error(
            self.call("POST", "/api/v1/auth/login", {"username": "\ud800", "password": "\udfff"}),
            401,
            "unauthorized",
        )

    def test_login_body_is_checked(self) -> None:
        error = self.assert_error(
            self.call("POST", "/api/v1/auth/login", {"username": "admin"}), 400, "invalid"
        )
        assert error["field"] == "password" and "password" in error["message"]
        error = self.assert_error(
            self.call("POST", "/api/v1/auth/login", {"username": "admin", "password": 4711}),
            400,
            "invalid",
        )
        assert error["field"] == "password" and "string" in error["message"]
        self.assert_error(self.call("POST", "/api/v1/auth/login", raw=b"{nope"), 400, "bad_json")

    def test_failed_logins_are_rate_limited_per_client(self) -> None:
        wrong = {"username": "admin", "password": "guess-guess"}
        right = {"username": "admin", "password": ADMIN_PASSWORD}
        for _ in range(5):
            self.assert_error(self.call("POST", "/api/v1/auth/login", wrong), 401, "unauthorized")
            self.monotonic.now += 1
        # Locked: even the right password is refused, without checking it.
        result = self.call("POST", "/api/v1/auth/login", right)
        self.assert_error(result, 429, "rate_limited")
        assert result[2].headers["Retry-After"] == "55"  # failures at 1000..1004, now 1005
        self.monotonic.now = 1000 + 59.5
        result = self.call("POST", "/api/v1/auth/login", right)
        self.assert_error(result, 429, "rate_limited")
        assert result[2].headers["Retry-After"] == "1"
        self.monotonic.now = 1000 + 60  # the first failure left the window
        status, data, _ = self.call("POST", "/api/v1/auth/login", right)
        assert status == 200 and data["token"]

    def test_concurrent_attempts_cannot_outrun_the_limit(self) -> None:
        body = json.dumps({"username": "admin", "password": "guess-guess"})

        async def burst() -> list[int]:
            responses = await asyncio.gather(
                *(
                    self.http_client.fetch(
                        self.get_url("/api/v1/auth/login"),
                        method="POST",
                        body=body,
                        raise_error=False,
                    )
                    for _ in range(8)
                )
            )
            return sorted(response.code for response in responses)

        assert self.io_loop.run_sync(burst, timeout=30) == [401] * 5 + [429] * 3

    def test_success_resets_the_failure_count(self) -> None:
        wrong = {"username": "admin", "password": "guess-guess"}
        for _ in range(4):
            self.call("POST", "/api/v1/auth/login", wrong)
        self.login()
        for _ in range(4):
            self.assert_error(self.call("POST", "/api/v1/auth/login", wrong), 401, "unauthorized")


class TokenTest(ApiTestCase):
    def test_every_protected_call_needs_a_token(self) -> None:
        calls = protected_calls()
        assert len(calls) >= 7
        for method, path in calls:
            body = {} if method in ("POST", "PUT") else None
            result = self.call(method, path, body)
            self.assert_error(result, 401, "unauthorized")
            assert result[2].headers["WWW-Authenticate"].startswith("Bearer")
            self.assert_error(self.call(method, path, body, token="forged"), 401, "unauthorized")
            self.assert_error(
                self.call(method, path, body, headers={"Authorization": "Basic YWRtaW46eA=="}),
                401,
                "unauthorized",
            )

    def test_scheme_is_case_insensitive(self) -> None:
        token = self.login()
        status, _, _ = self.call(
            "GET", "/api/v1/extensions", headers={"Authorization": f"bearer {token}"}
        )
        assert status == 200

    def test_tokens_expire_after_12_hours(self) -> None:
        token = self.login()
        self.wall.advance(hours=12)
        self.assert_error(self.call("GET", "/api/v1/extensions", token=token), 401, "unauthorized")

    def test_logout_revokes_the_token(self) -> None:
        token = self.login()
        other = self.login()
        status, data, _ = self.call("POST", "/api/v1/auth/logout", token=token)
        assert (status, data) == (204, None)
        self.assert_error(self.call("GET", "/api/v1/extensions", token=token), 401, "unauthorized")
        assert self.call("GET", "/api/v1/extensions", token=other)[0] == 200


# Every user's own business: his login, logout, language and password (tests/web/test_sessions.py
# and test_users_api.py cover them).
SELF_SERVICE = {
    "/api/v1/auth/logout",
    "/api/v1/auth/session",
    "/api/v1/users/me",
    "/api/v1/users/me/password",
    "/api/v1/users/me/softphone",
    "/api/v1/users/me/calls",
    "/api/v1/users/me/calls/{call_id}/dial",
    "/api/v1/users/me/dial",
}

# What an agent without an extension may still read: the customer directory (m0007); and
# the screen pop, its memos and the wrap-up codes (issue 7: any role pops any number).
AGENT_READS = {
    ("GET", "/api/v1/contacts"),
    ("GET", "/api/v1/contacts/{id}"),
    ("GET", "/api/v1/screenpop"),
    ("GET", "/api/v1/memos"),
    ("POST", "/api/v1/memos"),
    ("GET", "/api/v1/dispositions"),
}


class RoleTest(ApiTestCase):
    def test_agent_is_refused_extensions_and_cdr(self) -> None:
        token = self.token_for(Role.AGENT)
        for method, path in protected_calls():
            if path in SELF_SERVICE or (method, path) in AGENT_READS:
                continue
            body = {"name": "x"} if method in ("POST", "PUT") else None
            self.assert_error(self.call(method, path, body, token=token), 403, "forbidden")

    def test_supervisor_reads_cdr_but_not_extensions(self) -> None:
        token = self.token_for(Role.SUPERVISOR)
        status, data, _ = self.call("GET", "/api/v1/cdr", token=token)
        assert (status, data) == (200, {"items": []})
        self.assert_error(self.call("GET", "/api/v1/extensions", token=token), 403, "forbidden")
        self.assert_error(
            self.call(
                "POST",
                "/api/v1/extensions",
                {"number": "1001", "name": "A", "secret": "alice-secret"},
                token=token,
            ),
            403,
            "forbidden",
        )
        assert self.services.extensions.list() == []
