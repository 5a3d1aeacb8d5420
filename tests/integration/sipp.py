"""Run Debian's sipp (package sip-tester) with the scenarios in tests/integration/sipp/.

One sipp process runs one call (`-m 1`) on 127.0.0.1 over UDP or TCP. Credentials travel in an
injection CSV: field0 is the user, field1 an `[authentication username=.. password=..]` keyword
that the scenario places where the Authorization header goes (sipp expands keywords inside
fields; `[authentication username=[field0] ...]` inside a scenario is NOT expanded).
Every run keeps its message trace, error trace and final screen in its own directory, and
`SippResult.report()` puts them into assertion messages.

sipp 3.6 answers only the first WWW-Authenticate/Proxy-Authenticate challenge and aborts when
its algorithm is not MD5 ("createAuthHeader: authentication must use MD5 or AKAv1-MD5").
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

SCENARIO_DIR = Path(__file__).resolve().parent / "sipp"
SIPP = shutil.which("sipp") or "/usr/bin/sipp"

# sipp's exit codes (sipp(1) "EXIT STATUS")
EXIT_MEANINGS = {
    0: "all calls were successful",
    1: "at least one call failed",
    97: "exit on internal command (calls may have been processed)",
    99: "normal exit without calls processed",
    255: "fatal error (see stderr)",
    254: "fatal error binding a socket",
}


class SippError(RuntimeError):
    """sipp could not be run at all (missing binary, scenario, ...)."""


@dataclass(frozen=True)
class SipMessage:
    """One SIP message from sipp's message trace, as sent or received by sipp."""

    direction: str  # "sent" | "received"
    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @property
    def is_response(self) -> bool:
        return self.start_line.startswith("SIP/2.0 ")

    @property
    def status(self) -> int | None:
        return int(self.start_line.split()[1]) if self.is_response else None

    @property
    def method(self) -> str:
        """Request method, or for a response the method of its CSeq."""
        if not self.is_response:
            return self.start_line.split()[0]
        cseq = self.header("CSeq") or ""
        return cseq.split()[-1] if cseq else ""

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        """Every value of a header, compact form included, comma-separated values split."""
        compact = {"contact": "m", "via": "v", "from": "f", "to": "t", "call-id": "i"}
        wanted = {name.lower(), compact.get(name.lower(), name.lower())}
        values: list[str] = []
        for key, value in self.headers:
            if key.lower() in wanted:
                values += _split_commas(value) if key.lower() in ("contact", "m") else [value]
        return values


def _split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and <...> (RFC 3261 7.3.1)."""
    parts, current, quoted, bracket = [], [], False, False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            bracket = True
        elif char == ">" and not quoted:
            bracket = False
        if char == "," and not quoted and not bracket:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


_SEPARATOR = re.compile(r"^-{20,} \d{4}-\d\d-\d\d [\d:.]+$", re.MULTILINE)


def parse_message_log(text: str) -> list[SipMessage]:
    """Parse sipp's -trace_msg file into messages (direction, start line, headers, body)."""
    messages = []
    for chunk in _SEPARATOR.split(text):
        chunk = chunk.strip("\r\n")
        if not chunk:
            continue
        intro, _, rest = chunk.partition("\n")
        if "message sent" in intro:
            direction = "sent"
        elif "message received" in intro or ("Dead call" in intro and "received" in intro):
            # a late message for a call whose scenario already ended is still received
            direction = "received"
        else:
            continue
        raw = rest.strip("\r\n").replace("\r\n", "\n")
        head, _, body = raw.partition("\n\n")
        lines = head.split("\n")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # folded line (RFC 3261 7.3.1)
                key, value = headers[-1]
                headers[-1] = (key, value + " " + line.strip())
            elif ":" in line:
                key, _, value = line.partition(":")
                headers.append((key.strip(), value.strip()))
        # sipp appends its own notes after a message ("Discarded message ..."): keep SIP only
        body = body.split("\n\n")[0] if body else ""
        messages.append(SipMessage(direction, lines[0].strip(), tuple(headers), body))
    return messages


