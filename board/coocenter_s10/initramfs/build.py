#!/usr/bin/env python3
"""Build the CooCenter S10 initramfs natively (no emulation): a gzip'd newc cpio archive.

    build.py MODULES_DIR BUSYBOX OUT [--module NAME ...]

MODULES_DIR is a kernel's `lib/modules/<version>` directory (Debian's linux-image-arm64
unpacked, or the rootfs's copy), BUSYBOX a static busybox for the target (Debian's
busybox-static arm64), OUT the archive to write (e.g. output/images/initramfs.cpio.gz).

The archive holds /init (board/coocenter_s10/initramfs/init), busybox, the slot and board
shell libraries from the rootfs overlay, and the few modules the boot needs with everything
they depend on (modules.dep, plus the `softdep pre:` of modules.softdep resolved through
modules.alias), decompressed (busybox's insmod cannot load .ko.xz) and listed in load order in
/lib/modules/load.list. Entries are owned by root with a fixed time (SOURCE_DATE_EPOCH, else
0), so the same inputs give the same bytes. The archive is written to OUT.tmp and renamed.
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

BOARD_DIR = Path(__file__).resolve().parents[1]
INIT_SCRIPT = BOARD_DIR / "initramfs" / "init"
SHELL_LIBS = (
    BOARD_DIR / "rootfs_overlay" / "usr" / "lib" / "coocenter" / "board.sh",
    BOARD_DIR / "rootfs_overlay" / "usr" / "lib" / "coocenter" / "slot.sh",
)

# What the boot needs: the disk (virtio on the QEMU twin), the slot root (squashfs), the
# writable layer over /var (overlay), /data (ext4), the boot partition with the slot state
# (vfat + the code pages FAT's defaults ask for). Dependencies are added from modules.dep.
BOOT_MODULES = (
    "virtio_blk",
    "squashfs",
    "overlay",
    "ext4",
    "vfat",
    "nls_cp437",
    "nls_ascii",
)

MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


class BuildError(Exception):
    """The initramfs cannot be built from these inputs; the message says why."""


def module_name(path: str) -> str:
    """`kernel/fs/ext4/ext4.ko.xz` -> `ext4`; dashes read as underscores, as the kernel does."""
    base = path.rsplit("/", 1)[-1]
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


@dataclass(frozen=True)
class ModuleIndex:
    """modules.dep, modules.softdep and modules.alias of one kernel."""

    paths: dict[str, str]  # name -> path relative to the modules dir
    deps: dict[str, tuple[str, ...]]  # name -> names it needs (load those first)
    softdeps: dict[str, tuple[str, ...]]  # name -> `pre:` names or aliases
    aliases: dict[str, str]  # alias -> name
    builtin: frozenset[str]

    @classmethod
    def load(cls, modules_dir: Path) -> ModuleIndex:
        dep_file = modules_dir / "modules.dep"
        if not dep_file.is_file():
            raise BuildError(f"{dep_file} is missing: run depmod for this kernel first")
        paths: dict[str, str] = {}
        deps: dict[str, tuple[str, ...]] = {}
        for line in dep_file.read_text().splitlines():
            if ":" not in line:
                continue
            path, _, needs = line.partition(":")
            name = module_name(path)
            paths[name] = path
            deps[name] = tuple(module_name(p) for p in needs.split())
        softdeps: dict[str, tuple[str, ...]] = {}
        softdep_file = modules_dir / "modules.softdep"
        if softdep_file.is_file():
            for line in softdep_file.read_text().splitlines():
                words = line.split()
                if len(words) < 3 or words[0] != "softdep":
                    continue
                pre: list[str] = []
                taking = False
                for word in words[2:]:
                    if word.endswith(":"):
                        taking = word == "pre:"
                    elif taking:
                        pre.append(word)
                if pre:
                    softdeps[module_name(words[1])] = softdeps.get(
                        module_name(words[1]), ()
                    ) + tuple(pre)
        aliases: dict[str, str] = {}
        alias_file = modules_dir / "modules.alias"
        if alias_file.is_file():
            for line in alias_file.read_text().splitlines():
                words = line.split()
                if len(words) == 3 and words[0] == "alias":
                    aliases.setdefault(words[1], module_name(words[2]))
        builtin_file = modules_dir / "modules.builtin"
        builtin = (
            frozenset(module_name(p) for p in builtin_file.read_text().split())
            if builtin_file.is_file()
            else frozenset()
        )
        return cls(paths, deps, softdeps, aliases, builtin)

    def resolve(self, name_or_alias: str) -> str | None:
        """A module name for a name or alias; None when built into the kernel."""
        name = name_or_alias.replace("-", "_")
        if name in self.paths:
            return name
        if name in self.builtin:
            return None
        target = self.aliases.get(name_or_alias)
        if target is not None:
            return target if target in self.paths else None
        raise BuildError(f"kernel module {name_or_alias!r} is neither a module nor built in")

    def load_order(self, wanted: tuple[str, ...]) -> list[str]:
        """The wanted modules and all they need, each after what it needs."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name_or_alias: str) -> None:
            name = self.resolve(name_or_alias)
            if name is None or name in order:
                return
            if name in visiting:
                raise BuildError(f"kernel module dependency loop through {name}")
            visiting.add(name)
            for soft in self.softdeps.get(name, ()):
                visit(soft)
            for dep in self.deps.get(name, ()):
                visit(dep)
            visiting.discard(name)
            order.append(name)

        for wanted_name in wanted:
            visit(wanted_name)
        return order


