"""Background processes for the benchmarks: start, watch CPU, stop; free loopback ports.

Everything here runs on 127.0.0.1 only. Each daemon gets its own process group so that
stopping it also stops the workers it forked (Kamailio children, sippy's rtpproxy thread
pool), and so that its CPU time can be summed over the whole group.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessError(RuntimeError):
    """A helper process could not be started or died; the message says which and why."""


def cpu_count() -> int:
    """Cores this process may run on (what the benchmark really has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _port_is_free(port: int, *, tcp: bool) -> bool:
    kinds = [socket.SOCK_DGRAM, socket.SOCK_STREAM] if tcp else [socket.SOCK_DGRAM]
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


def free_port(*, tcp: bool = False, avoid: set[int] | None = None) -> int:
    """A loopback port free for UDP (and TCP when `tcp`), not in `avoid`.

    The kernel hands out an ephemeral UDP port; it is checked for TCP as well because
    SIP listens on both at the same number.
    """
    avoid = avoid or set()
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        if port not in avoid and _port_is_free(port, tcp=tcp):
            avoid.add(port)
            return port
    raise ProcessError("no free loopback port found")


def free_port_range(size: int, *, low: int = 20000, high: int = 60000) -> tuple[int, int]:
    """A contiguous even-aligned range of `size` UDP ports that are all free now."""
    start = low + (secrets.randbelow((high - low - size) // 2) * 2)
    for _ in range(50):
        if all(_port_is_free(p, tcp=False) for p in range(start, start + size)):
            return start, start + size - 1
        start = low + (secrets.randbelow((high - low - size) // 2) * 2)
    raise ProcessError(f"no free range of {size} UDP ports found")


def sip_options_probe(port: int, *, timeout: float = 0.5) -> bool:
    """True if something at 127.0.0.1:`port` answers a SIP OPTIONS over UDP (any status)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        local_port = sock.getsockname()[1]
        tag = secrets.token_hex(6)
        request = (
            f"OPTIONS sip:{LOOPBACK}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{local_port};branch=z9hG4bK{tag};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{LOOPBACK}>;tag={tag}\r\n"
            f"To: <sip:{LOOPBACK}:{port}>\r\n"
            f"Call-ID: probe-{tag}@{LOOPBACK}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            f"Contact: <sip:probe@{LOOPBACK}:{local_port}>\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (LOOPBACK, port))
            data, _ = sock.recvfrom(65535)
        except OSError:
            return False
    return data.startswith(b"SIP/2.0 ")


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes in process group `pgid`."""
    total_ticks = sum(int(fields[11]) + int(fields[12]) for fields in _group_stats(pgid))
    return total_ticks / _CLOCK_TICKS


def _group_stats(pgid: int) -> Iterator[list[str]]:
    """/proc/<pid>/stat fields after the command name, for each process of group `pgid`."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # proc(5): the command name is in parentheses and may contain spaces.
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            yield fields


class Daemon:
    """One background program with its log file, in its own process group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise ProcessError(f"{self.name} was not started")
        return self._proc.pid

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            try:
                self._proc = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProcessError(f"cannot run {self.name} ({self.argv[0]}): {exc}") from exc

    def exit_code(self) -> int | None:
        """None while running, else the exit status."""
        return None if self._proc is None else self._proc.poll()

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.pid)

    def wait_ready(self, is_ready, *, timeout: float, what: str) -> None:
        """Poll `is_ready()` until true; raise ProcessError with the log tail if it dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                raise ProcessError(
                    f"{self.name} exited with status {code} before {what}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if is_ready():
                return
            time.sleep(0.1)
        raise ProcessError(
            f"{self.name} not {what} after {timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_bytes().replace(b"\0", b"").decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text.splitlines()[-lines:])

    def stop(self, *, grace: float = 3.0) -> None:
        """SIGTERM the whole group, then SIGKILL what is left after `grace` seconds."""
        if self._proc is None:
            return
        pgid = self._proc.pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self._proc.poll()
                if not _group_alive(pgid):
                    return
                time.sleep(0.05)
        self._proc.poll()

    def __enter__(self) -> Daemon:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's group
        return True
    # Zombies count as gone: only their parent can reap them.
    return any(fields[0] != "Z" for fields in _group_stats(pgid))
