"""Users API: admin management, the last administrator, one's own language and password."""

from __future__ import annotations

from pbxd.db.models import ApiToken, WebSession
from pbxd.services import Role

from .apitest import ADMIN_PASSWORD
from .sessiontest import SESSION_PATH, SessionTestCase

USERS = "/api/v1/users"


class UsersRoleMatrixTest(SessionTestCase):
    """Every new endpoint, for each role: served (the status it answers) or 403."""

    def calls(self) -> list[tuple[str, str, dict | None, int, set[str]]]:
        """(method, path, body, status when allowed, roles allowed)."""
        every = {"admin", "supervisor", "agent"}
        return [
            ("GET", USERS, None, 200, {"admin"}),
            ("POST", USERS, {"username": "new-user", "role": "agent", "password": "new-user-pw"},
             201, {"admin"}),
            ("GET", f"{USERS}/target", None, 200, {"admin"}),
            ("PUT", f"{USERS}/target", {"language": "en"}, 200, {"admin"}),
            ("DELETE", f"{USERS}/target", None, 204, {"admin"}),
            ("GET", f"{USERS}/me", None, 200, every),
            ("PUT", f"{USERS}/me", {"language": "en"}, 200, every),
            ("GET", SESSION_PATH, None, 200, every),
        ]  # fmt: skip

    def test_role_matrix(self) -> None:
        for role in ("admin", "supervisor", "agent"):
            self.services.users.create_user("target", "target-pass", Role.AGENT)
            browser = self.user_browser(role, name=f"{role}-matrix")
            for method, path, body, status, allowed in self.calls():
                result = browser.call(method, path, body)
                if role in allowed:
                    assert result[0] == status, (role, method, path, result[1])
                else:
                    self.assert_error(result, 403, "forbidden")
            # The password change and the logout, last: they end other sessions / this one.
            result = browser.call(
                "PUT",
                f"{USERS}/me/password",
                {"old_password": f"{role}-matrix-pass", "new_password": "brand-new-pass"},
            )
            assert result[0] == 204, (role, result[1])
            assert browser.call("DELETE", SESSION_PATH)[0] == 204
            left = {view.username for view in self.services.users.list_users()} - {"admin"}
            for username in left:  # the admin's round deleted "target" already
                self.services.users.delete_user(username)


