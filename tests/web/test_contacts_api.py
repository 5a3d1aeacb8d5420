"""/api/v1/contacts and /api/v1/blacklist (m0007): CRUD, roles, errors."""

from __future__ import annotations

from pbxd.services import Role

from .apitest import ApiTestCase

CONTACTS = "/api/v1/contacts"
BLACKLIST = "/api/v1/blacklist"


class ContactsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.create_extensions("1001")
        self.lead = self.user_token(Role.SUPERVISOR, name="lead", masking="all")
        self.agent = self.user_token(Role.AGENT, "1001", name="agent", masking="all")

    def test_crud(self) -> None:
        body = {"number": "13800138000", "name": "张三", "company": "华为"}
        created = self.assert_created(self.call("POST", CONTACTS, body, token=self.lead), CONTACTS)
        assert created == {
            "id": created["id"],
            "number": "13800138000",
            "name": "张三",
            "company": "华为",
            "note": "",
            "created_at": "2024-05-01T08:00:00Z",
            "updated_at": "2024-05-01T08:00:00Z",
        }
        item = f"{CONTACTS}/{created['id']}"
        self.wall.advance(minutes=1)
        status, data, _ = self.call("PUT", item, {"note": "老客户"}, token=self.admin)
        assert (status, data["note"], data["updated_at"]) == (200, "老客户", "2024-05-01T08:01:00Z")
        assert self.call("GET", item, token=self.agent)[1]["note"] == "老客户"
        page = self.call("GET", f"{CONTACTS}?text=华", token=self.agent)[1]
        assert (page["total"], page["limit"], page["offset"]) == (1, 100, 0)
        assert self.call("GET", f"{CONTACTS}?number=13800138001", token=self.agent)[1][
            "items"] == []  # fmt: skip
        assert self.call("DELETE", item, token=self.lead)[0] == 204
        self.assert_error(self.call("GET", item, token=self.admin), 404, "not_found")
        actions = [row.action for row in self.services.oplog.search(limit=10, offset=0)]
        assert "POST /api/v1/contacts" in actions and "PUT /api/v1/contacts/{id}" in actions

    def test_agents_read_but_do_not_write(self) -> None:
        body = {"number": "13800138000", "name": "x"}
        self.assert_error(self.call("POST", CONTACTS, body, token=self.agent), 403, "forbidden")
        created = self.call("POST", CONTACTS, body, token=self.admin)[1]
        for method in ("PUT", "DELETE"):
            result = self.call(
                method,
                f"{CONTACTS}/{created['id']}",
                {"name": "y"} if method == "PUT" else None,
                token=self.agent,
            )
            self.assert_error(result, 403, "forbidden")  # fmt: skip

    def test_errors(self) -> None:
        result = self.call("POST", CONTACTS, {"number": "12", "name": "x"}, token=self.admin)
        assert self.assert_error(result, 400, "invalid")["field"] == "number"
        self.call("POST", CONTACTS, {"number": "13800138000", "name": "x"}, token=self.admin)
        result = self.call("POST", CONTACTS, {"number": "13800138000", "name": "y"},
                           token=self.admin)  # fmt: skip
        assert self.assert_error(result, 409, "exists")["field"] == "number"
        result = self.call("POST", CONTACTS, {"number": "13800138000", "name": "y"},
                           token=self.admin, headers={"Accept-Language": "zh-CN"})  # fmt: skip
        assert self.assert_error(result, 409, "exists")["message"] == "联系人 13800138000 已存在"
        self.assert_error(self.call("GET", f"{CONTACTS}/abc", token=self.admin), 404, "not_found")
        result = self.call("GET", f"{CONTACTS}?colour=red", token=self.admin)
        self.assert_error(result, 400, "invalid")
        result = self.call("PUT", f"{CONTACTS}/999", {"name": "x"}, token=self.admin)
        self.assert_error(result, 404, "not_found")


class BlacklistApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.login()
        self.lead = self.user_token(Role.SUPERVISOR, name="lead")

    def test_crud_and_hits(self) -> None:
        body = {"number": "400*", "direction": "inbound", "note": "推销"}
        entry = self.assert_created(self.call("POST", BLACKLIST, body, token=self.admin), BLACKLIST)
        assert entry == {
            "id": entry["id"],
            "number": "400*",
            "direction": "inbound",
            "note": "推销",
            "created_at": "2024-05-01T08:00:00Z",
            "hits": 0,
            "last_hit": None,
        }
        self.wall.advance(seconds=90)
        assert self.services.blacklist.blocks("4001234567", "inbound") is not None
        listed = self.call("GET", BLACKLIST, token=self.lead)[1]["items"]
        assert [(e["hits"], e["last_hit"]) for e in listed] == [(1, "2024-05-01T08:01:30Z")]
        item = f"{BLACKLIST}/{entry['id']}"
        status, data, _ = self.call("PUT", item, {"direction": "both"}, token=self.admin)
        assert (status, data["direction"], data["hits"]) == (200, "both", 1)
        assert self.call("GET", item, token=self.lead)[1]["direction"] == "both"
        assert self.call("DELETE", item, token=self.admin)[0] == 204
        assert self.call("GET", BLACKLIST, token=self.admin)[1]["items"] == []
        assert self.services.blacklist.match("4001234567", "inbound") is None

    def test_roles_and_errors(self) -> None:
        body = {"number": "13800138000"}
        self.assert_error(self.call("POST", BLACKLIST, body, token=self.lead), 403, "forbidden")
        created = self.call("POST", BLACKLIST, body, token=self.admin)[1]
        assert created["direction"] == "both"
        item = f"{BLACKLIST}/{created['id']}"
        self.assert_error(self.call("DELETE", item, token=self.lead), 403, "forbidden")
        self.assert_error(self.call("PUT", item, {"note": "x"}, token=self.lead), 403, "forbidden")
        agent = self.user_token(Role.AGENT, name="agent")
        self.assert_error(self.call("GET", BLACKLIST, token=agent), 403, "forbidden")
        result = self.call("POST", BLACKLIST, body, token=self.admin)
        self.assert_error(result, 409, "exists")
        for bad, field in (({"number": "4*0"}, "number"),
                           ({"number": "400", "direction": "up"}, "direction"),
                           ({"number": "400", "hits": 5}, "hits")):  # fmt: skip
            result = self.call("POST", BLACKLIST, bad, token=self.admin)
            assert self.assert_error(result, 400, "invalid")["field"] == field
        result = self.call("POST", BLACKLIST, {"number": "4*0"}, token=self.admin,
                           headers={"Accept-Language": "zh-CN"})  # fmt: skip
        assert self.assert_error(result, 400, "invalid")["message"].startswith("号码：应为号码")
        result = self.call("GET", f"{BLACKLIST}/12345", token=self.admin,
                           headers={"Accept-Language": "zh-CN"})  # fmt: skip
        assert self.assert_error(result, 404, "not_found")["message"] == "黑名单条目 12345 不存在"
        self.assert_error(self.call("PUT", item, {}, token=self.admin), 400, "invalid")
