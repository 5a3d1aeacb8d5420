"""The base layer's mmdebstrap call: hooks that keep a cold bootstrap from failing at its end."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tools.build import baselayer

BUSYBOX = shutil.which("busybox")


def _hook(command: list[str], option: str) -> str:
    return next(arg.split("=", 1)[1] for arg in command if arg.startswith(option + "="))


def test_a_process_left_in_the_chroot_is_stopped_before_cleanup(tmp_path: Path, product) -> None:
    assert BUSYBOX, "busybox is needed (apt-get install busybox-static)"
    chroot = tmp_path / "chroot"
    (chroot / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, chroot / "bin" / "busybox")
    # What a postinst may leave behind: a daemon running inside the chroot.
    daemon = subprocess.Popen(["chroot", str(chroot), "/bin/busybox", "sleep", "300"])
    bystander = subprocess.Popen(["sleep", "300"])  # outside the chroot: must survive
    try:
        time.sleep(0.3)
        hook = _hook(
            baselayer.mmdebstrap_command(product, ["python3"], tmp_path / "x"), "--customize-hook"
        )
        subprocess.run(["sh", "-c", hook, "sh", str(chroot)], check=True, timeout=30)
        assert daemon.wait(timeout=5) == -9
        assert bystander.poll() is None
    finally:
        for proc in (daemon, bystander):
            proc.kill()
            proc.wait()


def test_kernel_initramfs_generation_is_diverted(tmp_path: Path, product) -> None:
    command = baselayer.mmdebstrap_command(product, ["linux-image-arm64"], tmp_path / "x")
    assert "update-initramfs" in _hook(command, "--essential-hook")
    assert command[-3:] == [product.suite, str(tmp_path / "x"), product.mirror]