@dataclass(frozen=True)
class SippResult:
    scenario: str
    command: tuple[str, ...]
    returncode: int
    successful: int | None
    failed: int | None
    messages: tuple[SipMessage, ...]
    screen: str
    errors: str
    stderr: str
    workdir: Path
    local_port: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and bool(self.successful)

    def received(self, method: str | None = None) -> list[SipMessage]:
        return [
            m
            for m in self.messages
            if m.direction == "received" and (method is None or m.method == method)
        ]

    def sent(self, method: str | None = None) -> list[SipMessage]:
        return [
            m
            for m in self.messages
            if m.direction == "sent" and (method is None or m.method == method)
        ]

    def statuses(self, method: str | None = None) -> list[int]:
        """Status codes sipp received, in order, optionally only for one CSeq method."""
        return [m.status for m in self.received(method) if m.is_response and m.status]

    def final_response(self, method: str = "INVITE") -> SipMessage | None:
        finals = [
            m for m in self.received(method) if m.is_response and m.status and m.status >= 200
        ]
        return finals[-1] if finals else None

    def final_status(self, method: str = "INVITE") -> int | None:
        final = self.final_response(method)
        return final.status if final else None

    def report(self, max_chars: int = 12000) -> str:
        meaning = EXIT_MEANINGS.get(self.returncode, "?")
        parts = [
            f"sipp {self.scenario}: exit {self.returncode} ({meaning}), "
            f"successful={self.successful} failed={self.failed}",
            "command: " + " ".join(self.command),
        ]
        if "must use MD5" in self.stderr + self.screen:
            parts.append(
                "HINT: sipp 3.6 answers only the FIRST digest challenge and only MD5; "
                "the server offered another algorithm first."
            )
        if self.stderr.strip():
            parts += ["--- stderr ---", self.stderr.strip()[-2000:]]
        if self.screen.strip() and not self.ok:
            parts += ["--- final screen ---", self.screen.strip()[-2500:]]
        if self.errors.strip():
            parts += ["--- unexpected messages (-trace_err) ---", self.errors.strip()[-4000:]]
        trace = "\n\n".join(
            f"[{m.direction}] {m.start_line}\n" + "\n".join(f"{k}: {v}" for k, v in m.headers)
            for m in self.messages
        )
        parts += ["--- message trace ---", trace[-max_chars:] or "(no messages)"]
        return "\n".join(parts)


@dataclass
class SippCall:
    """Arguments of one sipp run. `remote` None: server mode (a UAS scenario)."""

    scenario: str  # file name in SCENARIO_DIR, with or without ".xml", or a path
    workdir: Path
    local_port: int
    remote: tuple[str, int] | None = None
    transport: str = "udp"
    user: str | None = None
    password: str | None = None
    service: str | None = None  # -s: the number a UAC calls
    keys: dict[str, str | int] = field(default_factory=dict)
    duration_ms: int = 1000  # -d: what <pause/> waits
    timeout: float = 20.0  # sipp's global timeout; the process is killed 10 s later
    media_port: int | None = None
    local_ip: str = "127.0.0.1"
    name: str | None = None  # file name stem for the traces; default: the scenario's

    def scenario_path(self) -> Path:
        path = Path(self.scenario)
        if not path.is_absolute():
            path = SCENARIO_DIR / path
        if path.suffix != ".xml":
            path = path.with_suffix(".xml")
        if not path.exists():
            raise SippError(f"no sipp scenario {path}")
        return path

    def stem(self) -> str:
        return self.name or self.scenario_path().stem

    def command(self) -> list[str]:
        stem = self.stem()
        work = self.workdir
        cmd = [SIPP]
        if self.remote:
            cmd.append(f"{self.remote[0]}:{self.remote[1]}")
        cmd += ["-sf", str(self.scenario_path()), "-m", "1", "-nostdin", "-aa"]
        # a failed call must not send a BYE of its own: the test reports what went wrong
        cmd += ["-default_behaviors", "all,-bye"]
        cmd += ["-i", self.local_ip, "-p", str(self.local_port)]
        cmd += ["-t", "t1" if self.transport == "tcp" else "u1"]
        cmd += ["-mp", str(self.media_port or free_port_block(4))]
        cmd += ["-d", str(self.duration_ms), "-timeout", f"{int(self.timeout)}s", "-timeout_error"]
        if self.service:
            cmd += ["-s", self.service]
        if self.user is not None:
            csv = work / f"{stem}-users.csv"
            auth = f"[authentication username={self.user} password={self.password or ''}]"
            if ";" in self.user + (self.password or ""):
                raise SippError("';' separates CSV fields: not allowed in user or password")
            csv.write_text(f"SEQUENTIAL\n{self.user};{auth}\n")
            cmd += ["-inf", str(csv)]
        keys = {"expires": 300, **self.keys}
        for key, value in keys.items():
            cmd += ["-key", key, str(value)]
        cmd += ["-trace_msg", "-message_file", str(work / f"{stem}-messages.log")]
        cmd += ["-trace_err", "-error_file", str(work / f"{stem}-errors.log")]
        cmd += ["-trace_screen", "-screen_file", str(work / f"{stem}-screen.log")]
        cmd += ["-trace_stat", "-stf", str(work / f"{stem}-stats.csv"), "-fd", "1"]
        return cmd


