"""Fixtures for the QEMU tests: copies of the built disk image, booted guests, boot times.

The image under test is `output/images/disk.img` (COOCENTER_IMAGES=DIR picks another images
directory, e.g. the stand-in's). A missing image is an error, never a skip. Each test boots
its own copy; the built image is never written.

Root login: the image ships root locked and without any console auto-login. Like the factory
does for a device, each copy gets a root password hash provisioned into its data partition
(/data/etc/root-password.hash); the initramfs lays it into /etc/shadow at boot.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..integration.sipp import free_port
from .disk import copy_image, provision_root_password
from .guest import REPO, BootSequence, Forwards, Guest

ROOT_PASSWORD = "qemu-" + secrets.token_urlsafe(12)
BOOT_TIMES: list[dict] = []
ARTIFACTS = REPO / "test-artifacts" / "qemu"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "qemu: boots the firmware image under qemu-system-aarch64 (make test-qemu)"
    )


# A boot under TCG takes 40-70 s on an idle 2-core machine and twice that on a busy one; a
# test may boot several times. The suite-wide 120 s limit is for tests on the host.
QEMU_TEST_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("qemu") is not None:
            item.add_marker(pytest.mark.timeout(QEMU_TEST_TIMEOUT))


def images_dir() -> Path:
    return Path(os.environ.get("COOCENTER_IMAGES", REPO / "output" / "images")).resolve()


@pytest.fixture(scope="session")
def built_image() -> Path:
    disk = images_dir() / "disk.img"
    if not disk.exists():
        pytest.fail(f"{disk} does not exist: build the firmware first (make image)")
    return disk


@pytest.fixture(scope="session")
def is_standin(built_image: Path) -> bool:
    """True for the busybox stand-in image (tests/qemu/standin.py): no systemd, no pbxd."""
    return (built_image.parent / "STANDIN").exists()


@pytest.fixture
def fresh_disk(built_image: Path, tmp_path: Path) -> Callable[[str], Path]:
    """fresh_disk(name) -> a new copy of the built image with root's password provisioned."""

    def make(name: str = "disk.img") -> Path:
        disk = copy_image(built_image, tmp_path / name)
        provision_root_password(disk, ROOT_PASSWORD, tmp_path)
        return disk

    return make


def free_forwards() -> Forwards:
    """Forwards on free 127.0.0.1 ports (no RTP): boots that need no phone."""
    return Forwards(http=free_port(), sip=free_port(), ssh=free_port(), rtp=None)


def record_boot(label: str, sequence: BootSequence) -> None:
    """Keep the boot times for the summary and test-artifacts/qemu/boot-times.json."""
    final = sequence.final
    BOOT_TIMES.append(
        {
            "boot": label,
            "attempts": len(sequence.attempts),
            "slots": sequence.slots(),
            "kernel_s": round(final.kernel_at or 0, 1),
            "initramfs_s": round(final.initramfs_at or 0, 1),
            "login_prompt_s": round(final.login_at or 0, 1),
        }
    )


@pytest.fixture
def start_guest(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Guest]]:
    """start_guest(disk, netns=False) -> a started Guest, stopped after the test."""
    guests: list[Guest] = []
    request.node.guests = guests  # for the console tails of a failed test

    def start(disk: Path, netns: bool = False) -> Guest:
        guest = Guest(
            disk,
            tmp_path / f"guest{len(guests)}",
            netns=netns,
            forwards=None if netns else free_forwards(),
            password=ROOT_PASSWORD,
        )
        guests.append(guest)
        return guest.start()

    yield start
    for guest in guests:
        guest.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Attach each guest's console tail to a failed test."""
    report = yield
    if report.failed:
        for guest in getattr(item, "guests", []):
            report.sections.append((f"console {guest.workdir.name}", guest.console_tail(8000)))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if not BOOT_TIMES:
        return
    terminalreporter.section("QEMU boot times (seconds from power-on or reset)")
    for entry in BOOT_TIMES:
        terminalreporter.write_line(
            f"{entry['boot']:<40} attempts {entry['attempts']} slots {entry['slots']}: "
            f"kernel {entry['kernel_s']}, initramfs {entry['initramfs_s']}, "
            f"login prompt {entry['login_prompt_s']}"
            + (f", pbxd ready {entry['ready_s']}" if "ready_s" in entry else "")
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "boot-times.json").write_text(json.dumps(BOOT_TIMES, indent=2) + "\n")
