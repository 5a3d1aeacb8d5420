"""OpenAPI of the reports (GET /api/v1/reports) and of the CDR's CSV export, merged into
`openapi.OPENAPI_DOCUMENT`. Same conventions as openapi.py. The metrics are defined in
pbxd/services/reports.py; their names, kinds and labels come from there too."""

from __future__ import annotations

from typing import Any

from ..services.history import Direction
from ..services.reports import (
    DEFAULT_TIMEZONE,
    EXPORT_MAX_ROWS,
    MAX_DAYS,
    MAX_ROWS,
    METRIC_COLUMNS,
    Group,
    Period,
)
from .cdr import CDR_CSV_COLUMNS
from .openapi_common import ALL_ROLES, AUTH, NUMBER, error, query, ref

_DATE = {"type": "string", "format": "date", "examples": ["2024-05-01"]}
_TIMEZONE = {"type": "string", "default": DEFAULT_TIMEZONE, "examples": ["America/New_York"]}
_METRIC_TYPES = {
    "count": {"type": "integer", "minimum": 0},
    "seconds": {"type": ["number", "null"], "minimum": 0},
    "rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
}


_FILTER = {"type": "array", "items": NUMBER}

REPORTS_PATHS: dict[str, Any] = {
    "/api/v1/reports": {
        "get": {
            "operationId": "getReport",
            "summary": "Call statistics by day, week or month; in total, by queue or by agent",
            "description": (
                "Rebuilt from the CDR, the call-center details, the queue event log and the "
                "voicemail index at each request; every metric is defined in "
                "pbxd/services/reports.py. Admins and supervisors: any report. Agents: "
                "group=agent only, restricted to their own extension (403 otherwise). Ranges: "
                + ", ".join(f"at most {days} days by {period}" for period, days in MAX_DAYS.items())
                + f"; at most {MAX_ROWS} rows (buckets x keys). CSV: UTF-8 with a BOM, a header "
                "row, the rows, and a last row with the totals."
            ),
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [
                query(
                    "period",
                    "Bucket size; weeks start on Monday",
                    {"enum": [str(p) for p in Period], "default": "day"},
                ),
                query(
                    "group",
                    "One key per row: none, the queue, or the agent (extension)",
                    {"enum": [str(g) for g in Group], "default": "total"},
                ),
                query("start", "First local date of the range", _DATE, required=True),
                query("end", "Last local date of the range (included)", _DATE, required=True),
                query("timezone", "IANA zone of the local dates and buckets", _TIMEZONE),
                query(
                    "queue",
                    "Only these queues (repeat, or separate by commas)",
                    _FILTER,
                    style="form",
                    explode=True,
                ),
                query(
                    "agent",
                    "Only calls of these agents' extensions (repeat, or separate by commas)",
                    _FILTER,
                    style="form",
                    explode=True,
                ),
                query("format", "Response format", {"enum": ["json", "csv"], "default": "json"}),
                query("lang", "Labels of the CSV header", {"enum": ["en", "zh"], "default": "en"}),
            ],
            "responses": {
                "200": {
                    "description": "The report (JSON), or the table as a CSV attachment",
                    "content": {
                        "application/json": {"schema": ref("Report")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                    "headers": {
                        "Content-Disposition": {
                            "description": 'CSV only: attachment; filename="report-...csv"',
                            "schema": {"type": "string"},
                        }
                    },
                },
                "400": error("BadRequest"),
                **AUTH,
            },
        }
    }
}

_METRICS = {column.name: _METRIC_TYPES[column.kind] for column in METRIC_COLUMNS}
_METRIC_NAMES = list(_METRICS)

REPORTS_SCHEMAS: dict[str, Any] = {
    "ReportColumn": {
        "type": "object",
        "required": ["name", "type", "label"],
        "properties": {
            "name": {"type": "string"},
            "type": {"enum": ["date", "text", "count", "seconds", "rate"]},
            "label": {
                "type": "object",
                "required": ["en", "zh"],
                "properties": {"en": {"type": "string"}, "zh": {"type": "string"}},
            },
        },
    },
    "ReportMetrics": {
        "type": "object",
        "description": "Rates are fractions (0..1); seconds and rates are null without data",
        "required": _METRIC_NAMES,
        "properties": _METRICS,
    },
    "ReportRow": {
        "allOf": [
            ref("ReportMetrics"),
            {
                "type": "object",
                "required": ["bucket", "from", "to", "key", "name"],
                "properties": {
                    "bucket": {**_DATE, "description": "First day of the day, week or month"},
                    "from": {**_DATE, "description": "First day of the range in this bucket"},
                    "to": {**_DATE, "description": "Last day of the range in this bucket"},
                    "key": {
                        "type": ["string", "null"],
                        "description": "Queue or agent number; null with group=total",
                    },
                    "name": {
                        "type": ["string", "null"],
                        "description": "The queue's or extension's name, if it still exists",
                    },
                },
            },
        ]
    },
    "Report": {
        "type": "object",
        "required": [
            "period",
            "group",
            "start",
            "end",
            "timezone",
            "queues",
            "agents",
            "columns",
            "rows",
            "totals",
        ],  # fmt: skip
        "properties": {
            "period": {"enum": [str(p) for p in Period]},
            "group": {"enum": [str(g) for g in Group]},
            "start": _DATE,
            "end": _DATE,
            "timezone": {"type": "string"},
            "queues": {"type": ["array", "null"], "items": {"type": "string"}},
            "agents": {"type": ["array", "null"], "items": {"type": "string"}},
            "columns": {"type": "array", "items": ref("ReportColumn")},
            "rows": {"type": "array", "items": ref("ReportRow")},
            "totals": ref("ReportMetrics"),
        },
    },
}


def add_cdr_export(operation: dict[str, Any]) -> None:
    """Document `format=csv` on GET /api/v1/cdr (its JSON side lives in openapi.py)."""
    operation["parameters"] += [
        query("format", "Response format", {"enum": ["json", "csv"], "default": "json"}),
        query("timezone", "CSV only: zone of the local times written", _TIMEZONE),
    ]
    operation["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    operation["responses"]["200"]["description"] = (
        "The records (JSON); or, with format=csv, every record of the range oldest first (at "
        f"most {EXPORT_MAX_ROWS}; limit and offset apply to JSON only) as an attachment with "
        f"the columns {', '.join(CDR_CSV_COLUMNS)}; direction is one of "
        f"{', '.join(str(d) for d in Direction)}"
    )
