"""A test case for the call-center configuration API: an admin token and three extensions."""

from __future__ import annotations

from typing import Any

from pbxd.services import Role

from .apitest import ApiTestCase

EXTENSIONS = ("1001", "1002", "1003")


class CallCenterApiTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        for number in EXTENSIONS:
            self.services.extensions.create(number, f"Agent {number}", f"secret-{number}-pw")

    def create(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        status, data, _ = self.call("POST", path, body, token=token or self.token)
        assert status == 201, data
        return data

    def error(
        self,
        method: str,
        path: str,
        body: Any,
        status: int,
        code: str,
        field: str | None = None,
        token: str | None = None,
    ) -> str:
        """Make the call, check the error (and its field when given); return its message."""
        error = self.assert_error(
            self.call(method, path, body, token=token or self.token), status, code
        )
        if field is not None:
            assert error.get("field") == field, error
        return error["message"]

    def user_token(self, role: Role, extension: str | None = None, name: str = "") -> str:
        username = name or f"{role}-{extension or 'x'}"
        self.services.users.create_user(username, f"{username}-pass", role, extension=extension)
        return self.login(username, f"{username}-pass")
