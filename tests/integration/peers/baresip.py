"""Debian's baresip (1.0) as a second, independent SIP phone, driven over its ctrl_tcp module.

Each instance gets a throw-away config directory: `config` (modules, SIP listen address on
127.0.0.1, ctrl_tcp port, a sine tone WAV as audio source through `aufile`, audio out to
ALSA's `null` PCM, so no sound hardware is needed) and `accounts` (one line: the AOR on the
registrar, with auth_pass, regint and answermode=auto).

ctrl_tcp speaks netstrings (`<len>:<json>,`): commands `{"command", "params", "token"}` get a
`{"response": true, "ok", "data", "token"}` (the commands are the menu module's: dial,
hangup, reginfo, quit); events arrive as `{"event": true, "type", "class",
"param", ...}` with types such as REGISTER_OK, REGISTER_FAIL, CALL_RINGING, CALL_ESTABLISHED,
CALL_CLOSED. Console output (`<dir>/baresip.log`) is kept for failure messages.

Known limit (measured): baresip 1.0's digest code (libre) fails a registration with "Function
not implemented" when ANY challenge in the 401 names algorithm=SHA-256, even if an MD5 one is
offered too; it only registers against MD5-only challenges.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audio import write_tone
from ..sipp import free_port, port_is_free

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULE_DIR = Path("/usr/lib/baresip/modules")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# menu.so provides dial/hangup/reginfo/quit; ctrl_tcp.so only carries them
MODULES = ("g711.so", "aufile.so", "alsa.so", "menu.so", "ctrl_tcp.so")


class BaresipError(AssertionError):
    """baresip did not do what the test waited for; carries its console log and events."""


def _sip_port() -> int:
    """A port free on UDP and TCP whose next port is free on TCP (baresip puts TLS there)."""
    for _ in range(100):
        port = free_port()
        if port < 65535 and port_is_free(port + 1, "tcp"):
            return port
    raise OSError("no SIP port pair free for baresip")


@dataclass
class Baresip:
    user: str
    password: str
    registrar: str  # "host:port"
    workdir: Path
    transport: str = "udp"
    regint: int = 60
    tone_hz: float = 1000.0  # what it sends into calls (a WAV made at start, via aufile)
    timeout: float = 60.0  # baresip -t: it quits by itself after this long
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config_dir = self.workdir / f"baresip-{self.user}"
        self.log_path = self.config_dir / "baresip.log"
        self.sip_port = _sip_port()
        self.ctrl_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Condition()
        self._responses: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._token = 0

    # -- configuration -----------------------------------------------------------------------

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        # aufile ends the call at the end of its file: the tone outlasts baresip itself
        tone = write_tone(self.config_dir / "tone.wav", self.tone_hz, self.timeout + 5)
        source = f"aufile,{tone}"
        lines = [
            "poll_method\t\tepoll",
            f"sip_listen\t\t127.0.0.1:{self.sip_port}",
            "net_interface\t\t127.0.0.1",
            "call_local_timeout\t120",
            "call_max_calls\t\t4",
            f"audio_source\t\t{source}",
            "audio_player\t\talsa,null",
            "audio_alert\t\talsa,null",
            "ausrc_srate\t\t8000",
            "ausrc_channels\t\t1",
            f"module_path\t\t{MODULE_DIR}",
            *(f"module\t\t\t{name}" for name in MODULES),
            "module_tmp\t\taccount.so",
            f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}",
        ]
        (self.config_dir / "config").write_text("\n".join(lines) + "\n")
        account = (
            f"<sip:{self.user}@{self.registrar};transport={self.transport}>"
            f";auth_pass={self.password};regint={self.regint};answermode=auto"
        )
        (self.config_dir / "accounts").write_text(account + "\n")
        (self.config_dir / "contacts").write_text("")

    # -- life cycle --------------------------------------------------------------------------

    def start(self, ready_timeout: float = 10.0) -> Baresip:
        self.write_config()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [BARESIP, "-f", str(self.config_dir), "-t", str(int(self.timeout))],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.config_dir,
        )
        deadline = time.monotonic() + ready_timeout
        while True:
            if self._proc.poll() is not None:
                raise BaresipError(
                    f"baresip exited with {self._proc.returncode}\n{self.diagnostics()}"
                )
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BaresipError(
                        f"ctrl_tcp port {self.ctrl_port} not open\n{self.diagnostics()}"
                    ) from None
                time.sleep(0.05)
        self._sock.settimeout(None)
        threading.Thread(target=self._read_netstrings, daemon=True).start()
        return self

    def _read_netstrings(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self.events.append({"event": True, "type": "CTRL_CLOSED"})
                    self._lock.notify_all()
                return
            buffer += chunk
            while b":" in buffer:
                length_text, _, rest = buffer.partition(b":")
                if not length_text.isdigit():
                    buffer = b""  # out of sync: drop what we have
                    break
                length = int(length_text)
                if len(rest) < length + 1:
                    break
                payload, buffer = rest[:length], rest[length + 1 :]
                try:
                    message = json.loads(payload)
                except json.JSONDecodeError:
                    message = {"event": True, "type": "GARBAGE", "raw": payload.decode("latin-1")}
                with self._lock:
                    if message.get("response"):
                        self._responses.append(message)
                    else:
                        self.events.append(message)
                    self._lock.notify_all()

    def command(self, command: str, params: str = "", timeout: float = 5.0) -> dict[str, Any]:
        """Send a ctrl_tcp command and return its response."""
        if self._sock is None:
            raise BaresipError("baresip not started")
        self._token += 1
        token = str(self._token)
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        self._sock.sendall(str(len(payload)).encode() + b":" + payload + b",")
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for response in self._responses:
                    if response.get("token") == token:
                        return response
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BaresipError(f"no response to {command!r}\n{self.diagnostics()}")
                self._lock.wait(remaining)

    def dial(self, target: str) -> dict[str, Any]:
        """Call a number at the registrar, or a full SIP URI."""
        uri = target if target.startswith("sip:") else f"sip:{target}@{self.registrar}"
        return self.command("dial", uri)

    def hangup(self) -> dict[str, Any]:
        return self.command("hangup")

    def wait_for(
        self,
        event_type: str | tuple[str, ...],
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda _e: True,
    ) -> dict[str, Any]:
        """The oldest not-yet-returned event of that type (or types) satisfying `where`."""
        wanted = (event_type,) if isinstance(event_type, str) else event_type
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for index, event in enumerate(self.events):
                    if index not in self._consumed and event.get("type") in wanted and where(event):
                        self._consumed.add(index)
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BaresipError(f"no {wanted} event in {timeout} s\n{self.diagnostics()}")
                self._lock.wait(remaining)

    def registration_state(self) -> str:
        """ "OK", "ERR" or "" (pending), from the menu module's reginfo command.

        The REGISTER_OK event is not enough: it often fires before the ctrl_tcp connection is
        up, and ctrl_tcp does not replay events.
        """
        data = ANSI_ESCAPE.sub("", str(self.command("reginfo").get("data", "")))
        for line in data.splitlines():
            if f"sip:{self.user}@" in line:
                words = line.split()
                return "OK" if "OK" in words else "ERR" if "ERR" in words else ""
        return ""

    def wait_registered(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.registration_state()
            if state == "OK":
                return state
            if state == "ERR":
                raise BaresipError(f"registration failed\n{self.diagnostics()}")
            if time.monotonic() > deadline:
                raise BaresipError(f"not registered after {timeout} s\n{self.diagnostics()}")
            time.sleep(0.1)

    def stop(self, grace: float = 3.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None and self._sock is not None:
            try:
                self.command("quit", timeout=1.0)
            except (BaresipError, OSError):
                pass
        if proc.poll() is None:
            try:
                proc.wait(grace)  # it unregisters first
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(2)
        if self._sock is not None:
            self._sock.close()
        self._log.close()
        return proc.returncode

    def __enter__(self) -> Baresip:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def diagnostics(self, tail_chars: int = 6000) -> str:
        with self._lock:
            events = "\n".join(json.dumps(e) for e in self.events)
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        hint = ""
        if "Register: Function not implemented" in log:
            hint = (
                "HINT: baresip 1.0 cannot answer a 401 that offers SHA-256 at all, not even "
                "next to MD5: the registrar must challenge with MD5 only.\n"
            )
        return hint + (
            f"--- baresip {self.user} events ---\n{events}\n"
            f"--- {self.log_path} (tail) ---\n{log[-tail_chars:]}"
        )
