"""A test case for the call-center configuration API: an admin token and three extensions."""

from __future__ import annotations

from typing import Any

from .apitest import ApiTestCase

EXTENSIONS = ("1001", "1002", "1003")


class CallCenterApiTestCase(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        self.create_extensions(*EXTENSIONS)

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

    def assert_invalid(self, path: str, cases: list[tuple[dict, str, str]]) -> None:
        """Each body in `cases` is refused by POST `path` with a 400 naming the field, the
        message containing the words given."""
        for body, field, words in cases:
            message = self.error("POST", path, body, 400, "invalid", field)
            assert words in message, (body, message)
