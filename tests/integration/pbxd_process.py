"""Start a real pbxd on 127.0.0.1 for end-to-end tests, and talk to its HTTP API.

The daemon runs as `<repo>/.venv/bin/pbxd` (or `python -m pbxd` when that script is missing) in
a throw-away data directory, on ports picked free, with PBXD_ADMIN_PASSWORD set. Everything it
writes to stdout/stderr lands in `<data dir>/../pbxd.log`; errors raised here carry its tail.

PBXD_EXECUTABLE in the environment replaces the program (same command line), e.g. to run the
suite against an installed build.
"""

from __future__ import annotations

import json
import os
import random
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .sipp import free_port, port_is_free

REPO = Path(__file__).resolve().parents[2]
DISPOSITIONS = {"ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CANCELLED", "ABANDONED"}
PROMPTS = REPO / "build" / "prompts"  # what `make prompts` renders (espeak-ng)


def system_prompts() -> Path:
    """The rendered system prompts, made once per checkout (as `make prompts` does)."""
    from tools.prompts.generate import generate

    generate(PROMPTS, ("zh", "en"), report=lambda line: None)
    return PROMPTS


class PbxdError(AssertionError):
    """pbxd did not start, stop or answer as the contract says; carries its log."""


class ApiError(PbxdError):
    def __init__(self, method: str, path: str, status: int, body: str, log: str) -> None:
        super().__init__(f"{method} {path} -> HTTP {status}: {body}\n{log}")
        self.status = status
        self.body = body


def pbxd_command() -> list[str]:
    override = os.environ.get("PBXD_EXECUTABLE")
    if override:
        return [override]
    script = REPO / ".venv" / "bin" / "pbxd"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pbxd"]


def rtp_port_range(size: int = 100) -> tuple[int, int]:
    """An even-aligned RTP range below Linux's ephemeral ports (32768+), first ports free."""
    for _ in range(50):
        low = random.randrange(20000, 32000 - size, 2)
        if all(port_is_free(low + i) for i in range(0, 8)):
            return low, low + size - 1
    raise OSError("no free RTP port range found")


