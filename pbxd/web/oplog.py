"""The operation log (操作日志): GET /api/v1/operation-log, as JSON pages or one CSV file.

Admins only. Parameters: start and end (ISO 8601 times with an offset; start <= time < end),
username and action (exact matches), limit (1..1000, default 100) and offset (JSON pages),
format (json | csv). The CSV holds every matching row, newest first, times in UTC.
"""

from __future__ import annotations

import json
from typing import Any

from ..services import OperationView
from .base import ADMIN_ONLY, BaseHandler
from .csvexport import requested_format, send_csv
from .errors import InvalidRequest
from .params import paging_params, time_param
from .schemas import iso_utc

PARAMETERS = ("start", "end", "username", "action", "limit", "offset", "format")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CSV_COLUMNS = ("time", "username", "role", "client_ip", "action", "target", "detail")


def operation_json(view: OperationView) -> dict[str, Any]:
    return {
        "id": view.id,
        "time": iso_utc(view.time),
        "username": view.username,
        "role": view.role,
        "client_ip": view.client_ip,
        "action": view.action,
        "target": view.target,
        "detail": view.detail,
    }


def _csv_row(view: OperationView) -> list[Any]:
    detail = json.dumps(view.detail, ensure_ascii=False, sort_keys=True)
    return [iso_utc(view.time), view.username, view.role, view.client_ip, view.action,
            view.target, detail]  # fmt: skip


class OperationLogHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY}

    def get(self) -> None:
        params = self.query_params(PARAMETERS)
        output = requested_format(params)
        filters = {
            "start": time_param(params, "start"),
            "end": time_param(params, "end"),
            "username": params.get("username"),
            "action": params.get("action"),
        }
        limit, offset = paging_params(params, DEFAULT_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit: expected 1 to {MAX_LIMIT}", field="limit")
        oplog = self.services.oplog
        if output == "csv":
            rows = oplog.search(**filters, limit=oplog.max_rows, offset=0)
            send_csv(self, "operation-log.csv", CSV_COLUMNS, [_csv_row(view) for view in rows])
            return
        views = oplog.search(**filters, limit=limit, offset=offset)
        self.reply(
            {"items": [operation_json(view) for view in views], "total": oplog.count(**filters)}
        )
