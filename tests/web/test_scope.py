"""A supervisor's scope (pbxd/services/scope.py) on every endpoint it concerns: the calls of
the queues he leads, the calls without a queue of their agents, their events, boxes, reports
and agents; nothing at all when he leads no queue."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any
from urllib.parse import quote, urlencode

from pbxd.services import QueueEventEntry, Role, VoicemailEntry
from pbxd.services.history import QueueEventType

from ..db.historydata import T0, direct_call, queue_call, write_wav
from .apitest import ApiTestCase

DAY = {"start": "2024-05-01", "end": "2024-05-01"}


class SupervisorScopeTest(ApiTestCase):
    """Queue 600: static 1001, dynamic 1003; queue 601: static 1002; 1004 in no queue.
    The supervisor "lead" leads 600 and works at 1009.

    minute 1: queue 600, taken by 1001      minute 4: 1001 -> 1004 (no queue)
    minute 2: queue 601, taken by 1002      minute 5: 1004 -> 13800138000 (no queue)
    minute 3: queue 601, taken by 1001      minute 6: 1003 -> 1004 (no queue)
    Every call is recorded.
    """

    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        recordings = self.data_dir / "recordings"
        self.create_queue("600", "1001")
        self.create_queue("601", "1002")
        self.create_extensions("1003", "1004", "1009")
        self.services.agents.login("1003", ["600"])
        history = self.services.history
        for minute, agent, queue in ((1, "1001", "600"), (2, "1002", "601"), (3, "1001", "601")):
            history.record_call(
                queue_call(
                    minute,
                    agent=agent,
                    queue=queue,
                    recording=f"q{minute}.wav",
                    recordings_dir=recordings,
                    seconds=0.2,
                )  # fmt: skip
            )
        for minute, caller, callee in ((4, "1001", "1004"), (5, "1004", "13800138000"),
                                       (6, "1003", "1004")):  # fmt: skip
            write_wav(recordings / f"direct-{minute}.wav", 0.2)
            history.record_call(direct_call(minute, caller, callee, recorded=True))
        history.append_events(
            [
                QueueEventEntry(T0, QueueEventType.PAUSE, agent="1003"),
                QueueEventEntry(T0, QueueEventType.PAUSE, agent="1004"),
                QueueEventEntry(T0, QueueEventType.LOGIN, agent="1002", queue="601"),
            ]
        )
        self.ids = {v.start.minute: v.id for v in self.services.recordings.search().items}
        boxes = self.data_dir / "voicemail"
        for box in ("600", "601", "1001", "1002", "1009"):
            write_wav(boxes / f"{box}/m.wav", 0.2, channels=1)
            self.services.voicemail.add(VoicemailEntry(box, "13800138000", T0, 0.2, f"{box}/m.wav"))
        self.lead = self.supervisor_token("600", extension="1009")
        self.idle = self.supervisor_token(name="idle")  # leads no queue

    def get(self, path: str, token: str, **params: str) -> Any:
        status, data, _ = self.call("GET", f"{path}?{urlencode(params)}", token=token)
        assert status == 200, (path, data)
        return data

    def minutes(self, path: str, token: str, **params: str) -> list[int]:
        items = self.get(path, token, **params)["items"]
        return sorted(int(item["start"][14:16]) for item in items)

    def fetch_as(self, path: str, token: str):
        return self.fetch(path, headers={"Authorization": f"Bearer {token}"}, raise_error=False)

    # -- call history -----------------------------------------------------------------------------

    def test_cdr_json_csv_and_legs(self) -> None:
        assert self.minutes("/api/v1/cdr", self.admin) == [1, 2, 3, 4, 5, 6]
        assert self.minutes("/api/v1/cdr", self.lead) == [1, 4, 6]
        assert self.minutes("/api/v1/cdr", self.lead, number="1004") == [4, 6]
        response = self.fetch_as("/api/v1/cdr?format=csv", self.lead)
        rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8")[1:])))
        assert [row["call_id"] for row in rows] == ["call-1@pbx", "call-4@pbx", "call-6@pbx"]
        legs = self.get("/api/v1/cdr/" + quote("call-1@pbx") + "/legs", self.lead)
        assert legs["details"][0]["queue"] == "600"
        for hidden in ("call-2@pbx", "call-3@pbx", "call-5@pbx"):
            result = self.call("GET", "/api/v1/cdr/" + quote(hidden) + "/legs", token=self.lead)
            self.assert_error(result, 404, "not_found")  # as if it did not exist

    def test_queue_events(self) -> None:
        events = self.get("/api/v1/queue-events", self.lead)["items"]
        assert {(e["queue"], e["agent"]) for e in events} == {
            ("600", None), ("600", "1001"), (None, "1003")}  # fmt: skip
        assert self.get("/api/v1/queue-events", self.lead, queue="601")["items"] == []
        assert len(self.get("/api/v1/queue-events", self.admin)["items"]) > len(events)

    def test_recordings_search_get_audio_note_archive(self) -> None:
        assert self.minutes("/api/v1/recordings", self.admin) == [1, 2, 3, 4, 5, 6]
        assert self.minutes("/api/v1/recordings", self.lead) == [1, 4, 6]
        assert self.minutes("/api/v1/recordings", self.lead, queue="601") == []
        assert self.minutes("/api/v1/recordings", self.lead, agent="1001") == [1]
        for minute in (1, 4, 6):
            assert self.fetch_as(f"/api/v1/recordings/{self.ids[minute]}/audio",
                                 self.lead).code == 200  # fmt: skip
        for minute in (2, 3, 5):
            recording = f"/api/v1/recordings/{self.ids[minute]}"
            self.assert_error(self.call("GET", recording, token=self.lead), 404, "not_found")
            assert self.fetch_as(recording + "/audio", self.lead).code == 404
            result = self.call("PUT", recording, {"note": "x"}, token=self.lead)
            self.assert_error(result, 404, "not_found")
        status, data, _ = self.call("PUT", f"/api/v1/recordings/{self.ids[1]}", {"note": "ok"},
                                    token=self.lead)  # fmt: skip
        assert (status, data["note"]) == (200, "ok")
        archive = self.fetch_as("/api/v1/recordings/archive", self.lead)
        with zipfile.ZipFile(io.BytesIO(archive.body)) as files:
            index = list(csv.DictReader(io.StringIO(files.read("index.csv").decode()[1:])))
        assert sorted(int(row["id"]) for row in index) == sorted(self.ids[m] for m in (1, 4, 6))
        by_id = self.fetch_as(f"/api/v1/recordings/archive?id={self.ids[2]}", self.lead)
        assert by_id.code == 404

    def test_a_supervisor_without_queues_sees_no_history(self) -> None:
        for path in ("/api/v1/cdr", "/api/v1/recordings", "/api/v1/queue-events"):
            assert self.get(path, self.idle)["items"] == [], path
        response = self.fetch_as("/api/v1/cdr?format=csv", self.idle)
        assert response.body.decode("utf-8").count("\r\n") == 1  # the header only
        archive = self.fetch_as("/api/v1/recordings/archive", self.idle)
        with zipfile.ZipFile(io.BytesIO(archive.body)) as files:
            assert files.namelist() == ["index.csv"]
        for group in ("total", "queue", "agent"):
            report = self.get("/api/v1/reports", self.idle, group=group, **DAY)
            assert report["totals"]["calls"] == 0, group
            assert report["rows"] == [] or group == "total"
            assert report["queues"] == []
        assert self.get("/api/v1/agents", self.idle)["items"] == []
        self.assert_error(self.call("GET", "/api/v1/voicemail/600", token=self.idle),
                          403, "forbidden")  # fmt: skip

    # -- reports ----------------------------------------------------------------------------------

    def test_reports_are_forced_to_his_queues(self) -> None:
        admin = self.get("/api/v1/reports", self.admin, group="queue", **DAY)
        assert {row["key"] for row in admin["rows"]} == {"600", "601"}
        mine = self.get("/api/v1/reports", self.lead, group="queue", **DAY)
        assert ({row["key"] for row in mine["rows"]}, mine["queues"]) == ({"600"}, ["600"])
        total = self.get("/api/v1/reports", self.lead, **DAY)
        assert total["totals"]["calls"] == 1  # the one call of queue 600
        agents = self.get("/api/v1/reports", self.lead, group="agent", **DAY)
        assert {row["key"] for row in agents["rows"]} == {"1001", "1003"}
        assert agents["totals"]["calls"] == 1  # 1001's call in 600, not his 601 call
        one = self.get("/api/v1/reports", self.lead, group="agent", agent="1001", **DAY)
        assert {row["key"] for row in one["rows"]} == {"1001"}
        result = self.call("GET", "/api/v1/reports?" + urlencode({"queue": "601", **DAY}),
                           token=self.lead)  # fmt: skip
        assert self.assert_error(result, 403, "forbidden")["field"] == "queue"
        result = self.call("GET", "/api/v1/reports?" + urlencode(
            {"group": "agent", "agent": "1002", **DAY}), token=self.lead)  # fmt: skip
        assert self.assert_error(result, 403, "forbidden")["field"] == "agent"
        response = self.fetch_as("/api/v1/reports?" + urlencode(
            {"group": "queue", "format": "csv", **DAY}), self.lead)  # fmt: skip
        rows = list(csv.reader(io.StringIO(response.body.decode("utf-8")[1:])))
        assert {row[3] for row in rows[1:-1]} == {"600"}  # key column; last row: totals

    # -- voicemail --------------------------------------------------------------------------------

    def test_voicemail_boxes_of_his_team(self) -> None:
        for box in ("600", "1001", "1009"):  # his queue's, his agent's, his own
            assert len(self.get(f"/api/v1/voicemail/{box}", self.lead)["items"]) == 1, box
        for box in ("601", "1002"):
            result = self.call("GET", f"/api/v1/voicemail/{box}", token=self.lead)
            assert "none of your queues" in self.assert_error(result, 403, "forbidden")["message"]
        other = self.get("/api/v1/voicemail/1001", self.lead)["items"][0]["id"]
        status, _, _ = self.call("PUT", f"/api/v1/voicemail/1001/{other}", {"new": False},
                                 token=self.lead)  # fmt: skip
        assert status == 200
        self.assert_error(self.call("DELETE", f"/api/v1/voicemail/1001/{other}",
                                    token=self.lead), 403, "forbidden")  # fmt: skip
        own = self.get("/api/v1/voicemail/1009", self.lead)["items"][0]["id"]
        assert self.call("DELETE", f"/api/v1/voicemail/1009/{own}", token=self.lead)[0] == 204

    # -- agents -----------------------------------------------------------------------------------

    def test_agents_list_and_actions(self) -> None:
        # 1009 is listed as the extension of a user (the supervisor's own).
        assert [a["extension"] for a in self.get("/api/v1/agents", self.admin)["items"]] == [
            "1001", "1002", "1003", "1009"]  # fmt: skip
        assert [a["extension"] for a in self.get("/api/v1/agents", self.lead)["items"]] == [
            "1001", "1003", "1009"]  # fmt: skip
        assert self.get("/api/v1/agents/1003", self.lead)["queues"][0]["queue"] == "600"
        for method, path in (("GET", "/api/v1/agents/1002"),
                             ("POST", "/api/v1/agents/1002/pause"),
                             ("POST", "/api/v1/agents/1004/login")):  # fmt: skip
            result = self.call(method, path, {} if method == "POST" else None, token=self.lead)
            self.assert_error(result, 403, "forbidden")
        # His agents: in and out of his queues only; pause and unpause.
        login = "/api/v1/agents/1001/login"
        result = self.call("POST", login, {"queues": ["601"]}, token=self.lead)
        assert self.assert_error(result, 403, "forbidden")["field"] == "queues"
        self.create_queue("602")
        self.services.users.update_user("leader", queues=["600", "602"])
        status, data, _ = self.call("POST", login, token=self.lead)
        assert [q["queue"] for q in data["queues"]] == ["600", "602"]  # his, not 601 too
        # A dynamic agent logged out leaves the team (back in: by himself or an admin).
        status, data, _ = self.call("POST", "/api/v1/agents/1003/logout", token=self.lead)
        assert (status, data["logged_in"]) == (200, False)
        result = self.call("POST", "/api/v1/agents/1003/login", token=self.lead)
        self.assert_error(result, 403, "forbidden")
        # 1001 is a static member of 600: a logout of "all his queues" leaves it alone.
        status, data, _ = self.call("POST", "/api/v1/agents/1001/logout", token=self.lead)
        assert (status, [q["queue"] for q in data["queues"]]) == (200, ["600"])
        result = self.call("POST", "/api/v1/agents/1001/logout", {"queues": ["600"]},
                           token=self.lead)  # fmt: skip
        self.assert_error(result, 409, "wrong_state")  # static: the admin removes him
        data = self.call("POST", "/api/v1/agents/1001/pause", {"reason": "培训"},
                         token=self.lead)[1]  # fmt: skip
        assert (data["paused"], data["pause_reason"]) == (True, "培训")
        assert self.call("POST", "/api/v1/agents/1001/unpause", token=self.lead)[0] == 200
        # Himself (1009): any queue, like an agent.
        status, data, _ = self.call("POST", "/api/v1/agents/1009/login", {"queues": ["601"]},
                                    token=self.lead)  # fmt: skip
        assert (status, [q["queue"] for q in data["queues"]]) == (200, ["601"])
        # An admin is not limited.
        status, _, _ = self.call("POST", "/api/v1/agents/1004/login", {"queues": ["601"]},
                                 token=self.admin)  # fmt: skip
        assert status == 200

    def test_team_follows_the_queue_configuration_at_once(self) -> None:
        assert self.minutes("/api/v1/cdr", self.lead) == [1, 4, 6]
        self.services.users.update_user("leader", queues=["600", "601"])
        assert self.minutes("/api/v1/cdr", self.lead) == [1, 2, 3, 4, 6]
        self.services.users.update_user("leader", queues=[])
        assert self.minutes("/api/v1/cdr", self.lead) == []
        assert self.minutes("/api/v1/recordings", self.lead) == []

    def test_agents_keep_their_own_rules(self) -> None:
        agent = self.user_token(Role.AGENT, "1001", name="alice")
        assert self.minutes("/api/v1/recordings", agent) == [1, 3, 4]
        report = self.get("/api/v1/reports", agent, group="agent", **DAY)
        assert {row["key"] for row in report["rows"]} == {"1001"}
        self.assert_error(self.call("GET", "/api/v1/voicemail/600", token=agent), 403,
                          "forbidden")  # fmt: skip
        self.assert_error(self.call("GET", "/api/v1/cdr", token=agent), 403, "forbidden")
