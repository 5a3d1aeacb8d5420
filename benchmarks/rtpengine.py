"""rtpengine (Debian package rtpengine-daemon) as the media peer, driven over its ng protocol.

Userspace forwarding only (`table = -1`: no kernel module), on 127.0.0.1, configured by
peers/rtpengine.conf plus command-line options for the ports and the recording directory.
The ng control protocol is bencode over UDP: each request is `<cookie> <bencoded dict>`
and the reply `<cookie> <bencoded dict>` with "result": "ok" or "error" and
"error-reason". The benchmark uses "offer" (the caller's SDP, returns the SDP for the
callee), "answer" (the callee's SDP, returns the SDP for the caller), "delete" and "ping".
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from benchmarks.procs import LOOPBACK, Daemon, ProcessError

CONFIG = Path(__file__).with_name("peers") / "rtpengine.conf"
NG_TIMEOUT = 5.0


class BencodeError(ValueError):
    """Bytes that are not bencode, or a value bencode cannot carry."""


# -- bencode (BitTorrent BEP 3: integers, byte strings, lists, dictionaries with sorted keys)


def bencode(value) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise BencodeError("bencode has no booleans")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, str | bytes):
        data = value.encode() if isinstance(value, str) else value
        out.append(b"%d:" % len(data))
        out.append(data)
    elif isinstance(value, list | tuple):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        keys = {(k.encode() if isinstance(k, str) else k): v for k, v in value.items()}
        for key in sorted(keys):
            _encode(key, out)
            _encode(keys[key], out)
        out.append(b"e")
    else:
        raise BencodeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes):
    """Decode one value; byte strings come back as str when they are UTF-8, else bytes."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise BencodeError(f"{len(data) - end} bytes after the value")
    return value


def _decode(data: bytes, pos: int):
    if pos >= len(data):
        raise BencodeError("truncated")
    lead = data[pos : pos + 1]
    if lead == b"i":
        end = data.index(b"e", pos)
        return int(data[pos + 1 : end]), end + 1
    if lead == b"l":
        items, pos = [], pos + 1
        while data[pos : pos + 1] != b"e":
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos + 1
    if lead == b"d":
        result, pos = {}, pos + 1
        while data[pos : pos + 1] != b"e":
            key, pos = _decode(data, pos)
            result[key], pos = _decode(data, pos)
        return result, pos + 1
    if lead.isdigit():
        colon = data.index(b":", pos)
        length = int(data[pos:colon])
        raw = data[colon + 1 : colon + 1 + length]
        if len(raw) != length:
            raise BencodeError("truncated string")
        try:
            return raw.decode(), colon + 1 + length
        except UnicodeDecodeError:
            return raw, colon + 1 + length
    raise BencodeError(f"unexpected byte {lead!r} at {pos}")


# -- the ng client ----------------------------------------------------------------------------


class NgError(ProcessError):
    """rtpengine refused a command or did not answer it."""


class NgClient:
    def __init__(self, port: int, host: str = LOOPBACK):
        self.address = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(NG_TIMEOUT)

    def command(self, name: str, **params) -> dict:
        cookie = secrets.token_hex(8).encode()
        message = {"command": name, **{k.replace("_", "-"): v for k, v in params.items()}}
        request = cookie + b" " + bencode(message)
        for _ in range(2):  # one retransmission: UDP on loopback, but the daemon may be busy
            self.sock.sendto(request, self.address)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65535)
                    got, _, body = data.partition(b" ")
                    if got == cookie:
                        break
            except TimeoutError:
                continue
            reply = bdecode(body)
            if not isinstance(reply, dict) or reply.get("result") not in ("ok", "pong"):
                reason = reply.get("error-reason") if isinstance(reply, dict) else reply
                raise NgError(f"rtpengine {name} failed: {reason}")
            return reply
        raise NgError(f"rtpengine did not answer {name} within {2 * NG_TIMEOUT:.0f} s")

    def ping(self) -> bool:
        try:
            return self.command("ping").get("result") == "pong"
        except (NgError, OSError):
            return False

    def close(self) -> None:
        self.sock.close()


# -- the daemon -------------------------------------------------------------------------------


def rtpengine_binary() -> str:
    path = shutil.which("rtpengine")
    if path is None:
        raise ProcessError(
            "rtpengine not found: install the Debian package rtpengine-daemon "
            "(apt-get install rtpengine-daemon)"
        )
    return path


def rtpengine_version() -> str:
    try:
        out = subprocess.run(
            [rtpengine_binary(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (ProcessError, OSError, subprocess.SubprocessError):
        return "unknown"
    text = (out.stdout + out.stderr).strip()
    return text.rsplit(":", 1)[-1].strip() or "unknown"


def rtpengine_codecs() -> dict[str, str]:
    """`rtpengine --codecs`: codec name -> "fully supported", "supported for decoding only"...
    (an empty dict when rtpengine cannot tell: a build without transcoding)."""
    try:
        out = subprocess.run(
            [rtpengine_binary(), "--codecs"], capture_output=True, text=True, timeout=10
        )
    except (ProcessError, OSError, subprocess.SubprocessError):
        return {}
    codecs = {}
    for line in (out.stdout + out.stderr).splitlines():
        name, colon, support = line.partition(":")
        if colon:
            codecs[name.strip()] = support.strip()
    return codecs


class Rtpengine:
    """One rtpengine daemon in its own process group, foreground, logging to a file."""

    def __init__(
        self,
        workdir: Path,
        *,
        ng_port: int,
        rtp_ports: tuple[int, int],
        recording_dir: Path | None = None,
    ):
        self.ng_port = ng_port
        self.recording_dir = recording_dir
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            rtpengine_binary(),
            f"--config-file={CONFIG}",
            "--config-section=bench",
            f"--listen-ng={LOOPBACK}:{ng_port}",
            f"--port-min={rtp_ports[0]}",
            f"--port-max={rtp_ports[1]}",
            f"--pidfile={workdir / 'rtpengine.pid'}",
        ]
        if recording_dir is not None:
            recording_dir.mkdir(parents=True, exist_ok=True)
            argv += [f"--recording-dir={recording_dir}", "--recording-method=pcap"]
        # Its own work directory as cwd: rtpengine raises its core-size limit, and 10.5 crashes
        # when it stops with calls still recording (see stop()); a core must not land elsewhere.
        self.daemon = Daemon("rtpengine", argv, log_path=workdir / "rtpengine.log", cwd=workdir)
        self.ng: NgClient | None = None

    @property
    def threads(self) -> int:
        """Threads of the daemon now (workers, timers, control)."""
        try:
            return len(list(Path(f"/proc/{self.daemon.pid}/task").iterdir()))
        except (OSError, ProcessError):
            return 0

    def start(self) -> None:
        self.daemon.start()
        self.ng = NgClient(self.ng_port)
        self.daemon.wait_ready(self.ng.ping, timeout=20, what="answering ng ping")

    def cpu_seconds(self) -> float:
        return self.daemon.cpu_seconds()

    def stop(self) -> None:
        """Callers delete their calls first: rtpengine 10.5.3.5 segfaults in recording_finish()
        when it frees a call still recording at shutdown."""
        if self.ng is not None:
            self.ng.close()
        self.daemon.stop()
