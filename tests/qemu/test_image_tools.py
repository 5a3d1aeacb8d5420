"""The board's image tools on the host (fast, no QEMU): initramfs/build.py and post-image.sh.

post-image.sh runs for real (genimage, mtools, mke2fs, squashfs-tools) on tiny stand-in
inputs; the disk it makes is read back with the same helpers the QEMU tests use.
"""

from __future__ import annotations

import gzip
import importlib.util
import lzma
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .disk import boot_files, partitions, read_boot_file, read_slot_state

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "board" / "coocenter_s10"


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "coocenter_initramfs_build_test", BOARD / "initramfs" / "build.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def fake_elf(machine: int = 183) -> bytes:
    header = bytearray(64)
    header[:4] = b"\x7fELF"
    header[18:20] = machine.to_bytes(2, "little")
    return bytes(header) + b"\0" * 256


def fake_modules(root: Path) -> Path:
    modules = root / "lib" / "modules" / "6.12.0-test-arm64"
    files = {
        "kernel/drivers/block/virtio_blk.ko.xz": b"virtio_blk",
        "kernel/fs/squashfs/squashfs.ko.xz": b"squashfs",
        "kernel/fs/overlayfs/overlay.ko.xz": b"overlay",
        "kernel/lib/crc16.ko.xz": b"crc16",
        "kernel/fs/mbcache.ko.xz": b"mbcache",
        "kernel/fs/jbd2/jbd2.ko.xz": b"jbd2",
        "kernel/fs/ext4/ext4.ko.xz": b"ext4",
        "kernel/crypto/crc32c_generic.ko.xz": b"crc32c",
        "kernel/fs/fat/fat.ko.xz": b"fat",
        "kernel/fs/fat/vfat.ko.xz": b"vfat",
        "kernel/fs/nls/nls_cp437.ko.xz": b"cp437",
        "kernel/fs/nls/nls_ascii.ko.xz": b"ascii",
        "kernel/drivers/net/virtio_net.ko.xz": b"net",
    }
    for path, content in files.items():
        (modules / path).parent.mkdir(parents=True, exist_ok=True)
        (modules / path).write_bytes(lzma.compress(content))
    deps = {p: "" for p in files}
    deps["kernel/fs/ext4/ext4.ko.xz"] = (
        "kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz"
    )
    deps["kernel/fs/fat/vfat.ko.xz"] = "kernel/fs/fat/fat.ko.xz"
    (modules / "modules.dep").write_text(
        "".join(f"{p}: {d}\n".replace(": \n", ":\n") for p, d in deps.items())
    )
    (modules / "modules.softdep").write_text(
        "# Soft dependencies\nsoftdep ext4 pre: crypto-crc32c\nsoftdep jbd2 pre: crypto-crc32c\n"
    )
    (modules / "modules.alias").write_text("alias crypto-crc32c crc32c_generic\n")
    (modules / "modules.builtin").write_text("kernel/drivers/virtio/virtio_pci.ko\n")
    return modules


