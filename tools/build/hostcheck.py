"""Up-front checks of the build host: tools, binfmt for the target, root, free disk space."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import HostError

# Host tools of each stage and the Debian package that brings each.
BASE_TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "qemu-aarch64-static": "qemu-user-static",
    "update-binfmts": "binfmt-support",
    "tar": "tar",
}
ROOTFS_TOOLS = {
    "tar": "tar",
    "chroot": "coreutils",
    "gzip": "gzip",
    "mksquashfs": "squashfs-tools",
}
REPORT_TOOLS = {"dpkg-query": "dpkg"}

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")


def missing_tools(tools: dict[str, str], path: str | None = None) -> dict[str, str]:
    """The tools (name -> Debian package) not found on PATH (or on `path` when given)."""
    return {tool: deb for tool, deb in tools.items() if shutil.which(tool, path=path) is None}


def check_tools(tools: dict[str, str], path: str | None = None) -> None:
    missing = missing_tools(tools, path)
    if missing:
        names = ", ".join(f"{tool} (Debian package {deb})" for tool, deb in missing.items())
        debs = " ".join(sorted(set(missing.values())))
        raise HostError(
            f"missing host tool(s): {names}\n  install them with: apt-get install -y {debs}"
        )


def check_binfmt(qemu_arch: str, binfmt_dir: Path = BINFMT_DIR) -> None:
    """Target binaries must run on the host (mmdebstrap's maintainer scripts, chroot steps)."""
    how = (
        f"enable it with:\n    mount -t binfmt_misc binfmt_misc {binfmt_dir}\n"
        f"    update-binfmts --enable qemu-{qemu_arch}"
    )
    if not (binfmt_dir / "status").is_file():
        raise HostError(f"binfmt_misc is not mounted at {binfmt_dir}: {how}")
    entry = binfmt_dir / f"qemu-{qemu_arch}"
    if not entry.is_file():
        raise HostError(
            f"no binfmt handler for {qemu_arch} binaries (is qemu-user-static installed?): {how}"
        )
    lines = entry.read_text().splitlines()
    if not lines or lines[0].strip() != "enabled":
        raise HostError(
            f"the binfmt handler qemu-{qemu_arch} is disabled: enable it with "
            f"`update-binfmts --enable qemu-{qemu_arch}`"
        )
    if (binfmt_dir / "status").read_text().strip() != "enabled":
        raise HostError(f"binfmt_misc is disabled as a whole: echo 1 > {binfmt_dir}/status")


def check_root() -> None:
    if os.geteuid() != 0:
        raise HostError(
            "building the rootfs needs root (mmdebstrap, chroot, file ownership): run as root "
            "or with sudo"
        )


def check_free_space(path: Path, need_bytes: int, what: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < need_bytes:
        raise HostError(
            f"not enough free disk space for {what}: {free / 2**30:.1f} GiB free in {path}, "
            f"{need_bytes / 2**30:.1f} GiB needed"
        )
