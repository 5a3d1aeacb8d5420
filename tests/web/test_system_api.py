"""/api/v1/system: info for staff; backup and restore of the configuration for admins."""

from __future__ import annotations

import io
import zipfile

from pbxd.services import Role

from .apitest import ApiTestCase


class SystemApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()

    def test_info_shows_time_firmware_and_network_to_staff_only(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/system/info", token=self.admin)
        assert status == 200, data
        assert data["hostname"] and data["firmware"] and data["time"].endswith("Z")
        assert isinstance(data["interfaces"], list)
        supervisor = self.token_for(Role.SUPERVISOR)
        assert self.call("GET", "/api/v1/system/info", token=supervisor)[0] == 200
        agent = self.token_for(Role.AGENT)
        self.assert_error(self.call("GET", "/api/v1/system/info", token=agent), 403, "forbidden")

    def test_backup_then_restore_through_the_api(self) -> None:
        self.create_extensions("1001", "1002")
        response = self.fetch("/api/v1/system/backup",
                              headers={"Authorization": f"Bearer {self.admin}"})  # fmt: skip
        assert response.code == 200
        assert response.headers["Content-Type"] == "application/zip"
        assert 'filename="coocenter-config-' in response.headers["Content-Disposition"]
        backup = response.body
        assert zipfile.ZipFile(io.BytesIO(backup)).testzip() is None

        self.call("DELETE", "/api/v1/extensions/1002", token=self.admin)
        status, data, _ = self.call(
            "POST", "/api/v1/system/restore", raw=backup, token=self.admin,
            headers={"Content-Type": "application/zip"},
        )  # fmt: skip
        assert status == 200, data
        assert data["restored"]["extension"] == 2 and data["relogin"] is True
        # every token was revoked: the admin logs in again and finds 1002 back
        self.assert_error(self.call("GET", "/api/v1/extensions", token=self.admin), 401,
                          "unauthorized")  # fmt: skip
        admin = self.login()
        numbers = [e["number"] for e in self.call("GET", "/api/v1/extensions", token=admin)[1]
                   ["items"]]  # fmt: skip
        assert numbers == ["1001", "1002"]

    def test_a_bad_restore_is_a_json_error_and_changes_nothing(self) -> None:
        self.create_extensions("1001")
        zip_type = {"Content-Type": "application/zip"}
        error = self.assert_error(
            self.call(
                "POST",
                "/api/v1/system/restore",
                raw=b"not a zip",
                token=self.admin,
                headers=zip_type,
            ),  # fmt: skip
            400,
            "bad_backup",
        )
        assert "not a zip file" in error["message"]
        self.assert_error(
            self.call(
                "POST",
                "/api/v1/system/restore",
                raw=b"{}",
                token=self.admin,
                headers={"Content-Type": "application/json"},
            ),  # fmt: skip
            415,
            "unsupported_media_type",
        )
        assert [v.number for v in self.services.extensions.list()] == ["1001"]

    def test_only_admins_back_up_and_restore(self) -> None:
        for role in (Role.SUPERVISOR, Role.AGENT):
            token = self.token_for(role)
            self.assert_error(self.call("GET", "/api/v1/system/backup", token=token), 403,
                              "forbidden")  # fmt: skip
            self.assert_error(
                self.call(
                    "POST",
                    "/api/v1/system/restore",
                    raw=b"PK",
                    token=token,
                    headers={"Content-Type": "application/zip"},
                ),  # fmt: skip
                403,
                "forbidden",
            )
