"""The sippy B2BUA (PyPI `sippy`) as the reference for the call-setup benchmark.

It runs `b2bua` (sippy.b2bua) with a static route to the sipp UAS, no RADIUS
authentication or accounting, and, when the PyPI package `rtp-io` is installed, an
embedded rtpproxy (`rtp.io:`) so that it anchors RTP like pbxd does: every call gets
relay ports and both SDP bodies are rewritten.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

from benchmarks.procs import LOOPBACK, Daemon, ProcessError, sip_options_probe


def b2bua_binary() -> Path:
    path = Path(sys.executable).with_name("b2bua")
    if not path.exists():
        raise ProcessError(f"{path} not found: install the PyPI package sippy in the venv")
    return path


def rtp_io_available() -> bool:
    return importlib.util.find_spec("rtp.io") is not None


def sippy_version() -> str:
    try:
        return importlib.metadata.version("sippy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def rtp_io_version() -> str:
    try:
        return importlib.metadata.version("rtp-io")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


class SippyB2bua:
    def __init__(
        self, workdir: Path, *, port: int, next_hop_port: int, rtp_ports: tuple[int, int]
    ) -> None:
        self.port = port
        self.anchors_rtp = rtp_io_available()
        argv = [
            str(b2bua_binary()),
            f"--sip_address={LOOPBACK}",
            f"--sip_port={port}",
            "--foreground=on",
            "--auth_enable=off",
            "--acct_enable=off",
            f"--static_route={LOOPBACK}:{next_hop_port}",
            f"--b2bua_socket={workdir / 'b2bua.sock'}",
            f"--pidfile={workdir / 'b2bua.pid'}",
            f"--logfile={workdir / 'b2bua-sippy.log'}",
        ]
        if self.anchors_rtp:
            low, high = rtp_ports
            # rtpproxy's own options, ';'-separated: errors only, no root warning,
            # relay ports on loopback in the given range.
            rtpproxy_args = ["-d", "ERR", "-F", "-l", LOOPBACK, "-m", str(low), "-M", str(high)]
            argv.append("--rtp_proxy_clients=rtp.io:" + ";".join(rtpproxy_args))
        # Per-message logging would dominate the measurement: warnings and errors only.
        env = {**os.environ, "SIPLOG_LVL": "WARN"}
        self.daemon = Daemon(
            "sippy b2bua", argv, log_path=workdir / "b2bua.log", env=env, cwd=workdir
        )

    def start(self) -> None:
        self.daemon.start()
        self.daemon.wait_ready(
            lambda: sip_options_probe(self.port), timeout=20, what="answering SIP"
        )

    def cpu_seconds(self) -> float:
        return self.daemon.cpu_seconds()

    def stop(self) -> None:
        self.daemon.stop()
