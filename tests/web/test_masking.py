"""Number masking (号码隐藏, issue 6) in every API answer and export that carries numbers:
users of each `masking` read the same history and see 13800138000 whole, as 138****8000, or
as the customer's name; our own numbers (extensions, queues, DIDs) are never masked; search
by the whole number works for everyone."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from pbxd.services import Role, VoicemailEntry
from pbxd.web.openapi import OPENAPI_DOCUMENT
from pbxd.web.openapi_contacts import noted_operations

from ..db.historydata import T0, direct_call, queue_call, write_wav
from .apitest import ApiTestCase

KNOWN, UNKNOWN = "13800138000", "13912345678"  # a contact's number, and a stranger's
MODES = ("all", "partial", "name_only")
# What each mode shows of the known and the unknown customer.
SHOWN = {
    "all": {KNOWN: KNOWN, UNKNOWN: UNKNOWN},
    "partial": {KNOWN: "138****8000", UNKNOWN: "139****5678"},
    "name_only": {KNOWN: "张三", UNKNOWN: "****"},
}
# In file names stars become x, and only letters, digits, + and - stay.
IN_FILE_NAME = {
    "all": {KNOWN: KNOWN, UNKNOWN: UNKNOWN},
    "partial": {KNOWN: "138xxxx8000", UNKNOWN: "139xxxx5678"},
    "name_only": {KNOWN: "张三", UNKNOWN: "xxxx"},
}


class MaskingTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.recordings = self.data_dir / "recordings"
        self.create_queue("600", "1001")
        self.create_extensions("1002")
        self.services.inbound_routes.create({"did": "88886666", "destination": "queue:600"})
        self.services.contacts.create({"number": KNOWN, "name": "张三", "note": f"也用 {UNKNOWN}"})
        history = self.services.history
        for minute, caller in ((1, KNOWN), (2, UNKNOWN)):
            history.record_call(
                queue_call(
                    minute,
                    caller=caller,
                    agent="1001",
                    recording=f"q{minute}.wav",
                    recordings_dir=self.recordings,
                    seconds=0.2,
                )  # fmt: skip
            )
        # An internal call and a call from the DID's side: nothing of them is a customer's.
        self.services.cdr.record(direct_call(3, "1001", "1002").cdr)
        self.services.cdr.record(direct_call(4, "1002", "88886666").cdr)
        ids = {view.start.minute: view.id for view in self.services.recordings.search().items}
        self.recording_ids = ids
        self.services.recordings.set_note(ids[1], f"客户说 {KNOWN} 是他的手机")
        boxes = self.data_dir / "voicemail"
        for minute, caller in enumerate((KNOWN, UNKNOWN, "1002")):
            write_wav(boxes / f"1001/m{minute}.wav", 0.2, channels=1)
            self.services.voicemail.add(
                VoicemailEntry(
                    "1001", caller, T0 + timedelta(minutes=minute), 0.2, f"1001/m{minute}.wav"
                )  # fmt: skip
            )
        self.services.blacklist.create({"number": UNKNOWN, "direction": "inbound"})
        self.services.blacklist.create({"number": "4008*", "direction": "outbound"})
        # An agent at 1001 and a supervisor of queue 600; their masking is set per check.
        self.agent = self.user_token(Role.AGENT, "1001", name="agent")
        self.lead = self.supervisor_token("600", name="lead")

    # -- helpers ----------------------------------------------------------------------------------

    def masking(self, mode: str) -> None:
        """Give both users `mode`: it applies from their next request on."""
        for username in ("agent", "lead"):
            self.services.users.update_user(username, masking=mode)

    def get(self, path: str, token: str, **params: str) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        status, data, _ = self.call("GET", path + query, token=token)
        assert status == 200, (path, data)
        return data

    def download(self, path: str, token: str):
        response = self.fetch(path, headers={"Authorization": f"Bearer {token}"},
                              raise_error=False)  # fmt: skip
        assert response.code == 200, response.body
        return response

    def csv_table(self, path: str, token: str) -> list[dict[str, str]]:
        body = self.download(path, token).body.decode("utf-8")
        assert body.startswith("\ufeff")
        return list(csv.DictReader(io.StringIO(body[1:], newline="")))

    # -- the defaults -----------------------------------------------------------------------------

    def test_roles_default_masking(self) -> None:
        # Agents: partial; supervisors and admins: all (docs/WEBAUTH.md).
        default_agent = self.get("/api/v1/recordings", self.agent)
        assert {i["caller"] for i in default_agent["items"]} == {"138****8000", "139****5678"}
        lead = self.get("/api/v1/cdr", self.lead, number=KNOWN)
        assert lead["items"][0]["caller"] == KNOWN
        assert self.get("/api/v1/cdr", self.admin, number=KNOWN)["items"][0]["caller"] == KNOWN

    # -- each endpoint, each mode -----------------------------------------------------------------

    def test_cdr_json_and_csv(self) -> None:
        for mode in MODES:
            self.masking(mode)
            items = self.get("/api/v1/cdr", self.lead)["items"]
            by_minute = {int(item["start"][14:16]): item for item in items}
            assert by_minute[1]["caller"] == SHOWN[mode][KNOWN], mode
            assert by_minute[2]["caller"] == SHOWN[mode][UNKNOWN], mode
            assert by_minute[1]["callee"] == "600"  # the queue: ours
            # The internal call of his agent 1001: both ends ours, never masked.
            assert (by_minute[3]["caller"], by_minute[3]["callee"]) == ("1001", "1002")
            assert 4 not in by_minute  # 1002 is no agent of his: out of scope
            rows = self.csv_table("/api/v1/cdr?format=csv", self.lead)
            assert [(r["caller"], r["callee"]) for r in rows] == [
                (SHOWN[mode][KNOWN], "600"), (SHOWN[mode][UNKNOWN], "600"), ("1001", "1002")
            ], mode  # fmt: skip
        # An admin set to partial sees the DID whole: it is ours.
        self.services.users.update_user("admin", masking="partial")
        items = self.get("/api/v1/cdr", self.admin)["items"]
        assert {(i["caller"], i["callee"]) for i in items if i["start"][14:16] == "04"} == {
            ("1002", "88886666")}  # fmt: skip

    def test_search_by_the_whole_number_still_finds(self) -> None:
        self.masking("name_only")
        cdr = self.get("/api/v1/cdr", self.lead, number=KNOWN)["items"]
        assert [item["caller"] for item in cdr] == ["张三"]
        rows = self.csv_table(f"/api/v1/cdr?format=csv&number={UNKNOWN}", self.lead)
        assert [row["caller"] for row in rows] == ["****"]
        for token in (self.agent, self.lead):
            found = self.get("/api/v1/recordings", token, party=KNOWN)["items"]
            assert [item["caller"] for item in found] == ["张三"]
        contact = self.get("/api/v1/contacts", self.agent, number=KNOWN)["items"]
        assert [(c["name"], c["number"]) for c in contact] == [("张三", "****")]
        self.masking("partial")
        found = self.get("/api/v1/recordings", self.agent, party=UNKNOWN)["items"]
        assert [item["caller"] for item in found] == ["139****5678"]

    def test_call_legs(self) -> None:
        for mode in MODES:
            self.masking(mode)
            data = self.get("/api/v1/cdr/" + quote("call-1@pbx") + "/legs", self.lead)
            parties = [(leg["party"], leg["peer"]) for leg in data["items"]]
            assert parties == [(SHOWN[mode][KNOWN], "telecom"), ("1001", "1001")], mode
            assert data["details"][0]["agent"] == "1001"

    def test_queue_events_carry_no_customer_number(self) -> None:
        self.masking("partial")
        events = self.get("/api/v1/queue-events", self.lead)["items"]
        assert events and all(e["queue"] == "600" for e in events)
        text = str(events)
        assert KNOWN not in text and UNKNOWN not in text

    def test_recordings_json_note_and_audio_name(self) -> None:
        for mode in MODES:
            self.masking(mode)
            for token in (self.agent, self.lead):
                items = self.get("/api/v1/recordings", token)["items"]
                by_minute = {int(item["start"][14:16]): item for item in items}
                assert by_minute[1]["caller"] == SHOWN[mode][KNOWN], mode
                assert by_minute[2]["caller"] == SHOWN[mode][UNKNOWN], mode
                assert (by_minute[1]["callee"], by_minute[1]["agent"]) == ("600", "1001")
                assert by_minute[1]["note"] == f"客户说 {SHOWN[mode][KNOWN]} 是他的手机"
                one = self.get(f"/api/v1/recordings/{self.recording_ids[2]}", token)
                assert one["caller"] == SHOWN[mode][UNKNOWN]
            response = self.download(f"/api/v1/recordings/{self.recording_ids[1]}/audio",
                                     self.agent)  # fmt: skip
            disposition = response.headers["Content-Disposition"]
            assert disposition == f'attachment; filename="recording-{self.recording_ids[1]}.wav"'
        # A supervisor's note answer is masked too.
        status, data, _ = self.call("PUT", f"/api/v1/recordings/{self.recording_ids[2]}",
                                    {"note": f"回拨 {UNKNOWN}"}, token=self.lead)  # fmt: skip
        assert (status, data["note"], data["caller"]) == (200, "回拨 ****", "****")
        assert self.services.recordings.get(self.recording_ids[2]).note == f"回拨 {UNKNOWN}"

    def test_archive_index_and_entry_names(self) -> None:
        for mode in MODES:
            self.masking(mode)
            for token in (self.agent, self.lead):
                response = self.download("/api/v1/recordings/archive", token)
                assert response.headers["Content-Disposition"] == (
                    'attachment; filename="recordings.zip"')  # fmt: skip
                with zipfile.ZipFile(io.BytesIO(response.body)) as archive:
                    names = archive.namelist()
                    index_text = archive.read("index.csv").decode("utf-8")[1:]
                index = list(csv.DictReader(io.StringIO(index_text)))
                by_minute = {int(row["start"][14:16]): row for row in index}
                for minute, number in ((1, KNOWN), (2, UNKNOWN)):
                    row = by_minute[minute]
                    assert row["caller"] == SHOWN[mode][number], (mode, row)
                    assert row["callee"] == "600"
                    stamp = f"20240501-080{minute}10"
                    expected = (f"{stamp}_{IN_FILE_NAME[mode][number]}_600_"
                                f"{self.recording_ids[minute]}.wav")  # fmt: skip
                    assert row["file"] == expected and expected in names, (mode, names)
                assert by_minute[1]["note"] == f"客户说 {SHOWN[mode][KNOWN]} 是他的手机"
                if mode != "all":
                    everything = index_text + "".join(names)
                    assert KNOWN not in everything and UNKNOWN not in everything, mode

    def test_voicemail(self) -> None:
        for mode in MODES:
            self.masking(mode)
            for token in (self.agent, self.lead):  # his own box; the box of his agent
                items = self.get("/api/v1/voicemail/1001", token)["items"]
                assert [item["caller"] for item in items] == [
                    "1002", SHOWN[mode][UNKNOWN], SHOWN[mode][KNOWN]], mode  # fmt: skip
            message = self.get("/api/v1/voicemail/1001", self.agent)["items"][1]
            response = self.download(f"/api/v1/voicemail/1001/{message['id']}", self.agent)
            assert UNKNOWN not in response.headers["Content-Disposition"]
            status, data, _ = self.call("PUT", f"/api/v1/voicemail/1001/{message['id']}",
                                        {"new": False}, token=self.agent)  # fmt: skip
            assert (status, data["caller"]) == (200, SHOWN[mode][UNKNOWN])

    def test_reports_agents_and_oplog_hold_our_numbers_only(self) -> None:
        self.masking("name_only")
        report = self.get("/api/v1/reports", self.agent, group="agent", start="2024-05-01",
                          end="2024-05-01")  # fmt: skip
        assert {row["key"] for row in report["rows"]} == {"1001"}
        lead_report = self.get("/api/v1/reports", self.lead, group="queue", start="2024-05-01",
                               end="2024-05-01")  # fmt: skip
        assert {row["key"] for row in lead_report["rows"]} == {"600"}
        agents = self.get("/api/v1/agents", self.lead)["items"]
        assert [item["extension"] for item in agents] == ["1001"]
        self.services.users.update_user("admin", masking="name_only")
        self.call("PUT", "/api/v1/extensions/1002", {"name": "Desk"}, token=self.admin)
        log = self.get("/api/v1/operation-log", self.admin)["items"]
        assert log[0]["target"] == "/api/v1/extensions/1002"  # unmasked: ours

    def test_contacts_and_blacklist(self) -> None:
        for mode in MODES:
            self.masking(mode)
            contact = self.get("/api/v1/contacts", self.agent)["items"][0]
            shown = {"all": KNOWN, "partial": "138****8000", "name_only": "****"}[mode]
            assert (contact["number"], contact["name"]) == (shown, "张三"), mode
            assert contact["note"] == f"也用 {SHOWN[mode][UNKNOWN]}"
            entries = self.get("/api/v1/blacklist", self.lead)["items"]
            numbers = {entry["direction"]: entry["number"] for entry in entries}
            prefix = {"all": "4008*", "partial": "****" + "*", "name_only": "****" + "*"}[mode]
            assert numbers == {"inbound": SHOWN[mode][UNKNOWN], "outbound": prefix}, mode
        # A masked supervisor creating a contact gets the masked answer; the data is whole.
        self.masking("partial")
        status, data, _ = self.call("POST", "/api/v1/contacts",
                                    {"number": "13700001111", "name": "王五"},
                                    token=self.lead)  # fmt: skip
        assert (status, data["number"]) == (201, "137****1111")
        assert self.services.contacts.get(data["id"]).number == "13700001111"


def test_the_openapi_document_says_where_numbers_are_masked_and_scoped() -> None:
    for path, method, note in noted_operations():
        operation = OPENAPI_DOCUMENT["paths"][path][method]
        assert note.strip() in operation["description"], (path, method)
