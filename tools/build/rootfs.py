"""Rootfs assembly and filesystem images (docs/FIRMWARE.md, "Contracts between the parts").

base layer -> output/build/rootfs.partial: wheels, package files, overlays, system settings,
package post-install steps, clean-up, board post-build scripts -> renamed to
output/build/rootfs -> mksquashfs -> output/images/rootfs.squashfs -> board post-image scripts
(disk.img). Every artifact is made under a temporary name and renamed when complete.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

from . import baselayer, hostcheck, recipes, wheels
from .config import FirmwareConfig
from .errors import BuildError, HostError, StepFailed
from .steps import elapsed, run, run_shell_step, say

ROOTFS_SPACE_BYTES = 3 * 2**30

# Directories removed with BR2_TARGET_ROOTFS_STRIP_DOCS (copyright files stay: the licences
# of what the image ships travel with it).
DOC_DIRS = (
    "usr/share/man",
    "usr/share/info",
    "usr/share/doc-base",
    "usr/share/lintian",
    "usr/share/linda",
    "usr/share/bug",
    "usr/share/gtk-doc",
)
# Always removed: package manager state that a read-only appliance never uses.
CACHE_GLOBS = (
    "var/lib/apt/lists/*",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/cache/ldconfig/aux-cache",
    "var/log/*",
    "tmp/*",
    "var/tmp/*",
    "root/.cache",
    "root/.bash_history",
    "etc/ssh/ssh_host_*",
    "var/lib/systemd/random-seed",
    "var/lib/dbus/machine-id",
)


class RootfsError(BuildError):
    """The rootfs cannot be assembled as configured."""


def _disk_guard(func):
    """A full disk in any Python file operation becomes a clear HostError."""

    def guarded(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise HostError(
                    f"the disk is full ({exc.filename or 'output/'}): free some space "
                    "(`make clean` drops output/build and output/images)"
                ) from exc
            raise

    guarded.__name__ = func.__name__
    guarded.__doc__ = func.__doc__
    return guarded


def _own_by_root(path: Path) -> None:
    """Files copied from the source tree belong to root in the image (the build runs as root)."""
    if os.geteuid() == 0:
        os.chown(path, 0, 0, follow_symlinks=False)


def resolve_in_root(root: Path, rel: str) -> Path:
    """The host path of target path `rel`, following symlinks as the target would see them.

    Needed because Debian's /lib, /bin and /sbin are symlinks into /usr: an overlay's lib/ must
    land in usr/lib, not replace the link.
    """
    current = root
    parts = [p for p in Path(rel).parts if p not in ("/", "", ".")]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink() and parts:  # the last component is not followed
            hops += 1
            if hops > 40:
                raise RootfsError(f"too many symlinks resolving /{rel} in the rootfs")
            target = os.readlink(candidate)
            parts = [p for p in Path(target).parts if p not in ("/", "", ".")] + parts
            if target.startswith("/"):
                current = root
            continue
        current = candidate
    return current


def copy_tree_into_root(source: Path, root: Path) -> int:
    """Copies a directory tree over the rootfs (owner root, modes kept); returns files copied."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = os.path.relpath(dirpath, source)
        for name in sorted(dirnames):
            src = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if src.is_symlink():
                filenames.append(name)
                continue
            dest = resolve_in_root(root, rel)
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                dest = resolve_in_root(root, rel + "/.")
            dest.mkdir(parents=True, exist_ok=True)
            os.chmod(dest, src.stat().st_mode & 0o7777)
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        for name in filenames:
            src = Path(dirpath) / name
            rel = os.path.normpath(os.path.join(rel_dir, name))
            dest = resolve_in_root(root, rel)
            if dest.is_symlink() or dest.is_file():
                dest.unlink()
            elif dest.is_dir():
                raise RootfsError(f"{src} would replace the directory /{rel} of the rootfs")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                os.symlink(os.readlink(src), dest)
            else:
                shutil.copy2(src, dest)
                _own_by_root(dest)
            count += 1
    return count


