"""The boot chain on the QEMU twin: U-Boot, initramfs, A/B slots, read-only root, /data.

These hold for the product image and for the busybox stand-in alike (tests/qemu/standin.py).
Every test boots its own copy of the built image.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import record_boot
from .disk import partitions, read_slot_state, wreck_partition, write_slot_state
from .guest import Guest, GuestError

pytestmark = pytest.mark.qemu

MAX_TRIES = 3


def mounts(guest: Guest) -> dict[str, tuple[str, str, set[str]]]:
    """mount point -> (source, type, options) of the last mount there (the visible one)."""
    table: dict[str, tuple[str, str, set[str]]] = {}
    for line in guest.check("cat /proc/mounts").splitlines():
        fields = line.split()
        if len(fields) >= 4:
            table[fields[1]] = (fields[0], fields[2], set(fields[3].split(",")))
    return table


def boot_env(guest: Guest) -> dict[str, str]:
    text = guest.check("cat /run/coocenter/boot.env")
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


def slot_status(guest: Guest) -> dict[str, str]:
    text = guest.check("slotctl status")
    return {
        k: v.strip('"')
        for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line)
    }


def wait_marked_good(guest: Guest, slot: str, timeout: float = 240.0) -> float:
    """Wait until the booted slot's tries are back to the maximum; seconds waited."""
    start = time.monotonic()
    while True:
        status = slot_status(guest)
        if status.get(f"BOOT_{slot}_LEFT") == str(MAX_TRIES):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise GuestError(f"slot {slot} not marked good in {timeout:.0f} s: {status}")
        time.sleep(3)


def host_health(guest: Guest, timeout: float = 240.0) -> dict:
    """GET /api/v1/health from the host, through QEMU's forward, until it answers."""
    url = f"{guest.http_base}/api/v1/health"
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            guest.host_command(["curl", "-sf", "--max-time", "5", url]),
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            return json.loads(done.stdout)
        if time.monotonic() > deadline:
            raise GuestError(
                f"{url} did not answer from the host in {timeout:.0f} s "
                f"(curl {done.returncode}: {done.stderr.strip()})"
            )
        time.sleep(2)


def test_first_boot_of_slot_a(fresh_disk, start_guest) -> None:
    disk = fresh_disk()
    assert read_slot_state(disk) == {"BOOT_ORDER": "A B", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}
    guest: Guest = start_guest(disk)
    sequence = guest.wait_boot()
    record_boot("slot A, first boot", sequence)
    assert sequence.slots() == ["A"]
    guest.login()

    # / is slot A's squashfs (partition rootfs_a = vda2), read-only
    table = mounts(guest)
    source, fstype, options = table["/"]
    assert (source, fstype) == (f"/dev/vda{partitions(disk)['rootfs_a'].number}", "squashfs")
    assert "ro" in options
    status, output = guest.run("touch /probe-on-root")
    assert status != 0 and "Read-only file system" in output, output

    # /data read-write ext4; volatile state in RAM
    source, fstype, options = table["/data"]
    assert (source, fstype) == (f"/dev/vda{partitions(disk)['data'].number}", "ext4")
    assert "rw" in options
    for path in ("/run", "/tmp", "/var/volatile"):
        assert table[path][1] == "tmpfs", (path, table[path])
    assert table["/var"][1] == "overlay", table["/var"]

    env = boot_env(guest)
    assert env["BOOTED_SLOT"] == "A" and env["DATA_STATE"] == "ok", env
    assert guest.check("slotctl get-current") == "A"

    # the try this boot took, then given back once the health check answers
    assert host_health(guest) == {"status": "ok"}
    wait_marked_good(guest, "A")
    guest.check("sync")
    guest.stop()
    assert read_slot_state(disk) == {"BOOT_ORDER": "A B", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}


def test_data_survives_a_reboot_and_volatile_state_does_not(fresh_disk, start_guest) -> None:
    guest: Guest = start_guest(fresh_disk())
    guest.wait_boot()
    guest.login()
    token = secrets.token_hex(8)
    guest.check(
        f"echo {token} > /data/probe && echo {token} > /tmp/probe && "
        f"echo {token} > /var/probe && sync"
    )
    guest.reboot()
    sequence = guest.wait_boot()
    record_boot("slot A, reboot", sequence)
    assert sequence.slots() == ["A"]
    guest.login()
    assert guest.check("cat /data/probe") == token
    for volatile in ("/tmp/probe", "/var/probe"):
        status, _ = guest.run(f"test -e {volatile}")
        assert status != 0, f"{volatile} survived the reboot"


def test_slot_b_boots_when_it_is_first(fresh_disk, start_guest, tmp_path: Path) -> None:
    disk = fresh_disk()
    write_slot_state(disk, tmp_path, "B A", MAX_TRIES, MAX_TRIES)
    guest: Guest = start_guest(disk)
    sequence = guest.wait_boot()
    record_boot("slot B", sequence)
    assert sequence.slots() == ["B"]
    guest.login()
    source, fstype, options = mounts(guest)["/"]
    assert (source, fstype) == (f"/dev/vda{partitions(disk)['rootfs_b'].number}", "squashfs")
    assert "ro" in options
    assert boot_env(guest)["BOOTED_SLOT"] == "B"
    assert slot_status(guest)["BOOT_B_LEFT"] in {str(MAX_TRIES - 1), str(MAX_TRIES)}
    wait_marked_good(guest, "B")
    guest.stop()
    assert read_slot_state(disk) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}


def test_slot_b_that_cannot_boot_falls_back_to_a(fresh_disk, start_guest, tmp_path: Path) -> None:
    disk = fresh_disk()
    write_slot_state(disk, tmp_path, "B A", MAX_TRIES, MAX_TRIES)
    wreck_partition(disk, "rootfs_b")
    guest: Guest = start_guest(disk)
    sequence = guest.wait_boot(timeout=600)
    record_boot("slot B broken -> fallback to A", sequence)

    # B is tried once per try it has, each attempt fails and resets, then A boots
    assert sequence.slots() == ["B"] * MAX_TRIES + ["A"], sequence
    for attempt in sequence.attempts[:-1]:
        assert attempt.fatal and "cannot mount" in attempt.fatal, attempt
    assert sequence.final.fatal is None
    guest.login()
    # the device knows it runs the fallback, not the slot it was told to run
    env = boot_env(guest)
    assert (env["BOOTED_SLOT"], env["PRIMARY_SLOT"]) == ("A", "B"), env
    assert "slot B has no tries left: falling back to slot A" in guest.console_tail(200000)
    status = slot_status(guest)
    assert status["BOOT_B_LEFT"] == "0", status
    assert guest.check("slotctl get-state B") == "bad"
    wait_marked_good(guest, "A")
    guest.stop()
    assert read_slot_state(disk) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "0"}
