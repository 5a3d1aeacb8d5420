"""Reports (统计报表): GET /api/v1/reports, as JSON (table and chart data) or as CSV.

Admins see every report. A supervisor sees his team's (pbxd/services/scope.py): the queue
filter is forced to the queues he leads (naming another is a 403), the agent filter limited to
their agents (group=agent: his agents by default); leading no queue, he gets zeros. An agent
sees only his own agent row: group=agent, restricted to the extension his user is linked to
(agent= may name only that one); any other group or agent is a 403, as is an agent account
linked to no extension. Report rows are keyed by queue or extension numbers: nothing to mask.

Parameters: period (day | week | month, default day), group (total | queue | agent, default
total), start and end (local dates YYYY-MM-DD, both included, required), timezone (IANA name,
default Asia/Shanghai), queue and agent (filters: repeat the parameter or separate numbers by
commas), format (json | csv, default json), lang (en | zh: the CSV header's labels, default
en). The metrics are defined in pbxd/services/reports.py.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from tornado.ioloop import IOLoop

from ..services.reports import (
    DEFAULT_TIMEZONE,
    Group,
    Period,
    Report,
    ReportRequest,
    report_columns,
)
from ..services.validation import require_member
from .base import ANY_ROLE, BaseHandler
from .csvexport import send_csv
from .errors import InvalidRequest

PARAMETERS = {"period", "group", "start", "end", "timezone", "queue", "agent", "format", "lang"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TOTAL_LABEL = {"en": "Total", "zh": "合计"}


def choice(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """The parameter `name`, one of `allowed` (the first is the default)."""
    value = params.get(name, allowed[0])
    if value not in allowed:
        raise InvalidRequest(f"{name}: expected one of {', '.join(allowed)}", field=name)
    return value


def local_date(params: dict[str, str], name: str) -> date:
    if name not in params:
        raise InvalidRequest(f"{name}: required, a date YYYY-MM-DD", field=name)
    value = params[name]
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name}: expected a date YYYY-MM-DD", field=name) from None


def number_list(handler: BaseHandler, name: str) -> frozenset[str] | None:
    """Every value of a repeated and/or comma-separated parameter; None when absent."""
    values = handler.get_query_arguments(name)
    if not values:
        return None
    return frozenset(part.strip() for value in values for part in value.split(","))


def _key_order(key: str) -> tuple[int, str]:
    return (len(key), key)


def report_json(report: Report) -> dict[str, Any]:
    request = report.request
    return {
        "period": str(request.period),
        "group": str(request.group),
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "timezone": request.timezone,
        "queues": sorted(request.queues, key=_key_order) if request.queues is not None else None,
        "agents": sorted(request.agents, key=_key_order) if request.agents is not None else None,
        "columns": [
            {"name": column.name, "type": column.kind, "label": {"en": column.en, "zh": column.zh}}
            for column in report_columns(request.group)
        ],
        "rows": [
            {
                "bucket": row.bucket.start.isoformat(),
                "from": row.bucket.first.isoformat(),
                "to": row.bucket.last.isoformat(),
                "key": row.key,
                "name": report.names.get(row.key) if row.key is not None else None,
                **row.metrics,
            }
            for row in report.rows
        ],
        "totals": dict(report.totals),
    }


def report_csv_rows(report: Report, lang: str) -> list[list[Any]]:
    """The table rows in column order, and a last row with the totals."""
    request = report.request
    rows: list[list[Any]] = [
        [
            row.bucket.start.isoformat(),
            row.bucket.first.isoformat(),
            row.bucket.last.isoformat(),
            row.key,
            report.names.get(row.key) if row.key is not None else None,
            *row.metrics.values(),
        ]
        for row in report.rows
    ]
    rows.append(
        [
            _TOTAL_LABEL[lang],
            request.start.isoformat(),
            request.end.isoformat(),
            None,
            None,
            *report.totals.values(),
        ]
    )
    return rows


class ReportsHandler(BaseHandler):
    access = {"GET": ANY_ROLE}  # agents: their own row; supervisors: their team (scope)

    async def get(self) -> None:
        params = self.query_params(PARAMETERS)
        output = choice(params, "format", ("json", "csv"))
        lang = choice(params, "lang", ("en", "zh"))
        group = require_member(Group, "group", params.get("group", Group.TOTAL.value))
        queues, agents = self.scope().report_filters(
            group, number_list(self, "queue"), number_list(self, "agent")
        )
        request = ReportRequest(
            period=require_member(Period, "period", params.get("period", Period.DAY.value)),
            group=group,
            start=local_date(params, "start"),
            end=local_date(params, "end"),
            timezone=params.get("timezone", DEFAULT_TIMEZONE),
            queues=queues,
            agents=agents,
        )
        reports = self.services.reports
        report = await IOLoop.current().run_in_executor(
            None, reports.on_worker, lambda: reports.report(request)
        )
        if output == "json":
            self.reply(report_json(report))
            return
        columns = report_columns(request.group)
        send_csv(
            self,
            f"report-{request.period}-{request.group}-{request.start}-{request.end}.csv",
            [getattr(column, lang) for column in columns],
            report_csv_rows(report, lang),
        )
