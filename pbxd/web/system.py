"""System: /api/v1/system/info (time, network, firmware, HTTPS), /api/v1/system/backup and
/api/v1/system/restore (the configuration as one file; pbxd/services/backup.py)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..services.backup import MAX_BACKUP_BYTES, firmware_version
from .base import ADMIN_ONLY, ADMIN_OR_SUPERVISOR, BaseHandler
from .uploads import UnsupportedMediaType, UploadHandler

ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


def network_interfaces() -> list[dict[str, Any]]:
    """Interfaces with their addresses as `ip -json address` reports them (read only: the
    network is configured by the system, not by pbxd)."""
    try:
        done = subprocess.run(["ip", "-json", "address"], capture_output=True, text=True,
                              timeout=5, check=True)  # fmt: skip
        links = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    return [
        {
            "name": link.get("ifname", ""),
            "state": link.get("operstate", ""),
            "mac": link.get("address", ""),
            "addresses": [
                f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", []) if "local" in a
            ],  # fmt: skip
        }
        for link in links
        if link.get("ifname") != "lo"
    ]


def _uptime() -> float | None:
    try:
        return float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class SystemInfoHandler(BaseHandler):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    async def get(self) -> None:
        self.query_params(set())
        interfaces = await asyncio.get_running_loop().run_in_executor(None, network_interfaces)
        now = datetime.now(UTC)
        self.reply(
            {
                "hostname": socket.gethostname(),
                "firmware": firmware_version(),
                "time": now.isoformat().replace("+00:00", "Z"),
                "timezone": time.tzname[0],
                "uptime": _uptime(),
                "interfaces": interfaces,
                # HTTPS and its certificate (pbxd.web.tls); null when pbxd serves HTTP only
                "tls": None if self.ctx.tls is None else dict(self.ctx.tls),
            }
        )


class BackupHandler(BaseHandler):
    access = {"GET": ADMIN_ONLY}

    async def get(self) -> None:
        self.query_params(set())
        name, data = await asyncio.get_running_loop().run_in_executor(
            None, self.services.backup.create
        )
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)


class RestoreHandler(UploadHandler):
    access = {"POST": ADMIN_ONLY}
    upload_methods = frozenset({"POST"})
    upload_limit = MAX_BACKUP_BYTES

    def check_content_type(self, content_type: str) -> None:
        if content_type.split(";")[0].strip().lower() not in ZIP_TYPES:
            raise UnsupportedMediaType("send the backup file as the body (application/zip)")

    def post(self) -> None:
        # On the loop thread on purpose: the configuration must not change under call
        # control while it is replaced, and the listeners it tells run here.
        result = self.services.restore_configuration(self.body())
        self.reply(
            {
                "restored": result.counts,
                "prompts": result.prompts,
                "schema_from": result.schema_from,
                "relogin": True,  # every session and token was revoked
            }
        )
