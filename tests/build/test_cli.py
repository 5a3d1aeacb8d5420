"""The verbs as firmware.mk calls them: `python -m tools.build VERB` with O=<output>."""

import subprocess
import sys


def _verb(top, tmp_path, *args):
    return subprocess.run(
        [sys.executable, "-m", "tools.build", *args],
        cwd=top,
        capture_output=True,
        text=True,
        env={"O": str(tmp_path / "out"), "PATH": "/usr/bin:/bin"},
    )


def test_defconfig_then_savedefconfig(top, tmp_path):
    done = _verb(top, tmp_path, "defconfig", "coocenter_s10_defconfig")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/.config").read_text().count("BR2_PACKAGE_PBXD=y") == 1
    saved = tmp_path / "mine_defconfig"
    done = _verb(top, tmp_path, "savedefconfig", str(saved))
    assert done.returncode == 0, done.stderr
    assert "BR2_PACKAGE_PBXD=y" in saved.read_text()


def test_unknown_symbol_stops_with_exit_2(top, tmp_path):
    bad = tmp_path / "bad_defconfig"
    bad.write_text("BR2_aarch64=y\nBR2_PACKAGE_NOPE=y\n")
    done = _verb(top, tmp_path, "defconfig", str(bad))
    assert done.returncode == 2
    assert f"ERROR: {bad}:2: unknown symbol BR2_PACKAGE_NOPE" in done.stderr
    assert not (tmp_path / "out/.config").exists()


def test_list_defconfigs(top, tmp_path):
    done = _verb(top, tmp_path, "list-defconfigs")
    assert done.returncode == 0
    assert "coocenter_s10_defconfig" in done.stdout


def test_image_without_config_says_what_to_run(top, tmp_path):
    done = _verb(top, tmp_path, "image")
    assert done.returncode == 2
    assert "make <board>_defconfig" in done.stderr