class UserManagementTest(SessionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        self.create_extensions("1001", "1002")
        self.services.queues.create({"number": "600", "name": "Sales", "members": ["1001"]})
        self.services.queues.create({"number": "601", "name": "Support", "members": ["1002"]})

    def test_create_list_get_update_delete(self) -> None:
        status, data, response = self.call(
            "POST",
            USERS,
            {"username": "lily", "role": "supervisor", "password": "lily-password",
             "extension": "1001", "language": "en", "queues": ["601", "600"]},
            token=self.token,
        )  # fmt: skip
        lily = {
            "username": "lily",
            "role": "supervisor",
            "extension": "1001",
            "language": "en",
            "queues": ["600", "601"],
            "masking": "all",
        }
        assert (status, data) == (201, lily)
        assert response.headers["Location"] == "/api/v1/users/lily"
        status, data, _ = self.call("GET", USERS, token=self.token)
        assert status == 200
        assert [user["username"] for user in data["items"]] == ["admin", "lily"]
        assert self.call("GET", f"{USERS}/lily", token=self.token)[1] == lily

        status, data, _ = self.call(
            "PUT", f"{USERS}/lily", {"masking": "name_only", "queues": ["601"]}, token=self.token
        )
        assert (status, data) == (200, {**lily, "masking": "name_only", "queues": ["601"]})
        status, data, _ = self.call("PUT", f"{USERS}/lily", {"extension": None}, token=self.token)
        assert data["extension"] is None

        assert self.call("DELETE", f"{USERS}/lily", token=self.token)[0] == 204
        self.assert_error(self.call("GET", f"{USERS}/lily", token=self.token), 404, "not_found")
        self.assert_error(self.call("DELETE", f"{USERS}/lily", token=self.token), 404, "not_found")
        self.assert_error(
            self.call("PUT", f"{USERS}/lily", {"language": "en"}, token=self.token),
            404,
            "not_found",
        )

    def test_defaults_by_role(self) -> None:
        for role, masking in (("admin", "all"), ("supervisor", "all"), ("agent", "partial")):
            status, data, _ = self.call(
                "POST",
                USERS,
                {"username": f"u-{role}", "role": role, "password": "long-enough"},
                token=self.token,
            )
            assert status == 201
            assert data == {
                "username": f"u-{role}",
                "role": role,
                "extension": None,
                "language": "zh-CN",
                "queues": [],
                "masking": masking,
            }

    def test_a_role_change_resets_masking_and_drops_led_queues(self) -> None:
        self.services.users.create_user("sam", "sam-password", "supervisor", queues=["600"])
        status, data, _ = self.call("PUT", f"{USERS}/sam", {"role": "agent"}, token=self.token)
        assert status == 200
        assert (data["role"], data["masking"], data["queues"]) == ("agent", "partial", [])
        status, data, _ = self.call(
            "PUT", f"{USERS}/sam", {"role": "supervisor", "masking": "partial"}, token=self.token
        )
        assert (data["role"], data["masking"]) == ("supervisor", "partial")
        # The same role again changes nothing else.
        status, data, _ = self.call("PUT", f"{USERS}/sam", {"role": "supervisor"}, token=self.token)
        assert data["masking"] == "partial"

    def test_a_deleted_queue_leaves_the_supervisors_scope(self) -> None:
        self.services.users.create_user("sam", "sam-password", "supervisor", queues=["600", "601"])
        self.services.queues.delete("600")
        assert self.call("GET", f"{USERS}/sam", token=self.token)[1]["queues"] == ["601"]

    def test_bad_fields_are_refused_naming_the_field(self) -> None:
        self.services.users.create_user("taken", "taken-password", "agent", extension="1002")
        base = {"username": "nina", "role": "agent", "password": "nina-password"}
        cases = [
            ({**base, "role": "root"}, 400, "invalid", "role"),
            ({**base, "password": "short"}, 400, "invalid", "password"),
            ({**base, "username": "bad name"}, 400, "invalid", "username"),
            ({**base, "username": "me"}, 400, "invalid", "username"),
            ({**base, "language": "fr"}, 400, "invalid", "language"),
            ({**base, "masking": "none"}, 400, "invalid", "masking"),
            ({**base, "queues": ["600"]}, 400, "invalid", "queues"),  # agents lead no queue
            ({**base, "role": "supervisor", "queues": ["699"]}, 400, "invalid", "queues"),
            ({**base, "role": "supervisor", "queues": ["600", "600"]}, 400, "invalid", "queues"),
            ({**base, "role": "supervisor", "queues": [600]}, 400, "invalid", "queues"),
            ({**base, "queues": "600"}, 400, "invalid", "queues"),
            ({**base, "extension": "1999"}, 400, "invalid", "extension"),
            ({**base, "extension": 1001}, 400, "invalid", "extension"),
            ({**base, "extension": "1002"}, 409, "exists", "extension"),
            ({**base, "username": "taken"}, 409, "exists", "username"),
            ({**base, "password_hash": "x"}, 400, "invalid", "password_hash"),
            ({**base, "role": True}, 400, "invalid", "role"),
            ({"username": "nina", "role": "agent"}, 400, "invalid", "password"),
        ]
        for body, status, code, field in cases:
            result = self.call("POST", USERS, body, token=self.token)
            error = self.assert_error(result, status, code)
            assert error["field"] == field, (body, error)
        assert [view.username for view in self.services.users.list_users()] == ["admin", "taken"]
        self.assert_error(
            self.call("PUT", f"{USERS}/taken", {"username": "other"}, token=self.token),
            400,
            "invalid",
        )

    def test_no_password_or_hash_is_ever_returned(self) -> None:
        self.call(
            "POST",
            USERS,
            {"username": "nina", "role": "agent", "password": "nina-secret-pw"},
            token=self.token,
        )
        self.call("PUT", f"{USERS}/nina", {"password": "nina-other-pw"}, token=self.token)
        self.call("GET", USERS, token=self.token)
        self.call("GET", f"{USERS}/nina", token=self.token)
        for body in self.responses:
            assert b"scrypt" not in body and b"password" not in body
            assert b"nina-secret-pw" not in body and b"nina-other-pw" not in body

    def test_a_new_password_from_the_admin_logs_the_user_out_everywhere(self) -> None:
        agent_token = self.user_token(Role.AGENT, name="nina")
        agent_browser = self.browser("nina", "nina-pass")
        body = {"password": "fresh-pass"}
        status, _, _ = self.call("PUT", f"{USERS}/nina", body, token=self.token)
        assert status == 200
        self.assert_error(self.call("GET", f"{USERS}/me", token=agent_token), 401, "unauthorized")
        self.assert_error(agent_browser.call("GET", SESSION_PATH), 401, "unauthorized")
        assert self.services.users.authenticate("nina", "fresh-pass") is not None

    def test_an_admin_resetting_his_own_password_keeps_his_current_login(self) -> None:
        other_token = self.login()
        browser = self.browser()
        status, _, _ = browser.call("PUT", f"{USERS}/admin", {"password": "admin-new-pass"})
        assert status == 200
        assert browser.call("GET", SESSION_PATH)[0] == 200
        self.assert_error(self.call("GET", USERS, token=other_token), 401, "unauthorized")
        self.assert_error(self.call("GET", USERS, token=self.token), 401, "unauthorized")
        token = self.login("admin", "admin-new-pass")
        result = self.call("PUT", f"{USERS}/admin", {"password": "admin-3rd-pass"}, token=token)
        assert result[0] == 200
        assert self.call("GET", USERS, token=token)[0] == 200
        self.assert_error(browser.call("GET", SESSION_PATH), 401, "unauthorized")

    def test_deleting_a_user_revokes_his_tokens(self) -> None:
        agent_token = self.user_token(Role.AGENT, name="nina")
        assert self.call("DELETE", f"{USERS}/nina", token=self.token)[0] == 204
        self.assert_error(self.call("GET", f"{USERS}/me", token=agent_token), 401, "unauthorized")


class LastAdminTest(SessionTestCase):
    def test_the_last_admin_cannot_be_deleted_or_demoted(self) -> None:
        token = self.login()
        result = self.call("DELETE", f"{USERS}/admin", token=token)
        error = self.assert_error(result, 409, "last_admin")
        assert "last administrator" in error["message"]
        self.assert_error(
            self.call("PUT", f"{USERS}/admin", {"role": "supervisor"}, token=token),
            409,
            "last_admin",
        )
        assert self.services.users.get_user("admin").role is Role.ADMIN
        # Staying admin is no demotion.
        assert self.call("PUT", f"{USERS}/admin", {"role": "admin"}, token=token)[0] == 200

    def test_with_a_second_admin_either_may_go(self) -> None:
        token = self.login()
        self.services.users.create_user("root2", "root2-password", Role.ADMIN)
        status, data, _ = self.call("PUT", f"{USERS}/root2", {"role": "agent"}, token=token)
        assert (status, data["role"]) == (200, "agent")
        self.assert_error(self.call("DELETE", f"{USERS}/admin", token=token), 409, "last_admin")
        self.call("PUT", f"{USERS}/root2", {"role": "admin"}, token=token)
        # An admin may delete himself while another remains; his token goes with him.
        assert self.call("DELETE", f"{USERS}/admin", token=token)[0] == 204
        self.assert_error(self.call("GET", USERS, token=token), 401, "unauthorized")
        other = self.login("root2", "root2-password")
        self.assert_error(self.call("DELETE", f"{USERS}/root2", token=other), 409, "last_admin")


class OwnAccountTest(SessionTestCase):
    def test_anyone_chooses_his_language(self) -> None:
        agent = self.user_browser("agent", name="nina")
        status, data, _ = agent.call("PUT", f"{USERS}/me", {"language": "en"})
        assert (status, data["language"]) == (200, "en")
        assert agent.call("GET", SESSION_PATH)[1]["user"]["language"] == "en"
        self.assert_error(agent.call("PUT", f"{USERS}/me", {"language": "de"}), 400, "invalid")
        # Nothing else is self-service.
        for body in ({"role": "admin"}, {"masking": "all"}, {"queues": []}, {"password": "x"}):
            error = self.assert_error(agent.call("PUT", f"{USERS}/me", body), 400, "invalid")
            assert error["field"] == next(iter(body))
        assert self.services.users.get_user("nina").role is Role.AGENT

    def test_me_is_the_caller(self) -> None:
        token = self.user_token(Role.SUPERVISOR, name="sam")
        status, data, _ = self.call("GET", f"{USERS}/me", token=token)
        assert (status, data["username"], data["role"]) == (200, "sam", "supervisor")


class PasswordChangeTest(SessionTestCase):
    def test_a_password_change_revokes_every_other_session_and_token(self) -> None:
        self.services.users.create_user("nina", "nina-password", Role.AGENT)
        other_token = self.login("nina", "nina-password")
        other_browser = self.browser("nina", "nina-password")
        browser = self.browser("nina", "nina-password")
        admin_token = self.login()
        status, data, _ = browser.call(
            "PUT",
            f"{USERS}/me/password",
            {"old_password": "nina-password", "new_password": "nina-new-password"},
        )
        assert (status, data) == (204, None)
        assert browser.call("GET", SESSION_PATH)[0] == 200  # this session stays
        self.assert_error(other_browser.call("GET", SESSION_PATH), 401, "unauthorized")
        self.assert_error(self.call("GET", f"{USERS}/me", token=other_token), 401, "unauthorized")
        assert self.call("GET", f"{USERS}/me", token=admin_token)[0] == 200  # other users' stay
        assert WebSession.select().count() == 1
        self.assert_error(self.session_login("nina", "nina-password"), 401, "unauthorized")
        assert self.session_login("nina", "nina-new-password")[0] == 200

    def test_with_a_token_the_token_stays(self) -> None:
        self.services.users.create_user("nina", "nina-password", Role.AGENT)
        token = self.login("nina", "nina-password")
        other = self.login("nina", "nina-password")
        status, _, _ = self.call(
            "PUT",
            f"{USERS}/me/password",
            {"old_password": "nina-password", "new_password": "nina-new-password"},
            token=token,
        )
        assert status == 204
        assert self.call("GET", f"{USERS}/me", token=token)[0] == 200
        self.assert_error(self.call("GET", f"{USERS}/me", token=other), 401, "unauthorized")
        assert ApiToken.select().count() == 1

    def test_a_wrong_old_password_is_refused_and_throttled(self) -> None:
        browser = self.browser()
        for _ in range(5):
            error = self.assert_error(
                browser.call(
                    "PUT",
                    f"{USERS}/me/password",
                    {"old_password": "guess-guess", "new_password": "brand-new-pw"},
                ),
                403,
                "wrong_password",
            )
            assert error["field"] == "old_password"
        result = browser.call(
            "PUT",
            f"{USERS}/me/password",
            {"old_password": ADMIN_PASSWORD, "new_password": "brand-new-pw"},
        )
        self.assert_error(result, 429, "rate_limited")
        assert self.services.users.authenticate("admin", ADMIN_PASSWORD) is not None

    def test_the_new_password_is_checked_first_and_csrf_applies(self) -> None:
        browser = self.browser()
        body = {"old_password": ADMIN_PASSWORD, "new_password": "short"}
        result = browser.call("PUT", f"{USERS}/me/password", body)
        error = self.assert_error(result, 400, "invalid")
        assert error["field"] == "new_password"
        body = {"old_password": ADMIN_PASSWORD, "new_password": "brand-new-pw"}
        result = browser.call("PUT", f"{USERS}/me/password", body, csrf=None)
        self.assert_error(result, 403, "csrf")
        assert self.services.users.authenticate("admin", ADMIN_PASSWORD) is not None
