"""Measure the firmware's boot on the QEMU twin: `python -m tests.qemu.boot_time [IMAGES_DIR]`.

Boots a copy of IMAGES_DIR/disk.img (the built image stays untouched) and prints the seconds
from power-on to: the kernel starting, the initramfs choosing the slot, the login prompt, and
pbxd's /api/v1/health answering from the host through QEMU's forward. Used by
board/coocenter_s10/image-report-boot.sh for `make image-report`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .disk import copy_image
from .guest import REPO, Guest, GuestError


def measure(images: Path, timeout: float = 600.0) -> dict[str, float | str | None]:
    with tempfile.TemporaryDirectory(prefix="boot-time-") as tmp:
        disk = copy_image(images / "disk.img", Path(tmp) / "disk.img")
        guest = Guest(disk, Path(tmp) / "guest", netns=True, password="")
        guest.start()
        try:
            sequence = guest.wait_boot(timeout=timeout)
            boot = sequence.final
            url = f"{guest.http_base}/api/v1/health"
            ready = None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                done = subprocess.run(
                    guest.host_command(["curl", "-sf", "--max-time", "5", url]),
                    capture_output=True,
                    text=True,
                )
                if done.returncode == 0:
                    ready = time.monotonic() - guest._started
                    break
                time.sleep(1)
        finally:
            guest.stop()
    return {
        "slot": boot.slot,
        "kernel_s": round(boot.kernel_at or 0, 1),
        "initramfs_s": round(boot.initramfs_at or 0, 1),
        "login_prompt_s": round(boot.login_at or 0, 1),
        "pbxd_ready_s": round(ready, 1) if ready is not None else None,
    }


def main(argv: list[str]) -> int:
    images = Path(argv[1]) if len(argv) > 1 else REPO / "output" / "images"
    try:
        result = measure(images)
    except GuestError as exc:
        print(f"boot time: the guest did not boot: {str(exc)[:2000]}", file=sys.stderr)
        return 1
    ready = result["pbxd_ready_s"]
    print(
        "Boot time on the QEMU twin (qemu-system-aarch64 -M virt, TCG, 2 vCPUs), seconds "
        "from power-on:"
    )
    print(f"  kernel starts       {result['kernel_s']}")
    print(f"  initramfs: slot {result['slot']}  {result['initramfs_s']}")
    print(f"  login prompt        {result['login_prompt_s']}")
    print(f"  pbxd ready (health) {ready if ready is not None else 'never (timeout)'}")
    print(json.dumps(result))
    return 0 if ready is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
