"""JSON shapes of the service views (the OpenAPI document in openapi.py describes them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..services import CdrView, ExtensionView


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a 'Z' suffix, e.g. 2024-05-01T08:30:00Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def extension_json(view: ExtensionView) -> dict[str, Any]:
    # Built field by field: the secret is not in the view, and must never be added here.
    return {
        "number": view.number,
        "name": view.name,
        "recording": view.recording,
        "voicemail": view.voicemail,
        "voicemail_pin_set": view.voicemail_pin_set,
    }


def cdr_json(view: CdrView) -> dict[str, Any]:
    return {
        "id": view.id,
        "call_id": view.call_id,
        "caller": view.caller,
        "callee": view.callee,
        "start": iso_utc(view.start),
        "answer": iso_utc(view.answer) if view.answer is not None else None,
        "end": iso_utc(view.end),
        "duration": view.duration,
        "billsec": view.billsec,
        "disposition": str(view.disposition),
        "hangup_side": str(view.hangup_side),
    }