def read_cpio(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """name -> (mode, content, (rdevmajor, rdevminor)) of a newc archive."""
    entries = {}
    offset = 0
    while True:
        assert data[offset : offset + 6] == b"070701", offset
        fields = [int(data[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = offset + 110
        name = data[name_start : name_start + namesize - 1].decode()
        body_start = name_start + namesize + (-(110 + namesize) % 4)
        body = data[body_start : body_start + filesize]
        offset = body_start + filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            return entries
        entries[name] = (fields[1], body, (fields[9], fields[10]))


def test_initramfs_holds_init_busybox_and_modules_in_load_order(tmp_path: Path) -> None:
    modules = fake_modules(tmp_path)
    busybox = tmp_path / "busybox"
    busybox.write_bytes(fake_elf())
    out = tmp_path / "initramfs.cpio.gz"
    assert builder.main([str(modules), str(busybox), str(out)]) == 0
    entries = read_cpio(gzip.decompress(out.read_bytes()))
    assert stat.S_ISCHR(entries["dev/console"][0]) and entries["dev/console"][2] == (5, 1)
    assert entries["init"][1] == (BOARD / "initramfs" / "init").read_bytes()
    assert entries["init"][0] & 0o777 == 0o755
    assert entries["bin/busybox"][1] == busybox.read_bytes()
    assert entries["bin/sh"][1] == b"busybox" and stat.S_ISLNK(entries["bin/sh"][0])
    for lib in ("slot.sh", "board.sh"):
        assert f"lib/coocenter/{lib}" in entries
    order = entries["lib/modules/load.list"][1].decode().split()
    # every dependency before its user, the softdep (through its alias) before ext4 and jbd2
    for before, after in [
        ("crc16.ko", "ext4.ko"),
        ("jbd2.ko", "ext4.ko"),
        ("mbcache.ko", "ext4.ko"),
        ("crc32c_generic.ko", "jbd2.ko"),
        ("fat.ko", "vfat.ko"),
    ]:
        assert order.index(before) < order.index(after), order
    assert "virtio_net.ko" not in order  # not asked for
    # modules are stored decompressed: busybox's insmod cannot read .ko.xz
    assert entries["lib/modules/ext4.ko"][1] == b"ext4"
    # same inputs, same bytes
    again = tmp_path / "again.cpio.gz"
    builder.main([str(modules), str(busybox), str(again)])
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    ("busybox_bytes", "message"),
    [(fake_elf(62), "not an arm64 binary"), (b"#!/bin/sh\n", "not an ELF executable")],
)
def test_initramfs_refuses_a_busybox_for_another_machine(
    tmp_path, capsys, busybox_bytes, message
) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(busybox_bytes)
    out = tmp_path / "initramfs.cpio.gz"
    assert builder.main([str(fake_modules(tmp_path)), str(busybox), str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_initramfs_names_a_module_the_kernel_lacks(tmp_path: Path, capsys) -> None:
    modules = fake_modules(tmp_path)
    busybox = tmp_path / "busybox"
    busybox.write_bytes(fake_elf())
    out = tmp_path / "initramfs.cpio.gz"
    assert builder.main([str(modules), str(busybox), str(out), "--module", "zfs"]) == 1
    assert "'zfs' is neither a module nor built in" in capsys.readouterr().err
    (modules / "modules.dep").unlink()
    assert builder.main([str(modules), str(busybox), str(out)]) == 1
    assert "run depmod" in capsys.readouterr().err


def make_inputs(
    images: Path, tree_extra: dict[str, str] | None = None, skip_dirs: tuple[str, ...] = ()
) -> None:
    images.mkdir(parents=True, exist_ok=True)
    kernel = bytearray(4096)
    kernel[56:60] = b"ARMd"
    (images / "Image").write_bytes(bytes(kernel))
    (images / "kernel.release").write_text("6.12.0-test-arm64\n")
    (images / "initramfs.cpio.gz").write_bytes(gzip.compress(b"stand-in initramfs"))
    tree = images.parent / "tree"
    for directory in ("data", "run", "tmp", "var", "dev", "proc", "sys", "etc", "sbin"):
        if directory not in skip_dirs:
            (tree / directory).mkdir(parents=True, exist_ok=True)
    (tree / "sbin" / "init").write_text("#!/bin/sh\n")
    (tree / "etc" / "machine-id").write_text("")
    for path, content in (tree_extra or {}).items():
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(content)
    subprocess.run(
        [
            "mksquashfs",
            str(tree),
            str(images / "rootfs.squashfs"),
            "-noappend",
            "-all-root",
            "-quiet",
            "-comp",
            "gzip",
        ],
        check=True,
        capture_output=True,
    )


def post_image(images: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BOARD / "post-image.sh"), str(images)],
        capture_output=True,
        text=True,
        env={**os.environ, "INITRAMFS_PREBUILT": "1"},
        timeout=120,
    )


def test_post_image_makes_the_ab_disk(tmp_path: Path) -> None:
    images = tmp_path / "images"
    make_inputs(images)
    done = post_image(images)
    assert done.returncode == 0, done.stderr
    disk = images / "disk.img"
    parts = partitions(disk)
    assert [p.name for p in sorted(parts.values(), key=lambda p: p.number)] == [
        "boot",
        "rootfs_a",
        "rootfs_b",
        "data",
    ]
    rootfs = (images / "rootfs.squashfs").read_bytes()
    with open(disk, "rb") as image:
        for name in ("rootfs_a", "rootfs_b"):
            image.seek(parts[name].offset)
            assert image.read(len(rootfs)) == rootfs, f"{name} does not hold rootfs.squashfs"
            assert parts[name].size >= 512 << 20
        image.seek(parts["data"].offset + 1024 + 56)
        assert image.read(2) == b"\x53\xef", "data is not ext2/3/4"
    assert {"Image", "initramfs.cpio.gz", "slot.env"} <= set(boot_files(disk))
    assert read_slot_state(disk) == {"BOOT_ORDER": "A B", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}
    assert "initrd /initramfs.cpio.gz" in read_boot_file(disk, "extlinux/extlinux.conf")
    assert not [p for p in images.iterdir() if p.name.startswith(".post-image")]


@pytest.mark.parametrize(
    ("extra", "skip", "message"),
    [
        ({}, ("data",), "has no /data"),
        ({"etc/ssh/ssh_host_ed25519_key": "secret"}, (), "contains SSH host keys"),
        ({"etc/machine-id": "0123456789abcdef0123456789abcdef\n"}, (), "machine-id"),
    ],
)
def test_post_image_refuses_a_rootfs_that_breaks_the_board_contract(
    tmp_path: Path, extra, skip, message
) -> None:
    images = tmp_path / "images"
    make_inputs(images, extra, skip)
    (images / "disk.img").write_text("an image from an earlier build")
    done = post_image(images)
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert not (images / "disk.img").exists(), "a stale disk.img was left"


def test_post_image_refuses_a_kernel_that_is_not_arm64(tmp_path: Path) -> None:
    images = tmp_path / "images"
    make_inputs(images)
    (images / "Image").write_bytes(b"\0" * 4096)
    done = post_image(images)
    assert done.returncode == 1 and "not an arm64 kernel Image" in done.stderr, done.stderr
    assert not (images / "disk.img").exists()
    assert not [p for p in images.iterdir() if p.name.startswith(".post-image")]
