from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from pbxd.db.models import Recording
from pbxd.services import Role
from pbxd.web.audio import CHUNK_BYTES

from ..db.historydata import T0, queue_call, write_wav
from .apitest import ApiTestCase

SOXI = shutil.which("soxi")


def soxi(path: Path, option: str) -> str:
    assert SOXI, "soxi is needed (apt-get install sox)"
    done = subprocess.run([SOXI, option, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class RecordingsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.recordings = self.data_dir / "recordings"
        self.create_extensions("1001", "1002", "1003")
        # Five queue calls, agents 1001/1002 alternating; minute 3 is 5 s long (3 chunks).
        for minute, agent in enumerate(["1001", "1002", "1001", "1002", "1001"]):
            self.services.history.record_call(
                queue_call(
                    minute,
                    agent=agent,
                    caller="13900000000" if minute == 3 else "13800138000",
                    recording=f"2024/05/01/call-{minute}.wav",
                    recordings_dir=self.recordings,
                    seconds=5.0 if minute == 3 else 0.5,
                )
            )
        self.ids = {view.start.minute: view.id for view in self.services.recordings.search().items}

    def agent(self, username: str, extension: str | None) -> str:
        return self.user_token(Role.AGENT, extension, name=username)

    def search(self, token: str, **params: str) -> dict:
        status, data, _ = self.call("GET", "/api/v1/recordings?" + urlencode(params), token=token)
        assert status == 200, data
        return data

    def minutes(self, token: str, **params: str) -> list[int]:
        return [int(item["start"][14:16]) for item in self.search(token, **params)["items"]]

    def download(self, token: str, recording_id: int, headers: dict | None = None):
        return self.fetch(
            f"/api/v1/recordings/{recording_id}/audio",
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
            raise_error=False,
        )

    # -- search --

    def test_search_filters_and_pages(self) -> None:
        data = self.search(self.admin, limit="2")
        assert (data["total"], data["limit"], data["offset"]) == (5, 2, 0)
        first = data["items"][0]
        assert first == {
            "id": self.ids[4],
            "call_id": "call-4@pbx",
            "start": "2024-05-01T08:04:10Z",
            "duration": 0.5,
            "caller": "13800138000",
            "callee": "600",
            "queue": "600",
            "agent": "1001",
            "note": "",
            "format": "wav-pcm16",
            "channels": 2,
            "size": (self.recordings / "2024/05/01/call-4.wav").stat().st_size,
            "available": True,
            "audio": f"/api/v1/recordings/{self.ids[4]}/audio",
        }
        assert self.minutes(self.admin, limit="2", offset="2") == [2, 1]
        assert self.minutes(self.admin, offset="4") == [0]
        assert self.minutes(self.admin, agent="1002") == [3, 1]
        assert self.minutes(self.admin, party="13900000000") == [3]
        assert self.minutes(self.admin, queue="601") == []
        assert self.minutes(
            self.admin, **{"from": "2024-05-01T16:02:00+08:00", "to": "2024-05-01T08:04:00Z"}
        ) == [3, 2]

    def test_bad_search_parameters_name_the_field(self) -> None:
        cases = [
            ({"from": "monday"}, "from"),
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"path": "x"}, "path"),
        ]
        self.assert_bad_params("/api/v1/recordings", cases, self.admin)

    # -- audio --

    def test_download_is_byte_exact_streamed_wav(self) -> None:
        on_disk = self.recordings / "2024/05/01/call-3.wav"
        assert on_disk.stat().st_size > 2 * CHUNK_BYTES  # more than one chunk on the wire
        response = self.download(self.admin, self.ids[3])
        assert response.code == 200
        assert response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="recording-{self.ids[3]}.wav"'
        )
        assert response.headers["Accept-Ranges"] == "bytes"
        assert response.body == on_disk.read_bytes()
        copy = self.data_dir / "downloaded.wav"
        copy.write_bytes(response.body)
        assert soxi(copy, "-t") == "wav"
        assert soxi(copy, "-c") == "2"
        assert soxi(copy, "-r") == "8000"
        assert soxi(copy, "-s") == "40000"  # 5 s of samples
        assert "Signed Integer PCM" in soxi(copy, "-e")

    def test_byte_ranges(self) -> None:
        whole = (self.recordings / "2024/05/01/call-0.wav").read_bytes()
        size = len(whole)
        response = self.download(self.admin, self.ids[0], {"Range": "bytes=0-43"})
        assert response.code == 206
        assert response.body == whole[:44] and response.body.startswith(b"RIFF")
        assert response.headers["Content-Range"] == f"bytes 0-43/{size}"
        response = self.download(self.admin, self.ids[0], {"Range": "bytes=1000-"})
        assert (response.code, response.body) == (206, whole[1000:])
        response = self.download(self.admin, self.ids[0], {"Range": "bytes=-100"})
        assert (response.code, response.body) == (206, whole[-100:])
        response = self.download(self.admin, self.ids[0], {"Range": "bytes=1-2,5-6"})
        assert (response.code, response.body) == (200, whole)  # multiple ranges: ignored
        response = self.download(self.admin, self.ids[0], {"Range": f"bytes={size}-"})
        assert response.code == 416
        assert response.headers["Content-Range"] == f"bytes */{size}"
        assert response.headers["Content-Type"].startswith("application/json")

    def test_missing_file_is_a_json_404_and_the_index_says_so(self) -> None:
        (self.recordings / "2024/05/01/call-2.wav").unlink()
        result = self.call("GET", f"/api/v1/recordings/{self.ids[2]}/audio", token=self.admin)
        assert "missing" in self.assert_error(result, 404, "not_found")["message"]
        status, data, _ = self.call("GET", f"/api/v1/recordings/{self.ids[2]}", token=self.admin)
        assert (status, data["available"]) == (200, False)

    def test_paths_outside_the_recordings_directory_are_never_served(self) -> None:
        secret = write_wav(self.data_dir / "outside.wav", 0.2)  # valid audio, wrong place
        # A row pointing outside (written by a bug, not through the service), and a symlink.
        os.symlink(secret, self.recordings / "link.wav")
        bad, link = (
            Recording.create(
                path=path,
                format="wav-pcm16",
                channels=1,
                duration=1.0,
                size=10,
                start=T0,
                caller="1",
                callee="2",
            )
            for path in ("../outside.wav", "link.wav")
        )
        for row in (bad, link):
            result = self.call("GET", f"/api/v1/recordings/{row.id}/audio", token=self.admin)
            self.assert_error(result, 404, "not_found")
            assert secret.read_bytes() not in result[2].body
        for path in (
            "/api/v1/recordings/..%2F..%2Foutside.wav/audio",
            "/api/v1/recordings/../outside.wav/audio",
            "/api/v1/recordings/-1/audio",
            "/api/v1/recordings/0/audio",
            "/api/v1/recordings/1e3/audio",
        ):
            result = self.call("GET", path, token=self.admin)
            self.assert_error(result, 404, "not_found")
        status, data, _ = self.call("GET", f"/api/v1/recordings/{bad.id}", token=self.admin)
        assert (status, data["available"]) == (200, False)
        # Deleting the bad row does not touch the file outside.
        assert self.call("DELETE", f"/api/v1/recordings/{bad.id}", token=self.admin)[0] == 204
        assert secret.exists()

    # -- note, delete --

    def test_note_update_and_search_by_text(self) -> None:
        self.create_queue("600")
        supervisor = self.supervisor_token("600")  # every call here is one of queue 600's
        status, data, _ = self.call(
            "PUT",
            f"/api/v1/recordings/{self.ids[1]}",
            {"note": "客户投诉, 需回访"},
            token=supervisor,
        )
        assert (status, data["note"]) == (200, "客户投诉, 需回访")
        assert self.minutes(supervisor, text="回访") == [1]
        result = self.call(
            "PUT", f"/api/v1/recordings/{self.ids[1]}", {"note": 5}, token=supervisor
        )
        assert self.assert_error(result, 400, "invalid")["field"] == "note"
        result = self.call(
            "PUT", f"/api/v1/recordings/{self.ids[1]}", {"note": "x" * 2001}, token=supervisor
        )
        self.assert_error(result, 400, "invalid")
        result = self.call("PUT", "/api/v1/recordings/999", {"note": "x"}, token=supervisor)
        self.assert_error(result, 404, "not_found")

    def test_delete_removes_file_and_row(self) -> None:
        path = self.recordings / "2024/05/01/call-0.wav"
        supervisor = self.token_for(Role.SUPERVISOR)
        result = self.call("DELETE", f"/api/v1/recordings/{self.ids[0]}", token=supervisor)
        self.assert_error(result, 403, "forbidden")
        assert path.exists()
        status, _, _ = self.call("DELETE", f"/api/v1/recordings/{self.ids[0]}", token=self.admin)
        assert status == 204
        assert not path.exists()
        result = self.call("GET", f"/api/v1/recordings/{self.ids[0]}", token=self.admin)
        self.assert_error(result, 404, "not_found")
        assert self.search(self.admin)["total"] == 4
        # The call itself stays in the history, without its recording.
        status, data, _ = self.call("GET", "/api/v1/cdr/call-0@pbx/legs", token=self.admin)
        assert (status, data["details"][0]["recording"]) == (200, None)

    # -- roles --

    def test_supervisor_searches_and_listens_to_his_queues(self) -> None:
        self.create_queue("600")
        supervisor = self.supervisor_token("600")  # every call here is one of queue 600's
        assert self.minutes(supervisor) == [4, 3, 2, 1, 0]
        assert self.download(supervisor, self.ids[1]).code == 200
        # Leading no queue, none (tests/web/test_scope.py has the details).
        assert self.minutes(self.token_for(Role.SUPERVISOR)) == []

    def test_agent_sees_only_calls_he_took_part_in(self) -> None:
        token = self.agent("alice", "1002")
        assert self.minutes(token) == [3, 1]
        assert self.search(token)["total"] == 2
        # Filters narrow his own set; they never widen it.
        assert self.minutes(token, agent="1001") == []
        assert self.download(token, self.ids[1]).code == 200
        status, data, _ = self.call("GET", f"/api/v1/recordings/{self.ids[3]}", token=token)
        assert (status, data["agent"]) == (200, "1002")
        for path in (
            f"/api/v1/recordings/{self.ids[0]}",
            f"/api/v1/recordings/{self.ids[0]}/audio",
        ):
            self.assert_error(self.call("GET", path, token=token), 404, "not_found")
        result = self.call("PUT", f"/api/v1/recordings/{self.ids[1]}", {"note": "x"}, token=token)
        self.assert_error(result, 403, "forbidden")
        result = self.call("DELETE", f"/api/v1/recordings/{self.ids[1]}", token=token)
        self.assert_error(result, 403, "forbidden")

    def test_agent_sees_a_call_through_his_leg(self) -> None:
        # A transfer: 1003 got a leg of call-7 but is neither caller, callee nor queue agent.
        call = queue_call(7, agent="1001", recording="transfer.wav")
        transferred = replace(call.legs[1], leg="b2", party="1003", peer="1003")
        self.services.history.record_call(replace(call, legs=(*call.legs, transferred)))
        assert self.minutes(self.agent("carol", "1003")) == [7]

    def test_agent_without_an_extension_is_refused(self) -> None:
        token = self.agent("bob", None)
        for path in ("/api/v1/recordings", f"/api/v1/recordings/{self.ids[0]}/audio"):
            self.assert_error(self.call("GET", path, token=token), 403, "forbidden")
