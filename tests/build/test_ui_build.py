"""tools/ui/build.py: the web console's bundle, as pbxd serves it (needs node and npm)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.ui import build as ui_build


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ui_build.build(tmp_path_factory.mktemp("ui") / "out", report=lambda line: None)


def test_index_references_hashed_assets_that_exist(bundle: Path) -> None:
    html = (bundle / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="/ui/([^"]+)"', html)
    assert len(referenced) == 3  # icon, stylesheet, script
    for name in referenced:
        assert (bundle / name).is_file(), name
        assert re.fullmatch(r"[a-z]+-[A-Za-z0-9]{8,10}\.(js|css|svg)", name), name
    # no inline script or style: the CSP forbids them
    assert "<script>" not in html and "<style" not in html and "style=" not in html


def test_bundle_is_minified_without_sourcemaps_and_has_chart_chunk(bundle: Path) -> None:
    scripts = sorted(bundle.glob("*.js"))
    assert any(path.name.startswith("chunk-") for path in scripts), scripts
    assert not list(bundle.glob("*.map"))
    app = next(path for path in scripts if path.name.startswith("app-"))
    text = app.read_text()
    assert "sourceMappingURL" not in text
    # minified: long lines (the few newlines left are inside JsSIP's string literals)
    assert len(text) / (text.count("\n") + 1) > 2000
    # Chart.js is bundled (lazy chunk), nothing is fetched from elsewhere at run time
    chunks = "".join(path.read_text() for path in scripts)
    assert "doughnut" in chunks
    assert not re.search(r"https?://(?!www\.w3\.org/)[a-z0-9.-]+\.[a-z]{2,}/[^\s\"']*\.js", chunks)


def test_npm_ci_only_when_the_lock_file_changed(bundle: Path) -> None:
    # the bundle fixture installed the packages: the stamp matches the lock file
    assert not ui_build.install_needed()
    assert ui_build.ensure_packages(report=lambda line: None) is False


def test_rebuild_replaces_only_its_own_output(bundle: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ui_build.UiBuildError, match="not made by this build"):
        ui_build.build(foreign, report=lambda line: None)
    assert (foreign / "keep.txt").read_text() == "mine"
    # its own output is replaced whole
    again = ui_build.build(bundle, report=lambda line: None)
    assert (again / "index.html").is_file()


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "tools.ui.build", "--out", str(out)],
        cwd=ui_build.REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "index.html").is_file()
    assert str(out) in done.stdout


# -- the firmware package -------------------------------------------------------------------------

TOP = Path(__file__).resolve().parents[2]


def test_firmware_package_bundles_the_console_into_the_rootfs(tmp_path: Path) -> None:
    from tools.build import recipes

    package = TOP / "package" / "coocenter-ui"
    recipe = recipes.load_recipe(package, TOP)
    assert recipe.debs == ()  # static files only on the device
    assert "default y" in (package / "Config.in").read_text()
    target, build = tmp_path / "rootfs", tmp_path / "build"
    target.mkdir()
    env = {"PATH": "/usr/bin:/bin", "TOPDIR": str(TOP), "TARGET_DIR": str(target),
           "BUILD_DIR": str(build), "PKG_DIR": str(package)}  # fmt: skip
    for step in recipe.post_install_host:
        done = subprocess.run(["sh", "-ec", step], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    ui = target / "usr" / "share" / "coocenter" / "ui"
    html = (ui / "index.html").read_text()
    for name in re.findall(r'(?:src|href)="/ui/([^"]+)"', html):
        assert (ui / name).is_file(), name
        assert oct((ui / name).stat().st_mode & 0o777) == "0o644"
