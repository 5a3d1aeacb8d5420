"""OpenAPI paths and schemas of the prompts API, merged into `openapi.OPENAPI_DOCUMENT`.
Same conventions as openapi.py."""

from __future__ import annotations

from typing import Any

from ..media.convert import MAX_CHANNELS, MAX_RATE, MAX_SECONDS, MIN_RATE
from ..media.prompts import LANGUAGES
from ..services.prompts import ID_RULE, SOURCES
from .openapi_common import (
    ADMIN_ROLES,
    AUTH,
    BINARY,
    RANGE_HEADER,
    RANGE_NOT_SATISFIABLE,
    STAFF_ROLES,
    TIME,
    error,
    item_list,
    json_body,
    path_parameter,
    query,
    ref,
)
from .prompts import MAX_UPLOAD_BYTES, WAV_TYPES

_LANGUAGE = {"type": "string", "enum": list(LANGUAGES)}
_ID = path_parameter("id", {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"})
_WAV_RULES = (
    f"Any WAV file: PCM 8-bit unsigned or 16/24/32-bit, IEEE float 32/64-bit, A-law or "
    f"mu-law, also as WAVE_FORMAT_EXTENSIBLE; {MIN_RATE} to {MAX_RATE} Hz, 1 to "
    f"{MAX_CHANNELS} channels, at most {MAX_SECONDS} s and {MAX_UPLOAD_BYTES} bytes. It is "
    "stored converted to 8 kHz mono 16-bit PCM (channels averaged, resampled with an "
    "anti-aliasing low-pass)."
)
_UPLOAD_ERRORS = {
    "400": json_body(
        ref("Error"),
        "Bad id or language (invalid), or a file that is not an accepted WAV "
        "(invalid_audio, with the reason: not a WAV file, unsupported encoding, truncated, "
        "too long, empty)",
    ),
    **AUTH,
    "413": error("TooLarge"),
    "415": json_body(ref("Error"), "Wrong Content-Type (unsupported_media_type)"),
}


def _language_query(description: str) -> dict[str, Any]:
    return query("language", description, _LANGUAGE)


PROMPTS_PATHS: dict[str, Any] = {
    "/api/v1/prompts": {
        "get": {
            "operationId": "listPrompts",
            "summary": "System prompts and uploads, by id",
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {"200": json_body(ref("PromptList"), "The prompts"), **AUTH},
        },
        "post": {
            "operationId": "uploadPrompt",
            "summary": "Upload a prompt from a browser form (a new id, or replacing one)",
            "description": _WAV_RULES
            + " An upload with the id of a system prompt replaces it until deleted.",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["id", "file"],
                            "properties": {
                                "id": {"type": "string", "description": ID_RULE},
                                "language": {
                                    **_LANGUAGE,
                                    "description": "Only for this language; left out: for "
                                    "every language (replacing per-language uploads)",
                                },
                                "file": {"type": "string", "contentMediaType": "audio/wav"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    **json_body(ref("Prompt"), "Uploaded"),
                    "headers": {
                        "Location": {
                            "description": "URL of the prompt",
                            "schema": {"type": "string"},
                        }
                    },
                },
                **_UPLOAD_ERRORS,
            },
        },
    },
    "/api/v1/prompts/{id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getPrompt",
            "summary": "One prompt: its files and which plays in each language",
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {
                "200": json_body(ref("Prompt"), "The prompt"),
                **AUTH,
                "404": error("NotFound"),
            },
        },
        "put": {
            "operationId": "putPrompt",
            "summary": "Upload a prompt as the raw request body",
            "description": _WAV_RULES,
            "x-pbxd-roles": ADMIN_ROLES,
            "parameters": [_language_query("Only for this language; left out: for every language")],
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"type": "string", "contentMediaType": "audio/wav"}}
                    for media in WAV_TYPES
                },
            },
            "responses": {
                "200": json_body(ref("Prompt"), "Replaced the upload"),
                "201": json_body(ref("Prompt"), "Uploaded"),
                **_UPLOAD_ERRORS,
            },
        },
        "delete": {
            "operationId": "deletePrompt",
            "summary": "Delete uploads; the system prompt of the same id plays again",
            "x-pbxd-roles": ADMIN_ROLES,
            "parameters": [
                _language_query("Only the upload for this language; left out: every upload")
            ],
            "responses": {
                "204": {"description": "Deleted"},
                "400": error("BadRequest"),
                **AUTH,
                "404": error("NotFound"),
                "409": json_body(
                    ref("Error"),
                    "A system prompt (read_only), or an upload a queue or IVR uses with no "
                    "system prompt to fall back to (in_use, naming the users)",
                ),
            },
        },
    },
    "/api/v1/prompts/{id}/audio": {
        "parameters": [_ID],
        "get": {
            "operationId": "playPrompt",
            "summary": "The WAV file that plays in a language; single byte ranges supported",
            "x-pbxd-roles": STAFF_ROLES,
            "parameters": [
                _language_query("Default: the daemon's language (zh)"),
                RANGE_HEADER,
            ],
            "responses": {
                "200": {
                    "description": "The WAV file (8 kHz mono 16-bit PCM for uploads)",
                    "headers": {"Accept-Ranges": {"schema": {"const": "bytes"}}},
                    "content": {"audio/wav": {"schema": BINARY}},
                },
                "206": {
                    "description": "The requested byte range (Content-Range)",
                    "content": {"audio/wav": {"schema": BINARY}},
                },
                "400": error("BadRequest"),
                **AUTH,
                "404": json_body(ref("Error"), "No such prompt in that language"),
                "416": RANGE_NOT_SATISFIABLE,
            },
        },
    },
}

_NULLABLE_SECONDS = {
    "type": ["number", "null"],
    "minimum": 0,
    "description": "seconds; null when the file cannot be read as PCM WAV",
}

PROMPTS_SCHEMAS: dict[str, Any] = {
    "PromptFile": {
        "type": "object",
        "required": ["source", "language", "plays_in", "duration", "size", "modified"],
        "properties": {
            "source": {"enum": list(SOURCES)},
            "language": {
                "type": ["string", "null"],
                "enum": [*LANGUAGES, None],
                "description": "null: for every language (an upload without language, or a "
                "language-neutral system sound such as music on hold)",
            },
            "plays_in": {
                "type": "array",
                "items": _LANGUAGE,
                "description": "Languages in which this is the file that plays (empty: "
                "replaced by an upload)",
            },
            "duration": _NULLABLE_SECONDS,
            "size": {"type": "integer", "minimum": 0, "description": "bytes"},
            "modified": TIME,
        },
    },
    "Prompt": {
        "type": "object",
        "required": [
            "id",
            "source",
            "system",
            "overrides_system",
            "languages",
            "duration",
            "size",
            "modified",
            "files",
            "audio",
        ],
        "properties": {
            "id": {"type": "string", "description": ID_RULE},
            "source": {
                "enum": list(SOURCES),
                "description": "upload when the id has an upload, else system",
            },
            "system": {
                "type": "boolean",
                "description": "A system prompt of this id exists (it plays when the uploads "
                "are deleted)",
            },
            "overrides_system": {
                "type": "boolean",
                "description": "An upload replaces the system prompt in some language",
            },
            "languages": {"type": "array", "items": _LANGUAGE},
            "duration": {**_NULLABLE_SECONDS, "description": "seconds, the longest that plays"},
            "size": {"type": "integer", "description": "bytes of the files that play"},
            "modified": TIME,
            "files": {"type": "array", "items": ref("PromptFile")},
            "audio": {"type": "string", "description": "URL to listen to it"},
        },
    },
    "PromptList": item_list("Prompt"),
}
