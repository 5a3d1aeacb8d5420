"""Up-front host checks: a missing tool or a missing binfmt handler is named with its fix."""

from pathlib import Path

import pytest

from tools.build import hostcheck
from tools.build.errors import HostError


def _fake_bin(tmp_path: Path, names: list[str]) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in names:
        tool = bindir / name
        tool.write_text("#!/bin/sh\nexit 0\n")
        tool.chmod(0o755)
    return bindir


def test_missing_tool_names_tool_and_debian_package(tmp_path, monkeypatch):
    present = [t for t in hostcheck.ROOTFS_TOOLS if t != "mksquashfs"]
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, present)))
    with pytest.raises(HostError) as err:
        hostcheck.check_tools(hostcheck.ROOTFS_TOOLS)
    message = str(err.value)
    assert "missing host tool(s): mksquashfs (Debian package squashfs-tools)" in message
    assert "apt-get install -y squashfs-tools" in message
    assert "tar (" not in message and "chroot (" not in message


def test_all_missing_tools_are_listed_once_with_their_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, ["tar"])))
    with pytest.raises(HostError) as err:
        hostcheck.check_tools(hostcheck.BASE_TOOLS)
    message = str(err.value)
    for tool, deb in (
        ("mmdebstrap", "mmdebstrap"),
        ("qemu-aarch64-static", "qemu-user-static"),
        ("update-binfmts", "binfmt-support"),
    ):
        assert f"{tool} (Debian package {deb})" in message
    assert "apt-get install -y binfmt-support mmdebstrap qemu-user-static" in message


def test_tools_present_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path, list(hostcheck.BASE_TOOLS))))
    hostcheck.check_tools(hostcheck.BASE_TOOLS)


def _binfmt(tmp_path: Path, status: str | None, entry: str | None) -> Path:
    directory = tmp_path / "binfmt_misc"
    directory.mkdir(parents=True)
    if status is not None:
        (directory / "status").write_text(status + "\n")
    if entry is not None:
        (directory / "qemu-aarch64").write_text(entry + "\ninterpreter /usr/libexec/qemu\n")
    return directory


def test_binfmt_not_mounted_says_how_to_mount(tmp_path):
    directory = _binfmt(tmp_path, None, None)
    with pytest.raises(HostError) as err:
        hostcheck.check_binfmt("aarch64", directory)
    message = str(err.value)
    assert "binfmt_misc is not mounted" in message
    assert f"mount -t binfmt_misc binfmt_misc {directory}" in message
    assert "update-binfmts --enable qemu-aarch64" in message


def test_binfmt_handler_missing_or_disabled(tmp_path):
    with pytest.raises(HostError, match="no binfmt handler for aarch64"):
        hostcheck.check_binfmt("aarch64", _binfmt(tmp_path / "a", "enabled", None))
    with pytest.raises(HostError, match="qemu-aarch64 is disabled.*update-binfmts --enable"):
        hostcheck.check_binfmt("aarch64", _binfmt(tmp_path / "b", "enabled", "disabled"))


def test_binfmt_enabled_passes(tmp_path):
    hostcheck.check_binfmt("aarch64", _binfmt(tmp_path, "enabled", "enabled"))


def test_not_enough_disk_space_is_named(tmp_path, monkeypatch):
    class Usage:
        free = 512 * 2**20

    monkeypatch.setattr(hostcheck.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(HostError, match=r"not enough free disk space for the rootfs: 0.5 GiB"):
        hostcheck.check_free_space(tmp_path, 3 * 2**30, "the rootfs")


def test_non_root_is_told_to_use_root(monkeypatch):
    monkeypatch.setattr(hostcheck.os, "geteuid", lambda: 1000)
    with pytest.raises(HostError, match="needs root"):
        hostcheck.check_root()
