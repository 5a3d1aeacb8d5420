"""API errors speak the user's language: the console's saved choice, else Accept-Language."""

from __future__ import annotations

from .sessiontest import SessionTestCase

BAD_EXTENSION = {"number": "1", "name": "X", "secret": "long-enough-secret"}


class ErrorLanguageTest(SessionTestCase):
    def test_a_console_user_gets_his_saved_language_whatever_the_browser_says(self) -> None:
        browser = self.browser()  # the admin's saved language: zh-CN (the default)
        status, data, _ = browser.call("POST", "/api/v1/extensions", BAD_EXTENSION,
                                       headers={"Accept-Language": "en-US"})  # fmt: skip
        assert status == 400 and data["error"]["field"] == "number"
        assert data["error"]["code"] == "invalid"
        assert "位数字" in data["error"]["message"], data

        browser.call("PUT", "/api/v1/users/me", {"language": "en"})
        status, data, _ = browser.call("POST", "/api/v1/extensions", BAD_EXTENSION)
        assert data["error"]["message"] == "number: expected 2 to 6 digits", data

    def test_other_clients_get_what_accept_language_asks_and_english_by_default(self) -> None:
        token = self.login()
        chinese = self.call("POST", "/api/v1/extensions", BAD_EXTENSION, token=token,
                            headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})  # fmt: skip
        assert "位数字" in chinese[1]["error"]["message"], chinese[1]
        plain = self.call("POST", "/api/v1/extensions", BAD_EXTENSION, token=token)
        assert plain[1]["error"]["message"] == "number: expected 2 to 6 digits"
        # a refusal before any user is known (no token) follows the header too
        refused = self.call("GET", "/api/v1/extensions", headers={"Accept-Language": "zh"})
        assert refused[0] == 401 and refused[1]["error"]["message"] != "missing bearer token"
