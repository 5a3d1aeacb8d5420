"""Call detail records: GET /api/v1/cdr.

Admins see every record, a supervisor those of his team (pbxd/services/scope.py); caller and
callee are masked by the user's `masking` (pbxd/services/masking.py), in JSON and CSV alike.
`number` searches by the whole number, masked or not.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from tornado.ioloop import IOLoop

from ..services import CdrView, DispositionView, Masker
from ..services.reports import DEFAULT_TIMEZONE, CdrExportRow, resolve_timezone
from .base import ADMIN_OR_SUPERVISOR, BaseHandler
from .csvexport import requested_format, send_csv
from .params import paging_params, time_param
from .schemas import cdr_json

DEFAULT_LIMIT = 100


class CdrHandler(BaseHandler):
    # Writes come from call control, not from the API; later write routes declare ADMIN_ONLY.
    access = {"GET": ADMIN_OR_SUPERVISOR}

    async def get(self) -> None:
        params = self.query_params({"from", "to", "number", "limit", "offset", *EXPORT_PARAMETERS})
        if export_format(params) == "csv":
            await send_cdr_csv(self, params)
            return
        start_from, start_to = time_param(params, "from"), time_param(params, "to")
        limit, offset = paging_params(params, DEFAULT_LIMIT)
        views = self.services.cdr.query(
            start_from=start_from,
            start_to=start_to,
            number=params.get("number"),
            limit=limit,
            offset=offset,
            scope=self.scope(),
        )
        masker = self.masker()
        wrapups = self.services.dispositions.latest_for_calls(view.call_id for view in views)
        items = [masked_cdr_json(view, masker, wrapups.get(view.call_id)) for view in views]
        self.reply({"items": items})


def masked_cdr_json(
    view: CdrView, masker: Masker, wrapup: DispositionView | None = None
) -> dict[str, Any]:
    """`wrapup`: the call's disposition changed last (issue 7), if any."""
    return {**cdr_json(view), "caller": masker.number(view.caller),
            "callee": masker.number(view.callee),
            "disposition_code": wrapup.code if wrapup is not None else None}  # fmt: skip


# -- CSV export: GET /api/v1/cdr?format=csv -------------------------------------------------
# Every record of the range (at most EXPORT_MAX_ROWS, else a 400 asking for a narrower range),
# oldest first, with its call-center detail and the direction reports count it under. Times
# are local wall-clock times in `timezone` (default Asia/Shanghai), as spreadsheets read them.
# `limit` and `offset` page the JSON only; they are checked but do not cut the export.

EXPORT_PARAMETERS = ("format", "timezone")
CDR_CSV_COLUMNS = (
    "id", "call_id", "start", "answer", "end", "caller", "callee", "direction", "duration",
    "billsec", "disposition", "hangup_side", "queue", "agent", "wait", "survey", "survey_reason",
    "disposition_code", "disposition_note",
)  # fmt: skip
_WRAPUP_COLUMNS = ("disposition_code", "disposition_note")  # not in CdrExportRow


def export_format(params: dict[str, str]) -> str:
    """json | csv, from `format`; `timezone` is checked here whichever it is."""
    value = requested_format(params)
    resolve_timezone(params.get("timezone", DEFAULT_TIMEZONE))
    return value


def _local(moment: datetime | None, zone: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _csv_row(
    row: CdrExportRow, zone: tzinfo, masker: Masker, wrapup: DispositionView | None
) -> list[Any]:
    values = {
        **{name: getattr(row, name) for name in CDR_CSV_COLUMNS if name not in _WRAPUP_COLUMNS},
        "disposition_code": wrapup.code if wrapup is not None else None,
        "disposition_note": masker.text(wrapup.note) if wrapup is not None else None,
        "caller": masker.number(row.caller),
        "callee": masker.number(row.callee),
        "start": _local(row.start, zone),
        "answer": _local(row.answer, zone),
        "end": _local(row.end, zone),
        "direction": str(row.direction),
    }
    return [values[name] for name in CDR_CSV_COLUMNS]


async def send_cdr_csv(handler: BaseHandler, params: dict[str, str]) -> None:
    zone = resolve_timezone(params.get("timezone", DEFAULT_TIMEZONE))
    paging_params(params, DEFAULT_LIMIT)  # checked, though the export is not paged
    start_from, start_to = time_param(params, "from"), time_param(params, "to")
    reports, dispositions = handler.services.reports, handler.services.dispositions
    scope, masker = handler.scope(), handler.masker()

    def rows() -> list[list[Any]]:  # masked here too: name_only looks names up
        found = reports.export_cdr(
            start_from=start_from, start_to=start_to, number=params.get("number"), scope=scope
        )
        wrapups = dispositions.latest_for_calls(row.call_id for row in found)
        return [_csv_row(row, zone, masker, wrapups.get(row.call_id)) for row in found]

    # up to 100000 rows: off the event loop
    table = await IOLoop.current().run_in_executor(None, reports.on_worker, rows)
    send_csv(handler, "cdr.csv", CDR_CSV_COLUMNS, table)
