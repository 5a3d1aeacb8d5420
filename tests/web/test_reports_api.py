"""GET /api/v1/reports (JSON and CSV, roles, bad parameters) and GET /api/v1/cdr?format=csv."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pbxd.services import CdrEntry, Role, VoicemailEntry
from pbxd.services.reports import METRICS
from pbxd.web.cdr import CDR_CSV_COLUMNS
from pbxd.web.csvexport import csv_cell

from ..db.historydata import T0, cdr_entry, queue_call
from .apitest import ApiTestCase

BOM = b"\xef\xbb\xbf"


class ReportsApiTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        self.create_extensions("1001", "1002")
        self.services.queues.create({"number": "600", "name": "销售热线", "members": ["1001"]})
        self.services.queues.create({"number": "601", "name": "=HYPERLINK(1)"})
        history = self.services.history
        # 1 May 2024, 16:00 and 16:05 in Shanghai: queue 600, answered by 1001, then abandoned.
        history.record_call(queue_call(0, agent="1001"))
        history.record_call(queue_call(5, agent=None))
        # 2 May: 1001 calls 1002 (answered), queue 601 answered by 1002 (satisfied).
        self.direct(24 * 60, "1001", "1002")
        history.record_call(queue_call(24 * 60 + 10, agent="1002", queue="601"))
        self.services.voicemail.add(
            VoicemailEntry("600", "13800138000", T0 + timedelta(minutes=6), 3.0, "600/m1.wav")
        )

    def direct(self, minute: int, caller: str, callee: str) -> None:
        self.services.cdr.record(
            cdr_entry(minute, caller, callee, talk=60, call_id=f"d{minute}@pbx")
        )

    def report(self, token: str | None = None, **params: str) -> tuple[int, Any]:
        query = {"start": "2024-05-01", "end": "2024-05-02", **params}
        status, data, _ = self.call(
            "GET", "/api/v1/reports?" + urlencode(query), token=token or self.token
        )
        return status, data

    def fetch_csv(self, path: str, token: str | None = None) -> tuple[Any, list[list[str]]]:
        response = self.fetch(
            path, headers={"Authorization": f"Bearer {token or self.token}"}, raise_error=False
        )
        assert response.code == 200, response.body
        assert response.headers["Content-Type"] == "text/csv; charset=UTF-8"
        assert response.body.startswith(BOM)
        text = response.body[len(BOM) :].decode("utf-8")
        assert text.endswith("\r\n")
        return response, list(csv.reader(io.StringIO(text, newline="")))

    # -- JSON ---------------------------------------------------------------------------------

    def test_json_report_by_day(self) -> None:
        status, data = self.report()
        assert status == 200, data
        assert {k: data[k] for k in ("period", "group", "start", "end", "timezone")} == {
            "period": "day",
            "group": "total",
            "start": "2024-05-01",
            "end": "2024-05-02",
            "timezone": "Asia/Shanghai",
        }
        assert data["queues"] is None and data["agents"] is None
        names = [column["name"] for column in data["columns"]]
        assert names == ["bucket", "from", "to", "key", "name", *METRICS]
        answer_rate = next(c for c in data["columns"] if c["name"] == "answer_rate")
        assert answer_rate == {"name": "answer_rate", "type": "rate", "label": {
            "en": "Answer rate", "zh": "接通率"}}  # fmt: skip
        first, second = data["rows"]
        assert set(first) == set(names)
        assert (first["bucket"], first["from"], first["to"], first["key"]) == (
            "2024-05-01", "2024-05-01", "2024-05-01", None
        )  # fmt: skip
        assert (first["calls"], first["inbound"], first["answered"], first["abandoned"]) == (
            2, 2, 1, 1
        )  # fmt: skip
        assert (first["voicemail"], first["avg_wait"], first["max_wait"]) == (1, 23.0, 38)
        assert (second["calls"], second["internal"], second["inbound"], second["talk_time"]) == (
            2, 1, 1, 90
        )  # fmt: skip
        assert data["totals"]["calls"] == 4
        assert data["totals"]["answer_rate"] == 0.75
        assert data["totals"]["satisfaction_rate"] == 1.0

    def test_by_queue_by_week_with_names(self) -> None:
        status, data = self.report(group="queue", period="week")
        assert status == 200, data
        rows = [
            (r["bucket"], r["from"], r["to"], r["key"], r["name"], r["calls"]) for r in data["rows"]
        ]
        assert rows == [
            ("2024-04-29", "2024-05-01", "2024-05-02", "600", "销售热线", 2),
            ("2024-04-29", "2024-05-01", "2024-05-02", "601", "=HYPERLINK(1)", 1),
        ]
        assert data["columns"][3]["label"] == {"en": "Queue", "zh": "队列"}

    def test_filters_repeated_or_comma_separated(self) -> None:
        _, repeated = self.call(
            "GET",
            "/api/v1/reports?start=2024-05-01&end=2024-05-02&group=agent&agent=1001&agent=1002",
            token=self.token,
        )[:2]
        _, commas = self.report(group="agent", agent="1001,1002")
        assert repeated == commas
        assert repeated["agents"] == ["1001", "1002"]
        by_agent = {(r["bucket"], r["key"]): r["calls"] for r in commas["rows"]}
        assert by_agent == {
            ("2024-05-01", "1001"): 1,
            ("2024-05-01", "1002"): 0,
            ("2024-05-02", "1001"): 1,
            ("2024-05-02", "1002"): 2,
        }
        _, only_601 = self.report(queue="601")
        assert [r["calls"] for r in only_601["rows"]] == [0, 1]

    def test_timezone_moves_the_buckets(self) -> None:
        # 16:00 UTC+8 is 04:00 in New York: all of 1 May's calls and 2 May's happen on those
        # days there too; one day earlier nothing happened.
        status, data = self.report(timezone="America/New_York", start="2024-04-30")
        assert status == 200, data
        assert [r["calls"] for r in data["rows"]] == [0, 2, 2]

    # -- CSV ----------------------------------------------------------------------------------

    def test_csv_in_chinese_with_totals_row(self) -> None:
        query = "start=2024-05-01&end=2024-05-02&group=queue&format=csv&lang=zh"
        response, rows = self.fetch_csv(f"/api/v1/reports?{query}")
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="report-day-queue-2024-05-01-2024-05-02.csv"'
        )
        header, *body, total = rows
        assert header[:6] == ["周期", "起始日期", "截止日期", "队列", "名称", "通话总数"]
        assert len(header) == 5 + len(METRICS)
        calls = header.index("通话总数")
        assert [(r[0], r[3], r[4], r[calls]) for r in body] == [
            ("2024-05-01", "600", "销售热线", "2"),
            ("2024-05-01", "601", "'=HYPERLINK(1)", "0"),  # not run as a formula
            ("2024-05-02", "600", "销售热线", "0"),
            ("2024-05-02", "601", "'=HYPERLINK(1)", "1"),
        ]
        assert total[:5] == ["合计", "2024-05-01", "2024-05-02", "", ""]
        assert total[calls] == "3"
        rate = header.index("接通率")
        assert [r[rate] for r in body] == ["0.5", "", "", "1.0"]  # no calls: empty cell

    def test_csv_header_in_english_by_default(self) -> None:
        _, rows = self.fetch_csv("/api/v1/reports?start=2024-05-01&end=2024-05-01&format=csv")
        assert rows[0][:4] == ["Period", "From", "To", "Key"]
        assert rows[1][3] == "" and rows[-1][0] == "Total"

    def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(self) -> None:
        assert csv_cell("=1+1") == "'=1+1"
        assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
        assert csv_cell("-2+3") == "'-2+3"
        assert csv_cell("+8613800138000") == "+8613800138000"
        assert csv_cell(None) == "" and csv_cell(0.25) == "0.25"

    # -- roles --------------------------------------------------------------------------------

    def test_supervisor_sees_every_report(self) -> None:
        supervisor = self.token_for(Role.SUPERVISOR)
        for group in ("total", "queue", "agent"):
            status, _ = self.report(token=supervisor, group=group)
            assert status == 200

    def test_agent_sees_only_his_own_row(self) -> None:
        agent = self.user_token(Role.AGENT, "1001")
        status, data = self.report(token=agent, group="agent")
        assert status == 200, data
        assert {r["key"] for r in data["rows"]} == {"1001"}
        assert data["agents"] == ["1001"]
        assert self.report(token=agent, group="agent", agent="1001")[1] == data
        csv_path = "/api/v1/reports?start=2024-05-01&end=2024-05-02&group=agent&format=csv"
        _, rows = self.fetch_csv(csv_path, token=agent)
        assert {row[3] for row in rows[1:-1]} == {"1001"}
        refused = [
            {"group": "agent", "agent": "1002"},
            {"group": "agent", "agent": "1001,1002"},
            {"group": "total"},
            {"group": "queue"},
            {},
        ]
        for params in refused:
            result = self.call(
                "GET",
                "/api/v1/reports?"
                + urlencode({"start": "2024-05-01", "end": "2024-05-01", **params}),
                token=agent,
            )
            self.assert_error(result, 403, "forbidden")

    def test_agent_without_extension_is_refused(self) -> None:
        token = self.user_token(Role.AGENT, None, name="floating")
        result = self.call(
            "GET", "/api/v1/reports?start=2024-05-01&end=2024-05-01&group=agent", token=token
        )
        self.assert_error(result, 403, "forbidden")

    def test_token_required(self) -> None:
        result = self.call("GET", "/api/v1/reports?start=2024-05-01&end=2024-05-01")
        self.assert_error(result, 401, "unauthorized")

    # -- bad parameters -----------------------------------------------------------------------

    def test_bad_parameters_name_the_parameter(self) -> None:
        ok = {"start": "2024-05-01", "end": "2024-05-31"}
        self.assert_bad_params(
            "/api/v1/reports",
            [
                ({**ok, "period": "year"}, "period"),
                ({**ok, "group": "team"}, "group"),
                ({"end": "2024-05-31"}, "start"),
                ({"start": "2024-05-01"}, "end"),
                ({**ok, "start": "2024-13-01"}, "start"),
                ({**ok, "start": "20240501"}, "start"),
                ({**ok, "end": "2024-04-30"}, "end"),
                ({**ok, "end": "2025-05-02"}, "end"),  # 367 days by day
                ({**ok, "period": "month", "end": "2030-01-01"}, "end"),
                ({**ok, "start": "1999-12-31"}, "start"),
                ({**ok, "timezone": "Mars/Olympus"}, "timezone"),
                ({**ok, "timezone": "../../etc/passwd"}, "timezone"),
                ({**ok, "queue": "6"}, "queue"),
                ({**ok, "queue": "600,"}, "queue"),
                ({**ok, "agent": "abc"}, "agent"),
                ({**ok, "format": "xml"}, "format"),
                ({**ok, "lang": "fr"}, "lang"),
                ({**ok, "limit": "10"}, "limit"),
            ],
            self.token,
        )

    def test_a_year_by_day_and_five_years_by_month_are_served(self) -> None:
        status, data = self.report(start="2024-01-01", end="2024-12-31")
        assert status == 200 and len(data["rows"]) == 366
        status, data = self.report(start="2020-01-01", end="2024-12-31", period="month")
        assert status == 200 and len(data["rows"]) == 60
        assert data["totals"]["calls"] == 4


class CdrCsvTest(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.token = self.login()
        self.create_extensions("1001", "1002")
        self.services.history.record_call(queue_call(0, caller="+8613800138000"))
        start = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
        self.services.cdr.record(
            CdrEntry("x@pbx", "1001", "13912345678", start, None, start, 0, 0, "FAILED", "system")
        )

    def csv_rows(self, query: str, token: str | None = None) -> tuple[Any, list[list[str]]]:
        response = self.fetch(
            f"/api/v1/cdr?{query}",
            headers={"Authorization": f"Bearer {token or self.token}"},
            raise_error=False,
        )
        assert response.code == 200, response.body
        assert response.headers["Content-Type"] == "text/csv; charset=UTF-8"
        assert response.headers["Content-Disposition"] == 'attachment; filename="cdr.csv"'
        assert response.body.startswith(BOM)
        text = response.body[len(BOM) :].decode("utf-8")
        return response, list(csv.reader(io.StringIO(text, newline="")))

    def test_csv_export_oldest_first_in_local_time(self) -> None:
        _, rows = self.csv_rows("format=csv")
        header, failed, queued = rows
        assert header == list(CDR_CSV_COLUMNS)
        record = dict(zip(header, queued, strict=True))
        assert {k: record[k] for k in ("start", "answer", "end", "caller", "callee")} == {
            "start": "2024-05-01 16:00:00",
            "answer": "2024-05-01 16:00:10",
            "end": "2024-05-01 16:00:40",
            "caller": "+8613800138000",  # a number, not a formula: left as it is
            "callee": "600",
        }
        assert {k: record[k] for k in ("direction", "queue", "agent", "wait", "survey")} == {
            "direction": "inbound",
            "queue": "600",
            "agent": "1001",
            "wait": "8",
            "survey": "satisfied",
        }
        failed_record = dict(zip(header, failed, strict=True))
        assert (failed_record["direction"], failed_record["answer"], failed_record["queue"]) == (
            "outbound", "", ""
        )  # fmt: skip

    def test_csv_export_in_another_zone_and_range(self) -> None:
        _, rows = self.csv_rows(
            "format=csv&timezone=UTC&" + urlencode({"from": "2024-05-01T07:30:00Z"})
        )
        assert len(rows) == 2
        assert rows[1][CDR_CSV_COLUMNS.index("start")] == "2024-05-01 08:00:00"
        _, rows = self.csv_rows("format=csv&number=1001")
        assert [row[1] for row in rows[1:]] == ["x@pbx"]

    def test_json_is_unchanged(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/cdr?format=json", token=self.token)
        assert status == 200 and len(data["items"]) == 2
        assert data["items"][0]["start"] == "2024-05-01T08:00:00Z"

    def test_bad_format_or_zone_and_roles(self) -> None:
        self.assert_bad_params(
            "/api/v1/cdr",
            [
                ({"format": "xlsx"}, "format"),
                ({"format": "csv", "timezone": "Nowhere/City"}, "timezone"),
                ({"format": "csv", "limit": "x"}, "limit"),
                ({"format": "csv", "from": "yesterday"}, "from"),
            ],
            self.token,
        )
        agent = self.user_token(Role.AGENT, "1001")
        self.assert_error(self.call("GET", "/api/v1/cdr?format=csv", token=agent), 403, "forbidden")
        supervisor = self.token_for(Role.SUPERVISOR)
        self.csv_rows("format=csv", token=supervisor)
