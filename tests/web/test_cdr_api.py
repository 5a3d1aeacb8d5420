from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from pbxd.services import Disposition, HangupSide

from ..db.historydata import cdr_entry
from .apitest import ApiTestCase


def record(services, minute: int, caller: str, callee: str, answered: bool = True) -> None:
    entry = cdr_entry(
        minute,
        caller,
        callee,
        ring=4,
        missed=None if answered else Disposition.BUSY,
        hangup_side=HangupSide.CALLEE,
        call_id=f"c{minute}@pbx",
    )
    services.cdr.record(entry)


class CdrApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        record(self.services, 0, "1001", "1002")
        record(self.services, 10, "1002", "1003", answered=False)
        record(self.services, 20, "1003", "1001")
        record(self.services, 30, "13800138000", "1002")

    def get(self, **params: str) -> tuple[int, dict]:
        status, data, _ = self.call("GET", "/api/v1/cdr?" + urlencode(params), token=self.token)
        return status, data

    def minutes(self, **params: str) -> list[int]:
        status, data = self.get(**params)
        assert status == 200, data
        return [datetime.fromisoformat(item["start"]).minute for item in data["items"]]

    def test_records_newest_first_in_utc(self) -> None:
        status, data = self.get()
        assert status == 200
        assert [item["start"] for item in data["items"]] == [
            "2024-05-01T08:30:00Z",
            "2024-05-01T08:20:00Z",
            "2024-05-01T08:10:00Z",
            "2024-05-01T08:00:00Z",
        ]
        busy = data["items"][2]
        assert busy == {
            "id": busy["id"],
            "call_id": "c10@pbx",
            "caller": "1002",
            "callee": "1003",
            "start": "2024-05-01T08:10:00Z",
            "answer": None,
            "end": "2024-05-01T08:10:34Z",
            "duration": 34,
            "billsec": 0,
            "disposition": "BUSY",
            "hangup_side": "callee",
            "disposition_code": None,  # no wrap-up disposition given (issue 7)
        }
        assert data["items"][0]["answer"] == "2024-05-01T08:30:04Z"

    def test_filters(self) -> None:
        assert self.minutes(number="1001") == [20, 0]
        assert self.minutes(number="1002") == [30, 10, 0]
        assert self.minutes(number="13800138000") == [30]
        assert self.minutes(**{"from": "2024-05-01T08:10:00Z"}) == [30, 20, 10]
        assert self.minutes(to="2024-05-01T08:10:00Z") == [0]
        # Offsets other than Z are honoured: 16:20 in Beijing is 08:20 UTC.
        assert self.minutes(
            **{"from": "2024-05-01T16:05:00+08:00", "to": "2024-05-01T16:20:00+08:00"}
        ) == [10]
        assert self.minutes(number="1002", **{"from": "2024-05-01T08:05:00Z"}) == [30, 10]

    def test_paging(self) -> None:
        assert self.minutes(limit="2") == [30, 20]
        assert self.minutes(limit="2", offset="2") == [10, 0]
        assert self.minutes(offset="4") == []

    def test_bad_parameters_name_the_field(self) -> None:
        cases = [
            ({"from": "yesterday"}, "from"),
            ({"from": "2024-05-01T08:00:00"}, "from"),  # no offset: ambiguous
            ({"to": "2024-05-01T08:00:00 08:00"}, "to"),  # an unescaped '+'
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"limit": "ten"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"offset": "9" * 40}, "offset"),
            ({"caller": "1001"}, "caller"),
        ]
        self.assert_bad_params("/api/v1/cdr", cases, self.token)
