"""A stand-in firmware image: the real boot chain around a tiny busybox root file system.

    python3 tests/qemu/standin.py [IMAGES_DIR]     (default output/standin/images)

It proves the board's parts on their own, before (or without) the product rootfs: Debian
trixie's arm64 kernel and busybox-static (board/coocenter_s10/fetch-debs.sh), the initramfs
(initramfs/build.py), the slot tools, genimage and post-image.sh, U-Boot under QEMU. The
stand-in root runs busybox init with a console login, a static network set-up for QEMU's user
networking, a hardware watchdog daemon, an HTTP server answering /api/v1/health like pbxd, and
the board's real mark-good script. Its root account is locked, like the product's: tests
provision a password into their copy of /data (conftest.provision_root_password).

The result is IMAGES_DIR/disk.img plus a STANDIN marker file; tests/qemu runs against it with
COOCENTER_IMAGES=IMAGES_DIR. Needs root only for nothing; host tools: see the board README.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "board" / "coocenter_s10"
CACHE = REPO / "output" / "cache" / "board"
DEBS_DIR = REPO / "output" / "build" / "standin-debs"
SUITE = "trixie"

# Modules the stand-in root loads itself (no udev there): the NIC and the watchdog.
ROOT_MODULES = ("virtio_net", "i6300esb")

INITTAB = """\
::sysinit:/etc/init.d/rcS
ttyAMA0::respawn:/sbin/getty -L 115200 ttyAMA0 vt100
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
"""

RCS = """\
#!/bin/sh
# stand-in rootfs start-up (busybox init)
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
hostname -F /etc/hostname
while read -r module; do
    insmod "/lib/modules/$module" 2>/dev/null
done </lib/modules/load.list
# QEMU user networking: the guest is 10.0.2.15, the host 10.0.2.2
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
route add default gw 10.0.2.2
# systemd's RuntimeWatchdogSec stands in here: a hung system resets
[ -c /dev/watchdog ] && watchdog -T 60 -t 10 /dev/watchdog
# pbxd's health answer, where the mark-good service asks for it
httpd -p 8080 -h /srv/www
. /run/coocenter/boot.env
echo "standin: up, slot $BOOTED_SLOT, data $DATA_STATE"
MARK_GOOD_TIMEOUT=120 /usr/libexec/coocenter/mark-good >/run/coocenter/mark-good.log 2>&1 &
"""


def load_initramfs_builder():
    spec = importlib.util.spec_from_file_location(
        "coocenter_initramfs_build", BOARD / "initramfs" / "build.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(*cmd: str | Path) -> str:
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def fetch_debs() -> tuple[Path, Path]:
    """Debian trixie arm64 kernel (with modules.dep) and static busybox, unpacked."""
    debs = run(
        BOARD / "fetch-debs.sh",
        CACHE,
        SUITE,
        "arm64",
        DEBS_DIR,
        "linux-image-arm64",
        "busybox-static",
    )
    print(debs.strip())
    modules_root = DEBS_DIR / "usr" / "lib" / "modules"
    versions = sorted(p.name for p in modules_root.iterdir())
    if len(versions) != 1:
        # an older kernel from an earlier fetch: start clean
        shutil.rmtree(DEBS_DIR)
        return fetch_debs()
    version = versions[0]
    if not (modules_root / version / "modules.dep").exists():
        run("depmod", "-b", DEBS_DIR / "usr", version)
    return modules_root / version, DEBS_DIR / "usr" / "bin" / "busybox"


def host_applets() -> list[str]:
    """Applet paths (usr/bin/wget, sbin/insmod, ...) from the host's busybox of the same family;
    a link the target's busybox lacks just fails when called."""
    return [line for line in run("busybox", "--list-full").split() if line]


def build_rootfs(tree: Path, modules_dir: Path, busybox: Path, builder) -> None:
    for directory in (
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc/init.d",
        "dev",
        "proc",
        "sys",
        "run",
        "tmp",
        "var",
        "data",
        "boot",
        "root",
        "lib/modules",
        "srv/www/api/v1",
    ):
        (tree / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, tree / "bin" / "busybox")
    os.chmod(tree / "bin" / "busybox", 0o755)
    for applet in host_applets():
        link = tree / applet
        if link.name == "busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(tree / "bin" / "busybox", link.parent))
    (tree / "sbin" / "init").unlink(missing_ok=True)
    (tree / "sbin" / "init").symlink_to("../bin/busybox")
    # the board's own files, as the product rootfs gets them
    shutil.copytree(BOARD / "rootfs_overlay", tree, dirs_exist_ok=True, symlinks=True)
    etc = tree / "etc"
    (etc / "inittab").write_text(INITTAB)
    (etc / "init.d" / "rcS").write_text(RCS)
    os.chmod(etc / "init.d" / "rcS", 0o755)
    (etc / "hostname").write_text("coocenter-standin\n")
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nshadow:x:42:\n")
    # root locked, as in the product image
    (etc / "shadow").write_text("root:*:20000:0:99999:7:::\n")
    os.chmod(etc / "shadow", 0o640)
    (etc / "machine-id").write_text("")
    (etc / "issue").write_text("CooCenter S10 stand-in root file system\n\n")
    (etc / "profile").write_text("export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nPS1='# '\n")
    (tree / "srv" / "www" / "api" / "v1" / "health").write_text('{"status": "ok"}\n')
    index = builder.ModuleIndex.load(modules_dir)
    order = index.load_order(ROOT_MODULES)
    for name in order:
        (tree / "lib" / "modules" / f"{name}.ko").write_bytes(
            builder.read_module(modules_dir / index.paths[name])
        )
    (tree / "lib" / "modules" / "load.list").write_text("".join(f"{n}.ko\n" for n in order))


def main(argv: list[str]) -> int:
    images = Path(argv[1] if len(argv) > 1 else REPO / "output" / "standin" / "images")
    images.mkdir(parents=True, exist_ok=True)
    builder = load_initramfs_builder()
    modules_dir, busybox = fetch_debs()
    kernel = DEBS_DIR / "boot" / f"vmlinuz-{modules_dir.name}"
    shutil.copy(kernel, images / "Image")
    if builder.main([str(modules_dir), str(busybox), str(images / "initramfs.cpio.gz")]) != 0:
        return 1
    with tempfile.TemporaryDirectory(dir=images) as tmp:
        tree = Path(tmp) / "rootfs"
        build_rootfs(tree, modules_dir, busybox, builder)
        squashfs = images / "rootfs.squashfs"
        squashfs.unlink(missing_ok=True)
        run("mksquashfs", tree, squashfs, "-all-root", "-comp", "xz", "-noappend", "-quiet")
    (images / "STANDIN").write_text("busybox stand-in rootfs: no pbxd, no systemd\n")
    # the initramfs was built above from the kernel package (no rootfs modules here)
    subprocess.run(
        [BOARD / "post-image.sh", images], check=True, env={**os.environ, "INITRAMFS_PREBUILT": "1"}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
