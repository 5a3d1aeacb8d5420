"""Kamailio (Debian package) as the reference registrar for the REGISTER benchmark."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from benchmarks.accounts import Account
from benchmarks.procs import Daemon, ProcessError, sip_options_probe

CONFIG_TEMPLATE = Path(__file__).resolve().parent / "peers" / "kamailio_registrar.cfg"
MODULE_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/aarch64-linux-gnu/kamailio/modules"),
    Path("/usr/lib/kamailio/modules"),
)
# db_text schema version of the subscriber table that auth_db checks (kamailio 5.x).
SUBSCRIBER_TABLE_VERSION = 7


def kamailio_binary() -> str:
    path = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
    )
    if path is None:
        raise ProcessError("kamailio not found: install the Debian package kamailio")
    return path


def kamailio_version() -> str:
    out = subprocess.run(
        [kamailio_binary(), "-v"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    # "version: kamailio 5.6.3 (x86_64/linux) "
    words = out.split()
    return words[2] if len(words) > 2 and words[1] == "kamailio" else "unknown"


def _module_dir() -> Path:
    for candidate in MODULE_DIRS:
        if (candidate / "auth_db.so").exists() and (candidate / "db_text.so").exists():
            return candidate
    raise ProcessError("kamailio modules auth_db.so/db_text.so not found in " + str(MODULE_DIRS))


def write_subscribers(db_dir: Path, accounts: Sequence[Account]) -> None:
    """db_text tables: subscriber with plain-text passwords (auth_db calculate_ha1)."""
    db_dir.mkdir(parents=True, exist_ok=True)
    lines = ["id(int,auto) username(string) domain(string) password(string) "]
    lines += [f"{i}:{a.number}:127.0.0.1:{a.secret}" for i, a in enumerate(accounts, 1)]
    (db_dir / "subscriber").write_text("\n".join(lines) + "\n")
    (db_dir / "version").write_text(
        "id(int,auto) table_name(string) table_version(int) \n"
        f"1:subscriber:{SUBSCRIBER_TABLE_VERSION}\n"
    )


class KamailioRegistrar:
    def __init__(
        self, workdir: Path, accounts: Sequence[Account], *, port: int, children: int
    ) -> None:
        self.port = port
        self.children = children
        db_dir = workdir / "kamailio-db"
        write_subscribers(db_dir, accounts)
        config = (
            CONFIG_TEMPLATE.read_text()
            .replace("@@CHILDREN@@", str(children))
            .replace("@@PORT@@", str(port))
            .replace("@@MODULES@@", str(_module_dir()))
            .replace("@@DBDIR@@", str(db_dir))
        )
        self.config_path = workdir / "kamailio.cfg"
        self.config_path.write_text(config)
        # -DD: stay in the foreground but still fork the worker children; -E: log to stderr.
        # Runtime dir in the work dir so that no /run/kamailio is needed.
        argv = [
            kamailio_binary(), "-DD", "-E",
            "-f", str(self.config_path),
            "-Y", str(workdir),
            "-m", "64", "-M", "8",
        ]  # fmt: skip
        self.daemon = Daemon("kamailio", argv, log_path=workdir / "kamailio.log")

    def start(self) -> None:
        self.daemon.start()
        self.daemon.wait_ready(
            lambda: sip_options_probe(self.port), timeout=15, what="answering SIP"
        )

    def cpu_seconds(self) -> float:
        return self.daemon.cpu_seconds()

    def stop(self) -> None:
        self.daemon.stop()