def to_epoch(value: Any) -> float | None:
    """A CDR time as epoch seconds: accepts numbers and ISO 8601 strings (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return float(text)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass
class PbxdProcess:
    workdir: Path
    admin_password: str = "integration-admin-Pw1"
    host: str = "127.0.0.1"
    sip_port: int = 0
    http_port: int = 0
    rtp_ports: tuple[int, int] = (0, 0)
    start_timeout: float = 15.0
    extra_args: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "pbxd.log"
        self.sip_port = self.sip_port or free_port(self.host)
        self.http_port = self.http_port or free_port(self.host)
        while self.http_port == self.sip_port:
            self.http_port = free_port(self.host)
        if self.rtp_ports == (0, 0):
            self.rtp_ports = rtp_port_range()
        self.proc: subprocess.Popen[bytes] | None = None
        self.token: str | None = None
        self.returncode: int | None = None

    # -- life cycle --------------------------------------------------------------------------

    @property
    def sip_address(self) -> str:
        """host:port of the SIP listener: the registrar and the domain of every extension."""
        return f"{self.host}:{self.sip_port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def command(self) -> list[str]:
        low, high = self.rtp_ports
        return pbxd_command() + [
            "--data-dir",
            str(self.data_dir),
            "--bind",
            self.host,
            "--sip-port",
            str(self.sip_port),
            "--http-port",
            str(self.http_port),
            "--rtp-ports",
            f"{low}-{high}",
            "--prompts-dir",
            str(system_prompts()),
            *self.extra_args,
        ]

    def start(self) -> PbxdProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PBXD_ADMIN_PASSWORD=self.admin_password, PYTHONUNBUFFERED="1")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log.write(f"$ {' '.join(self.command())}\n".encode())
        self._log.flush()
        try:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                # same process group as pytest: a Ctrl-C or a group kill reaches it too
            )
        except OSError as exc:
            self._log.close()
            raise PbxdError(f"cannot run {self.command()[0]}: {exc}") from exc
        try:
            self._wait_healthy()
            self._wait_sip_bound()
            self.login()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise PbxdError(
                    f"pbxd exited with {self.proc.returncode} before it was healthy\n"
                    + self.log_tail()
                )
            try:
                status, body = self._request("GET", "/api/v1/health", auth=False, timeout=1.0)
                if status == 200 and body == {"status": "ok"}:
                    return
                last_error = f"HTTP {status}: {body}"
            except (OSError, ValueError) as exc:
                last_error = repr(exc)
            time.sleep(0.1)
        raise PbxdError(
            f"pbxd not healthy within {self.start_timeout} s (last: {last_error})\n"
            + self.log_tail()
        )

    def _wait_sip_bound(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not port_is_free(self.sip_port, "udp", self.host) and not port_is_free(
                self.sip_port, "tcp", self.host
            ):
                return
            time.sleep(0.05)
        raise PbxdError(
            f"pbxd is healthy but SIP port {self.sip_port} is not bound on UDP and TCP\n"
            + self.log_tail()
        )

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit status."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc is not None:
            self.returncode = proc.returncode
        if getattr(self, "_log", None) is not None and not self._log.closed:
            self._log.close()
        return self.returncode

    def __enter__(self) -> PbxdProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 8000) -> str:
        text = self.log_text()
        cut = text[-chars:] if len(text) > chars else text
        return f"--- pbxd log ({self.log_path}) ---\n{cut}"

    # -- HTTP API ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        auth: bool = True,
        timeout: float = 5.0,
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth and self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text

    def api(self, method: str, path: str, body: Any = None, expect: int | tuple = 200) -> Any:
        """Call the API; raise ApiError (with the daemon log) unless the status is `expect`."""
        status, answer = self._request(method, path, body)
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if status not in wanted:
            raise ApiError(method, path, status, json.dumps(answer), self.log_tail(3000))
        return answer

    def download(self, path: str, dest: Path) -> Path:
        """GET `path` (an audio file of the API) with the admin token into `dest`."""
        request = urllib.request.Request(
            self.base_url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            dest.write_bytes(response.read())
        return dest

    def login(self) -> str:
        status, body = self._request(
            "POST",
            "/api/v1/auth/login",
            {"username": "admin", "password": self.admin_password},
            auth=False,
        )
        if status != 200 or not isinstance(body, dict) or not body.get("token"):
            raise ApiError("POST", "/api/v1/auth/login", status, str(body), self.log_tail(3000))
        self.token = str(body["token"])
        return self.token

    def create_extension(self, number: str, secret: str, name: str | None = None) -> Any:
        return self.api(
            "POST",
            "/api/v1/extensions",
            {"number": number, "name": name or f"Test {number}", "secret": secret},
            expect=201,
        )

    def cdr(self, **filters: Any) -> list[dict[str, Any]]:
        """CDR rows, newest first. Filters: number=, from_= (sent as "from"), to=."""
        query = {k.rstrip("_"): v for k, v in filters.items() if v is not None}
        path = "/api/v1/cdr" + ("?" + urllib.parse.urlencode(query) if query else "")
        body = self.api("GET", path)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise PbxdError(f"GET {path}: expected {{'items': [...]}}, got {body!r}")
        return body["items"]

    def wait_cdr(
        self,
        where: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,
        **filters: Any,
    ) -> dict[str, Any]:
        """Poll the CDR until a row satisfies `where` (rows are written when calls end)."""
        deadline = time.monotonic() + timeout
        rows: list[dict[str, Any]] = []
        while True:
            rows = self.cdr(**filters)
            for row in rows:
                if where(row):
                    return row
            if time.monotonic() >= deadline:
                raise PbxdError(
                    f"no CDR row matched within {timeout} s; filters={filters}; rows:\n"
                    + json.dumps(rows, indent=1)
                    + "\n"
                    + self.log_tail(3000)
                )
            time.sleep(0.2)

    def wait_call_cdr(self, caller: str, callee: str, timeout: float = 5.0) -> dict[str, Any]:
        """The newest CDR row of a call from `caller` to `callee`."""
        return self.wait_cdr(
            lambda r: str(r.get("caller")) == caller and str(r.get("callee")) == callee,
            timeout=timeout,
            number=caller,
        )


def check_cdr_row(row: dict[str, Any]) -> None:
    """Shape every CDR row must have (DESIGN: the /api/v1/cdr contract)."""
    for key in ("call_id", "caller", "callee", "start", "answer", "end", "duration", "billsec"):
        assert key in row, f"CDR row lacks {key!r}: {row}"
    assert row.get("disposition") in DISPOSITIONS, f"bad disposition: {row}"
    assert row.get("hangup_side") in {"caller", "callee", "system"}, f"bad hangup_side: {row}"
    start, end = to_epoch(row["start"]), to_epoch(row["end"])
    assert start is not None and end is not None and end >= start, f"bad start/end: {row}"
    assert abs(float(row["duration"]) - (end - start)) <= 1.0, f"duration != end-start: {row}"
    if row["disposition"] == "ANSWERED":
        answer = to_epoch(row["answer"])
        assert answer is not None and start <= answer <= end, f"bad answer time: {row}"
        assert abs(float(row["billsec"]) - (end - answer)) <= 1.0, f"billsec != end-answer: {row}"
    else:
        assert not row["answer"], f"unanswered call with an answer time: {row}"
        assert float(row["billsec"]) == 0, f"unanswered call with billsec: {row}"


@dataclass
class HttpsPbxd(PbxdProcess):
    """A pbxd that also serves HTTPS and wss:// (`--https-port`, passed in `extra_args`) on a
    free port of its own, with the device certificate it makes in its data directory."""

    https_port: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        while self.https_port in (0, self.http_port, self.sip_port):
            self.https_port = free_port(self.host)
        self.extra_args = [*self.extra_args, "--https-port", str(self.https_port)]

    def https_url(self, path: str = "", host: str | None = None) -> str:
        return f"https://{host or self.host}:{self.https_port}{path}"

    @property
    def certificate(self) -> Path:
        return self.data_dir / "tls" / "device.crt"

    def trusting(self) -> ssl.SSLContext:
        """A TLS client context that trusts this pbxd's device certificate alone (names
        checked): what a browser does once an administrator imported the certificate."""
        return ssl.create_default_context(cafile=str(self.certificate))
