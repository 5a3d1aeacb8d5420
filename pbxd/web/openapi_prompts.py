"""OpenAPI paths and schemas of the prompts API, merged into `openapi.OPENAPI_DOCUMENT`.
Same conventions as openapi.py."""

from __future__ import annotations

from typing import Any

from ..media.convert import MAX_CHANNELS, MAX_RATE, MAX_SECONDS, MIN_RATE
from ..media.prompts import LANGUAGES
from ..services.prompts import ID_RULE, SOURCES
from .prompts import MAX_UPLOAD_BYTES, WAV_TYPES

_ADMIN = ["admin"]
_STAFF = ["admin", "supervisor"]
_TIME = {"type": "string", "format": "date-time", "examples": ["2024-05-01T08:30:00Z"]}
_LANGUAGE = {"type": "string", "enum": list(LANGUAGES)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_AUTH = {"401": _error("Unauthorized"), "403": _error("Forbidden")}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
}
_WAV_RULES = (
    f"Any WAV file: PCM 8-bit unsigned or 16/24/32-bit, IEEE float 32/64-bit, A-law or "
    f"mu-law, also as WAVE_FORMAT_EXTENSIBLE; {MIN_RATE} to {MAX_RATE} Hz, 1 to "
    f"{MAX_CHANNELS} channels, at most {MAX_SECONDS} s and {MAX_UPLOAD_BYTES} bytes. It is "
    "stored converted to 8 kHz mono 16-bit PCM (channels averaged, resampled with an "
    "anti-aliasing low-pass)."
)
_UPLOAD_ERRORS = {
    "400": _json(
        _ref("Error"),
        "Bad id or language (invalid), or a file that is not an accepted WAV "
        "(invalid_audio, with the reason: not a WAV file, unsupported encoding, truncated, "
        "too long, empty)",
    ),
    **_AUTH,
    "413": _error("TooLarge"),
    "415": _json(_ref("Error"), "Wrong Content-Type (unsupported_media_type)"),
}
_LANGUAGE_QUERY = {
    "name": "language",
    "in": "query",
    "schema": _LANGUAGE,
}

PROMPTS_PATHS: dict[str, Any] = {
    "/api/v1/prompts": {
        "get": {
            "operationId": "listPrompts",
            "summary": "System prompts and uploads, by id",
            "x-pbxd-roles": _STAFF,
            "responses": {"200": _json(_ref("PromptList"), "The prompts"), **_AUTH},
        },
        "post": {
            "operationId": "uploadPrompt",
            "summary": "Upload a prompt from a browser form (a new id, or replacing one)",
            "description": _WAV_RULES
            + " An upload with the id of a system prompt replaces it until deleted.",
            "x-pbxd-roles": _ADMIN,
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
                    **_json(_ref("Prompt"), "Uploaded"),
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
            "x-pbxd-roles": _STAFF,
            "responses": {
                "200": _json(_ref("Prompt"), "The prompt"),
                **_AUTH,
                "404": _error("NotFound"),
            },
        },
        "put": {
            "operationId": "putPrompt",
            "summary": "Upload a prompt as the raw request body",
            "description": _WAV_RULES,
            "x-pbxd-roles": _ADMIN,
            "parameters": [
                {
                    **_LANGUAGE_QUERY,
                    "description": "Only for this language; left out: for every language",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"type": "string", "contentMediaType": "audio/wav"}}
                    for media in WAV_TYPES
                },
            },
            "responses": {
                "200": _json(_ref("Prompt"), "Replaced the upload"),
                "201": _json(_ref("Prompt"), "Uploaded"),
                **_UPLOAD_ERRORS,
            },
        },
        "delete": {
            "operationId": "deletePrompt",
            "summary": "Delete uploads; the system prompt of the same id plays again",
            "x-pbxd-roles": _ADMIN,
            "parameters": [
                {
                    **_LANGUAGE_QUERY,
                    "description": "Only the upload for this language; left out: every upload",
                }
            ],
            "responses": {
                "204": {"description": "Deleted"},
                "400": _error("BadRequest"),
                **_AUTH,
                "404": _error("NotFound"),
                "409": _json(
                    _ref("Error"),
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
            "x-pbxd-roles": _STAFF,
            "parameters": [
                {**_LANGUAGE_QUERY, "description": "Default: the daemon's language (zh)"},
                {
                    "name": "Range",
                    "in": "header",
                    "description": "bytes=first-last, bytes=first- or bytes=-suffix",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "The WAV file (8 kHz mono 16-bit PCM for uploads)",
                    "headers": {"Accept-Ranges": {"schema": {"const": "bytes"}}},
                    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {
                    "description": "The requested byte range (Content-Range)",
                    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
                },
                "400": _error("BadRequest"),
                **_AUTH,
                "404": _json(_ref("Error"), "No such prompt in that language"),
                "416": _json(_ref("Error"), "Range outside the file (Content-Range: bytes */size)"),
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
            "modified": _TIME,
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
            "modified": _TIME,
            "files": {"type": "array", "items": _ref("PromptFile")},
            "audio": {"type": "string", "description": "URL to listen to it"},
        },
    },
    "PromptList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Prompt")}},
    },
}
