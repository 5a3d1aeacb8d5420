"""The browser softphone's SIP key: bound to the console session, one browser per extension."""

from __future__ import annotations

from pbxd.services import Role

from .sessiontest import SessionTestCase

KEY_PATH = "/api/v1/users/me/softphone"


class SoftphoneKeyTest(SessionTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.services.extensions.create("3651", "Agent", "agent-secret-3651")

    def _agent(self, name: str = "agent-3651"):
        if not any(u.username == name for u in self.services.users.list_users()):
            self.services.users.create_user(name, f"{name}-pass", "agent", extension="3651")
        return self.browser(name, f"{name}-pass")

    def test_a_session_gets_a_key_that_authenticates_as_its_extension(self) -> None:
        status, key, _ = self._agent().call("POST", KEY_PATH, {})
        assert status == 200, key
        assert key["extension"] == "3651" and key["ws_path"] == "/ws"
        assert key["auth_user"].startswith("3651.web.") and len(key["password"]) >= 30
        keys = self.services.softphone
        assert keys.password_for(key["auth_user"]) == key["password"]
        assert keys.extension_of(key["auth_user"]) == "3651"
        assert key["password"] != "agent-secret-3651"  # the extension's secret stays secret

    def test_a_reload_of_the_same_session_replaces_its_key(self) -> None:
        page = self._agent()
        _, first, _ = page.call("POST", KEY_PATH, {})
        status, second, _ = page.call("POST", KEY_PATH)
        assert status == 200 and second["auth_user"] != first["auth_user"]
        assert self.services.softphone.password_for(first["auth_user"]) is None

    def test_a_second_browser_is_refused_unless_it_takes_over(self) -> None:
        dropped: list[str] = []
        self.services.softphone.on_taken_over = dropped.append
        first_page, second_page = self._agent(), self._agent()
        _, first, _ = first_page.call("POST", KEY_PATH, {})
        status, data, _ = second_page.call("POST", KEY_PATH, {})
        assert (status, data["error"]["code"]) == (409, "softphone_in_use"), data
        assert dropped == []
        status, second, _ = second_page.call("POST", KEY_PATH, {"take_over": True})
        assert status == 200 and dropped == ["3651"]
        assert self.services.softphone.password_for(first["auth_user"]) is None
        assert self.services.softphone.password_for(second["auth_user"]) == second["password"]
        status, data, _ = first_page.call("POST", KEY_PATH, {})  # and now the first is refused
        assert status == 409, data

    def test_the_key_ends_with_the_session(self) -> None:
        page = self._agent()
        _, key, _ = page.call("POST", KEY_PATH, {})
        status, _, _ = page.call("DELETE", "/api/v1/auth/session")
        assert status == 204
        assert self.services.softphone.password_for(key["auth_user"]) is None
        other = self._agent()  # a new login is not refused by the dead session's key
        _, again, _ = other.call("POST", KEY_PATH, {})
        status, _, _ = other.call("DELETE", KEY_PATH)
        assert status == 204 and self.services.softphone.password_for(again["auth_user"]) is None

    def test_no_key_without_a_session_or_an_extension(self) -> None:
        token = self.token_for(Role.AGENT)
        status, data, _ = self.call("POST", KEY_PATH, {}, token=token)
        assert (status, data["error"]["code"]) == (403, "forbidden"), data
        status, data, _ = self.browser().call("POST", KEY_PATH, {})  # admin has no extension
        assert (status, data["error"]["code"]) == (400, "invalid"), data
        status, data, _ = self._agent().call("POST", KEY_PATH, {"take_over": "yes"})
        assert status == 400, data
