"""Kconfig verbs (kconfiglib): load a defconfig strictly, write .config, savedefconfig.

Buildroot's conventions: symbols carry their own ``BR2_`` prefix and the files have no
``CONFIG_`` prefix. Every kconfiglib warning is an error here: a typo in a defconfig must stop
the build, not silently drop a package.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

# `BR2_FOO=value` or `# BR2_FOO is not set`, as kconfiglib writes and reads them.
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z0-9_]+)=(?P<value>.*)$")
_UNSET = re.compile(r"^# (?P<name>[A-Za-z0-9_]+) is not set$")
_ORIGIN = re.compile(r"^# made from (?P<path>\S+)$", re.MULTILINE)


@contextmanager
def _kconfig_env(top: Path) -> Iterator[None]:
    """kconfiglib reads srctree and the CONFIG_ prefix from the environment at parse time."""
    saved = {key: os.environ.get(key) for key in ("srctree", "CONFIG_")}
    os.environ["srctree"] = str(top)
    os.environ["CONFIG_"] = ""
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_kconfig(top: Path):
    """Parses top/Config.in (and what it sources); a warning in the Kconfig files is an error."""
    import kconfiglib

    with _kconfig_env(top):
        try:
            kconf = kconfiglib.Kconfig("Config.in", warn_to_stderr=False, suppress_traceback=False)
        except kconfiglib.KconfigError as exc:
            raise ConfigError(f"Kconfig error: {exc}") from exc
    problems = [w for w in kconf.warnings if "warning:" in w]
    if problems:
        raise ConfigError("Kconfig files have problems:\n  " + "\n  ".join(problems))
    kconf.warn_assign_undef = True
    kconf.warn_assign_override = False
    kconf.warn_assign_redun = False
    return kconf


def _defined(kconf, name: str) -> bool:
    sym = kconf.syms.get(name)
    return sym is not None and bool(sym.nodes)


def _assignments(path: Path) -> list[tuple[int, str, str | None]]:
    """(line number, symbol, value or None for `is not set`) for each assignment in a file."""
    found = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        match = _ASSIGNMENT.match(line)
        if match:
            found.append((number, match["name"], match["value"]))
            continue
        match = _UNSET.match(line)
        if match:
            found.append((number, match["name"], None))
        elif line and not line.startswith("#"):
            raise ConfigError(f"{path}:{number}: not a Kconfig assignment: {raw!r}")
    return found


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def load_config_file(kconf, path: Path) -> None:
    """Loads a defconfig or .config into kconf, refusing anything that would not take effect.

    Refused: an unknown symbol, a malformed value, and a value that the symbol's dependencies
    override (a package enabled without what it depends on). Each message names the file and
    line, so that it can be fixed where it was written.
    """
    import kconfiglib

    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    assignments = _assignments(path)
    names = sorted(name for name, sym in kconf.syms.items() if sym.nodes)
    errors = []
    for number, name, _ in assignments:
        if not _defined(kconf, name):
            hint = difflib.get_close_matches(name, names, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            errors.append(
                f"{path}:{number}: unknown symbol {name}: no such option in Config.in or "
                f"package/*/Config.in{suggestion}"
            )
    if errors:
        raise ConfigError("\n".join(errors))

    kconf.warnings.clear()
    kconf.load_config(str(path), replace=True)
    problems = [w.replace("warning: ", "") for w in kconf.warnings]
    if problems:
        raise ConfigError("\n".join(problems))

    last = {name: (number, value) for number, name, value in assignments}  # later lines win
    for name, (number, value) in sorted(last.items(), key=lambda item: item[1][0]):
        sym = kconf.syms[name]
        if value is None:
            continue
        wanted = _unquote(value) if sym.orig_type in (kconfiglib.STRING,) else value
        if sym.str_value != wanted:
            dep = kconfiglib.expr_str(sym.direct_dep)
            why = f"it depends on {dep}" if dep != "y" else "its value is not valid"
            errors.append(
                f"{path}:{number}: {name}={value} did not take effect ({why}); "
                f"it is {name}={sym.str_value or 'n'}"
            )
    if errors:
        raise ConfigError("\n".join(errors))


def write_dotconfig(kconf, dotconfig: Path, origin: str) -> None:
    dotconfig.parent.mkdir(parents=True, exist_ok=True)
    header = f"# CooCenter S10 firmware configuration\n# made from {origin}\n"
    tmp = dotconfig.with_name(dotconfig.name + ".tmp")
    kconf.write_config(str(tmp), header=header, save_old=False)
    tmp.replace(dotconfig)


def config_origin(dotconfig: Path) -> str | None:
    """The defconfig a .config was made from (recorded in its header), if any."""
    if not dotconfig.is_file():
        return None
    match = _ORIGIN.search(dotconfig.read_text()[:500])
    return match["path"] if match else None


def apply_defconfig(top: Path, defconfig: Path, dotconfig: Path) -> None:
    kconf = load_kconfig(top)
    load_config_file(kconf, defconfig)
    origin = os.path.relpath(defconfig, top) if defconfig.is_relative_to(top) else str(defconfig)
    write_dotconfig(kconf, dotconfig, origin)


def savedefconfig(top: Path, dotconfig: Path, dest: Path) -> None:
    kconf = load_kconfig(top)
    load_config_file(kconf, require_dotconfig(dotconfig))
    tmp = dest.with_name(dest.name + ".tmp")
    kconf.write_min_config(str(tmp), header="")
    tmp.replace(dest)


def require_dotconfig(dotconfig: Path) -> Path:
    if not dotconfig.is_file():
        raise ConfigError(
            f"{dotconfig} does not exist: run `make <board>_defconfig` first "
            "(`make list-defconfigs` lists them)"
        )
    return dotconfig


def list_defconfigs(top: Path) -> list[str]:
    return sorted(p.name for p in (top / "configs").glob("*_defconfig"))


def find_defconfig(top: Path, name: str) -> Path:
    """configs/<name>, or a path to a defconfig kept elsewhere (one with a slash in it)."""
    path = Path(name).resolve() if "/" in name else top / "configs" / name
    if not path.is_file():
        known = ", ".join(list_defconfigs(top)) or "none"
        raise ConfigError(f"no defconfig named {name} in configs/ (there are: {known})")
    return path


@dataclass(frozen=True)
class FirmwareConfig:
    """The values of a .config that the build acts on."""

    arch: str
    qemu_arch: str
    board: str
    suite: str
    mirror: str
    components: tuple[str, ...]
    hostname: str
    root_locked: bool
    root_password: str
    getty_port: str
    timezone: str
    overlays: tuple[str, ...]
    post_build_scripts: tuple[str, ...]
    post_image_scripts: tuple[str, ...]
    squashfs: bool
    squashfs_comp: str
    strip_docs: bool
    keep_locales: tuple[str, ...]
    python_bytecode: bool
    prune_modules: tuple[str, ...]
    packages: tuple[str, ...]  # package/<name> directories whose BR2_PACKAGE_ symbol is y


def package_symbol(package: str) -> str:
    """package/python3-numpy -> BR2_PACKAGE_PYTHON3_NUMPY."""
    return "BR2_PACKAGE_" + re.sub(r"[^A-Za-z0-9]", "_", package).upper()


def read_config(top: Path, dotconfig: Path) -> FirmwareConfig:
    kconf = load_kconfig(top)
    load_config_file(kconf, require_dotconfig(dotconfig))

    def value(name: str) -> str:
        return kconf.syms[name].str_value

    def enabled(name: str) -> bool:
        return value(name) == "y"

    def words(name: str) -> tuple[str, ...]:
        return tuple(value(name).split())

    packages = tuple(
        sorted(
            p.name
            for p in (top / "package").iterdir()
            if (p / "Config.in").is_file()
            and package_symbol(p.name) in kconf.syms
            and enabled(package_symbol(p.name))
        )
    )
    return FirmwareConfig(
        arch=value("BR2_DEBIAN_ARCH"),
        qemu_arch=value("BR2_QEMU_USER_ARCH"),
        board=value("BR2_BOARD_NAME"),
        suite=value("BR2_DEBIAN_SUITE"),
        mirror=value("BR2_DEBIAN_MIRROR"),
        components=words("BR2_DEBIAN_COMPONENTS"),
        hostname=value("BR2_TARGET_GENERIC_HOSTNAME"),
        root_locked=enabled("BR2_TARGET_GENERIC_ROOT_PASSWD_LOCKED"),
        root_password=value("BR2_TARGET_GENERIC_ROOT_PASSWD"),
        getty_port=value("BR2_TARGET_GENERIC_GETTY_PORT"),
        timezone=value("BR2_TARGET_LOCALTIME"),
        overlays=words("BR2_ROOTFS_OVERLAY"),
        post_build_scripts=words("BR2_ROOTFS_POST_BUILD_SCRIPT"),
        post_image_scripts=words("BR2_ROOTFS_POST_IMAGE_SCRIPT"),
        squashfs=enabled("BR2_TARGET_ROOTFS_SQUASHFS"),
        squashfs_comp="zstd" if enabled("BR2_TARGET_ROOTFS_SQUASHFS4_ZSTD") else "xz",
        strip_docs=enabled("BR2_TARGET_ROOTFS_STRIP_DOCS"),
        keep_locales=words("BR2_TARGET_ROOTFS_KEEP_LOCALES"),
        python_bytecode=enabled("BR2_TARGET_ROOTFS_PYTHON_BYTECODE"),
        prune_modules=words("BR2_TARGET_ROOTFS_PRUNE_MODULES"),
        packages=packages,
    )