def read_module(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(data)
    if path.name.endswith(".gz"):
        return gzip.decompress(data)
    if path.name.endswith(".zst"):
        if shutil.which("zstd") is None:
            raise BuildError(f"{path} is zstd-compressed: install zstd")
        return subprocess.run(["zstd", "-dc", str(path)], check=True, capture_output=True).stdout
    return data


class Cpio:
    """A newc ("070701") cpio archive in memory, entries in the order added."""

    def __init__(self, mtime: int) -> None:
        self._mtime = mtime
        self._inode = 1
        self._chunks: list[bytes] = []

    def _entry(
        self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)
    ) -> None:
        encoded = name.encode() + b"\0"
        fields = (
            self._inode,
            mode,
            0,
            0,
            1,
            self._mtime,
            len(data),
            0,
            0,
            rdev[0],
            rdev[1],
            len(encoded),
            0,
        )
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self._inode += 1
        self._chunks.append(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self._chunks.append(data + b"\0" * (-len(data) % 4))

    def directory(self, name: str, mode: int = 0o755) -> None:
        self._entry(name, stat.S_IFDIR | mode)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self._chunks)


def check_busybox(busybox: Path) -> None:
    head = busybox.read_bytes()[:64]
    if head[:4] != b"\x7fELF":
        raise BuildError(f"{busybox} is not an ELF executable")
    machine = int.from_bytes(head[18:20], "little")
    if machine != 183:  # EM_AARCH64
        raise BuildError(f"{busybox} is not an arm64 binary (ELF machine {machine})")
    # a dynamic busybox would need a libc in the initramfs
    if b"/ld-linux" in busybox.read_bytes()[:4096]:
        raise BuildError(f"{busybox} is dynamically linked: use busybox-static")


def build(modules_dir: Path, busybox: Path, wanted: tuple[str, ...]) -> bytes:
    if not modules_dir.is_dir():
        raise BuildError(f"kernel modules directory {modules_dir} does not exist")
    if not busybox.is_file():
        raise BuildError(f"busybox binary {busybox} does not exist")
    check_busybox(busybox)
    index = ModuleIndex.load(modules_dir)
    order = index.load_order(wanted)
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    archive = Cpio(mtime)
    for directory in (
        "bin",
        "sbin",
        "usr",
        "usr/bin",
        "usr/sbin",
        "dev",
        "proc",
        "sys",
        "run",
        "tmp",
        "newroot",
        "bootfs",
        "lib",
        "lib/coocenter",
        "lib/modules",
        "etc",
    ):
        archive.directory(directory)
    # the kernel opens /dev/console for init's stdio before /init can mount devtmpfs
    archive.char_device("dev/console", 5, 1)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    archive.symlink("bin/sh", "busybox")
    archive.file("init", INIT_SCRIPT.read_bytes(), 0o755)
    for lib in SHELL_LIBS:
        archive.file(f"lib/coocenter/{lib.name}", lib.read_bytes())
    for name in order:
        archive.file(f"lib/modules/{name}.ko", read_module(modules_dir / index.paths[name]))
    archive.file("lib/modules/load.list", "".join(f"{name}.ko\n" for name in order).encode())
    archive.file(
        "etc/initramfs-release",
        f"KERNEL={modules_dir.name}\nMODULES={' '.join(order)}\n".encode(),
    )
    return archive.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules_dir", type=Path, help="lib/modules/<kernel version>")
    parser.add_argument("busybox", type=Path, help="static arm64 busybox binary")
    parser.add_argument("out", type=Path, help="initramfs.cpio.gz to write")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME",
        help="another module to include (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        cpio = build(args.modules_dir, args.busybox, BOOT_MODULES + tuple(args.module))
    except (BuildError, OSError, lzma.LZMAError, zlib.error) as exc:
        print(f"initramfs: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=args.out.parent, prefix=args.out.name + ".", suffix=".tmp", delete=False
    ) as tmp:
        with gzip.GzipFile(filename="", fileobj=tmp, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(cpio)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, args.out)
    print(f"initramfs: {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
