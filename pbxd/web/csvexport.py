"""CSV downloads (reports, CDR export, operation log, the recordings archive's index.csv),
made for spreadsheets: every CSV the API writes goes through `csv_text`.

UTF-8 with a byte order mark, so that Excel in a Chinese locale reads the file as UTF-8 (without
it, it guesses GBK and garbles Chinese); CRLF line ends and quoting as in RFC 4180. A text cell
that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets a leading
apostrophe; a plain signed number such as +8613800138000 is left alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tornado.web import RequestHandler

from .errors import InvalidRequest

BOM = "\ufeff"
CONTENT_TYPE = "text/csv; charset=UTF-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]?[0-9]+")
_FILENAME = re.compile(r"[A-Za-z0-9._-]+")


def requested_format(params: Mapping[str, str]) -> str:
    """json | csv, from the `format` query parameter (default json)."""
    value = params.get("format", "json")
    if value not in ("json", "csv"):
        raise InvalidRequest("format: expected json or csv", field="format")
    return value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(_FORMULA_START) and not _SIGNED_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole file: BOM, header row, rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return BOM + out.getvalue()


def send_csv(
    handler: RequestHandler, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Finish `handler` with the CSV file as an attachment named `filename` (ASCII)."""
    if not _FILENAME.fullmatch(filename):
        raise ValueError(f"unsafe attachment name {filename!r}")
    body = csv_text(header, rows).encode("utf-8")
    handler.set_status(200)
    handler.set_header("Content-Type", CONTENT_TYPE)
    handler.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    handler.finish(body)
