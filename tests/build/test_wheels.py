"""Wheel installation into a target root (no pip on the target, another Python version)."""

import zipfile
from pathlib import Path

import pytest

from tools.build import wheels


def _wheel(tmp_path: Path, name: str = "demo") -> Path:
    path = tmp_path / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "VALUE = 42\n")
        archive.writestr(f"{name}/cli.py", "def main():\n    return 0\n")
        archive.writestr(f"{name}/web/static/index.html", "<html></html>\n")
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        archive.writestr(
            f"{info}/entry_points.txt", f"[console_scripts]\n{name} = {name}.cli:main\n"
        )
        archive.writestr(f"{info}/RECORD", "")
        archive.writestr(f"{name}-1.0.data/scripts/{name}-helper", "#!python\nprint('hi')\n")
        archive.writestr(f"{name}-1.0.data/data/share/{name}/note.txt", "data\n")
    return path


def test_wheel_lands_in_dist_packages_with_console_script(tmp_path):
    root = tmp_path / "root"
    written = wheels.install_wheel(_wheel(tmp_path), root)
    site = root / "usr/lib/python3/dist-packages"
    assert (site / "demo/__init__.py").read_text() == "VALUE = 42\n"
    assert (site / "demo/web/static/index.html").is_file()
    assert (site / "demo-1.0.dist-info/INSTALLER").read_text().startswith("coocenter")
    script = root / "usr/bin/demo"
    assert script.read_text().startswith("#!/usr/bin/python3\n")
    assert "from demo.cli import main" in script.read_text()
    assert script.stat().st_mode & 0o111
    helper = root / "usr/bin/demo-helper"
    assert helper.read_text().startswith("#!/usr/bin/python3\n")
    assert helper.stat().st_mode & 0o111
    assert (root / "usr/share/demo/note.txt").is_file()
    assert "usr/bin/demo" in written and "usr/lib/python3/dist-packages/demo/cli.py" in written


def test_console_script_runs(tmp_path):
    # the generated script is valid Python that calls the entry point
    source = wheels.console_script("json.tool", "main")
    compile(source, "script", "exec")
    assert source.endswith("sys.exit(main())\n")


def test_wheel_refuses_to_overwrite_a_debian_file(tmp_path):
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/demo").write_text("debian's\n")
    with pytest.raises(wheels.WheelError, match="/usr/bin/demo already exists"):
        wheels.install_wheel(_wheel(tmp_path), root)


def test_wheel_member_escaping_the_root_is_refused(tmp_path):
    path = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
        archive.writestr("../../etc/passwd", "x")
    with pytest.raises(wheels.WheelError, match="outside the root"):
        wheels.install_wheel(path, tmp_path / "root")


def test_target_python_and_glibc_are_read_from_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/python3").symlink_to("python3.13")
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: libc-bin\nVersion: 2.41-12\n\n"
        "Package: libc6\nStatus: install ok installed\nArchitecture: arm64\nVersion: 2.41-12\n\n"
    )
    assert wheels.target_python_version(root) == (3, 13)
    assert wheels.target_glibc(root) == (2, 41)
    platforms = wheels.target_platforms((2, 41))
    assert platforms[0] == "manylinux_2_41_aarch64"
    assert "manylinux_2_17_aarch64" in platforms and "manylinux2014_aarch64" in platforms


def test_wheels_without_python3_name_the_package(tmp_path):
    with pytest.raises(Exception, match="BR2_PACKAGE_PYTHON3"):
        wheels.target_python_version(tmp_path)
