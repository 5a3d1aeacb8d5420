"""Drive the firmware under QEMU through its serial console (pexpect).

`Guest` boots a disk image with the command line of `make qemu` (board/coocenter_s10/qemu.py),
follows the boot on the console (U-Boot, kernel, the initramfs's slot choice, login prompt),
logs in as root and runs shell commands, each returning (status, output). The whole console
is kept in `<workdir>/console.log`.

With `netns=True` QEMU runs in a network namespace of its own where the guest's address
10.0.2.15 is also an address of the namespace's loopback and the forwards keep the guest's port
numbers. A phone started in that namespace (`Guest.host_command`) then reaches the guest at the
very address and ports pbxd writes into SIP and SDP, as a phone on the appliance's LAN would;
the guest reaches the phone through QEMU's NAT (10.0.2.2), and pbxd latches RTP to it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "board" / "coocenter_s10"


def _load_launcher():
    spec = importlib.util.spec_from_file_location("coocenter_qemu", BOARD / "qemu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()
Forwards = launcher.Forwards
GUEST_ADDRESS = launcher.GUEST_ADDRESS

PROMPT = "QEMU-TEST-PROMPT# "
# base64 characters per console line of Guest.write_file
CONSOLE_CHUNK = 1024
# terminal control sequences (bash's bracketed paste, colours) that are not output
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)")
LOGIN_PROMPT = re.compile(rb"\S+ login: ")
SLOT_LINE = re.compile(rb"initramfs: booting slot ([AB])\b")
FATAL_LINE = re.compile(rb"initramfs: FATAL: ([^\r\n]*)\r*\n")
PANIC_LINE = re.compile(rb"Kernel panic - not syncing: ([^\r\n]*)\r*\n")
UBOOT_LINE = re.compile(rb"U-Boot 20\d\d")
KERNEL_LINE = re.compile(rb"Starting kernel \.\.\.")


class GuestError(AssertionError):
    """The guest did not do what the test waited for; carries the console tail."""


@dataclass
class Boot:
    """One boot attempt as seen on the console: seconds since QEMU started or reset."""

    slot: str | None = None
    firmware_at: float | None = None
    kernel_at: float | None = None
    initramfs_at: float | None = None
    login_at: float | None = None
    fatal: str | None = None


@dataclass
class BootSequence:
    """Every boot attempt until a login prompt, the failed ones first."""

    attempts: list[Boot] = field(default_factory=list)

    @property
    def final(self) -> Boot:
        return self.attempts[-1]

    def slots(self) -> list[str | None]:
        return [attempt.slot for attempt in self.attempts]


class Guest:
    def __init__(
        self,
        disk: Path,
        workdir: Path,
        *,
        forwards: Forwards | None = None,
        netns: bool = False,
        password: str,
        memory_mb: int = 1024,
    ) -> None:
        self.disk = disk
        self.workdir = workdir
        self.netns = netns
        if forwards is None:
            forwards = (
                # every address of the namespace: clients must connect from 127.0.0.1, which
                # QEMU's NAT shows the guest as 10.0.2.2 (from 10.0.2.15 the guest would see
                # its own address and never answer)
                Forwards(http=8080, sip=5060, ssh=22, host_address="") if netns else Forwards()
            )
        self.forwards = forwards
        self.password = password
        self.memory_mb = memory_mb
        self.child: pexpect.spawn | None = None
        self._log = None
        self._started = 0.0
        self.boots: list[BootSequence] = []
        self.ready_at: float | None = None  # seconds from power-on to pbxd healthy
        self.autologin = False  # the console logged root in without asking for the password

    # -- life cycle --------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = launcher.qemu_command(
            self.disk, self.forwards, memory_mb=self.memory_mb, interactive=False
        )
        if not self.netns:
            return cmd
        setup = f'ip link set lo up && ip addr add {GUEST_ADDRESS}/32 dev lo && exec "$@"'
        return ["unshare", "--net", "--", "sh", "-c", setup, "sh", *cmd]

    def start(self) -> Guest:
        launcher.check_host(self.disk)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.workdir / "console.log", "ab")  # noqa: SIM115 - closed in stop()
        cmd = self.command()
        (self.workdir / "qemu-command.txt").write_text(shlex.join(cmd) + "\n")
        self._started = time.monotonic()
        self.child = pexpect.spawn(
            cmd[0],
            cmd[1:],
            timeout=60,
            logfile=self._log,
            maxread=65536,
            searchwindowsize=None,
            echo=False,
        )
        return self

    def stop(self) -> None:
        if self.child is not None and self.child.isalive():
            self.child.terminate(force=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Guest:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.child is not None
        return self.child.pid

    def host_command(self, cmd: list[str]) -> list[str]:
        """A host command line that reaches the guest's forwards (inside the namespace)."""
        if not self.netns:
            return cmd
        return ["nsenter", f"--net=/proc/{self.pid}/ns/net", "--", *cmd]

    @property
    def http_base(self) -> str:
        return f"http://{self.forwards.host_address or '127.0.0.1'}:{self.forwards.http}"

    # -- console -----------------------------------------------------------------------------

    def console_tail(self, chars: int = 6000) -> str:
        path = self.workdir / "console.log"
        if self._log is not None:
            self._log.flush()
        text = path.read_bytes().decode(errors="replace") if path.exists() else ""
        return text[-chars:]

    def _expect(self, patterns: list, timeout: float) -> int:
        assert self.child is not None
        try:
            return self.child.expect(patterns, timeout=timeout)
        except pexpect.TIMEOUT:
            raise GuestError(
                f"timeout ({timeout:.0f} s) waiting for {patterns}\n--- console ---\n"
                f"{self.console_tail()}"
            ) from None
        except pexpect.EOF:
            raise GuestError(f"QEMU ended\n--- console ---\n{self.console_tail()}") from None

    def wait_boot(self, timeout: float = 300.0, max_attempts: int = 8) -> BootSequence:
        """Follow boot attempts (resets included) until a login prompt."""
        sequence = BootSequence()
        boot = Boot()
        attempt_start = self._started if not self.boots else time.monotonic()
        deadline = time.monotonic() + timeout
        patterns = [UBOOT_LINE, KERNEL_LINE, SLOT_LINE, FATAL_LINE, PANIC_LINE, LOGIN_PROMPT]
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"no login prompt within {timeout:.0f} s\n{self.console_tail()}")
            index = self._expect(patterns, left)
            now = time.monotonic()
            if index == 0:  # firmware banner: a new attempt (power-on or reset)
                if boot.firmware_at is not None:
                    sequence.attempts.append(boot)
                    boot = Boot()
                    attempt_start = now
                    if len(sequence.attempts) >= max_attempts:
                        raise GuestError(
                            f"{max_attempts} boot attempts without a login prompt"
                            f"\n{self.console_tail()}"
                        )
                boot.firmware_at = now - attempt_start
            elif index == 1:
                boot.kernel_at = now - attempt_start
            elif index == 2:
                boot.slot = self.child.match.group(1).decode()
                boot.initramfs_at = now - attempt_start
            elif index in (3, 4):
                boot.fatal = self.child.match.group(1).decode(errors="replace").strip()
            else:
                boot.login_at = now - attempt_start
                sequence.attempts.append(boot)
                self.boots.append(sequence)
                return sequence

    def login(self, timeout: float = 60.0) -> None:
        """Log in as root at the login prompt just seen; set a prompt the test recognises."""
        assert self.child is not None
        self.child.sendline("root")
        index = self._expect([b"Password: ", b"(automatic login)"], timeout)
        self.autologin = index == 1  # a test image's getty; the product must ask (tests check)
        if not self.autologin:
            self.child.sendline(self.password)
        index = self._expect([rb"[#$] ", b"Login incorrect", LOGIN_PROMPT], timeout)
        if index != 0:
            raise GuestError(f"root login refused\n{self.console_tail()}")
        # the prompt is split in the command, so that its echo cannot pass for the prompt
        head, tail = PROMPT[:5], PROMPT[5:]
        self.child.sendline(
            f"stty -echo; PS1='{head}''{tail}'; export PS1 TERM=dumb SYSTEMD_COLORS=0 "
            "SYSTEMD_PAGER=; bind 'set enable-bracketed-paste off' 2>/dev/null"
        )
        self._expect([PROMPT.encode()], timeout)

    def run(self, command: str, timeout: float = 60.0) -> tuple[int, str]:
        """Run a shell command on the console: (exit status, output)."""
        assert self.child is not None
        marker = f"__RC{int(time.monotonic() * 1000) % 100000}__"
        self.child.sendline(f"{command}; echo {marker}$?{marker}")
        self._expect([re.compile(rf"{marker}(\d+){marker}".encode())], timeout)
        output = ANSI_ESCAPE.sub("", self.child.before.decode(errors="replace"))
        output = output.replace("\r", "")
        status = int(self.child.match.group(1))
        self._expect([PROMPT.encode()], timeout)
        return status, output.strip("\n")

    def check(self, command: str, timeout: float = 60.0) -> str:
        """Run a command that must succeed; its output."""
        status, output = self.run(command, timeout)
        if status != 0:
            raise GuestError(f"`{command}` exited {status}:\n{output}")
        return output

    def write_file(self, dest: str, data: bytes, timeout: float = 60.0) -> None:
        """Put a small file into the guest through the console (no network, no ssh key):
        base64 in short lines (a tty line holds at most 4095 bytes), checked by its SHA-256."""
        encoded = base64.b64encode(data).decode()
        staging = f"{dest}.b64"
        self.check(f": > {shlex.quote(staging)}", timeout)
        for start in range(0, len(encoded), CONSOLE_CHUNK):
            chunk = encoded[start : start + CONSOLE_CHUNK]
            self.check(f"printf %s {chunk} >> {shlex.quote(staging)}", timeout)
        self.check(
            f"base64 -d {shlex.quote(staging)} > {shlex.quote(dest)} && rm {shlex.quote(staging)}",
            timeout,
        )
        digest = self.check(f"sha256sum {shlex.quote(dest)}", timeout).split()[0]
        if digest != hashlib.sha256(data).hexdigest():
            raise GuestError(f"{dest} arrived damaged in the guest (SHA-256 {digest})")

    def reboot(self) -> None:
        """Reboot from the shell; wait_boot() follows the next boot."""
        assert self.child is not None
        self.child.sendline("reboot")

    def wait_output(self, pattern: str | bytes, timeout: float) -> re.Match:
        """Wait for a line on the console (outside any command)."""
        raw = pattern.encode() if isinstance(pattern, str) else pattern
        self._expect([re.compile(raw)], timeout)
        assert self.child is not None
        return self.child.match