class SippProcess:
    """A sipp run in the background (typically a UAS waiting for its call)."""

    def __init__(self, call: SippCall) -> None:
        call.workdir.mkdir(parents=True, exist_ok=True)
        self.call = call
        self.command = call.command()
        self._stderr_path = call.workdir / f"{call.stem()}-stderr.log"
        self._stderr = open(self._stderr_path, "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            cwd=call.workdir,
        )

    def wait_listening(self, timeout: float = 3.0) -> SippProcess:
        """Wait until the scenario's local port is bound (UDP or TCP)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SippError(f"sipp exited early\n{self.wait().report()}")
            if not port_is_free(self.call.local_port, self.call.transport):
                return self
            time.sleep(0.02)
        raise SippError(f"sipp did not bind port {self.call.local_port} in {timeout} s")

    def wait(self, timeout: float | None = None) -> SippResult:
        limit = timeout if timeout is not None else self.call.timeout + 10
        try:
            self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._stderr.close()
        return self._collect()

    def stop(self) -> SippResult:
        """End a sipp that is still waiting (SIGTERM ends it like 'q'), then collect."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.wait(5)

    def _collect(self) -> SippResult:
        work, stem = self.call.workdir, self.call.stem()

        def read(name: str) -> str:
            path = work / name
            return path.read_text(errors="replace") if path.exists() else ""

        successful, failed = _read_counts(read(f"{stem}-stats.csv"))
        return SippResult(
            scenario=stem,
            command=tuple(self.command),
            returncode=self.proc.returncode,
            successful=successful,
            failed=failed,
            messages=tuple(parse_message_log(read(f"{stem}-messages.log"))),
            screen=read(f"{stem}-screen.log"),
            errors=read(f"{stem}-errors.log"),
            stderr=read(f"{stem}-stderr.log"),
            workdir=work,
            local_port=self.call.local_port,
        )


def _read_counts(stats_csv: str) -> tuple[int | None, int | None]:
    """SuccessfulCall(C) and FailedCall(C) from the last row of sipp's -trace_stat file."""
    rows = [line.split(";") for line in stats_csv.splitlines() if line.strip()]
    if len(rows) < 2:
        return None, None
    header, last = rows[0], rows[-1]

    def column(name: str) -> int | None:
        try:
            return int(last[header.index(name)])
        except (ValueError, IndexError):
            return None

    return column("SuccessfulCall(C)"), column("FailedCall(C)")


def start_sipp(call: SippCall) -> SippProcess:
    return SippProcess(call)


def run_sipp(call: SippCall) -> SippResult:
    """Run one sipp call to completion and return what happened."""
    return SippProcess(call).wait()


# -- ports -------------------------------------------------------------------------------------


def port_is_free(port: int, transport: str = "udp", host: str = "127.0.0.1") -> bool:
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `host` (SIP listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            if port_is_free(port, "tcp", host):
                return port
    raise OSError("no port free for both UDP and TCP")


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """First port of `count` consecutive ports free for UDP, starting at an even number."""
    for _ in range(200):
        base = free_port(host) & ~1
        if base + count < 65536 and all(port_is_free(base + i, "udp", host) for i in range(count)):
            return base
    raise OSError(f"no {count} consecutive free UDP ports")


TALK_MS = 1500  # how long answered calls last before the BYE

if TYPE_CHECKING:
    from .pbxd_process import PbxdProcess


def place_call(
    pbxd: PbxdProcess,
    workdir: Path,
    caller: tuple[str, str],
    callee_number: str,
    scenario: str,
    transport: str = "udp",
) -> SippResult:
    number, secret = caller
    return run_sipp(
        SippCall(
            scenario,
            workdir,
            free_port(),
            remote=(pbxd.host, pbxd.sip_port),
            transport=transport,
            user=number,
            password=secret,
            service=callee_number,
            duration_ms=TALK_MS,
            name=f"caller-{scenario}",
            timeout=20,
        )
    )


def requests_seen(result: SippResult) -> list[str]:
    return [m.method for m in result.received() if not m.is_response]