def install_file(item: recipes.InstallFile, root: Path) -> None:
    dest = resolve_in_root(root, item.dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink():
        dest.unlink()
    shutil.copy2(item.src, dest)
    _own_by_root(dest)
    if item.mode is not None:
        os.chmod(dest, item.mode)


def hash_password(password: str) -> str:
    """SHA-512 crypt of the root password (openssl on the host)."""
    result = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise StepFailed(f"openssl passwd failed: {result.stderr.strip()}")
    return result.stdout.strip()


def set_root_password(root: Path, field: str) -> None:
    shadow = root / "etc/shadow"
    lines = shadow.read_text().splitlines()
    for index, line in enumerate(lines):
        fields = line.split(":")
        if fields[0] == "root":
            fields[1] = field
            lines[index] = ":".join(fields)
            break
    else:
        raise RootfsError("no root entry in /etc/shadow of the base layer")
    shadow.write_text("\n".join(lines) + "\n")


def apply_system_settings(cfg: FirmwareConfig, root: Path) -> None:
    """Hostname, time zone, root password, serial console: BR2_TARGET_* of the .config."""
    (root / "etc/hostname").write_text(cfg.hostname + "\n")
    hosts = root / "etc/hosts"
    hosts.write_text(
        "127.0.0.1\tlocalhost\n"
        f"127.0.1.1\t{cfg.hostname}\n"
        "::1\t\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n"
    )

    zone = root / "usr/share/zoneinfo" / cfg.timezone
    if not cfg.timezone or ".." in cfg.timezone.split("/") or not zone.is_file():
        raise RootfsError(
            f"BR2_TARGET_LOCALTIME={cfg.timezone!r} is not a zone of /usr/share/zoneinfo "
            "(is tzdata in the base system?)"
        )
    localtime = root / "etc/localtime"
    if localtime.is_symlink() or localtime.exists():
        localtime.unlink()
    localtime.symlink_to(f"/usr/share/zoneinfo/{cfg.timezone}")
    (root / "etc/timezone").write_text(cfg.timezone + "\n")

    if cfg.root_locked:
        set_root_password(root, "!*")
    elif cfg.root_password:
        set_root_password(root, hash_password(cfg.root_password))
    else:
        set_root_password(root, "")

    # systemd makes a machine id at each boot when /etc/machine-id is empty and / read-only.
    (root / "etc/machine-id").write_text("")

    if cfg.getty_port:
        wants = root / "etc/systemd/system/getty.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        link = wants / f"serial-getty@{cfg.getty_port}.service"
        if not link.is_symlink():
            link.symlink_to("/usr/lib/systemd/system/serial-getty@.service")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


@_disk_guard
def clean_up(cfg: FirmwareConfig, root: Path) -> None:
    """Post-build clean-up: docs, locales, caches, bytecode (as configured)."""
    for pattern in CACHE_GLOBS:
        for path in root.glob(pattern):
            _remove(path)
    if cfg.strip_docs:
        for rel in DOC_DIRS:
            _remove(root / rel)
        doc = root / "usr/share/doc"
        if doc.is_dir():
            for package in doc.iterdir():
                if package.is_dir() and not package.is_symlink():
                    for item in package.iterdir():
                        if item.name != "copyright":
                            _remove(item)
        # test suites of Python packages (numpy ships megabytes of them)
        for site in root.glob("usr/lib/python3*/dist-packages"):
            for tests in list(site.glob("*/tests")) + list(site.glob("*/*/tests")):
                if tests.is_dir():
                    _remove(tests)
    keep = cfg.keep_locales
    for locale_dir in (root / "usr/share/locale", root / "usr/share/i18n/locales"):
        if not locale_dir.is_dir():
            continue
        for entry in locale_dir.iterdir():
            if entry.is_dir() and not any(
                entry.name == k or entry.name.startswith((k + "_", k + "@", k + ".")) for k in keep
            ):
                _remove(entry)
    locale_archive = root / "usr/lib/locale"
    if locale_archive.is_dir():
        for entry in locale_archive.iterdir():
            if entry.is_dir() and not entry.name.startswith(tuple(keep)):
                _remove(entry)
    if not cfg.python_bytecode:
        for cache in list(root.glob("usr/**/__pycache__")):
            _remove(cache)


def kernel_releases(root: Path) -> list[str]:
    modules = root / "usr/lib/modules"
    return sorted(p.name for p in modules.iterdir() if p.is_dir()) if modules.is_dir() else []


def prune_modules(cfg: FirmwareConfig, root: Path, log: Path) -> None:
    """Drops the kernel module directories the appliance does not need, then reruns depmod."""
    releases = kernel_releases(root)
    if not cfg.prune_modules or not releases:
        return
    for release in releases:
        for rel in cfg.prune_modules:
            _remove(root / "usr/lib/modules" / release / "kernel" / rel)
        run(
            ["chroot", str(root), "/usr/sbin/depmod", "-a", release],
            what=f"depmod {release}",
            log=log,
            heavy=True,
        )


def _step_env(top: Path, output: Path, root: Path, dotconfig: Path, cfg: FirmwareConfig):
    return {
        "TOPDIR": str(top),
        "BASE_DIR": str(output),
        "BUILD_DIR": str(output / "build"),
        "BINARIES_DIR": str(output / "images"),
        "TARGET_DIR": str(root),
        "BR2_CONFIG": str(dotconfig),
        "BOARD_DIR": str(top / "board" / cfg.board),
    }


def _run_board_scripts(scripts, arg: Path, env: dict, top: Path, log: Path, kind: str) -> None:
    for script in scripts:
        path = top / script
        if not path.is_file():
            say(f"{kind}: {script} does not exist (yet): skipped")
            continue
        say(f"{kind}: {script}")
        cmd = [str(path)] if os.access(path, os.X_OK) else ["sh", str(path)]
        run([*cmd, str(arg)], what=f"{kind} script {script}", log=log, env=env, cwd=top, heavy=True)


def preflight(top: Path, cfg: FirmwareConfig, output: Path) -> list[recipes.Recipe]:
    """Everything that can be checked before anything is built or removed."""
    hostcheck.check_root()
    hostcheck.check_tools(hostcheck.ROOTFS_TOOLS)
    hostcheck.check_binfmt(cfg.qemu_arch)
    hostcheck.check_free_space(output, ROOTFS_SPACE_BYTES, "the rootfs")
    for overlay in cfg.overlays:
        if not (top / overlay).is_dir():
            raise RootfsError(f"BR2_ROOTFS_OVERLAY names {overlay}, which is not a directory")
    package_recipes = recipes.load_recipes(top, cfg.packages)
    debs = recipes.all_debs(package_recipes)
    key = baselayer.cache_key(cfg.suite, cfg.arch, cfg.mirror, debs, cfg.components)
    if not baselayer.base_path(baselayer.cache_dir(output), key).is_file():
        hostcheck.check_tools(hostcheck.BASE_TOOLS)
        hostcheck.check_free_space(output, baselayer.BASE_SPACE_BYTES, "the base layer bootstrap")
    return package_recipes


@_disk_guard
def assemble_rootfs(
    top: Path,
    cfg: FirmwareConfig,
    output: Path,
    dotconfig: Path,
    package_recipes: list[recipes.Recipe],
) -> Path:
    """Builds output/build/rootfs (renamed from rootfs.partial once complete)."""
    started = time.monotonic()
    debs = recipes.all_debs(package_recipes)
    base = baselayer.ensure_base(cfg, debs, output)

    build = output / "build"
    images = output / "images"
    logs = build / "logs"
    images.mkdir(parents=True, exist_ok=True)
    partial = build / "rootfs.partial"
    final = build / "rootfs"
    _remove(partial)
    partial.mkdir(parents=True)
    env = _step_env(top, output, partial, dotconfig, cfg)

    say(f"rootfs: extracting {base.name}")
    run(
        [
            "tar",
            "--extract",
            "--file",
            str(base),
            "--directory",
            str(partial),
            "--numeric-owner",
            "--same-permissions",
            "--xattrs",
            "--xattrs-include=*",
        ],
        what="extracting the base layer",
        log=logs / "rootfs-extract.log",
        heavy=True,
        space_probe=output,
    )

    installed_py: list[str] = []
    for recipe in package_recipes:
        for item in recipe.files:
            install_file(item, partial)
        for source in recipe.local_wheels:
            say(f"rootfs: {recipe.name}: building the wheel of {os.path.relpath(source, top)}")
            wheel = wheels.build_local_wheel(
                source, build / "wheels" / recipe.name, logs / f"wheel-{recipe.name}.log"
            )
            installed_py += wheels.install_wheel(wheel, partial)
            say(f"rootfs: {recipe.name}: installed {wheel.name}")
        if recipe.wheels:
            python = wheels.target_python_version(partial)
            glibc = wheels.target_glibc(partial)
            fetched = wheels.download_wheels(
                list(recipe.wheels),
                build / "wheels" / f"{recipe.name}-pypi",
                python,
                glibc,
                logs / f"wheels-{recipe.name}.log",
            )
            for wheel in fetched:
                installed_py += wheels.install_wheel(wheel, partial)
                say(f"rootfs: {recipe.name}: installed {wheel.name}")

    for overlay in cfg.overlays:
        count = copy_tree_into_root(top / overlay, partial)
        say(f"rootfs: overlay {overlay}: {count} files")

    apply_system_settings(cfg, partial)

    step_log = logs / "rootfs-post-install.log"
    step_log.write_text("")
    for recipe in package_recipes:
        for script in recipe.post_install:
            run_shell_step(
                script, what=f"{recipe.name} post_install", log=step_log, env={}, chroot=partial
            )
        pkg_env = {**env, "PKG_DIR": str(recipe.directory)}
        for script in recipe.post_install_host:
            run_shell_step(
                script, what=f"{recipe.name} post_install_host", log=step_log, env=pkg_env
            )

    say("rootfs: clean-up (docs, locales, caches), kernel modules")
    clean_up(cfg, partial)
    prune_modules(cfg, partial, logs / "rootfs-depmod.log")
    if cfg.python_bytecode:
        sources = sorted(
            {
                p.split("/")[4]
                for p in installed_py
                if p.startswith(wheels.SITE_DIR + "/") and p.endswith(".py")
            }
        )
        wheels.compile_bytecode(
            partial, [f"{wheels.SITE_DIR}/{s}" for s in sources], logs / "rootfs-bytecode.log"
        )

    _run_board_scripts(
        cfg.post_build_scripts, partial, env, top, logs / "post-build.log", "post-build"
    )

    _remove(final)
    partial.rename(final)
    say(f"rootfs: {final} ready in {elapsed(started)}")
    return final


@_disk_guard
def make_squashfs(cfg: FirmwareConfig, rootfs: Path, output: Path) -> Path:
    if not cfg.squashfs:
        raise RootfsError("BR2_TARGET_ROOTFS_SQUASHFS is off: no root filesystem image to make")
    images = output / "images"
    images.mkdir(parents=True, exist_ok=True)
    image = images / "rootfs.squashfs"
    partial = images / ".rootfs.squashfs.partial"
    partial.unlink(missing_ok=True)
    options = ["-comp", cfg.squashfs_comp]
    if cfg.squashfs_comp == "zstd":
        options += ["-Xcompression-level", "19"]
    started = time.monotonic()
    try:
        run(
            [
                "mksquashfs",
                str(rootfs),
                str(partial),
                "-noappend",
                "-no-progress",
                "-processors",
                "2",
                "-b",
                "256K",
                *options,
            ],
            what="mksquashfs",
            log=output / "build/logs/mksquashfs.log",
            heavy=True,
            space_probe=images,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(image)
    say(
        f"rootfs.squashfs: {image.stat().st_size / 2**20:.1f} MiB ({cfg.squashfs_comp}) "
        f"in {elapsed(started)}"
    )
    return image


def _drop_stale_images(output: Path) -> None:
    """An image made from an older rootfs must not look current while a new one is built."""
    for name in ("rootfs.squashfs", "disk.img"):
        _remove(output / "images" / name)


def build_rootfs(top: Path, cfg: FirmwareConfig, output: Path, dotconfig: Path) -> Path:
    """`make rootfs`: output/images/rootfs.squashfs (no disk image)."""
    started = time.monotonic()
    package_recipes = preflight(top, cfg, output)
    _drop_stale_images(output)
    rootfs = assemble_rootfs(top, cfg, output, dotconfig, package_recipes)
    image = make_squashfs(cfg, rootfs, output)
    say(f"make rootfs: done in {elapsed(started)}")
    return image


def build_image(top: Path, cfg: FirmwareConfig, output: Path, dotconfig: Path) -> Path:
    """`make image`: the squashfs, then the board's post-image scripts (disk.img)."""
    started = time.monotonic()
    package_recipes = preflight(top, cfg, output)
    _drop_stale_images(output)
    rootfs = assemble_rootfs(top, cfg, output, dotconfig, package_recipes)
    make_squashfs(cfg, rootfs, output)
    images = output / "images"
    env = _step_env(top, output, rootfs, dotconfig, cfg)
    _run_board_scripts(
        cfg.post_image_scripts, images, env, top, output / "build/logs/post-image.log", "post-image"
    )
    for path in sorted(p for p in images.iterdir() if not p.name.startswith(".")):
        if path.is_dir():
            say(f"  output/images/{path.name + '/':<22}   (directory)")
        else:
            say(f"  output/images/{path.name:<22} {path.stat().st_size / 2**20:9.1f} MiB")
    say(f"make image: done in {elapsed(started)}")
    return images
