"""The base layer: mmdebstrap of the selected Debian packages, cached as a tarball.

`output/cache/base-<key>.tar` where the key hashes the suite, architecture, mirror, archive
components and the sorted package list (and the way the layer is made, BASE_FORMAT): a rebuild
that changes only pbxd or the overlay reuses it; adding a Debian package makes a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from . import hostcheck
from .config import FirmwareConfig
from .steps import elapsed, run, say

# Bump when the mmdebstrap invocation below changes what a layer contains.
BASE_FORMAT = 1
# A cold bootstrap unpacks into a temporary tree and tars it: room for both.
BASE_SPACE_BYTES = 4 * 2**30

# Debian's kernel package would run update-initramfs under emulation (about 8 minutes) for an
# initramfs the board does not use (it builds a small one natively): divert it to a no-op.
_DIVERT_INITRAMFS = (
    "set -e; "
    "for f in /usr/sbin/update-initramfs /sbin/update-initramfs; do "
    'chroot "$1" dpkg-divert --quiet --local --rename --divert "$f.distrib" --add "$f"; done; '
    "printf '#!/bin/sh\\n# diverted by the firmware build: the board builds its initramfs\\n"
    'exit 0\\n\' > "$1/usr/sbin/update-initramfs"; '
    'chmod 0755 "$1/usr/sbin/update-initramfs"'
)

# A process a maintainer script left running in the chroot keeps its /proc busy, and
# mmdebstrap then fails at its very end (umount, "rm: skipping .../proc"): seen once with
# trixie. Before mmdebstrap cleans up, anything whose root is the chroot is killed.
_KILL_LEFTOVERS = (
    'root=$(readlink -f "$1"); '
    "for p in /proc/[0-9]*; do "
    '[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null; '
    "done; sleep 1; true"
)


def cache_key(
    suite: str, arch: str, mirror: str, debs: list[str] | tuple[str, ...], components=("main",)
) -> str:
    """A stable hash of what selects the base layer; the package order does not matter."""
    selector = {
        "format": BASE_FORMAT,
        "suite": suite,
        "arch": arch,
        "mirror": mirror.rstrip("/"),
        "components": sorted(components),
        "debs": sorted(set(debs)),
    }
    blob = json.dumps(selector, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def base_path(cache: Path, key: str) -> Path:
    return cache / f"base-{key}.tar"


def cache_dir(output: Path) -> Path:
    """output/cache, or $FW_CACHE_DIR (one cache shared by several output directories)."""
    return Path(os.environ.get("FW_CACHE_DIR") or output / "cache").resolve()


def mmdebstrap_command(cfg: FirmwareConfig, debs: list[str], dest: Path) -> list[str]:
    return [
        "mmdebstrap",
        "--mode=root",
        "--variant=essential",
        f"--architectures={cfg.arch}",
        f"--components={','.join(cfg.components)}",
        f"--include={','.join(debs)}",
        '--aptopt=APT::Install-Recommends "false"',
        '--aptopt=Acquire::Retries "3"',
        "--dpkgopt=force-unsafe-io",
        f"--essential-hook={_DIVERT_INITRAMFS}",
        f"--customize-hook={_KILL_LEFTOVERS}",
        "--format=tar",
        cfg.suite,
        str(dest),
        cfg.mirror,
    ]


def ensure_base(cfg: FirmwareConfig, debs: list[str], output: Path) -> Path:
    """The cached base layer for cfg and debs, bootstrapped first when there is none."""
    key = cache_key(cfg.suite, cfg.arch, cfg.mirror, debs, cfg.components)
    cache = cache_dir(output)
    tarball = base_path(cache, key)
    if tarball.is_file():
        say(f"base layer: reusing {tarball} ({tarball.stat().st_size / 2**20:.0f} MiB)")
        return tarball

    hostcheck.check_root()
    hostcheck.check_tools(hostcheck.BASE_TOOLS)
    hostcheck.check_binfmt(cfg.qemu_arch)
    hostcheck.check_free_space(output, BASE_SPACE_BYTES, "the base layer bootstrap")

    cache.mkdir(parents=True, exist_ok=True)
    tmpdir = output / "tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    partial = cache / f".base-{key}.tar.partial"
    partial.unlink(missing_ok=True)
    say(
        f"base layer: bootstrapping Debian {cfg.suite}/{cfg.arch} with {len(debs)} packages "
        f"(cold: about 10 min on 2 cores) -> {tarball.name}"
    )
    started = time.monotonic()
    try:
        run(
            mmdebstrap_command(cfg, debs, partial),
            what="mmdebstrap (base layer)",
            log=output / "build" / "logs" / f"base-{key}.log",
            heavy=True,
            env={"TMPDIR": str(tmpdir.resolve())},
            space_probe=output,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # What selected this layer, for people reading the cache directory.
    manifest = {
        "suite": cfg.suite,
        "arch": cfg.arch,
        "mirror": cfg.mirror,
        "components": list(cfg.components),
        "debs": sorted(set(debs)),
        "format": BASE_FORMAT,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started),
    }
    tarball.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    partial.rename(tarball)
    say(f"base layer: done in {elapsed(started)} ({tarball.stat().st_size / 2**20:.0f} MiB)")
    return tarball
