"""Host-side access to a copy of the firmware disk image: GPT, boot partition, data partition.

Everything here works on the test's own copy (never on output/images/disk.img) and only while
no QEMU has it open. Tools: mtools (boot partition, vfat), debugfs (data partition, ext4) and
openssl (password hash), all addressed by byte offset inside the image.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512


class DiskError(AssertionError):
    """The image does not have the layout the board defines, or a tool failed on it."""


@dataclass(frozen=True)
class Partition:
    number: int  # 1-based, as the kernel names it (vda1)
    name: str  # GPT partition name (genimage.cfg)
    offset: int  # bytes
    size: int  # bytes
    type_guid: str


def partitions(disk: Path) -> dict[str, Partition]:
    """The GPT entries of `disk`, by partition name (UEFI spec 5.3)."""
    with open(disk, "rb") as image:
        image.seek(SECTOR)
        header = image.read(92)
        if header[:8] != b"EFI PART":
            raise DiskError(f"{disk} has no GPT header")
        entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
        image.seek(entries_lba * SECTOR)
        table = image.read(count * entry_size)
    found: dict[str, Partition] = {}
    for index in range(count):
        entry = table[index * entry_size : (index + 1) * entry_size]
        type_guid = uuid.UUID(bytes_le=entry[:16])
        if type_guid.int == 0:
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        name = entry[56:128].decode("utf-16-le").rstrip("\0")
        found[name] = Partition(
            index + 1, name, first * SECTOR, (last - first + 1) * SECTOR, str(type_guid).upper()
        )
    return found


def copy_image(source: Path, target: Path) -> Path:
    """A sparse copy: the image is mostly holes."""
    if not source.exists():
        raise DiskError(f"{source} does not exist: build the image first (make image)")
    subprocess.run(["cp", "--sparse=always", str(source), str(target)], check=True)
    return target


def _run(cmd: list[str], what: str, stdin: bytes | None = None) -> str:
    if shutil.which(cmd[0]) is None:
        raise DiskError(f"{cmd[0]} is not installed (needed to {what})")
    done = subprocess.run(cmd, input=stdin, capture_output=True)
    if done.returncode != 0:
        raise DiskError(
            f"{what}: {' '.join(cmd)} -> {done.returncode}\n"
            f"{done.stdout.decode(errors='replace')}"
            f"{done.stderr.decode(errors='replace')}"
        )
    return done.stdout.decode(errors="replace")


def _boot(disk: Path) -> str:
    return f"{disk}@@{partitions(disk)['boot'].offset}"


def read_boot_file(disk: Path, name: str) -> str:
    return _run(["mtype", "-i", _boot(disk), f"::{name}"], f"read {name} from the boot partition")


def write_boot_file(disk: Path, name: str, text: str, workdir: Path) -> None:
    local = workdir / Path(name).name
    local.write_text(text)
    _run(
        ["mcopy", "-o", "-i", _boot(disk), str(local), f"::{name}"],
        f"write {name} to the boot partition",
    )


def boot_files(disk: Path) -> list[str]:
    listing = _run(["mdir", "-b", "-i", _boot(disk), "::/"], "list the boot partition")
    return sorted(line.rsplit("/", 1)[-1] for line in listing.split() if line.strip("/:"))


def read_slot_state(disk: Path) -> dict[str, str]:
    """slot.env as a dict (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT), quotes removed."""
    state: dict[str, str] = {}
    for line in read_boot_file(disk, "slot.env").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            state[key.strip()] = value.strip().strip('"')
    return state


def write_slot_state(disk: Path, workdir: Path, order: str, a_left: int, b_left: int) -> None:
    write_boot_file(
        disk,
        "slot.env",
        f'BOOT_ORDER="{order}"\nBOOT_A_LEFT={a_left}\nBOOT_B_LEFT={b_left}\n',
        workdir,
    )


def wreck_partition(disk: Path, name: str, length: int = 4 << 20) -> None:
    """Overwrite the start of a partition with a pattern: its file system no longer mounts."""
    part = partitions(disk)[name]
    with open(disk, "r+b") as image:
        image.seek(part.offset)
        image.write(b"\xde\xad\xbe\xef" * (min(length, part.size) // 4))


def _data(disk: Path) -> str:
    return f"{disk}?offset={partitions(disk)['data'].offset}"


def debugfs(disk: Path, *requests: str, write: bool = False) -> str:
    """Run debugfs requests on the data partition (one with -R, several from a script)."""
    cmd = ["debugfs"] + (["-w"] if write else [])
    if len(requests) == 1:
        return _run(
            [*cmd, "-R", requests[0], _data(disk)], f"debugfs {requests[0]!r} on the data partition"
        )
    script = "\n".join(requests) + "\n"
    return _run(
        [*cmd, "-f", "-", _data(disk)], "debugfs on the data partition", stdin=script.encode()
    )


def data_file(disk: Path, path: str) -> str:
    """A file of the data partition (path relative to /data), read on the host."""
    return debugfs(disk, f"cat /{path.lstrip('/')}")


def data_listing(disk: Path, path: str = "/") -> str:
    return debugfs(disk, f"ls -l {path}")


def provision_root_password(disk: Path, password: str, workdir: Path) -> None:
    """What the factory does: root's password hash into /data/etc/root-password.hash (0600).
    The image itself ships root locked; the initramfs lays this hash into /etc/shadow."""
    hashed = _run(
        ["openssl", "passwd", "-6", "-stdin"], "hash the root password", stdin=password.encode()
    ).strip()
    local = workdir / "root-password.hash"
    local.write_text(hashed + "\n")
    existing = data_listing(disk, "/")
    requests = [] if " etc" in existing.replace("\t", " ") else ["mkdir /etc"]
    requests += [
        "rm /etc/root-password.hash",
        f"write {local} /etc/root-password.hash",
        "set_inode_field /etc/root-password.hash mode 0100600",
        "set_inode_field /etc/root-password.hash uid 0",
        "set_inode_field /etc/root-password.hash gid 0",
    ]
    debugfs(disk, *requests, write=True)
    if data_file(disk, "etc/root-password.hash").strip() != hashed:
        raise DiskError("the root password hash did not land on the data partition")
