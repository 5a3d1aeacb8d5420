"""Rootfs assembly pieces that need neither root nor mmdebstrap: overlays, settings, clean-up."""

import dataclasses
import os
from pathlib import Path

import pytest

from tools.build import rootfs


def _debian_like_root(tmp_path: Path) -> Path:
    """A merged-/usr skeleton: /lib, /bin, /sbin are symlinks into /usr."""
    root = tmp_path / "root"
    for rel in ("usr/lib", "usr/bin", "usr/sbin", "etc", "var/lib/dpkg"):
        (root / rel).mkdir(parents=True)
    for link in ("lib", "bin", "sbin"):
        (root / link).symlink_to(f"usr/{link}")
    (root / "etc/shadow").write_text("root:*:20000:0:99999:7:::\ndaemon:*:20000::::::\n")
    zone = root / "usr/share/zoneinfo/Asia"
    zone.mkdir(parents=True)
    (zone / "Shanghai").write_bytes(b"TZif2")
    return root


def test_resolve_follows_merged_usr_links(tmp_path):
    root = _debian_like_root(tmp_path)
    assert rootfs.resolve_in_root(root, "lib/systemd/x") == root / "usr/lib/systemd/x"
    assert rootfs.resolve_in_root(root, "/bin/pbxd") == root / "usr/bin/pbxd"
    # an absolute link target stays inside the root
    (root / "etc/alt").symlink_to("/usr/lib")
    assert rootfs.resolve_in_root(root, "etc/alt/y") == root / "usr/lib/y"
    # the last component itself is not followed
    assert rootfs.resolve_in_root(root, "lib") == root / "lib"


def test_overlay_lands_through_symlinked_dirs_and_keeps_modes(tmp_path):
    root = _debian_like_root(tmp_path)
    overlay = tmp_path / "overlay"
    (overlay / "lib/systemd/system").mkdir(parents=True)
    (overlay / "lib/systemd/system/x.service").write_text("[Unit]\n")
    (overlay / "etc/default").mkdir(parents=True)
    script = overlay / "etc/default/run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    (overlay / "etc/link").symlink_to("/run/thing")
    count = rootfs.copy_tree_into_root(overlay, root)
    assert count == 3
    assert (root / "lib").is_symlink(), "the overlay must not replace /lib"
    assert (root / "usr/lib/systemd/system/x.service").read_text() == "[Unit]\n"
    assert (root / "etc/default/run.sh").stat().st_mode & 0o777 == 0o750
    assert os.readlink(root / "etc/link") == "/run/thing"


def test_overlay_file_cannot_replace_a_directory(tmp_path):
    root = _debian_like_root(tmp_path)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "etc").mkdir()
    (overlay / "etc" / "default").write_text("oops\n")
    (root / "etc/default").mkdir()
    with pytest.raises(rootfs.RootfsError, match="would replace the directory /etc/default"):
        rootfs.copy_tree_into_root(overlay, root)


def test_system_settings_hostname_timezone_locked_root(tmp_path, product):
    root = _debian_like_root(tmp_path)
    rootfs.apply_system_settings(product, root)
    assert (root / "etc/hostname").read_text() == "coocenter-s10\n"
    assert "127.0.1.1\tcoocenter-s10" in (root / "etc/hosts").read_text()
    assert os.readlink(root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Shanghai"
    assert (root / "etc/timezone").read_text() == "Asia/Shanghai\n"
    assert (root / "etc/shadow").read_text().startswith("root:!*:")
    assert "daemon:*:" in (root / "etc/shadow").read_text()
    assert (root / "etc/machine-id").read_text() == ""
    getty = root / "etc/systemd/system/getty.target.wants/serial-getty@ttyAMA0.service"
    assert os.readlink(getty) == "/usr/lib/systemd/system/serial-getty@.service"
    assert not (root / "etc/systemd/system/serial-getty@ttyAMA0.service.d").exists()


def test_unknown_timezone_is_named(tmp_path, product):
    root = _debian_like_root(tmp_path)
    with pytest.raises(rootfs.RootfsError, match="BR2_TARGET_LOCALTIME='Mars/Olympus'"):
        rootfs.apply_system_settings(dataclasses.replace(product, timezone="Mars/Olympus"), root)


def test_clean_up_keeps_copyright_and_chosen_locales(tmp_path, product):
    root = _debian_like_root(tmp_path)
    files = [
        "usr/share/doc/python3/copyright",
        "usr/share/doc/python3/changelog.Debian.gz",
        "usr/share/man/man1/ls.1.gz",
        "usr/share/locale/de/LC_MESSAGES/x.mo",
        "usr/share/locale/zh_CN/LC_MESSAGES/x.mo",
        "usr/share/locale/en_GB/LC_MESSAGES/x.mo",
        "usr/share/locale/locale.alias",
        "var/lib/apt/lists/deb.debian.org_dists_trixie_InRelease",
        "var/cache/apt/pkgcache.bin",
        "etc/ssh/ssh_host_ed25519_key",
        "usr/lib/python3/dist-packages/numpy/_core/tests/test_x.py",
        "usr/lib/python3/dist-packages/numpy/__pycache__/x.cpython-313.pyc",
    ]
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    rootfs.clean_up(product, root)
    left = {rel for rel in files if (root / rel).exists()}
    assert left == {
        "usr/share/doc/python3/copyright",
        "usr/share/locale/zh_CN/LC_MESSAGES/x.mo",
        "usr/share/locale/en_GB/LC_MESSAGES/x.mo",
        "usr/share/locale/locale.alias",
        "usr/lib/python3/dist-packages/numpy/__pycache__/x.cpython-313.pyc",
    }
    rootfs.clean_up(dataclasses.replace(product, python_bytecode=False), root)
    assert not (root / "usr/lib/python3/dist-packages/numpy/__pycache__").exists()


def test_pbxd_unit_runs_the_contract_command(top):
    unit = (top / "rootfs_overlay/etc/systemd/system/pbxd.service").read_text()
    assert (
        "ExecStart=/usr/bin/pbxd --data-dir /data/pbxd --bind 0.0.0.0 --sip-port 5060 "
        "--http-port 8080" in unit
    )
    assert "Restart=on-failure" in unit
    assert "RequiresMountsFor=/data" in unit
    assert "After=network.target" in unit


def test_failed_preflight_leaves_the_previous_images_alone(top, tmp_path, monkeypatch, product):
    output = tmp_path / "out"
    (output / "images").mkdir(parents=True)
    previous = output / "images/disk.img"
    previous.write_bytes(b"previous build")
    monkeypatch.setattr(rootfs.hostcheck, "check_root", lambda: None)
    monkeypatch.setattr(rootfs.hostcheck, "check_binfmt", lambda arch: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(rootfs.HostError, match="missing host tool.*mksquashfs"):
        rootfs.build_image(top, product, output, output / ".config")
    assert previous.read_bytes() == b"previous build"
    assert not (output / "build/rootfs.partial").exists()
