"""Start pbxd for a benchmark and provision it through its REST API (DESIGN.md contracts).

pbxd --data-dir DIR --bind 127.0.0.1 --sip-port N --http-port N --rtp-ports LOW-HIGH
PBXD_ADMIN_PASSWORD sets the admin password at first start.
GET  /api/v1/health           -> {"status": "ok"}
POST /api/v1/auth/login       {"username", "password"} -> {"token"}
POST /api/v1/extensions       {"number", "name", "secret"} -> 201 (Bearer token)
"""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import os
import secrets
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.accounts import Account
from benchmarks.procs import LOOPBACK, Daemon, ProcessError, sip_options_probe

START_TIMEOUT = 30.0


class PbxdError(ProcessError):
    """pbxd did not start, or its API refused what the benchmark needs."""


def default_command() -> list[str]:
    """The venv's `pbxd` console script, else `python -m pbxd.cli`."""
    script = Path(sys.executable).with_name("pbxd")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pbxd.cli"]


def pbxd_version() -> str:
    try:
        return importlib.metadata.version("pbxd")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Pbxd:
    def __init__(
        self,
        workdir: Path,
        *,
        sip_port: int,
        http_port: int,
        rtp_ports: tuple[int, int],
        command: Sequence[str] | None = None,
        digest_algorithms: str | None = "MD5",
    ) -> None:
        self.sip_port = sip_port
        self.http_port = http_port
        self.admin_password = "Bench-" + secrets.token_urlsafe(12)
        data_dir = workdir / "pbxd-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            *(command or default_command()),
            "--data-dir", str(data_dir),
            "--bind", LOOPBACK,
            "--sip-port", str(sip_port),
            "--http-port", str(http_port),
            "--rtp-ports", f"{rtp_ports[0]}-{rtp_ports[1]}",
        ]  # fmt: skip
        if digest_algorithms:
            # sipp 3.6 answers only the first challenge and only MD5; Kamailio offers one
            # MD5 challenge too. Not in the DESIGN.md contract: None leaves it out.
            argv += ["--digest-algorithms", digest_algorithms]
        env = {
            **os.environ,
            "PBXD_ADMIN_PASSWORD": self.admin_password,
            # Peers run with warnings/errors only; per-request INFO logs would be measured.
            "PBXD_LOG_LEVEL": "WARNING",
        }
        self.daemon = Daemon("pbxd", argv, log_path=workdir / "pbxd.log", env=env)
        self._token: str | None = None

    @property
    def command_line(self) -> str:
        return shlex.join(self.daemon.argv)

    def start(self) -> None:
        try:
            self.daemon.start()
            self.daemon.wait_ready(self._healthy, timeout=START_TIMEOUT, what="healthy")
        except ProcessError as exc:
            raise PbxdError(f"pbxd failed to start ({self.command_line}): {exc}") from exc
        # SIP may come up a moment after HTTP; any answer to OPTIONS will do.
        deadline = time.monotonic() + 5
        while not sip_options_probe(self.sip_port):
            if time.monotonic() > deadline:
                raise PbxdError(
                    f"pbxd is healthy over HTTP but does not answer SIP OPTIONS on "
                    f"udp:{LOOPBACK}:{self.sip_port}; log {self.daemon.log_path}:\n"
                    f"{self.daemon.log_tail()}"
                )

    def _healthy(self) -> bool:
        try:
            status, body = self._request("GET", "/api/v1/health", auth=False, timeout=1)
        except OSError:
            return False
        return status == 200 and body.get("status") == "ok"

    def _request(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        *,
        auth: bool = True,
        timeout: float = 10,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, dict]:
        own = conn is None
        conn = conn or http.client.HTTPConnection(LOOPBACK, self.http_port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            body = json.dumps(payload).encode() if payload is not None else None
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            if own:
                conn.close()
        try:
            decoded = json.loads(raw) if raw else {}
        except ValueError:
            decoded = {"raw": raw[:200].decode(errors="replace")}
        return response.status, decoded if isinstance(decoded, dict) else {"value": decoded}

    @property
    def token(self) -> str:
        if self._token is None:
            status, body = self._request(
                "POST",
                "/api/v1/auth/login",
                {"username": "admin", "password": self.admin_password},
                auth=False,
            )
            if status != 200 or "token" not in body:
                raise PbxdError(f"pbxd login as admin failed: HTTP {status} {body}")
            self._token = str(body["token"])
        return self._token

    def create_extensions(self, accounts: Sequence[Account]) -> float:
        """Create every account as an extension; returns the seconds it took."""
        began = time.monotonic()
        _ = self.token
        conn = http.client.HTTPConnection(LOOPBACK, self.http_port, timeout=10)
        try:
            for account in accounts:
                payload = {
                    "number": account.number,
                    "name": f"Bench {account.number}",
                    "secret": account.secret,
                }
                try:
                    status, body = self._request("POST", "/api/v1/extensions", payload, conn=conn)
                except ConnectionError:  # includes http.client.RemoteDisconnected
                    # The server closed the kept-alive connection: one retry on a new one.
                    conn.close()
                    conn = http.client.HTTPConnection(LOOPBACK, self.http_port, timeout=10)
                    status, body = self._request("POST", "/api/v1/extensions", payload, conn=conn)
                if status not in (200, 201):
                    raise PbxdError(
                        f"pbxd refused extension {account.number}: HTTP {status} {body}"
                    )
        except (OSError, http.client.HTTPException) as exc:
            raise PbxdError(f"pbxd API failed while creating extensions: {exc}") from exc
        finally:
            conn.close()
        return time.monotonic() - began

    def cpu_seconds(self) -> float:
        return self.daemon.cpu_seconds()

    def stop(self) -> None:
        self.daemon.stop(grace=5.0)
