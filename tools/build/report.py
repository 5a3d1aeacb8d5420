"""`make image-report`, its size part: images, and the biggest packages in the rootfs.

For each Debian package two numbers: dpkg's Installed-Size (what Debian says it takes) and what
is left of its files in the image after the clean-up (docs, locales, pruned modules removed).
The boot-time part is the board's: board/<board>/image-report-boot.sh, run when present.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import hostcheck

IMAGE_FILES = ("rootfs.squashfs", "disk.img", "Image", "initramfs.cpio.gz")
BOOT_HOOK = "image-report-boot.sh"


@dataclass(frozen=True)
class PackageSize:
    name: str
    installed_kib: int  # dpkg's Installed-Size
    in_image_bytes: int  # bytes of its files still in the rootfs


def _mib(size: int) -> str:
    return f"{size / 2**20:8.1f} MiB"


def installed_sizes(root: Path) -> dict[str, int]:
    """Package -> Installed-Size (KiB), by dpkg-query on the rootfs's dpkg database."""
    hostcheck.check_tools(hostcheck.REPORT_TOOLS)
    result = subprocess.run(
        [
            "dpkg-query",
            f"--admindir={root / 'var/lib/dpkg'}",
            "-W",
            "-f=${binary:Package}\\t${Installed-Size}\\t${db:Status-Abbrev}\\n",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    sizes = {}
    for line in result.stdout.splitlines():
        name, _, rest = line.partition("\t")
        size, _, status = rest.partition("\t")
        if status.startswith("ii") and size.strip().isdigit():
            sizes[name.split(":")[0]] = int(size)
    return sizes


def files_in_image(root: Path) -> dict[str, int]:
    """Package -> bytes of its listed files still present (regular files, counted once)."""
    info = root / "var/lib/dpkg/info"
    seen: set[tuple[int, int]] = set()
    totals: dict[str, int] = {}
    for listing in sorted(info.glob("*.list")):
        name = listing.name[: -len(".list")].split(":")[0]
        total = 0
        for line in listing.read_text(errors="replace").splitlines():
            path = root / line.lstrip("/")
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_size
        totals[name] = total
    return totals


def package_sizes(root: Path) -> list[PackageSize]:
    installed = installed_sizes(root)
    present = files_in_image(root)
    names = set(installed) | set(present)
    rows = [PackageSize(n, installed.get(n, 0), present.get(n, 0)) for n in names]
    return sorted(rows, key=lambda r: (-r.in_image_bytes, r.name))


def tree_bytes(root: Path) -> int:
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def size_report(output: Path, top_n: int = 20) -> str:
    images = output / "images"
    root = output / "build" / "rootfs"
    lines = ["Image sizes (output/images):"]
    for name in IMAGE_FILES:
        path = images / name
        if path.is_file():
            st = path.stat()
            allocated = (
                f" (allocated {_mib(st.st_blocks * 512).strip()})" if name == "disk.img" else ""
            )
            lines.append(f"  {name:<20}{_mib(st.st_size)}{allocated}")
        else:
            lines.append(f"  {name:<20}     (not built)")
    if not root.is_dir():
        lines.append("No output/build/rootfs: run `make image` first for the package sizes.")
        return "\n".join(lines)
    lines.append(
        f"  rootfs tree         {_mib(tree_bytes(root))} uncompressed (output/build/rootfs)"
    )
    rows = package_sizes(root)
    lines.append("")
    lines.append(f"Biggest Debian packages ({len(rows)} installed):")
    lines.append(f"  {'package':<34}{'in image':>12}{'Installed-Size':>18}")
    for row in rows[:top_n]:
        lines.append(
            f"  {row.name:<34}{_mib(row.in_image_bytes)}{_mib(row.installed_kib * 1024):>18}"
        )
    site = root / "usr/lib/python3/dist-packages"
    wheels = sorted(
        p
        for p in site.glob("*.dist-info")
        if (p / "INSTALLER").is_file() and (p / "INSTALLER").read_text().startswith("coocenter")
    )
    if wheels:
        lines.append("")
        lines.append("Wheels installed by the build:")
        for dist in wheels:
            record = dist / "RECORD"
            total = 0
            if record.is_file():
                for entry in record.read_text().splitlines():
                    path = site / entry.split(",")[0]
                    if path.is_file():
                        total += path.stat().st_size
            lines.append(f"  {dist.name[: -len('.dist-info')]:<34}{_mib(total)}")
    return "\n".join(lines)


def boot_report(top: Path, board: str, output: Path) -> str:
    """The board's boot-time measurement (its hook script), or a note that it has none."""
    hook = top / "board" / board / BOOT_HOOK
    if not hook.is_file():
        return f"Boot time: board/{board}/{BOOT_HOOK} not present (the board measures it)."
    cmd = [str(hook)] if os.access(hook, os.X_OK) else ["sh", str(hook)]
    env = {**os.environ, "BINARIES_DIR": str(output / "images"), "TOPDIR": str(top)}
    result = subprocess.run(
        [*cmd, str(output / "images")], capture_output=True, text=True, env=env, cwd=top
    )
    text = result.stdout.rstrip()
    if result.returncode != 0:
        text += (
            f"\n(boot-time measurement failed, exit {result.returncode}: "
            f"{result.stderr.strip()[-500:]})"
        )
    return text
