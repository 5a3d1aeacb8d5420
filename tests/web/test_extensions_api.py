from __future__ import annotations

import json
import logging

from .apitest import ADMIN_PASSWORD, ApiTestCase

ALICE = {"number": "1001", "name": "Alice", "secret": "alice-s3cret-pw"}
ALICE_VIEW = {
    "number": "1001",
    "name": "Alice",
    "recording": "none",
    "voicemail": False,
    "voicemail_pin_set": False,
}


class ExtensionsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()

    def test_create_list_get_update_delete(self) -> None:
        status, data, response = self.call("POST", "/api/v1/extensions", ALICE, token=self.token)
        assert (status, data) == (201, ALICE_VIEW)
        assert response.headers["Location"] == "/api/v1/extensions/1001"

        self.call(
            "POST",
            "/api/v1/extensions",
            {"number": "1000", "name": "Front desk", "secret": "front-desk-pw"},
            token=self.token,
        )
        status, data, _ = self.call("GET", "/api/v1/extensions", token=self.token)
        assert status == 200
        assert data == {
            "items": [
                {**ALICE_VIEW, "number": "1000", "name": "Front desk"},
                ALICE_VIEW,
            ]
        }

        status, data, _ = self.call("GET", "/api/v1/extensions/1001", token=self.token)
        assert (status, data) == (200, ALICE_VIEW)

        status, data, _ = self.call(
            "PUT", "/api/v1/extensions/1001", {"name": "Alice Liu"}, token=self.token
        )
        assert (status, data) == (200, {**ALICE_VIEW, "name": "Alice Liu"})
        assert self.services.extensions.secret_for("1001") == ALICE["secret"]

        status, data, _ = self.call(
            "PUT", "/api/v1/extensions/1001", {"secret": "rotated-secret"}, token=self.token
        )
        assert (status, data) == (200, {**ALICE_VIEW, "name": "Alice Liu"})
        assert self.services.extensions.secret_for("1001") == "rotated-secret"

        status, data, _ = self.call("DELETE", "/api/v1/extensions/1001", token=self.token)
        assert (status, data) == (204, None)
        self.assert_error(
            self.call("GET", "/api/v1/extensions/1001", token=self.token), 404, "not_found"
        )
        self.assert_error(
            self.call("DELETE", "/api/v1/extensions/1001", token=self.token), 404, "not_found"
        )
        self.assert_error(
            self.call("PUT", "/api/v1/extensions/1001", {"name": "X"}, token=self.token),
            404,
            "not_found",
        )

    def test_voicemail_pin_is_written_never_read_back(self) -> None:
        body = {**ALICE, "voicemail": True, "voicemail_pin": "4711"}
        status, data, _ = self.call("POST", "/api/v1/extensions", body, token=self.token)
        assert (status, data) == (201, {**ALICE_VIEW, "voicemail": True, "voicemail_pin_set": True})
        assert "4711" not in json.dumps(self.call("GET", "/api/v1/extensions", token=self.token)[1])
        assert self.services.extensions.voicemail_pin("1001") == "4711"

        for bad in ("12", "12ab", "1234567890123", 4711):
            error = self.assert_error(
                self.call(
                    "PUT", "/api/v1/extensions/1001", {"voicemail_pin": bad}, token=self.token
                ),
                400,
                "invalid",
            )
            assert error["field"] == "voicemail_pin"
            assert "4711" not in error["message"]
        assert self.services.extensions.voicemail_pin("1001") == "4711"

        status, data, _ = self.call(
            "PUT", "/api/v1/extensions/1001", {"voicemail_pin": ""}, token=self.token
        )
        assert (status, data["voicemail_pin_set"]) == (200, False)
        assert self.services.extensions.voicemail_pin("1001") is None

    def test_deletion_reaches_subscribers(self) -> None:
        heard = []
        self.services.extensions.subscribe(lambda number, deleted: heard.append((number, deleted)))
        self.call("POST", "/api/v1/extensions", ALICE, token=self.token)
        self.call("DELETE", "/api/v1/extensions/1001", token=self.token)
        assert heard == [("1001", False), ("1001", True)]

    def test_duplicate_is_a_conflict(self) -> None:
        self.call("POST", "/api/v1/extensions", ALICE, token=self.token)
        error = self.assert_error(
            self.call("POST", "/api/v1/extensions", ALICE, token=self.token), 409, "exists"
        )
        assert "1001" in error["message"]

    def test_validation_names_the_field(self) -> None:
        cases = [
            ({**ALICE, "number": "10a"}, "number", "digits"),
            ({**ALICE, "number": 1001}, "number", "string"),
            ({**ALICE, "name": ""}, "name", "characters"),
            ({**ALICE, "name": "\ud800"}, "name", "control characters"),
            ({**ALICE, "secret": "short"}, "secret", "8 to 128"),
            ({**ALICE, "secret": "123456789"}, "secret", "10 digits"),
            ({**ALICE, "secret": None}, "secret", "string"),
            ({"number": "1001", "name": "Alice"}, "secret", "required"),
            ({**ALICE, "admin": True}, "admin", "unknown"),
        ]
        for body, field, words in cases:
            error = self.assert_error(
                self.call("POST", "/api/v1/extensions", body, token=self.token), 400, "invalid"
            )
            assert error["field"] == field, (body, error)
            assert words in error["message"], (body, error)
        assert self.services.extensions.list() == []

    def test_put_needs_something_to_change(self) -> None:
        self.call("POST", "/api/v1/extensions", ALICE, token=self.token)
        self.assert_error(
            self.call("PUT", "/api/v1/extensions/1001", {}, token=self.token), 400, "invalid"
        )
        error = self.assert_error(
            self.call("PUT", "/api/v1/extensions/1001", {"number": "1002"}, token=self.token),
            400,
            "invalid",
        )
        assert error["field"] == "number"

    def test_body_must_be_a_json_object(self) -> None:
        for raw in (b"", b"not json", b'{"number": "1001",', b'{"n": NaN}', b"\xff\xfe{"):
            self.assert_error(
                self.call("POST", "/api/v1/extensions", raw=raw, token=self.token),
                400,
                "bad_json",
            )
        self.assert_error(
            self.call("POST", "/api/v1/extensions", raw=b"[1, 2]", token=self.token),
            400,
            "invalid",
        )

    def test_secrets_and_credentials_never_leave_the_appliance(self) -> None:
        """No response body and no log line carries an extension secret, a password or a
        token, whatever the outcome of the call."""
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        keeper = Keep(level=logging.DEBUG)
        root = logging.getLogger()
        old_level = root.level
        root.addHandler(keeper)
        root.setLevel(logging.DEBUG)
        try:
            token = self.login()
            self.call("POST", "/api/v1/auth/login", {"username": "admin", "password": "wrong-pw-1"})
            secrets = [ALICE["secret"], "rotated-secret-9", "8675309", "31415926", "weak-7!"]
            self.call("POST", "/api/v1/extensions", ALICE, token=token)
            self.call("POST", "/api/v1/extensions", ALICE, token=token)  # conflict
            for weak in secrets[2:]:
                self.call("POST", "/api/v1/extensions", {**ALICE, "secret": weak}, token=token)
                self.call("PUT", "/api/v1/extensions/1001", {"secret": weak}, token=token)
            self.call("PUT", "/api/v1/extensions/1001", {"secret": secrets[1]}, token=token)
            self.call("GET", "/api/v1/extensions", token=token)
            self.call("GET", "/api/v1/extensions/1001", token=token)
            self.call("POST", "/api/v1/auth/logout", token=token)
        finally:
            root.removeHandler(keeper)
            root.setLevel(old_level)

        assert self.services.extensions.secret_for("1001") == secrets[1]
        bodies = b"\n".join(self.responses).decode()
        logged = "\n".join(record.getMessage() for record in records)
        assert "extension 1001" in logged  # the check below looks at real log output
        for text in (*secrets, ADMIN_PASSWORD, "wrong-pw-1"):
            assert text not in bodies, text
        # Tokens are in their login responses, by design, and nowhere else.
        for text in (*secrets, ADMIN_PASSWORD, "wrong-pw-1", token, self.token):
            assert text not in logged, text
        assert sum(token in body.decode() for body in self.responses) == 1
        assert not any("secret" in keys_of(json.loads(body)) for body in self.responses if body)


def keys_of(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(keys_of(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(item) for item in value))
    return set()
