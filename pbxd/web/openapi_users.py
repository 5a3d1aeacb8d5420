"""OpenAPI paths and schemas of the web console's security base (issue 6, docs/WEBAUTH.md):
browser sessions, users, the operation log; `add_session_auth` declares the cookie scheme."""

from __future__ import annotations

from typing import Any

from ..services.users import PASSWORD_MAX_LEN, PASSWORD_MIN_LEN, Language, Masking, Role
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    NUMBER,
    TIME,
    error,
    item_list,
    json_body,
    json_request,
    path_parameter,
    query,
    ref,
)
from .oplog import DEFAULT_LIMIT, MAX_LIMIT

_CSRF_NOTE = (
    "With the session cookie, a POST/PUT/PATCH/DELETE must carry `X-CSRF-Token` (the "
    "session's csrf_token) and, when it sends an Origin header, come from this device's "
    "origin; else 403 with code `csrf`. A bearer token needs neither."
)

_USERNAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"}
_PASSWORD = {
    "type": "string",
    "writeOnly": True,
    "minLength": PASSWORD_MIN_LEN,
    "maxLength": PASSWORD_MAX_LEN,
}
_USERNAME_PARAMETER = path_parameter("username", _USERNAME)


_SESSION_COOKIE_HEADER = {
    "Set-Cookie": {
        "description": "pbxd_session=<random>; HttpOnly; SameSite=Strict; Path=/ "
        "(and Secure over HTTPS)",
        "schema": {"type": "string"},
    }
}

