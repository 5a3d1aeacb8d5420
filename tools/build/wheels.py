"""Wheels for the target: built from this tree or downloaded for arm64, installed into the rootfs.

The host's pip cannot install for another interpreter, and the target has no pip: a wheel is a
zip archive with a documented layout (PEP 427, PEP 491), so it is unpacked here. Packages go to
Debian's /usr/lib/python3/dist-packages, console scripts to /usr/bin with the target's
/usr/bin/python3 in their #! line.
"""

from __future__ import annotations

import configparser
import re
import shutil
import sys
import zipfile
from pathlib import Path, PurePosixPath

from .errors import BuildError, RecipeError
from .steps import run

SITE_DIR = "usr/lib/python3/dist-packages"
SCRIPTS_DIR = "usr/bin"
INTERPRETER = "/usr/bin/python3"
# Where each `<name>.data/<scheme>/` directory of a wheel goes, relative to the root.
_DATA_SCHEMES = {"purelib": SITE_DIR, "platlib": SITE_DIR, "scripts": SCRIPTS_DIR, "data": "usr"}
_ENTRY = re.compile(r"^(?P<module>[\w.]+)\s*:\s*(?P<attr>[\w.]+)\s*(\[.*\])?$")


class WheelError(BuildError):
    """A wheel cannot be built, fetched or installed."""


def build_local_wheel(source: Path, dest: Path, log: Path) -> Path:
    """`pip wheel --no-deps source` into dest (emptied first); returns the wheel's path."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(dest),
            str(source),
        ],
        what=f"building the wheel of {source}",
        log=log,
    )
    built = sorted(dest.glob("*.whl"))
    if len(built) != 1:
        raise WheelError(f"pip wheel {source} made {len(built)} wheels, expected one")
    return built[0]


def target_platforms(glibc: tuple[int, int], machine: str = "aarch64") -> list[str]:
    """pip --platform tags a target with this glibc runs (manylinux_2_17 is manylinux2014)."""
    major, minor = glibc
    return [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 16, -1)] + [
        f"manylinux2014_{machine}"
    ]


def download_wheels(
    requirements: list[str], dest: Path, python: tuple[int, int], glibc: tuple[int, int], log: Path
) -> list[Path]:
    """Binary wheels for the target's CPython and glibc (or pure Python), without their deps.

    dest is emptied first: only the versions asked for now end up installed (pip keeps its
    own download cache).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    version = f"{python[0]}{python[1]}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        version,
        "--abi",
        f"cp{version}",
        "--abi",
        "abi3",
        "--abi",
        "none",
        "-d",
        str(dest),
    ]
    for platform in target_platforms(glibc):
        cmd += ["--platform", platform]
    run([*cmd, *requirements], what=f"downloading wheels {' '.join(requirements)}", log=log)
    names = {_canonical(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]) for r in requirements}
    return sorted(p for p in dest.glob("*.whl") if _canonical(p.name.split("-")[0]) in names)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _inside(root: Path, rel: str) -> Path:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts:
        raise WheelError(f"wheel member {rel!r} would be written outside the root")
    return root / rel


def console_script(module: str, attr: str) -> str:
    head, _, rest = attr.partition(".")
    call = f"{head}.{rest}" if rest else head
    return (
        f"#!{INTERPRETER}\n"
        "import sys\n"
        f"from {module} import {head}\n\n"
        'if __name__ == "__main__":\n'
        f"    sys.exit({call}())\n"
    )


