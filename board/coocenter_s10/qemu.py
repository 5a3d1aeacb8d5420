#!/usr/bin/env python3
"""Boot the CooCenter S10 disk image on its QEMU twin (`make qemu`).

    qemu.py [--disk output/images/disk.img] [--http-port 18080] [--sip-port 15060]
            [--ssh-port 10022] [--rtp-ports 10000-10099] [--snapshot] [--dry-run]

The twin: `qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024`, Debian's U-Boot
(u-boot-qemu, qemu_arm64) as firmware, the disk as virtio-blk, virtio-net on QEMU's user
networking with host forwards to the guest's HTTP (8080), SIP (5060 UDP+TCP), SSH (22) and
RTP ports, a virtio RNG and an i6300esb watchdog (systemd pets it; a hung boot resets).
The serial console is this terminal: Ctrl-A X quits QEMU, Ctrl-A C toggles its monitor.

Tests import `qemu_command()` so that they boot exactly what `make qemu` boots.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DISK = REPO / "output" / "images" / "disk.img"
UBOOT = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")  # Debian package u-boot-qemu
QEMU = "qemu-system-aarch64"  # Debian package qemu-system-arm
GUEST_HTTP_PORT = 8080
GUEST_SIP_PORT = 5060
GUEST_SSH_PORT = 22
GUEST_ADDRESS = "10.0.2.15"  # QEMU user networking gives the guest this address
HOST_ALIAS = "10.0.2.2"  # ... and reaches the host's loopback at this one


@dataclass(frozen=True)
class Forwards:
    """Host ports forwarded to the guest. RTP ports keep their number on both sides."""

    http: int = 18080
    sip: int = 15060
    ssh: int = 10022
    rtp: tuple[int, int] | None = (10000, 10099)  # None: no RTP forwards
    host_address: str = "127.0.0.1"  # where QEMU listens on the host side

    def netdev(self) -> str:
        addr = self.host_address
        rules = [
            f"hostfwd=tcp:{addr}:{self.http}-:{GUEST_HTTP_PORT}",
            f"hostfwd=udp:{addr}:{self.sip}-:{GUEST_SIP_PORT}",
            f"hostfwd=tcp:{addr}:{self.sip}-:{GUEST_SIP_PORT}",
            f"hostfwd=tcp:{addr}:{self.ssh}-:{GUEST_SSH_PORT}",
        ]
        if self.rtp is not None:
            low, high = self.rtp
            rules += [f"hostfwd=udp:{addr}:{port}-:{port}" for port in range(low, high + 1)]
        return ",".join(["user", "id=net0", *rules])


class LaunchError(Exception):
    """QEMU cannot be started as asked; the message names what is missing."""


def check_host(disk: Path) -> None:
    if shutil.which(QEMU) is None:
        raise LaunchError(f"{QEMU} not found: apt-get install qemu-system-arm")
    if not UBOOT.exists():
        raise LaunchError(f"{UBOOT} not found: apt-get install u-boot-qemu")
    if not disk.exists():
        raise LaunchError(f"{disk} not found: build it first (make image)")


def qemu_command(
    disk: Path,
    forwards: Forwards | None = None,
    *,
    memory_mb: int = 1024,
    cpus: int = 2,
    snapshot: bool = False,
    interactive: bool = True,
) -> list[str]:
    """The QEMU command line of the twin. `interactive` False: serial on stdio without the
    monitor mux (for pexpect), so that no byte the test sends is taken as a QEMU escape."""
    forwards = forwards or Forwards()
    drive = f"if=none,id=disk0,format=raw,file={disk},cache=writeback"
    if snapshot:
        drive += ",snapshot=on"
    cmd = [
        QEMU,
        "-M",
        "virt",
        "-cpu",
        "cortex-a57",
        "-smp",
        str(cpus),
        "-m",
        str(memory_mb),
        "-bios",
        str(UBOOT),
        "-drive",
        drive,
        "-device",
        "virtio-blk-pci,drive=disk0",
        "-netdev",
        forwards.netdev(),
        "-device",
        "virtio-net-pci,netdev=net0,romfile=",  # no PXE ROM: U-Boot boots the disk
        "-device",
        "virtio-rng-pci",
        "-device",
        "i6300esb",
        "-action",
        "watchdog=reset",
    ]
    if interactive:
        cmd.append("-nographic")
    else:
        cmd += ["-display", "none", "-monitor", "none", "-serial", "stdio"]
    return cmd


def banner(forwards: Forwards) -> str:
    host = forwards.host_address
    low, high = forwards.rtp or (0, -1)
    return "\n".join(
        [
            "CooCenter S10 on QEMU (aarch64, virt). The serial console follows; Ctrl-A X quits.",
            f"  web UI and API : http://{host}:{forwards.http}/  "
            f"(health: http://{host}:{forwards.http}/api/v1/health)",
            f"  SIP            : sip:{host}:{forwards.sip} (UDP and TCP), e.g. a phone registers "
            f"as <ext>@{host}:{forwards.sip}",
            f"  SSH            : ssh -p {forwards.ssh} root@{host} (keys in /data/ssh)",
            f"  RTP            : UDP {low}-{high} forwarded 1:1; the guest's pbxd must use ports "
            "in this range",
            f"  note           : the guest is {GUEST_ADDRESS} behind QEMU's NAT; pbxd latches RTP "
            "to where the phone sends from",
            "",
        ]
    )


def _port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disk", type=Path, default=DEFAULT_DISK)
    parser.add_argument("--http-port", type=int, default=Forwards.http)
    parser.add_argument("--sip-port", type=int, default=Forwards.sip)
    parser.add_argument("--ssh-port", type=int, default=Forwards.ssh)
    parser.add_argument("--rtp-ports", type=_port_range, default=Forwards.rtp, metavar="LOW-HIGH")
    parser.add_argument(
        "--snapshot", action="store_true", help="discard every write to the disk when QEMU exits"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the command only")
    args = parser.parse_args(argv)
    forwards = Forwards(args.http_port, args.sip_port, args.ssh_port, args.rtp_ports)
    cmd = qemu_command(args.disk, forwards, snapshot=args.snapshot)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    try:
        check_host(args.disk)
    except LaunchError as exc:
        print(f"qemu: {exc}", file=sys.stderr)
        return 1
    print(banner(forwards), flush=True)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
