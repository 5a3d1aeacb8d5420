"""/api/v1/screenpop, /api/v1/memos, /api/v1/dispositions, /api/v1/calls/{call_id}/disposition
and /api/v1/disposition-codes (issue 7, m0008): content, masking per role, who may write."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote, urlencode

from pbxd.services import Role

from ..db.historydata import direct_call, queue_call
from .apitest import ApiTestCase

CUSTOMER = "13812345678"
POP = "/api/v1/screenpop"
MEMOS = "/api/v1/memos"
CODES = "/api/v1/disposition-codes"


def disposition_path(call_id: str) -> str:
    return f"/api/v1/calls/{quote(call_id, safe='')}/disposition"


class PopData(ApiTestCase):
    """Queues 600 and 601, agents nina (1001) and omar (1002), a team leader, a customer in
    the directory and three calls."""

    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.create_queue("600", "1001", "1002")
        self.create_queue("601", "1003")
        self.agent = self.user_token(Role.AGENT, "1001", name="nina")  # masking: partial
        self.other = self.user_token(Role.AGENT, "1002", name="omar", masking="name_only")
        self.lead = self.supervisor_token("600", name="lead")  # masking: all
        self.services.contacts.create({"number": CUSTOMER, "name": "张三", "company": "华为"})
        self.services.history.record_call(queue_call(0, caller=CUSTOMER))  # 600, by 1001
        self.services.history.record_call(direct_call(5, "1002", CUSTOMER))
        self.services.history.record_call(queue_call(9, queue="601", agent="1003"))

    def pop(self, number: str, token: str) -> dict:
        status, data, _ = self.call("GET", f"{POP}?{urlencode({'number': number})}", token=token)
        assert status == 200, data
        return data


class ScreenPopApiTest(PopData):
    def test_pop_content_and_masking_per_role(self) -> None:
        body = {"number": CUSTOMER, "content": "call back on 13900001111"}
        status, memo, _ = self.call("POST", MEMOS, body, token=self.agent)
        assert status == 201, memo
        put = {"code": "callback", "note": "try 13700007777"}
        status, _, _ = self.call("PUT", disposition_path("call-0@pbx"), put, token=self.agent)
        assert status == 200

        data = self.pop(CUSTOMER, self.admin)
        assert {k: data[k] for k in ("number", "known", "name", "company", "previous_calls")} == {
            "number": CUSTOMER, "known": True, "name": "张三", "company": "华为",
            "previous_calls": 2}  # fmt: skip
        assert [call["call_id"] for call in data["last_calls"]] == ["call-5@pbx", "call-0@pbx"]
        queued = data["last_calls"][1]
        assert queued == {
            "call_id": "call-0@pbx",
            "start": "2024-05-01T08:00:00Z",
            "direction": "inbound",
            "queue": "600",
            "agent": "1001",
            "duration": 40,
            "billsec": 30,
            "result": "ANSWERED",
            "dispositions": [
                {
                    "agent": "1001",
                    "code": "callback",
                    "label_zh": "需要回访",
                    "label_en": "Call back",
                    "note": "try 13700007777",
                    "updated_at": "2024-05-01T08:00:00Z",
                }
            ],
        }
        assert data["last_calls"][0]["direction"] == "outbound"
        assert data["memos"] == [{"id": memo["id"], "author": "nina", "author_extension": "1001",
                                  "call_id": None, "content": "call back on 13900001111",
                                  "created_at": "2024-05-01T08:00:00Z"}]  # fmt: skip

        partial = self.pop(CUSTOMER, self.agent)
        assert (partial["number"], partial["name"]) == ("138****5678", "张三")
        assert partial["memos"][0]["content"] == "call back on 139****1111"
        assert partial["last_calls"][1]["dispositions"][0]["note"] == "try 137****7777"
        assert memo["content"] == "call back on 139****1111"  # the author reads it masked too
        named = self.pop(CUSTOMER, self.other)
        assert (named["number"], named["name"]) == ("****", "张三")
        assert self.pop(CUSTOMER, self.lead)["number"] == CUSTOMER

    def test_any_role_pops_any_number(self) -> None:
        # Agent 1002 never spoke with this caller; he is about to: he gets the pop, masked.
        data = self.pop("13800138000", self.other)
        assert (data["number"], data["known"], data["previous_calls"]) == ("****", False, 1)
        assert data["last_calls"][0]["queue"] == "601"
        unknown = self.pop("02088886666", self.agent)
        assert (unknown["number"], unknown["name"], unknown["last_calls"], unknown["memos"]) == (
            "020****6666", None, [], [])  # fmt: skip
        self.assert_error(self.call("GET", POP), 401, "unauthorized")
        result = self.call("GET", POP, token=self.agent)
        assert self.assert_error(result, 400, "invalid")["field"] == "number"

    def test_memos(self) -> None:
        for index in range(3):
            self.wall.advance(minutes=1)
            body = {"number": CUSTOMER, "content": f"memo {index}", "call_id": "call-0@pbx"}
            assert self.call("POST", MEMOS, body, token=self.agent)[0] == 201
        page = self.call("GET", f"{MEMOS}?number={CUSTOMER}&limit=2", token=self.lead)[1]
        assert (page["total"], [m["content"] for m in page["items"]]) == (3, ["memo 2", "memo 1"])
        assert page["items"][0]["number"] == CUSTOMER and page["items"][0]["author"] == "nina"
        masked = self.call("GET", f"{MEMOS}?number={CUSTOMER}", token=self.agent)[1]
        assert masked["items"][0]["number"] == "138****5678"
        # The author is the session's user, never a field of the request.
        forged = {"number": CUSTOMER, "content": "x", "author": "admin"}
        assert self.assert_error(self.call("POST", MEMOS, forged, token=self.agent), 400,
                                 "invalid")["field"] == "author"  # fmt: skip
        for body, field in (
            ({"number": CUSTOMER, "content": "x" * 2001}, "content"),
            ({"number": CUSTOMER, "content": " "}, "content"),
            ({"number": "12", "content": "x"}, "number"),
            ({"content": "x"}, "number"),
        ):
            result = self.call("POST", MEMOS, body, token=self.agent,
                               headers={"Accept-Language": "zh-CN"})  # fmt: skip
            error = self.assert_error(result, 400, "invalid")
            assert error["field"] == field and "：" in error["message"], error
        actions = [row.action for row in self.services.oplog.search(limit=10, offset=0)]
        assert "POST /api/v1/memos" in actions

    def test_an_agent_sets_only_his_own_disposition(self) -> None:
        path = disposition_path("call-0@pbx")  # taken by 1001
        result = self.call("PUT", path, {"code": "resolved"}, token=self.other)
        self.assert_error(result, 403, "forbidden")
        result = self.call("PUT", path, {"code": "resolved", "agent": "1002"}, token=self.other)
        self.assert_error(result, 403, "forbidden")
        status, data, _ = self.call("PUT", path, {"code": "resolved", "note": "ok"},
                                    token=self.agent)  # fmt: skip
        assert status == 200, data
        assert (data["agent"], data["code"], data["author"]) == ("1001", "resolved", "nina")
        result = self.call("PUT", path, {"code": "resolved", "agent": "1002"}, token=self.agent)
        self.assert_error(result, 403, "forbidden")
        assert self.call("GET", path, token=self.agent)[1]["items"][0]["note"] == "ok"
        self.assert_error(self.call("GET", path, token=self.other), 403, "forbidden")

        result = self.call("PUT", disposition_path("nowhere@pbx"), {"code": "resolved"},
                           token=self.agent, headers={"Accept-Language": "zh-CN"})  # fmt: skip
        assert self.assert_error(result, 404, "not_found")["message"] == "通话 nowhere@pbx 不存在"
        result = self.call("PUT", path, {"code": "bogus"}, token=self.agent,
                           headers={"Accept-Language": "zh-CN"})  # fmt: skip
        error = self.assert_error(result, 400, "invalid")
        assert (error["field"], error["message"]) == (
            "code", "代码：bogus 不是启用中的话后小结代码")  # fmt: skip
        result = self.call("PUT", path, {"note": "x"}, token=self.agent)
        assert self.assert_error(result, 400, "invalid")["field"] == "code"
        actions = [row.action for row in self.services.oplog.search(limit=10, offset=0)]
        assert "PUT /api/v1/calls/{call_id}/disposition" in actions

    def test_supervisor_corrects_in_scope_and_cdr_shows_the_code(self) -> None:
        self.call("PUT", disposition_path("call-0@pbx"), {"code": "inquiry"}, token=self.agent)
        status, data, _ = self.call("PUT", disposition_path("call-0@pbx"),
                                    {"code": "complaint"}, token=self.lead)  # fmt: skip
        assert (status, data["agent"], data["author"]) == (200, "1001", "lead")
        result = self.call("PUT", disposition_path("call-9@pbx"), {"code": "resolved"},
                           token=self.lead)  # fmt: skip
        self.assert_error(result, 404, "not_found")  # queue 601: not his team's

        rows = self.call("GET", "/api/v1/cdr", token=self.admin)[1]["items"]
        codes = {row["call_id"]: row["disposition_code"] for row in rows}
        assert codes == {"call-0@pbx": "complaint", "call-5@pbx": None, "call-9@pbx": None}
        response = self.fetch("/api/v1/cdr?format=csv",
                              headers={"Authorization": f"Bearer {self.admin}"})  # fmt: skip
        text = response.body.decode("utf-8-sig")
        records = list(csv.DictReader(io.StringIO(text, newline="")))
        by_call = {record["call_id"]: record for record in records}
        assert by_call["call-0@pbx"]["disposition_code"] == "complaint"
        assert by_call["call-5@pbx"]["disposition_code"] == ""

    def test_codes_for_everyone_and_their_admin_crud(self) -> None:
        items = self.call("GET", "/api/v1/dispositions", token=self.agent)[1]["items"]
        assert [item["code"] for item in items][:3] == ["resolved", "inquiry", "callback"]
        assert items[0]["label_zh"] == "已解决"
        for token in (self.agent, self.lead):
            self.assert_error(self.call("GET", CODES, token=token), 403, "forbidden")
        body = {"code": "vip", "label_zh": "大客户", "label_en": "Key account"}
        created = self.assert_created(self.call("POST", CODES, body, token=self.admin), CODES,
                                      key="code")  # fmt: skip
        assert created["active"] is True
        result = self.call("POST", CODES, body, token=self.admin,
                           headers={"Accept-Language": "zh-CN"})  # fmt: skip
        assert self.assert_error(result, 409, "exists")["message"] == "话后小结代码 vip 已存在"
        status, data, _ = self.call("PUT", f"{CODES}/vip", {"active": False}, token=self.admin)
        assert (status, data["active"]) == (200, False)
        offered = self.call("GET", "/api/v1/dispositions", token=self.agent)[1]["items"]
        assert "vip" not in [item["code"] for item in offered]
        assert "vip" in [i["code"] for i in self.call("GET", CODES, token=self.admin)[1]["items"]]
        self.call("PUT", disposition_path("call-0@pbx"), {"code": "sales_lead"}, token=self.agent)
        result = self.call("DELETE", f"{CODES}/sales_lead", token=self.admin)
        self.assert_error(result, 409, "in_use")
        assert self.call("DELETE", f"{CODES}/vip", token=self.admin)[0] == 204
        self.assert_error(self.call("GET", f"{CODES}/vip", token=self.admin), 404, "not_found")


class PopByCallTest(PopData):
    """The agent page pops a call by its id: the number never has to come back from it."""

    def pop_call(self, call_id: str, token: str) -> tuple[int, dict]:
        status, data, _ = self.call("GET", f"{POP}?{urlencode({'call_id': call_id})}", token=token)
        return status, data

    def test_an_agent_pops_his_own_calls_by_id_only(self) -> None:
        status, pop = self.pop_call("call-0@pbx", self.agent)  # the queue call 1001 took
        assert status == 200 and pop["name"] == "张三", pop
        assert pop["number"] == "138****5678"  # masked as ever
        status, pop = self.pop_call("call-5@pbx", self.other)  # 1002 called the customer
        assert status == 200 and pop["name"] == "张三", pop
        status, data = self.pop_call("call-5@pbx", self.agent)  # not nina's call
        assert status == 404, data
        status, data = self.pop_call("no-such-call", self.agent)
        assert status == 404, data

    def test_a_live_call_pops_before_its_history_is_written(self) -> None:
        live = {("live-1@pbx", "1001"): "13900009999"}
        self.services.screenpop.set_live_calls(lambda call_id, ext: live.get((call_id, ext)))
        status, pop = self.pop_call("live-1@pbx", self.agent)
        assert status == 200 and pop["number"] == "139****9999" and not pop["known"], pop
        body = {"call_id": "live-1@pbx", "content": "wants a quote"}
        status, memo, _ = self.call("POST", MEMOS, body, token=self.agent)
        assert status == 201 and memo["number"] == "139****9999", memo
        memos = self.services.memos.list("13900009999").items
        assert [m.content for m in memos] == ["wants a quote"]
        status, data, _ = self.call("POST", MEMOS, body, token=self.other)  # not omar's call
        assert status == 404, data