def install_wheel(wheel: Path, root: Path) -> list[str]:
    """Unpacks a wheel into the target root; returns the paths it wrote (relative to root).

    Refuses to overwrite a file already in the root (a Debian package's, say): two providers
    of one module is a recipe mistake to fix, not to paper over.
    """
    written: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        dist_info = {PurePosixPath(m.filename).parts[0] for m in members}
        dist_info = sorted(d for d in dist_info if d.endswith(".dist-info"))
        if len(dist_info) != 1:
            raise WheelError(f"{wheel.name}: expected one .dist-info directory, got {dist_info}")
        data_dir = dist_info[0][: -len(".dist-info")] + ".data"
        scripts: list[str] = []
        for member in members:
            parts = PurePosixPath(member.filename).parts
            if parts[0] == data_dir:
                scheme = parts[1]
                if scheme == "headers":
                    continue
                if scheme not in _DATA_SCHEMES:
                    raise WheelError(f"{wheel.name}: unknown data scheme {scheme!r}")
                rel = str(PurePosixPath(_DATA_SCHEMES[scheme], *parts[2:]))
            else:
                rel = str(PurePosixPath(SITE_DIR, *parts))
            dest = _inside(root, rel)
            if dest.exists() or dest.is_symlink():
                raise WheelError(f"{wheel.name}: /{rel} already exists in the rootfs")
            dest.parent.mkdir(parents=True, exist_ok=True)
            payload = archive.read(member)
            if parts[0] == data_dir and parts[1] == "scripts" and payload.startswith(b"#!python"):
                payload = b"#!" + INTERPRETER.encode() + payload[len(b"#!python") :]
                scripts.append(rel)
            dest.write_bytes(payload)
            mode = (member.external_attr >> 16) & 0o777
            dest.chmod(mode or 0o644)
            written.append(rel)
        for rel in scripts:
            (root / rel).chmod(0o755)

        entry_points = f"{dist_info[0]}/entry_points.txt"
        if entry_points in archive.namelist():
            parser = configparser.ConfigParser(delimiters=("=",))
            parser.optionxform = str  # script names are case-sensitive
            parser.read_string(archive.read(entry_points).decode())
            if parser.has_section("console_scripts"):
                for name, spec in parser.items("console_scripts"):
                    match = _ENTRY.match(spec.strip())
                    if not match:
                        raise WheelError(f"{wheel.name}: bad console script {name} = {spec}")
                    rel = f"{SCRIPTS_DIR}/{name}"
                    dest = root / rel
                    if dest.exists() or dest.is_symlink():
                        raise WheelError(f"{wheel.name}: /{rel} already exists in the rootfs")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_text(console_script(match["module"], match["attr"]))
                    dest.chmod(0o755)
                    written.append(rel)
    installer = root / SITE_DIR / dist_info[0] / "INSTALLER"
    installer.write_text("coocenter-firmware-build\n")
    return written


def target_python_version(root: Path) -> tuple[int, int]:
    """The (major, minor) of the rootfs's /usr/bin/python3."""
    link = root / "usr/bin/python3"
    if not link.is_symlink() and not link.exists():
        raise RecipeError("wheels need python3 in the rootfs: enable BR2_PACKAGE_PYTHON3")
    name = Path(link.readlink()).name if link.is_symlink() else ""
    match = re.fullmatch(r"python(\d+)\.(\d+)", name)
    if not match:
        found = sorted(p.name for p in (root / "usr/bin").glob("python3.*"))
        match = next((re.fullmatch(r"python(\d+)\.(\d+)", n) for n in found), None)
    if not match:
        raise WheelError("cannot tell the version of the rootfs's python3")
    return int(match[1]), int(match[2])


def target_glibc(root: Path) -> tuple[int, int]:
    """The glibc version of the rootfs, from its dpkg database (libc6's version)."""
    status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    match = re.search(r"^Package: libc6\n(?:[^\n]+\n)*?Version: (\d+)\.(\d+)", status, re.M)
    if not match:
        raise WheelError("cannot find libc6 in the rootfs's dpkg database")
    return int(match[1]), int(match[2])


def compile_bytecode(root: Path, paths: list[str], log: Path) -> None:
    """Precompiles installed modules with the target's own python3 (its bytecode version)."""
    targets = [f"/{p}" for p in paths]
    if not targets:
        return
    run(
        ["chroot", str(root), INTERPRETER, "-m", "compileall", "-q", *targets],
        what="compiling Python bytecode for the target",
        log=log,
        heavy=True,
    )
