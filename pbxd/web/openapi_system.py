"""OpenAPI paths and schemas of /api/v1/system/info, /backup and /restore."""

from __future__ import annotations

from typing import Any

from ..services.backup import MAX_BACKUP_BYTES
from .openapi_common import AUTH, BINARY, TIME, error, json_body, ref

_ZIP = {"application/zip": {"schema": BINARY}}

SYSTEM_PATHS: dict[str, Any] = {
    "/api/v1/system/info": {
        "get": {
            "operationId": "getSystemInfo",
            "summary": "Host name, firmware, time, uptime, the network interfaces and the HTTPS "
            "certificate (read only)",
            "x-pbxd-roles": ["admin", "supervisor"],
            "responses": {"200": json_body(ref("SystemInfo"), "The system"), **AUTH},
        }
    },
    "/api/v1/system/backup": {
        "get": {
            "operationId": "backupConfiguration",
            "summary": "The whole configuration as one zip: extensions (with SIP secrets and "
            "mailbox PINs), queues, IVRs, routes, trunks, ring groups, conference rooms, users "
            "(password hashes) and uploaded prompts; no call history",
            "x-pbxd-roles": ["admin"],
            "responses": {
                "200": {"description": "The backup file (attachment)", "content": _ZIP},
                **AUTH,
            },
        }
    },
    "/api/v1/system/restore": {
        "post": {
            "operationId": "restoreConfiguration",
            "summary": "Replace the configuration with a backup's, all or nothing; call "
            "history is kept; every session and token is revoked (log in again). A backup of "
            "an older firmware is upgraded first; a newer one's is refused.",
            "x-pbxd-roles": ["admin"],
            "requestBody": {
                "required": True,
                "description": f"The backup file as the body, at most {MAX_BACKUP_BYTES} bytes",
                "content": _ZIP,
            },
            "responses": {
                "200": json_body(ref("RestoreResult"), "Restored"),
                "400": json_body(
                    ref("Error"),
                    "Not a backup this device can restore "
                    "(bad_backup, with the reason); nothing changed",
                ),
                **AUTH,
                "413": error("TooLarge"),
                "415": json_body(ref("Error"), "Not sent as application/zip"),
            },
        }
    },
}

SYSTEM_SCHEMAS: dict[str, Any] = {
    "SystemInfo": {
        "type": "object",
        "required": ["hostname", "firmware", "time", "timezone", "uptime", "interfaces"],
        "properties": {
            "hostname": {"type": "string"},
            "firmware": {"type": "string"},
            "time": TIME,
            "timezone": {"type": "string"},
            "uptime": {"type": ["number", "null"], "description": "Seconds since boot"},
            "interfaces": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "state": {"type": "string"},
                        "mac": {"type": "string"},
                        "addresses": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "tls": {
                "oneOf": [{"type": "null"}, ref("TlsInfo")],
                "description": "HTTPS (and wss:// at /ws): its port and the device certificate "
                "served there (data-dir/tls/device.crt, read at start); null when pbxd serves "
                "HTTP only",
            },
        },
    },
    "TlsInfo": {
        "type": "object",
        "required": [
            "https_port",
            "fingerprint_sha256",
            "subject",
            "issuer",
            "self_signed",
            "not_before",
            "not_after",
            "alt_names",
        ],
        "properties": {
            "https_port": {"type": "integer"},
            "fingerprint_sha256": {
                "type": "string",
                "description": "SHA-256 of the certificate (DER), hex pairs joined by colons, "
                "as browsers show it: compare it before accepting a self-signed certificate",
            },
            "subject": {"type": "string", "description": "RFC 4514"},
            "issuer": {"type": "string", "description": "RFC 4514"},
            "self_signed": {"type": "boolean"},
            "not_before": TIME,
            "not_after": TIME,
            "alt_names": {
                "type": "array",
                "items": {"type": "string"},
                "description": "subjectAltName: DNS names and IP addresses",
            },
        },
    },
    "RestoreResult": {
        "type": "object",
        "required": ["restored", "prompts", "schema_from", "relogin"],
        "properties": {
            "restored": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "Rows per configuration table",
            },
            "prompts": {"type": "integer", "description": "Uploaded prompt files restored"},
            "schema_from": {"type": "integer", "description": "The backup's schema version"},
            "relogin": {"const": True},
        },
    },
}
