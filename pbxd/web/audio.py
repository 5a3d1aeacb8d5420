"""Streaming an indexed audio file (recording, voicemail) to the client, with byte ranges.

The file was located by the service layer (`AudioFile`, already checked to lie inside its
directory); here it is sent in chunks so a long recording never sits in memory, with a
single `Range: bytes=...` honoured (RFC 9110 section 14) so players can seek.
"""

from __future__ import annotations

import re

from tornado.iostream import StreamClosedError

from ..services.errors import NotFound
from ..services.recordings import AudioFile
from .base import BaseHandler
from .errors import ApiError

CHUNK_BYTES = 64 * 1024
# RFC 9110 14.1.2: one range, "first-last", "first-" or "-suffix"; other forms are ignored.
_SINGLE_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


class RangeNotSatisfiable(ApiError):
    status = 416
    code = "range_not_satisfiable"


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a satisfiable single range, None to send the whole file.

    Raises RangeNotSatisfiable (RFC 9110 15.5.17) for a well-formed range outside the file.
    A malformed or multi-range header is ignored, as RFC 9110 14.2 allows.
    """
    if header is None:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"range outside the file of {size} bytes", headers={"Content-Range": f"bytes */{size}"}
    )


async def send_audio(handler: BaseHandler, audio: AudioFile) -> None:
    """Send `audio` as an attachment (200, or 206 for a range), CHUNK_BYTES at a time."""
    span = byte_range(handler.request.headers.get("Range"), audio.size)
    try:
        file = open(audio.path, "rb")  # noqa: SIM115 - closed below, across awaits
    except OSError:
        raise NotFound("audio file missing") from None
    try:
        first, last = span if span is not None else (0, audio.size - 1)
        handler.set_header("Content-Type", audio.content_type)
        handler.set_header("Content-Disposition", f'attachment; filename="{audio.filename}"')
        handler.set_header("Accept-Ranges", "bytes")
        if span is not None:
            handler.set_status(206)
            handler.set_header("Content-Range", f"bytes {first}-{last}/{audio.size}")
        remaining = last - first + 1
        handler.set_header("Content-Length", str(remaining))
        file.seek(first)
        while remaining > 0:
            chunk = file.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break  # the file shrank meanwhile; Tornado closes the short response
            handler.write(chunk)
            remaining -= len(chunk)
            await handler.flush()
        handler.finish()
    except StreamClosedError:
        pass  # the client went away (a player seeking elsewhere): nothing to answer
    finally:
        file.close()