USERS_PATHS: dict[str, Any] = {
    "/api/v1/auth/session": {
        "post": {
            "operationId": "createSession",
            "summary": "Log in the web console: sets the session cookie (30 min idle, 12 h at "
            "most) and returns the user and the CSRF token. Rate limited like /auth/login; "
            "a foreign Origin is refused (403 csrf).",
            "security": [],
            "x-pbxd-roles": "public",
            "requestBody": json_request("LoginRequest"),
            "responses": {
                "200": {
                    **json_body(ref("Session"), "Logged in"),
                    "headers": _SESSION_COOKIE_HEADER,
                },
                "400": error("BadRequest"),
                "401": error("Unauthorized"),
                "403": error("Forbidden"),
                "413": error("TooLarge"),
                "429": error("RateLimited"),
            },
        },
        "get": {
            "operationId": "getSession",
            "summary": "The user and CSRF token of the session cookie (the page calls it on "
            "load); 401 without a valid session",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"200": json_body(ref("Session"), "The session"), **AUTH},
        },
        "delete": {
            "operationId": "deleteSession",
            "summary": "Log out: the session ends and the cookie is cleared",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"204": {"description": "Logged out"}, **AUTH},
        },
    },
    "/api/v1/users": {
        "get": {
            "operationId": "listUsers",
            "summary": "All users, by username",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {"200": json_body(ref("UserList"), "The users"), **AUTH},
        },
        "post": {
            "operationId": "createUser",
            "summary": "Create a user",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("UserCreate"),
            "responses": {
                "201": {
                    **json_body(ref("User"), "Created"),
                    "headers": {
                        "Location": {
                            "description": "URL of the new user",
                            "schema": {"type": "string"},
                        }
                    },
                },
                "400": error("BadRequest"),
                **AUTH,
                "409": json_body(
                    ref("Error"),
                    "The username exists (exists) or the extension is another user's (exists)",
                ),
                "413": error("TooLarge"),
            },
        },
    },
    "/api/v1/users/me": {
        "get": {
            "operationId": "getOwnUser",
            "summary": "The caller's own user",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"200": json_body(ref("User"), "The user"), **AUTH},
        },
        "put": {
            "operationId": "updateOwnUser",
            "summary": "Choose one's console language",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("OwnUserUpdate"),
            "responses": {
                "200": json_body(ref("User"), "The updated user"),
                "400": error("BadRequest"),
                **AUTH,
            },
        },
    },
    "/api/v1/users/me/password": {
        "put": {
            "operationId": "changeOwnPassword",
            "summary": "Change one's own password; every other session and token of the user "
            "is revoked (this one stays). Wrong attempts count against the login rate limit.",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("PasswordChange"),
            "responses": {
                "204": {"description": "Changed"},
                "400": error("BadRequest"),
                "401": error("Unauthorized"),
                "403": json_body(
                    ref("Error"), "The current password is wrong (wrong_password), or csrf"
                ),
                "429": error("RateLimited"),
            },
        }
    },
    "/api/v1/users/{username}": {
        "parameters": [_USERNAME_PARAMETER],
        "get": {
            "operationId": "getUser",
            "summary": "One user",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {
                "200": json_body(ref("User"), "The user"),
                **AUTH,
                "404": error("NotFound"),
            },
        },
        "put": {
            "operationId": "updateUser",
            "summary": "Change a user (fields left out stay). A role change resets masking to "
            "the new role's default unless given, and drops the queues of an ex-supervisor; a "
            "new password revokes the user's sessions and tokens.",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("UserUpdate"),
            "responses": {
                "200": json_body(ref("User"), "The updated user"),
                "400": error("BadRequest"),
                **AUTH,
                "404": error("NotFound"),
                "409": json_body(
                    ref("Error"),
                    "The last administrator cannot be demoted (last_admin), or the extension "
                    "is another user's (exists)",
                ),
                "413": error("TooLarge"),
            },
        },
        "delete": {
            "operationId": "deleteUser",
            "summary": "Delete a user with his sessions and tokens",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {
                "204": {"description": "Deleted"},
                **AUTH,
                "404": error("NotFound"),
                "409": json_body(
                    ref("Error"), "The last administrator cannot be deleted (last_admin)"
                ),
            },
        },
    },
    "/api/v1/operation-log": {
        "get": {
            "operationId": "searchOperationLog",
            "summary": "The operation log (操作日志), newest first: logins (login, "
            "login_failed), logouts and every successful change through the API (action "
            '"<METHOD> <path template>"). Rows name the fields a request set, never values.',
            "x-pbxd-roles": ADMIN_ROLES,
            "parameters": [
                query("start", "Rows at or after this time (with offset)", TIME),
                query("end", "Rows before this time (with offset)", TIME),
                query("username", "Exact username", {"type": "string"}),
                query(
                    "action",
                    "Exact action",
                    {"type": "string", "examples": ["login", "PUT /api/v1/queues/{number}"]},
                ),
                query(
                    "limit",
                    "Rows per page (JSON only)",
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                ),
                query("offset", "", {"type": "integer", "minimum": 0, "default": 0}),
                query(
                    "format",
                    "csv: every matching row as a UTF-8 (BOM) attachment operation-log.csv "
                    "with the columns time (UTC), username, role, client_ip, action, target, "
                    "detail",
                    {"enum": ["json", "csv"], "default": "json"},
                ),
            ],
            "responses": {
                "200": {
                    "description": "The rows (JSON page, or the CSV file)",
                    "content": {
                        "application/json": {"schema": ref("OperationLogPage")},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": error("BadRequest"),
                **AUTH,
            },
        }
    },
}

_LANGUAGE = {
    "enum": [str(language) for language in Language],
    "default": "zh-CN",
    "description": "Language of the web console",
}
_MASKING = {
    "enum": [str(masking) for masking in Masking],
    "description": "How much of a caller's number the user sees: all (the whole number), "
    "partial (middle digits hidden, 123****8910) or name_only (the customer's name only). "
    "Default: all for admins and supervisors, partial for agents.",
}
_ROLE = {"enum": [str(role) for role in Role]}
_EXTENSION = {
    **NUMBER,
    "type": ["string", "null"],
    "description": "The extension the user works at (one user per extension); null: none",
}
_QUEUES = {
    "type": "array",
    "items": NUMBER,
    "uniqueItems": True,
    "description": "Numbers of the queues a supervisor leads (his scope); other roles lead "
    "none. A deleted queue drops out.",
}
# What an administrator sets on a user (UserCreate adds the username).
_SETTABLE = {
    "role": _ROLE,
    "password": _PASSWORD,
    "extension": _EXTENSION,
    "language": _LANGUAGE,
    "queues": _QUEUES,
    "masking": _MASKING,
}

USERS_SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": ["username", "role", "extension", "language", "queues", "masking"],
        "properties": {
            "username": _USERNAME,
            "role": _ROLE,
            "extension": _EXTENSION,
            "language": _LANGUAGE,
            "queues": _QUEUES,
            "masking": _MASKING,
        },
    },
    "UserList": item_list("User"),
    "UserCreate": {
        "type": "object",
        "required": ["username", "role", "password"],
        "properties": {"username": {**_USERNAME, "description": '"me" is reserved'}, **_SETTABLE},
        "additionalProperties": False,
    },
    "UserUpdate": {
        "type": "object",
        "properties": _SETTABLE,
        "additionalProperties": False,
    },
    "OwnUserUpdate": {
        "type": "object",
        "required": ["language"],
        "properties": {"language": _LANGUAGE},
        "additionalProperties": False,
    },
    "PasswordChange": {
        "type": "object",
        "required": ["old_password", "new_password"],
        "properties": {
            "old_password": {"type": "string", "writeOnly": True},
            "new_password": _PASSWORD,
        },
        "additionalProperties": False,
    },
    "Session": {
        "type": "object",
        "required": ["user", "csrf_token"],
        "properties": {
            "user": ref("User"),
            "csrf_token": {
                "type": "string",
                "description": "Send as X-CSRF-Token on every POST/PUT/PATCH/DELETE of this "
                "session; valid as long as the session",
            },
        },
    },
    "Operation": {
        "type": "object",
        "required": ["id", "time", "username", "role", "client_ip", "action", "target", "detail"],
        "properties": {
            "id": {"type": "integer"},
            "time": TIME,
            "username": {"type": "string", "description": "As typed, for a failed login"},
            "role": {"type": ["string", "null"], "description": "null for a failed login"},
            "client_ip": {"type": "string"},
            "action": {"type": "string"},
            "target": {"type": "string", "description": "The request path"},
            "detail": {
                "type": "object",
                "description": 'Changes: {"fields": [names the body set], "status": 201}; '
                'logins and logouts: {"via": "token" | "session"}',
            },
        },
    },
    "OperationLogPage": {
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            "items": {"type": "array", "items": ref("Operation")},
            "total": {"type": "integer", "description": "Rows matching the filters"},
        },
    },
}


def add_session_auth(document: dict[str, Any]) -> None:
    """Declare the session cookie next to the bearer token: either authenticates a call."""
    document["components"]["securitySchemes"]["session"] = {
        "type": "apiKey",
        "in": "cookie",
        "name": "pbxd_session",
        "description": "The web console's session (POST /api/v1/auth/session). " + _CSRF_NOTE,
    }
    document["security"] = [{"bearer": []}, {"session": []}]
    document["info"]["description"] += (
        " The web console logs in with POST /api/v1/auth/session instead and is authenticated "
        "by its session cookie. " + _CSRF_NOTE
    )
    document["components"]["responses"]["Forbidden"]["description"] = (
        "The role may not do this (forbidden), or a cookie-authenticated write lacks the "
        "CSRF token or comes from another origin (csrf)"
    )
