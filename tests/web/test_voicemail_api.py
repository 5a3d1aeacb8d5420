from __future__ import annotations

from datetime import timedelta

from pbxd.services import Role, VoicemailEntry

from ..db.historydata import T0, write_wav
from .apitest import ApiTestCase


class VoicemailApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.boxes = self.data_dir / "voicemail"
        self.create_extensions("1001", "1002", label="User")
        self.ids = []
        for minute, (box, caller) in enumerate(
            [("1001", "13800138000"), ("1001", "1002"), ("1002", "1001")]
        ):
            relative = f"{box}/msg-{minute}.wav"
            write_wav(self.boxes / relative, 0.4 + minute * 0.1, channels=1)
            view = self.services.voicemail.add(
                VoicemailEntry(box, caller, T0 + timedelta(minutes=minute), 0.4, relative)
            )
            self.ids.append(view.id)

    def user(self, username: str, role: Role, extension: str | None) -> str:
        return self.user_token(role, extension, name=username)

    def test_box_lists_messages_newest_first_with_counts(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/voicemail/1001", token=self.admin)
        assert status == 200
        assert (data["box"], data["new"], data["old"]) == ("1001", 2, 0)
        assert data["items"][0] == {
            "id": self.ids[1],
            "box": "1001",
            "caller": "1002",
            "time": "2024-05-01T08:01:00Z",
            "duration": 0.4,
            "new": True,
            "available": True,
            "audio": f"/api/v1/voicemail/1001/{self.ids[1]}",
        }
        assert [item["id"] for item in data["items"]] == [self.ids[1], self.ids[0]]
        status, data, _ = self.call("GET", "/api/v1/voicemail/1003", token=self.admin)
        assert (status, data["items"]) == (200, [])
        result = self.call("GET", "/api/v1/voicemail/10a1", token=self.admin)
        self.assert_error(result, 400, "invalid")

    def test_audio_download_is_byte_exact(self) -> None:
        response = self.fetch(
            f"/api/v1/voicemail/1001/{self.ids[0]}",
            headers={"Authorization": f"Bearer {self.admin}"},
        )
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="voicemail-1001-{self.ids[0]}.wav"'
        )
        assert response.body == (self.boxes / "1001/msg-0.wav").read_bytes()
        # A message is only reachable through its own box.
        result = self.call("GET", f"/api/v1/voicemail/1002/{self.ids[0]}", token=self.admin)
        self.assert_error(result, 404, "not_found")
        (self.boxes / "1001/msg-0.wav").unlink()
        result = self.call("GET", f"/api/v1/voicemail/1001/{self.ids[0]}", token=self.admin)
        assert "missing" in self.assert_error(result, 404, "not_found")["message"]

    def test_mark_old_and_delete(self) -> None:
        path = f"/api/v1/voicemail/1001/{self.ids[0]}"
        status, data, _ = self.call("PUT", path, {"new": False}, token=self.admin)
        assert (status, data["new"]) == (200, False)
        status, data, _ = self.call("GET", "/api/v1/voicemail/1001", token=self.admin)
        assert (data["new"], data["old"]) == (1, 1)
        result = self.call("PUT", path, {"new": "no"}, token=self.admin)
        assert self.assert_error(result, 400, "invalid")["field"] == "new"
        assert self.call("DELETE", path, token=self.admin)[0] == 204
        assert not (self.boxes / "1001/msg-0.wav").exists()
        self.assert_error(self.call("DELETE", path, token=self.admin), 404, "not_found")
        status, data, _ = self.call("GET", "/api/v1/voicemail/1001", token=self.admin)
        assert [item["id"] for item in data["items"]] == [self.ids[1]]

    def test_agent_uses_only_his_own_box(self) -> None:
        token = self.user("alice", Role.AGENT, "1001")
        status, data, _ = self.call("GET", "/api/v1/voicemail/1001", token=token)
        assert (status, len(data["items"])) == (200, 2)
        own = f"/api/v1/voicemail/1001/{self.ids[0]}"
        assert self.call("PUT", own, {"new": False}, token=token)[0] == 200
        assert self.call("DELETE", own, token=token)[0] == 204
        for method, path in [
            ("GET", "/api/v1/voicemail/1002"),
            ("GET", f"/api/v1/voicemail/1002/{self.ids[2]}"),
            ("PUT", f"/api/v1/voicemail/1002/{self.ids[2]}"),
            ("DELETE", f"/api/v1/voicemail/1002/{self.ids[2]}"),
        ]:
            result = self.call(
                method, path, {"new": False} if method == "PUT" else None, token=token
            )
            self.assert_error(result, 403, "forbidden")
        assert (self.boxes / "1002/msg-2.wav").exists()
        unlinked = self.user("bob", Role.AGENT, None)
        self.assert_error(
            self.call("GET", "/api/v1/voicemail/1001", token=unlinked), 403, "forbidden"
        )

    def test_supervisor_reads_his_teams_boxes_but_deletes_only_his_own(self) -> None:
        self.services.queues.create({"number": "600", "members": ["1001"]})
        token = self.supervisor_token("600", name="sue", extension="1002")  # 600: agent 1001
        assert self.call("GET", "/api/v1/voicemail/1001", token=token)[0] == 200
        other = f"/api/v1/voicemail/1001/{self.ids[0]}"
        assert self.call("PUT", other, {"new": False}, token=token)[0] == 200
        self.assert_error(self.call("DELETE", other, token=token), 403, "forbidden")
        assert self.call("DELETE", f"/api/v1/voicemail/1002/{self.ids[2]}", token=token)[0] == 204
