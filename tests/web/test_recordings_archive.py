"""/api/v1/recordings/archive: a batch of recordings as one zip, by search or by ids."""

from __future__ import annotations

import csv
import io
import zipfile
from urllib.parse import urlencode

from pbxd.services import Role

from ..db.historydata import queue_call
from .apitest import ApiTestCase


class RecordingsArchiveTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.recordings = self.data_dir / "recordings"
        self.create_extensions("1001", "1002")
        for minute, agent in enumerate(["1001", "1002", "1001"]):
            self.services.history.record_call(
                queue_call(
                    minute, agent=agent, caller="13800138000",
                    recording=f"2024/05/01/call-{minute}.wav",
                    recordings_dir=self.recordings, seconds=2.0 if minute == 1 else 0.5,
                )
            )  # fmt: skip
        self.views = {v.start.minute: v for v in self.services.recordings.search().items}

    def archive(self, token: str, query: list[tuple[str, str]]):
        response = self.fetch(
            "/api/v1/recordings/archive?" + urlencode(query),
            headers={"Authorization": f"Bearer {token}"},
            raise_error=False,
        )
        return response

    def unzip(self, response) -> tuple[dict[str, bytes], list[dict[str, str]]]:
        assert response.code == 200, response.body
        assert response.headers["Content-Type"] == "application/zip"
        assert "attachment" in response.headers["Content-Disposition"]
        with zipfile.ZipFile(io.BytesIO(response.body)) as archive:
            assert archive.testzip() is None
            files = {name: archive.read(name) for name in archive.namelist()}
        index_text = files.pop("index.csv").decode("utf-8")
        assert index_text.startswith("\ufeff")
        return files, list(csv.DictReader(io.StringIO(index_text[1:])))

    def test_a_search_gives_every_matching_file_byte_exact_with_an_index(self) -> None:
        files, index = self.unzip(self.archive(self.admin, [("agent", "1001")]))
        assert sorted(row["id"] for row in index) == sorted(str(self.views[m].id) for m in (0, 2))
        for row in index:
            view = self.views[int(row["start"][14:16])]
            assert files[row["file"]] == (self.recordings / view.path).read_bytes()
            assert (row["agent"], row["caller"], row["queue"]) == ("1001", "13800138000", "600")

    def test_ids_pick_recordings_and_a_missing_file_is_listed_without_audio(self) -> None:
        gone = self.views[1]
        (self.recordings / gone.path).unlink()
        query = [("id", str(self.views[0].id)), ("id", str(gone.id))]
        files, index = self.unzip(self.archive(self.admin, query))
        assert [row["id"] for row in index] == [str(self.views[0].id), str(gone.id)]
        assert index[1]["file"] == "" and len(files) == 1

    def test_index_cells_a_spreadsheet_would_run_as_formulas_are_quoted(self) -> None:
        view = self.views[0]
        self.services.recordings.set_note(view.id, '=HYPERLINK("http://x.test","open")')
        response = self.archive(self.admin, [("id", str(view.id))])
        _, index = self.unzip(response)
        assert index[0]["note"] == '\'=HYPERLINK("http://x.test","open")'
        assert index[0]["caller"] == "13800138000"  # a number is left as it is
        with zipfile.ZipFile(io.BytesIO(response.body)) as archive:
            assert archive.read("index.csv").split(b"\n")[0].endswith(b"\r")  # CRLF rows

    def test_an_agent_gets_only_his_calls(self) -> None:
        agent = self.user_token(Role.AGENT, "1002", name="agent2")
        files, index = self.unzip(self.archive(agent, []))
        assert [row["agent"] for row in index] == ["1002"] and len(files) == 1
        refused = self.archive(agent, [("id", str(self.views[0].id))])
        assert refused.code == 404, refused.body  # not his: as if it did not exist

    def test_bad_requests_are_json_errors(self) -> None:
        response = self.archive(self.admin, [("id", "abc")])
        assert response.code == 404
        response = self.archive(self.admin, [("colour", "red")])
        assert response.code == 400 and b"colour" in response.body
        response = self.archive(self.admin, [("id", "1")] * 501)
        assert response.code == 400 and b"at most 500" in response.body
