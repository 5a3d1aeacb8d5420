"""/api/v1/recordings/archive: the recordings a search finds (or the ids listed), as one zip.

Streamed as it is built: each file is read in chunks and sent, so a batch never sits in memory
or on the flash. Entries are stored, not deflated: the audio hardly compresses and the CPU is
better spent on calls. `index.csv` lists what each file is, written for spreadsheet programs
like every CSV download (pbxd/web/csvexport.py: BOM, formulas neutralised). The same roles and
scope as the search: an agent gets only the calls he took part in, a supervisor his team's.
Numbers are masked by the user's `masking` in index.csv and in the entry names
(`20240501-080010_138xxxx8000_600_7.wav`: stars become "x"), so that a masked user cannot
unmask a number by downloading.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tornado.iostream import StreamClosedError

from ..services import Masker, Scope
from ..services.errors import NotFound
from ..services.masking import UNMASKED
from ..services.recordings import RecordingView
from .base import ANY_ROLE, BaseHandler
from .csvexport import csv_text
from .errors import InvalidRequest
from .recordings import SEARCH_PARAMETERS, path_id, recording_scope, search_filters

MAX_RECORDINGS = 500
CHUNK_BYTES = 256 * 1024
INDEX_COLUMNS = ("file", "id", "call_id", "start", "duration", "caller", "callee", "queue",
                 "agent", "note")  # fmt: skip


class _Pending(io.RawIOBase):
    """What zipfile has written and the client has not been sent yet (zipfile writes to a
    stream it cannot seek: it then uses data descriptors)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def entry_name(view: RecordingView, masker: Masker = UNMASKED) -> str:
    stamp = view.start.strftime("%Y%m%d-%H%M%S")
    safe = ["".join(c for c in masker.file_part(part) if c.isalnum() or c in "+-") or "x"
            for part in (view.caller, view.callee)]  # fmt: skip
    return f"{stamp}_{safe[0]}_{safe[1]}_{view.id}.wav"


class RecordingsArchiveHandler(BaseHandler):
    access = {"GET": ANY_ROLE}

    async def get(self) -> None:
        params = self.query_params({*SEARCH_PARAMETERS, "id"})
        allowed = recording_scope(self)
        ids = self.get_query_arguments("id")
        if ids:
            if len(ids) > MAX_RECORDINGS:
                raise InvalidRequest(f"id: at most {MAX_RECORDINGS} recordings", field="id")
            views = [self.services.recordings.get(path_id(i, "recording"), scope=allowed)
                     for i in dict.fromkeys(ids)]  # fmt: skip
        else:
            page = self.services.recordings.search(
                **search_filters(params), scope=allowed, limit=MAX_RECORDINGS + 1
            )
            if page.total > MAX_RECORDINGS:
                raise InvalidRequest(
                    f"{page.total} recordings match; narrow the search to at most "
                    f"{MAX_RECORDINGS} for one archive"
                )
            views = list(page.items)
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", 'attachment; filename="recordings.zip"')
        pending = _Pending()
        try:
            await self._write_archive(views, allowed, pending)
        except StreamClosedError:  # the client went away: nothing to answer
            return
        self.finish()

    async def _write_archive(
        self, views: list[RecordingView], allowed: Scope, pending: _Pending
    ) -> None:
        masker = self.masker()
        index: list[tuple[Any, ...]] = []
        with zipfile.ZipFile(pending, "w", compression=zipfile.ZIP_STORED) as archive:
            for view in views:
                try:
                    audio = self.services.recordings.audio(view.id, scope=allowed)
                except NotFound:  # the file is gone (storage removed): listed, not included
                    index.append(("", *_index_row(view, masker)))
                    continue
                name = entry_name(view, masker)
                index.append((name, *_index_row(view, masker)))
                with audio.path.open("rb") as source, archive.open(name, "w") as entry:
                    while chunk := source.read(CHUNK_BYTES):
                        entry.write(chunk)
                        await self._send(pending)
            archive.writestr("index.csv", csv_text(INDEX_COLUMNS, index))
        await self._send(pending)

    async def _send(self, pending: _Pending) -> None:
        data = pending.take()
        if data:
            self.write(data)
            await self.flush()


def _index_row(view: RecordingView, masker: Masker) -> tuple[Any, ...]:
    return (view.id, view.call_id or "", view.start.isoformat(), view.duration,
            masker.number(view.caller), masker.number(view.callee), view.queue or "",
            view.agent or "", masker.text(view.note) or "")  # fmt: skip
