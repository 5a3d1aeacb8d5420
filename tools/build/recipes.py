"""Package recipes: package/<name>/recipe.toml next to package/<name>/Config.in.

Keys (all optional, unknown keys are an error):

    debs = ["name", ...]            Debian packages for the base layer (apt resolves their
                                    dependencies; Recommends are not installed)
    wheels = ["req==1.0", ...]      wheels from PyPI for the target (arm64 manylinux or pure
                                    Python), installed without their dependencies: list them all
    local_wheels = ["."]            directories of this tree built with `pip wheel --no-deps`
    files = [{src, dest, mode}]     files of the package directory copied into the rootfs
    post_install = ["sh ..."]       shell steps run in the target chroot (qemu-user), after all
                                    packages, files, wheels and overlays are in place
    post_install_host = ["sh ..."]  shell steps run on the host, with TARGET_DIR, BINARIES_DIR,
                                    BUILD_DIR, PKG_DIR and TOPDIR in the environment
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .config import package_symbol
from .errors import RecipeError

_KEYS = {"debs", "wheels", "local_wheels", "files", "post_install", "post_install_host"}
_FILE_KEYS = {"src", "dest", "mode"}
_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


@dataclass(frozen=True)
class InstallFile:
    src: Path  # absolute, inside the package directory
    dest: str  # absolute path in the target
    mode: int | None


@dataclass(frozen=True)
class Recipe:
    name: str
    directory: Path
    debs: tuple[str, ...] = ()
    wheels: tuple[str, ...] = ()
    local_wheels: tuple[Path, ...] = ()
    files: tuple[InstallFile, ...] = ()
    post_install: tuple[str, ...] = ()
    post_install_host: tuple[str, ...] = ()


def _strings(where: str, data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RecipeError(f"{where}: `{key}` must be a list of non-empty strings")
    return tuple(value)


def load_recipe(directory: Path, top: Path) -> Recipe:
    """Reads and checks one package directory (its Config.in must define its symbol)."""
    name = directory.name
    where = f"package/{name}/recipe.toml"
    config_in = directory / "Config.in"
    symbol = package_symbol(name)
    if not config_in.is_file():
        raise RecipeError(f"package/{name}: Config.in is missing")
    if not re.search(rf"^config {symbol}\s*$", config_in.read_text(), re.MULTILINE):
        raise RecipeError(f"package/{name}/Config.in must define `config {symbol}`")
    path = directory / "recipe.toml"
    if not path.is_file():
        raise RecipeError(f"{where} is missing")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{where}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise RecipeError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}"
        )

    debs = _strings(where, data, "debs")
    for deb in debs:
        if not _DEB_NAME.match(deb):
            raise RecipeError(f"{where}: {deb!r} is not a Debian package name")

    local_wheels = []
    for rel in _strings(where, data, "local_wheels"):
        source = (top / rel).resolve()
        if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
            raise RecipeError(f"{where}: local wheel source {rel!r} has no pyproject.toml")
        local_wheels.append(source)

    raw_files = data.get("files", [])
    if not isinstance(raw_files, list):
        raise RecipeError(f"{where}: `files` must be a list of tables")
    files = []
    for number, entry in enumerate(raw_files, start=1):
        if not isinstance(entry, dict) or not {"src", "dest"} <= set(entry):
            raise RecipeError(f"{where}: files entry {number} needs `src` and `dest`")
        extra = sorted(set(entry) - _FILE_KEYS)
        if extra:
            raise RecipeError(f"{where}: files entry {number}: unknown key(s) {', '.join(extra)}")
        src = (directory / entry["src"]).resolve()
        if not src.is_relative_to(directory.resolve()) or not src.is_file():
            raise RecipeError(
                f"{where}: files entry {number}: {entry['src']!r} is not a file of package/{name}"
            )
        dest = entry["dest"]
        if not isinstance(dest, str) or not dest.startswith("/") or ".." in dest.split("/"):
            raise RecipeError(f"{where}: files entry {number}: dest must be an absolute path")
        mode = entry.get("mode")
        if mode is not None:
            try:
                mode = int(mode, 8)
            except (TypeError, ValueError):
                raise RecipeError(
                    f'{where}: files entry {number}: mode must be an octal string like "0644"'
                ) from None
        files.append(InstallFile(src=src, dest=dest, mode=mode))

    return Recipe(
        name=name,
        directory=directory,
        debs=debs,
        wheels=_strings(where, data, "wheels"),
        local_wheels=tuple(local_wheels),
        files=tuple(files),
        post_install=_strings(where, data, "post_install"),
        post_install_host=_strings(where, data, "post_install_host"),
    )


def load_recipes(top: Path, packages: tuple[str, ...]) -> list[Recipe]:
    return [load_recipe(top / "package" / name, top) for name in packages]


def all_debs(recipes: list[Recipe]) -> list[str]:
    """The sorted, de-duplicated Debian package list that selects the base layer."""
    return sorted({deb for recipe in recipes for deb in recipe.debs})
